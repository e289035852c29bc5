import "@tensorflow/tfjs-backend-cpu"
import "../../runtime/internal/TensorFlow.ts"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import * as math from "../../nodes/math.ts"

// Expected values are computed by hand (and checked with Python's math module), not by the code under test.
beforeAll(async () => {
  await tf.setBackend("cpu")
})

describe("reward math", () => {
  const margins = () => tf.tensor1d([0, 1, -2])

  it("Bradley–Terry loss: plain, with a margin, with label smoothing", () => {
    // mean of softplus(0), softplus(−1), softplus(2)
    expect(math.reward.bradleyTerryLoss(margins()).dataSync()[0]).toBeCloseTo(1.0444456, 5)
    // margin 1 shifts every Δ down by 1
    expect(math.reward.bradleyTerryLoss(margins(), { margin: 1 }).dataSync()[0]).toBeCloseTo(1.6849987, 5)
    // 0.9·softplus(−Δ) + 0.1·softplus(Δ)
    expect(math.reward.bradleyTerryLoss(margins(), { labelSmoothing: 0.1 }).dataSync()[0]).toBeCloseTo(1.0111123, 5)
  })

  it("Bradley–Terry loss with a margin per pair (the adaptive margin)", () => {
    // Δ − m = (0 − 1, 1 + 1, −2 − 0): mean of softplus(1), softplus(−2), softplus(2)
    expect(math.reward.bradleyTerryLoss(margins(), { margin: tf.tensor1d([1, -1, 0]) }).dataSync()[0]).toBeCloseTo(1.1890392, 5)
  })

  it("Bradley–Terry loss with soft targets: a tie (½) is indifferent to the sign of its margin", () => {
    // ½·softplus(0) + ½·softplus(0) for the tie, softplus(−2) for the preference
    expect(math.reward.bradleyTerryLoss(tf.tensor1d([0, 2]), { targets: tf.tensor1d([0.5, 1]) }).dataSync()[0]).toBeCloseTo(0.4100375, 5)
    const tie = (m: number) => math.reward.bradleyTerryLoss(tf.tensor1d([m]), { targets: tf.tensor1d([0.5]) }).dataSync()[0]!
    expect(tie(1.5)).toBeCloseTo(tie(-1.5), 6)
  })

  it("reward centering penalises the squared sum of the pair's rewards", () => {
    // ((1 + −3)² + (0.5 + 0.5)²) / 2 = (4 + 1) / 2
    expect(math.reward.centeringPenalty(tf.tensor1d([1, 0.5]), tf.tensor1d([-3, 0.5])).dataSync()[0]).toBeCloseTo(2.5, 6)
  })

  it("implicit process rewards are β times the per-token log-ratio, and sum to the outcome reward", () => {
    const steps = math.reward.implicitProcessRewards([-1, -2], [-1.5, -1], 0.5)
    expect(steps).toEqual([0.25, -0.5])
    expect(steps[0]! + steps[1]!).toBe(0.5 * (-3 - -2.5))
  })

  it("the tensor form of the implicit reward is β times the log-ratio, elementwise, as the scalar form", () => {
    const perToken = math.reward.implicitRewards(tf.tensor2d([[-1, -2]]), tf.tensor2d([[-1.5, -1]]), 0.5)
    expect(perToken.shape).toEqual([1, 2])
    expect(Array.from(perToken.dataSync())).toEqual([0.25, -0.5])
    expect(Array.from(perToken.dataSync())).toEqual(math.reward.implicitProcessRewards([-1, -2], [-1.5, -1], 0.5))
    // summed log-probabilities: the outcome reward 0.5·(−3 − (−2.5))
    expect(Array.from(math.reward.implicitRewards(tf.tensor1d([-3]), tf.tensor1d([-2.5]), 0.5).dataSync())).toEqual([-0.25])
  })

  it("the General Preference Model score is the skew-symmetric form ⟨R v_i, v_j⟩", () => {
    // block (1,2)·(3,4): 1·4 − 2·3 = −2; block (0,1)·(2,0): 0·0 − 1·2 = −2
    expect(math.reward.generalPreferenceScoreOf([1, 2, 0, 1], [3, 4, 2, 0])).toBe(-4)
    expect(math.reward.generalPreferenceScoreOf([3, 4, 2, 0], [1, 2, 0, 1])).toBe(4)
    expect(math.reward.generalPreferenceScoreOf([1, 2], [1, 2])).toBe(0)
    const batched = math.reward.generalPreferenceScore(tf.tensor2d([[1, 2, 0, 1], [3, 4, 2, 0]]), tf.tensor2d([[3, 4, 2, 0], [1, 2, 0, 1]]))
    expect(Array.from(batched.dataSync())).toEqual([-4, 4])
  })
})

