/**
 * ablate/math's policy namespace against values computed by hand (and checked with Python's
 * math module) or by brute force, not by the code under test.
 */
import "@tensorflow/tfjs-backend-cpu"
import "../../../runtime/internal/TensorFlow.ts"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import * as math from "../../../nodes/math.ts"

const { policy } = math

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const values = (t: tf.Tensor): Array<number> => Array.from(t.dataSync())
const closeTo = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>, digits = 5) => {
  expect(actual).toHaveLength(expected.length)
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i]!, digits))
}

describe("DPO family", () => {
  // two pairs: h = (π_c − π_r) − (ref_c − ref_r) = 1 and −2, β = ½
  const args = () => [tf.tensor1d([-1, -3]), tf.tensor1d([-2, -1]), tf.tensor1d([-1.5, -2]), tf.tensor1d([-1.5, -2])] as const
  const dpo = (options: math.policy.DpoOptions) => tf.tidy(() => values(policy.dpoLoss(...args(), options).losses))

  it("each loss type of the DPO logit h: sigmoid −log σ(βh), conservative, robust, hinge, IPO", () => {
    closeTo(dpo({ beta: 0.5 }), [0.4740770, 1.3132617]) // softplus(−βh)
    closeTo(dpo({ beta: 0.5, labelSmoothing: 0.1 }), [0.5240770, 1.2132617]) // 0.9·softplus(−βh) + 0.1·softplus(βh)
    closeTo(dpo({ beta: 0.5, lossType: "robust", labelSmoothing: 0.1 }), [0.4115770, 1.4382617]) // (0.9·softplus(−βh) − 0.1·softplus(βh)) / 0.8
    closeTo(dpo({ beta: 0.5, lossType: "hinge" }), [0.5, 2]) // max(0, 1 − βh)
    closeTo(dpo({ beta: 0.5, lossType: "ipo" }), [0, 9]) // (h − 1/(2β))² = (1 − 1)², (−2 − 1)²
    // robust DPO without noise is plain DPO
    closeTo(dpo({ beta: 0.5, lossType: "robust" }), dpo({ beta: 0.5 }))
  })

  it("implicit rewards are β(log π − log π_ref); raising log π(chosen) lowers the loss", () => {
    tf.tidy(() => {
      const out = policy.dpoLoss(...args(), { beta: 0.5 })
      closeTo(values(out.chosenRewards), [0.25, -0.5])
      closeTo(values(out.rejectedRewards), [-0.25, 0.5])
      const [, pr, rc, rr] = args()
      const grad = tf.grad((pc: tf.Tensor) => tf.sum(policy.dpoLoss(pc as tf.Tensor1D, pr, rc, rr, { beta: 0.5 }).losses))(tf.tensor1d([-1, -3]))
      // d/dπ_c softplus(−βh) = −β·σ(−βh): −0.5·σ(−0.5) and −0.5·σ(1)
      closeTo(values(grad), [-0.5 / (1 + Math.exp(0.5)), -0.5 / (1 + Math.exp(-1))])
    })
  })

  it("RPO adds α times the chosen response's mean NLL to each pair's DPO loss", () => {
    const losses = tf.tidy(() => values(policy.rpoLoss(...args(), tf.tensor1d([0.5, 2]), { beta: 0.5, alpha: 0.2 }).losses))
    closeTo(losses, [0.4740770 + 0.1, 1.3132617 + 0.4])
  })

  it("SimPO: −log σ(β(ā_c − ā_r) − γ) of mean log-probabilities, rewards β·ā", () => {
    tf.tidy(() => {
      const out = policy.simpoLoss(tf.tensor1d([-0.5, -1]), tf.tensor1d([-1, -0.4]), { beta: 2, gamma: 0.5 })
      closeTo(values(out.losses), [0.4740770, 1.8677860]) // softplus(−(2·0.5 − 0.5)), softplus(−(2·(−0.6) − 0.5))
      closeTo(values(out.chosenRewards), [-1, -2])
    })
  })

  it("ORPO: NLL − λ·log σ(log-odds ratio), log odds(ā) = ā − log(1 − e^ā), stable near ā = 0", () => {
    tf.tidy(() => {
      const out = policy.orpoLoss(tf.tensor1d([-0.5, -1]), tf.tensor1d([-1, -0.4]), tf.tensor1d([0.5, 1]), { lambda: 0.1 })
      closeTo(values(out.logOdds), [0.9740770, -1.2509578])
      closeTo(values(out.losses), [0.5320300, 1.1502674])
      // log odds of ā = −1e−4 is 9.2102904 and of −2e−3 is 6.2136079: their difference
      const near = policy.orpoLoss(tf.tensor1d([-1e-4]), tf.tensor1d([-2e-3]), tf.tensor1d([0]), { lambda: 1 })
      expect(values(near.logOdds)[0]).toBeCloseTo(9.2102904 - 6.2136079, 3)
      // on the tape: d loss/dā_c = −λ·σ(−logOdds)·d logOdds/dā_c, with d log odds/dā = 1/(1 − e^ā)
      const grad = tf.grad((ac: tf.Tensor) => tf.sum(policy.orpoLoss(ac as tf.Tensor1D, tf.tensor1d([-1]), tf.tensor1d([0]), { lambda: 1 }).losses))(tf.tensor1d([-0.5]))
      const ratio = (-0.5 - Math.log(1 - Math.exp(-0.5))) - (-1 - Math.log(1 - Math.exp(-1)))
      expect(values(grad)[0]).toBeCloseTo(-(1 / (1 + Math.exp(ratio))) / (1 - Math.exp(-0.5)), 4)
    })
  })

  it("KTO: λ_D(1 − σ(β(r − z))) for desirable, λ_U(1 − σ(β(z − r))) for undesirable responses", () => {
    tf.tidy(() => {
      const out = policy.ktoLoss(tf.tensor1d([-1, -2, -3]), tf.tensor1d([-1.5, -1.5, -1.5]), tf.tensor1d([1, 0, 1]), {
        beta: 0.5,
        undesirableWeight: 2,
        referencePoint: 0.2
      })
      closeTo(values(out.losses), [0.4625702, 0.8267648, 0.7005671])
      closeTo(values(out.rewards), [0.25, -0.25, -0.75])
    })
    // z = max(0, mean log-ratio): mean of (−1 − −2, −3 − −2.5) = 0.25; a negative mean clamps to 0
    expect(policy.ktoReferencePoint([-1, -3], [-2, -2.5])).toBeCloseTo(0.25, 10)
    expect(policy.ktoReferencePoint([-3], [-2])).toBe(0)
  })

  it("bad arguments fail, naming them", () => {
    expect(() => policy.dpoLoss(...args(), { beta: 0 })).toThrow("beta must be a positive number")
    expect(() => policy.dpoLoss(...args(), { beta: 1, labelSmoothing: 0.5 })).toThrow("labelSmoothing must be in [0, 0.5)")
    expect(() => policy.ktoReferencePoint([1], [])).toThrow("differ in length")
  })
})

describe("advantages", () => {
  it("GAE by hand: γ = 0.9, λ = 0.5 over three steps", () => {
    // δ = [1 + 0.9·2 − 1, 0 + 0.9·3 − 2, 2 + 0 − 3] = [1.8, 0.7, −1]
    // A₂ = −1, A₁ = 0.7 + 0.45·(−1) = 0.25, A₀ = 1.8 + 0.45·0.25 = 1.9125
    const { advantages, returns } = policy.gae([1, 0, 2], [1, 2, 3], { gamma: 0.9, lambda: 0.5 })
    closeTo(advantages, [1.9125, 0.25, -1], 10)
    closeTo(returns, [2.9125, 2.25, 2], 10)
  })

  it("GAE: λ = 1 is the Monte-Carlo return minus V, λ = 0 the one-step TD error, γ = 1 undiscounted", () => {
    const rewards = [0.5, -1, 2]
    const vals = [0.2, 0.1, -0.3]
    // λ = 1, γ = 1: A_t = Σ_{s≥t} r_s − V_t
    closeTo(policy.gae(rewards, vals, { gamma: 1, lambda: 1 }).advantages, [1.5 - 0.2, 1 - 0.1, 2 + 0.3], 10)
    // λ = 0, γ = 1: A_t = r_t + V_{t+1} − V_t, with the episode's end V_T = 0
    closeTo(policy.gae(rewards, vals, { gamma: 1, lambda: 0 }).advantages, [0.5 + 0.1 - 0.2, -1 - 0.3 - 0.1, 2 + 0.3], 10)
    // a bootstrapped last value enters the last TD error
    closeTo(policy.gae(rewards, vals, { gamma: 1, lambda: 0, lastValue: 4 }).advantages.slice(2), [2 + 4 + 0.3], 10)
  })

  it("GAE of a length-1 sequence is r − V (+ γ·lastValue)", () => {
    expect(policy.gae([3], [1], { gamma: 0.5, lambda: 0.95 }).advantages).toEqual([2])
    expect(policy.gae([3], [1], { gamma: 0.5, lambda: 0.95, lastValue: 2 }).advantages).toEqual([3])
    expect(() => policy.gae([1, 2], [1], { gamma: 1, lambda: 1 })).toThrow("differ in length")
  })

  it("whiten: zero mean, unit sample variance; one value whitens to 0", () => {
    // mean 2, sample variance ((−1)² + 0 + 1²)/2 = 1
    closeTo(policy.whiten([1, 2, 3]), [-1, 0, 1], 6)
    closeTo(policy.whiten([1, 2, 3], { shiftMean: false }), [1, 2, 3], 6)
    expect(policy.whiten([5])).toEqual([0])
  })

  it("GRPO: (r − mean)/(sample std + ε) per group; Dr. GRPO without the std; a zero-variance group gives zeros", () => {
    // group [1, 2, 3]: mean 2, sample std 1; group [4, 4, 4]: std 0
    closeTo(policy.grpoAdvantages([1, 2, 3, 4, 4, 4], 3), [-1 / 1.0001, 0, 1 / 1.0001, 0, 0, 0], 8)
    closeTo(policy.grpoAdvantages([1, 2, 3, 4, 4, 4], 3, { epsilon: 0 }).slice(0, 3), [-1, 0, 1], 10)
    closeTo(policy.grpoAdvantages([1, 2, 3, 4, 4, 4], 3, { scale: "none" }), [-1, 0, 1, 0, 0, 0], 10)
    // two responses: sample std |a − b|/√2
    closeTo(policy.grpoAdvantages([0, 1], 2, { epsilon: 0 }), [-Math.SQRT1_2, Math.SQRT1_2], 10)
    expect(() => policy.grpoAdvantages([1, 2, 3], 2)).toThrow("does not divide")
    expect(() => policy.grpoAdvantages([1], 1)).toThrow("groupSize must be an integer ≥ 2")
  })

  it("RLOO: r_i minus the mean of the group's other rewards", () => {
    // [1, 2, 6]: 1 − 4, 2 − 3.5, 6 − 1.5
    closeTo(policy.rlooAdvantages([1, 2, 6], 3), [-3, -1.5, 4.5], 10)
    // a group of two: each against the other
    closeTo(policy.rlooAdvantages([5, 2], 2), [3, -3], 10)
  })

  it("KL-penalised rewards: r − β·(Σ log π − Σ log π_ref) per response", () => {
    // 1 − 0.5·((−1 − 2) − (−2 − 2)) = 0.5;  3 − 0.5·(−0.5 − (−0.5)) = 3
    closeTo(policy.klPenalisedRewards([1, 3], [[-1, -2], [-0.5]], [[-2, -2], [-0.5]], 0.5), [0.5, 3], 12)
    expect(() => policy.klPenalisedRewards([1], [[-1]], [[-1]], -1)).toThrow("beta")
    expect(() => policy.klPenalisedRewards([1, 2], [[-1]], [[-1]], 1)).toThrow("one array per reward")
  })
})