describe("evaluation math", () => {
  it("sum and mean", () => {
    expect(math.evaluate.sum([1, 2, 3.5])).toBe(6.5)
    expect(math.evaluate.sum([])).toBe(0)
    expect(math.evaluate.mean(Float32Array.from([1, 2, 4, 5]))).toBe(3)
    // deviations −2, −1, 1, 2 from 3: √((4 + 1 + 1 + 4) / 4)
    expect(math.evaluate.standardDeviation([1, 2, 4, 5])).toBeCloseTo(Math.sqrt(2.5), 15)
    expect(math.evaluate.standardDeviation([7])).toBe(0)
    // two members' values of three items: means 2, 3, 0; spreads |1 − 3|/2 = 1, 0, 0.5
    expect(math.evaluate.acrossMembers([[1, 3, 0.5], [3, 3, -0.5]])).toEqual([{ mean: 2, spread: 1 }, { mean: 3, spread: 0 }, { mean: 0, spread: 0.5 }])
    // 2 of 4 margins above 0 (a tie at 0 is not ranked right)
    expect(math.evaluate.rankedRight([0.5, -1, 0, 3])).toBe(0.5)
    expect(math.evaluate.mean([])).toBeNaN()
  })

  it("expected calibration error over equal-width bins", () => {
    // bin [0.1,0.2): p̄ 0.125, ȳ 0.5, 2 of 5 → 0.15; bin [0.8,0.9): p̄ 0.825, ȳ 1 → 0.07; bin [0.9,1]: p̄ 0.9, ȳ 0 → 0.18
    expect(math.evaluate.expectedCalibrationError([0.1, 0.15, 0.8, 0.85, 0.9], [0, 1, 1, 1, 0])).toBeCloseTo(0.4, 10)
    expect(math.evaluate.expectedCalibrationError([0.25, 0.75], [0, 1], 2)).toBeCloseTo(0.25, 10)
  })

  it("KL estimators k1, k2, k3 on log-ratios ±log 2", () => {
    const { k1, k2, k3 } = math.evaluate.klEstimators([Math.log(0.5), Math.log(0.25)], [Math.log(0.25), Math.log(0.5)])
    expect(k1).toBeCloseTo(0, 12)
    expect(k2).toBeCloseTo(0.5 * Math.log(2) ** 2, 12) // 0.2402265
    expect(k3).toBeCloseTo(0.25, 12) // ((½ − 1) + log 2 + (2 − 1) − log 2) / 2
  })

  it("AUC is the Mann–Whitney probability that a positive outranks a negative", () => {
    expect(math.evaluate.auc([0.9, 0.8, 0.3, 0.1], [true, true, false, false])).toBe(1)
    // positive 0.1 beats neither negative, 0.8 beats 0.3 but not 0.9: 1 of 4 pairs
    expect(math.evaluate.auc([0.1, 0.8, 0.3, 0.9], [true, true, false, false])).toBe(0.25)
    expect(math.evaluate.auc([0.5, 0.5], [true, false])).toBe(0.5) // a tie counts half
  })

  it("precision and recall of a flag as a detector", () => {
    // 3 flagged, 2 of them positive; 4 positives, 2 of them flagged
    const flagged = [true, true, true, false, false, false]
    const positives = [true, false, true, true, true, false]
    expect(math.evaluate.precisionRecall(flagged, positives)).toEqual({ precision: 2 / 3, recall: 0.5 })
    expect(math.evaluate.precisionRecall([false], [true])).toEqual({ precision: Number.NaN, recall: 0 })
  })

  it("exact categorical KL", () => {
    // ½ log(½ / ¼) + ½ log(½ / ¾)
    expect(math.evaluate.categoricalKl([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 12)
    expect(math.evaluate.categoricalKl([1, 0], [0.5, 0.5])).toBeCloseTo(Math.log(2), 12)
  })

  it("exact categorical KL from log-probabilities", () => {
    // ½ log(½ / ¼) + ½ log(½ / ¾) = ½ log(4/3) = 0.1438410
    expect(math.evaluate.categoricalKlOfLogProbs([Math.log(0.5), Math.log(0.5)], [Math.log(0.25), Math.log(0.75)])).toBeCloseTo(0.1438410362, 9)
    // a response with p = 0 (log p = −∞) adds nothing: 1·log(1 / ½) = log 2 = 0.6931472
    expect(math.evaluate.categoricalKlOfLogProbs([0, -Infinity], [Math.log(0.5), Math.log(0.5)])).toBeCloseTo(0.6931471806, 9)
    expect(math.evaluate.categoricalKlOfLogProbs(Float32Array.from([Math.log(0.2), Math.log(0.8)]), Float32Array.from([Math.log(0.2), Math.log(0.8)]))).toBe(0)
  })

  it("exact KL over two-token responses by the chain rule over prefixes", () => {
    // V = 2, L = 2. π: first token ½/½; second ½/½ after 0, 0.8/0.2 after 1. π_ref: ½/½ everywhere.
    // KL = ½·[0 + 0] + ½·[0 + 0.8·log(1.6) + 0.2·log(0.4)] = ½·(0.3760029 − 0.1832581) = 0.0963724
    const h = Math.log(0.5)
    const policy = [Float64Array.from([h, h, h, h]), Float64Array.from([h, h, Math.log(0.8), Math.log(0.2)])]
    const reference = [Float64Array.from([h, h, h, h]), Float64Array.from([h, h, h, h])]
    expect(math.evaluate.chainRuleKl([[0], [1]], policy, reference, 2)).toBeCloseTo(0.0963724, 7)
    // the first token's ratio counts too: π puts 0.9 on token 1 first, then is the reference
    const skewed = [Float64Array.from([Math.log(0.1), Math.log(0.9), h, h]), Float64Array.from([Math.log(0.1), Math.log(0.9), h, h])]
    // 0.1·log(0.1/0.5) + 0.9·log(0.9/0.5) = −0.1609438 + 0.5290080 = 0.3680642
    expect(math.evaluate.chainRuleKl([[0], [1]], skewed, reference, 2)).toBeCloseTo(0.3680642, 7)
  })

  it("mean with a 95% interval: over values, or over cluster means; NaN bounds from one value", () => {
    const plain = math.evaluate.meanInterval([1, 2, 3]) // sd 1, SE 1/√3
    expect(plain.mean).toBe(2)
    expect(plain.lower).toBeCloseTo(2 - 1.959964 / Math.sqrt(3), 5)
    expect(plain.upper).toBeCloseTo(2 + 1.959964 / Math.sqrt(3), 5)
    const clustered = math.evaluate.meanInterval([1, 3, 5, 7], [0, 0, 1, 1]) // cluster means 2, 6: sd √8, SE 2
    expect(clustered.mean).toBe(4)
    expect(clustered.lower).toBeCloseTo(4 - 2 * 1.959964, 5)
    expect(math.evaluate.meanInterval([1, 3], [0, 0]).mean).toBe(2) // one cluster: over the values
    expect(math.evaluate.meanInterval([5]).lower).toBeNaN()
  })

  it("rows by split: train, test, then all when both are present", () => {
    const rows = [{ split: "test", x: 1 }, { split: "train", x: 2 }]
    expect(math.evaluate.bySplit(rows).map(([name, group]) => [name, group.length])).toEqual([["train", 1], ["test", 1], ["all", 2]])
    expect(math.evaluate.bySplit([rows[0]!]).map(([name]) => name)).toEqual(["test"])
    expect(math.evaluate.bySplit(rows, { all: false }).map(([name, group]) => [name, group.map((r) => r.x)])).toEqual([["train", [2]], ["test", [1]]])
    expect(math.evaluate.bySplit([{ split: "other", x: 3 }, ...rows], { all: true }).map(([name, group]) => [name, group.length])).toEqual([["train", 1], ["test", 1], ["all", 3]])
  })

  it("pair likelihood: mean log-ratios of chosen and rejected, and the mass on each prompt's covered responses", () => {
    const l = Math.log
    // prompt 0 covers responses a, b, c; prompt 1 covers d, e
    const responses = [
      { prompt: 0, logProb: l(0.3), referenceLogProb: l(0.2) }, // a
      { prompt: 0, logProb: l(0.1), referenceLogProb: l(0.2) }, // b
      { prompt: 0, logProb: l(0.05), referenceLogProb: l(0.1) }, // c
      { prompt: 1, logProb: l(0.4), referenceLogProb: l(0.5) }, // d
      { prompt: 1, logProb: l(0.2), referenceLogProb: l(0.1) } // e
    ]
    // pairs a ≻ b, a ≻ c, e ≻ d
    const out = math.evaluate.pairLikelihood(responses, [{ chosen: 0, rejected: 1 }, { chosen: 0, rejected: 2 }, { chosen: 4, rejected: 3 }])
    // chosen: (log 1.5 + log 1.5 + log 2) / 3 = (0.4054651 + 0.4054651 + 0.6931472) / 3 = 0.5013591
    expect(out.chosen).toBeCloseTo(0.5013591, 7)
    // rejected: (log 0.5 + log 0.5 + log 0.8) / 3 = (−0.6931472 − 0.6931472 − 0.2231436) / 3 = −0.5364793
    expect(out.rejected).toBeCloseTo(-0.5364793, 7)
    // covered: prompt 0 has 0.3 + 0.1 + 0.05 = 0.45, prompt 1 has 0.4 + 0.2 = 0.6: mean 0.525
    expect(out.covered).toBeCloseTo(0.525, 12)
    // the reference's: (0.2 + 0.2 + 0.1 = 0.5, 0.5 + 0.1 = 0.6): mean 0.55
    expect(out.referenceCovered).toBeCloseTo(0.55, 12)
    // per prompt, in the order prompts first appear: prompt 1's responses first here
    const perPrompt = math.evaluate.massPerPrompt([responses[3]!, responses[0]!, responses[4]!, responses[1]!])
    expect(perPrompt.length).toBe(2)
    expect(perPrompt[0]).toBeCloseTo(0.6, 12)
    expect(perPrompt[1]).toBeCloseTo(0.4, 12)
  })

  it("pairwise accuracy skips gold ties and counts model ties as wrong", () => {
    // pairs (0,1) right, (0,2) gold tie skipped, (1,2) model tie → wrong
    expect(math.evaluate.pairwiseAccuracy([3, 1, 1], [2, 1, 2])).toEqual({ accuracy: 0.5, pairs: 2 })
  })

  it("pairwise accuracy within groups compares only pairs that share a group", () => {
    // groups {0, 1} and {2, 3}: (0,1) ordered right, (2,3) wrong; cross-group pairs are not compared
    expect(math.evaluate.pairwiseAccuracy([1, 2, 3, 0], [1, 2, 0, 3], [0, 0, 1, 1])).toEqual({ accuracy: 0.5, pairs: 2 })
  })
})

describe("data math: the dot product", () => {
  it("a · b = Σ a_i b_i", () => {
    expect(math.data.dot([1, 2, 3], [4, 5, -6])).toBe(-4) // 4 + 10 − 18
    expect(math.data.dot([], [])).toBe(0)
  })
})

describe("data math: log-softmax and log-sum-exp of a row of logits", () => {
  it("log-sum-exp and log-softmax, stable at large logits", () => {
    // log(1 + 3) = log 4; log softmax = (log ¼, log ¾)
    expect(math.data.logSumExp([0, Math.log(3)])).toBeCloseTo(Math.log(4), 12)
    const logp = math.data.logSoftmax([0, Math.log(3)])
    expect(logp[0]).toBeCloseTo(Math.log(0.25), 12)
    expect(logp[1]).toBeCloseTo(Math.log(0.75), 12)
    // exp(1000) overflows a double; the shifted form does not: 1000 + log 2, and log ½ each
    expect(math.data.logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.log(2), 10)
    expect(math.data.logSoftmax([1000, 1000])).toEqual([-Math.log(2), -Math.log(2)])
    expect(math.data.logSoftmax(Float32Array.from([-1000, 0]))[1]).toBe(0) // e^−1000 vanishes beside 1
  })
})

describe("data math: exact optimal policies of a bandit prompt", () => {
  it("the KL-regularised logits are log π_ref + r/β", () => {
    // (log ½ + 0/2, log ½ + 1/2)
    const logits = math.data.klRegularizedLogits([0, 1], [Math.log(0.5), Math.log(0.5)], 2)
    expect(logits[0]).toBeCloseTo(-0.6931472, 6)
    expect(logits[1]).toBeCloseTo(-0.1931472, 6)
    expect(() => math.data.klRegularizedLogits([0], [0], 0)).toThrow("beta must be positive")
  })

  it("the KL-regularised optimum is π_ref·exp(r/β)/Z with value β·log Z", () => {
    // rewards (0, log 3), uniform reference, β = 1: π* ∝ (½·1, ½·3) = (¼, ¾); value = log(½ + 3/2) = log 2
    const rewards = [0, Math.log(3)]
    const policy = math.data.klRegularizedPolicy(rewards, [0.5, 0.5], 1)
    expect(policy[0]).toBeCloseTo(0.25, 12)
    expect(policy[1]).toBeCloseTo(0.75, 12)
    expect(math.data.klRegularizedValue(rewards, [0.5, 0.5], 1)).toBeCloseTo(Math.log(2), 12)
    // the value equals E_π*[r] − β·KL(π* ‖ π_ref)
    const objective = 0.75 * Math.log(3) - math.evaluate.categoricalKl(policy, [0.5, 0.5])
    expect(objective).toBeCloseTo(Math.log(2), 12)
  })

  it("as β → 0 the regularised optimum tends to the greedy one", () => {
    const rewards = [0.1, 0.5, 0.3]
    expect(math.data.optimalPolicy(rewards)).toEqual([0, 1, 0])
    const sharp = math.data.klRegularizedPolicy(rewards, [1 / 3, 1 / 3, 1 / 3], 0.001)
    expect(sharp[1]).toBeCloseTo(1, 6)
  })
})

describe("label math", () => {
  it("the logistic sigmoid, and no overflow far from 0", () => {
    expect(math.label.sigmoid(0)).toBe(0.5)
    expect(math.label.sigmoid(2)).toBeCloseTo(0.8807970779778823, 15) // 1 / (1 + e⁻²)
    expect(math.label.sigmoid(-2)).toBeCloseTo(0.11920292202211755, 15)
    expect(math.label.sigmoid(1000)).toBe(1)
    expect(math.label.sigmoid(-1000)).toBe(0)
  })

  it("Bradley–Terry preference probability with temperature", () => {
    expect(math.label.preferenceProbability(1, 0, 1)).toBeCloseTo(1 / (1 + Math.exp(-1)), 12)
    expect(math.label.preferenceProbability(1, 0, 0.5)).toBeCloseTo(1 / (1 + Math.exp(-2)), 12)
    expect(math.label.preferenceProbability(1, 0, 0)).toBe(1)
    expect(math.label.preferenceProbability(0, 0, 0)).toBe(0.5)
  })
})