describe("KL penalty and PPO", () => {
  it("per-token k1, k2, k3 average to ablate/math's klEstimators", () => {
    const logp = [-0.5, -1.2, -2]
    const ref = [-0.7, -1, -2.5]
    const estimates = math.evaluate.klEstimators(logp, ref)
    for (const k of ["k1", "k2", "k3"] as const) {
      const penalty = tf.tidy(() => values(policy.klPenalty(tf.tensor1d(logp), tf.tensor1d(ref), k)))
      expect(penalty.reduce((a, b) => a + b, 0) / 3).toBeCloseTo(estimates[k], 6)
    }
    // by hand for the first token: log r = −0.2
    const first = (k: math.policy.KlEstimator) => tf.tidy(() => values(policy.klPenalty(tf.tensor1d([-0.5]), tf.tensor1d([-0.7]), k))[0]!)
    expect(first("k1")).toBeCloseTo(0.2, 6)
    expect(first("k2")).toBeCloseTo(0.02, 6)
    expect(first("k3")).toBeCloseTo(Math.exp(-0.2) - 1 + 0.2, 6)
  })

  it("clipped surrogate: loss, clip fraction and approximate KL over the unmasked tokens", () => {
    // ratios e^{0.5} ≈ 1.6487 (A = 1: clipped to 1.2), e^{−0.5} ≈ 0.6065 (A = 1: unclipped is larger), 1 (A = −2), masked token
    const out = tf.tidy(() => {
      const r = policy.ppoPolicyLoss(
        tf.tensor2d([[0.5, -0.5], [0, 3]]),
        tf.tensor2d([[0, 0], [0, 0]]),
        tf.tensor2d([[1, 1], [-2, 5]]),
        tf.tensor2d([[1, 1], [1, 0]]),
        { clipRange: 0.2 }
      )
      return { loss: values(r.loss)[0]!, clip: values(r.clipFraction)[0]!, kl: values(r.approxKl)[0]! }
    })
    // token 1: max(−1.6487, −1.2) = −1.2 (clipped); token 2: max(−0.6065, −0.8) = −0.6065; token 3: max(2, 2) = 2
    expect(out.loss).toBeCloseTo((-1.2 - Math.exp(-0.5) + 2) / 3, 5)
    expect(out.clip).toBeCloseTo(1 / 3, 6)
    expect(out.kl).toBeCloseTo((0.5 * (0.25 + 0.25 + 0))/ 3, 6)
  })

  it("value loss: ½·max of the unclipped and clipped squared errors", () => {
    const out = tf.tidy(() => {
      const r = policy.ppoValueLoss(tf.tensor2d([[2, 0.5]]), tf.tensor2d([[1, 0.4]]), tf.tensor2d([[3, 0]]), tf.tensor2d([[1, 1]]), { clipRange: 0.2 })
      return { loss: values(r.loss)[0]!, clip: values(r.clipFraction)[0]! }
    })
    // token 1: V 2 → clipped 1.2; (2−3)² = 1 < (1.2−3)² = 3.24 (clipped counts); token 2: V 0.5 within 0.2 of 0.4: 0.25 both
    expect(out.loss).toBeCloseTo(0.5 * (3.24 + 0.25) / 2, 6)
    expect(out.clip).toBeCloseTo(0.5, 6)
  })

  it("the adaptive KL controller moves by at most ±20%·steps/horizon toward the target", () => {
    const c = policy.adaptiveKlController({ initial: 0.2, target: 6, horizon: 100 })
    expect(c.update(12, 10).value).toBeCloseTo(0.2 * (1 + 0.2 * 0.1), 12) // error clipped at +0.2
    expect(c.update(0, 10).value).toBeCloseTo(0.2 * (1 - 0.2 * 0.1), 12) // error clipped at −0.2
    expect(c.update(6.6, 50).value).toBeCloseTo(0.2 * (1 + 0.1 * 0.5), 12)
    expect(c.update(6, 50).update(6, 50).value).toBe(0.2)
  })

})

/** The best-of-n distribution by brute force: every sequence of n draws, its probability and its pick (the first best). */
const bruteForceBestOfN = (probabilities: ReadonlyArray<number>, rewards: ReadonlyArray<number>, n: number): Array<number> => {
  const K = probabilities.length
  const picked = new Array<number>(K).fill(0)
  for (let code = 0; code < K ** n; code++) {
    const draws = Array.from({ length: n }, (_, j) => Math.floor(code / K ** j) % K)
    const p = draws.reduce((s, y) => s * probabilities[y]!, 1)
    const pick = draws.reduce((b, y) => (rewards[y]! > rewards[b]! ? y : b), draws[0]!)
    picked[pick]! += p
  }
  return picked
}

describe("best-of-n", () => {
  it("best-of-n KL: log n − (n − 1)/n", () => {
    expect(policy.bestOfNKl(1)).toBe(0)
    expect(policy.bestOfNKl(4)).toBeCloseTo(Math.log(4) - 0.75, 12)
    expect(() => policy.bestOfNKl(0)).toThrow("n must be an integer ≥ 1")
  })

  it("the best-of-n distribution matches enumerating every n draws, ties included", () => {
    const probabilities = [0.1, 0.25, 0.05, 0.3, 0.2, 0.1]
    const rewards = [0.5, -1, 0.5, 2, 0.5, -1]
    for (const n of [1, 2, 3, 4]) {
      const exact = policy.bestOfNDistribution(probabilities, rewards, n)
      bruteForceBestOfN(probabilities, rewards, n).forEach((p, y) => expect(exact[y]).toBeCloseTo(p, 12))
    }
    // computed in log space (bestOfNLogDistribution), so equal to the last bit or two
    expect(policy.bestOfNDistribution([0.5, 0.5], [0, 1], 2)).toEqual([expect.closeTo(0.25, 15), expect.closeTo(0.75, 15)])
  })
})
