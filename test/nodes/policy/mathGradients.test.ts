/**
 * ablate/math's policy namespace on the wasm backend the trainers run on: the gradients the
 * trainers follow, the clipping regions of PPO, independent reference computations (GAE's
 * closed form, RLOO's G/(G − 1) identity, ORPO's log-odds from Math.expm1), the exact zero of a
 * zero-variance GRPO group, and every argument check. Complements ./math.test.ts,
 * which checks each function's values by hand on the cpu backend. Expected values are worked out
 * in the comments, not taken from the code under test.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import { beforeAll, describe, expect, it } from "vitest"
import * as math from "../../../nodes/math.ts"
import { TensorBackend } from "../../../runtime/TensorBackend.ts"

const { policy } = math

beforeAll(() =>
  Effect.gen(function*() {
    yield* (yield* TensorBackend).ensure
  }).pipe(Effect.provide(TensorBackend.layer("wasm")), Effect.runPromise).then(() => expect(tf.getBackend()).toBe("wasm")))

const values = (t: tf.Tensor): Array<number> => Array.from(t.dataSync())
/** Elementwise toBeCloseTo: |actual − expected| < 10^−digits / 2. */
const closeTo = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>, digits = 5) => {
  expect(actual).toHaveLength(expected.length)
  actual.forEach((a, i) => expect(a).toBeCloseTo(expected[i]!, digits))
}
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))
// log σ(x), written out stably in double precision
const logSigmoid = (x: number) => (x < 0 ? x - Math.log1p(Math.exp(x)) : -Math.log1p(Math.exp(-x)))

describe("DPO family: the gradients the trainers follow", () => {
  // one pair with h = (−2 − −1) − (−1.5 − −1.5) = −1 and β = ½, so βh = −½
  const pair = { chosen: -2, rejected: -1, reference: -1.5 }
  /** d loss/d log π_c and d loss/d log π_r of one pair. */
  const gradients = (options: math.policy.DpoOptions, p = pair): [number, number] =>
    tf.tidy(() => {
      const ref = tf.tensor1d([p.reference])
      const [dc, dr] = tf.grads((c: tf.Tensor, r: tf.Tensor) => tf.sum(policy.dpoLoss(c as tf.Tensor1D, r as tf.Tensor1D, ref, ref, options).losses))([
        tf.tensor1d([p.chosen]),
        tf.tensor1d([p.rejected])
      ])
      return [values(dc!)[0]!, values(dr!)[0]!]
    })

  it("every loss type lowers the loss as log π(chosen) rises and log π(rejected) falls, by dL/dh worked out by hand", () => {
    const dLdh = {
      // d softplus(−βh)/dh = −β·σ(−βh) = −½·σ(½)
      sigmoid: -0.5 * sigmoid(0.5),
      // d[0.9·softplus(−βh) + 0.1·softplus(βh)]/dh = β·(−0.9·σ(−βh) + 0.1·σ(βh))
      conservative: 0.5 * (-0.9 * sigmoid(0.5) + 0.1 * sigmoid(-0.5)),
      // d[(0.9·softplus(−βh) − 0.1·softplus(βh))/0.8]/dh = β·(−0.9·σ(−βh) − 0.1·σ(βh))/0.8
      robust: (0.5 * (-0.9 * sigmoid(0.5) - 0.1 * sigmoid(-0.5))) / 0.8,
      // max(0, 1 − βh) = 1.5 > 0: slope −β
      hinge: -0.5,
      // d(h − 1/(2β))²/dh = 2(h − 1) = −4
      ipo: -4
    }
    const cases: Array<[keyof typeof dLdh, math.policy.DpoOptions]> = [
      ["sigmoid", { beta: 0.5 }],
      ["conservative", { beta: 0.5, labelSmoothing: 0.1 }],
      ["robust", { beta: 0.5, lossType: "robust", labelSmoothing: 0.1 }],
      ["hinge", { beta: 0.5, lossType: "hinge" }],
      ["ipo", { beta: 0.5, lossType: "ipo" }]
    ]
    for (const [name, options] of cases) {
      const [dc, dr] = gradients(options)
      expect(dc, name).toBeLessThan(0)
      expect(dc, name).toBeCloseTo(dLdh[name], 5)
      expect(dr, name).toBeCloseTo(-dLdh[name], 5) // h falls as log π_r rises
    }
  })

  it("conservative DPO stops pushing where σ(βh) = 1 − ε, i.e. βh = log((1 − ε)/ε)", () => {
    // β = 1, ε = 0.1: the gradient β·(−0.9·σ(−h) + 0.1·σ(h)) vanishes at h = log 9
    const [dc] = gradients({ beta: 1, labelSmoothing: 0.1 }, { chosen: Math.log(9), rejected: 0, reference: 0 })
    expect(dc).toBeCloseTo(0, 6)
    // plain DPO still pushes there: −σ(−log 9) = −0.1
    expect(gradients({ beta: 1 }, { chosen: Math.log(9), rejected: 0, reference: 0 })[0]).toBeCloseTo(-0.1, 6)
  })

  it("hinge stops past its margin and IPO pulls back an overshoot of h = 1/(2β)", () => {
    // β = ½, h = 3: βh = 1.5 > 1, so max(0, 1 − βh) = 0 with slope 0
    const past = { chosen: 2, rejected: -1, reference: -1.5 }
    closeTo(gradients({ beta: 0.5, lossType: "hinge" }, past), [0, 0], 10)
    // IPO's target is h = 1/(2β) = 1: zero gradient there, and at h = 3 the slope 2(3 − 1) = 4 lowers log π_c
    expect(gradients({ beta: 0.5, lossType: "ipo" }, { chosen: 0, rejected: -1, reference: -1.5 })[0]).toBeCloseTo(0, 6)
    expect(gradients({ beta: 0.5, lossType: "ipo" }, past)[0]).toBeCloseTo(4, 5)
  })

  it("the logistic losses stay finite at |βh| = 200: softplus(200) = 200, softplus(−200) ≈ 0", () => {
    const losses = tf.tidy(() =>
      values(policy.dpoLoss(tf.tensor1d([0, -200]), tf.tensor1d([-200, 0]), tf.tensor1d([0, 0]), tf.tensor1d([0, 0]), { beta: 1, labelSmoothing: 0.1 }).losses))
    // h = 200: 0.9·softplus(−200) + 0.1·softplus(200) = 20; h = −200: 0.9·200 + 0.1·0 = 180
    closeTo(losses, [20, 180], 3)
  })

  it("RPO's NLL term has slope α and leaves the implicit rewards DPO's", () => {
    tf.tidy(() => {
      const args = [tf.tensor1d([-2]), tf.tensor1d([-1]), tf.tensor1d([-1.5]), tf.tensor1d([-1.5])] as const
      const dNll = tf.grad((nll: tf.Tensor) => tf.sum(policy.rpoLoss(...args, nll as tf.Tensor1D, { beta: 0.5, alpha: 0.3 }).losses))(tf.tensor1d([1.2]))
      expect(values(dNll)).toEqual([Math.fround(0.3)])
      const rpo = policy.rpoLoss(...args, tf.tensor1d([1.2]), { beta: 0.5, alpha: 0.3 })
      // β(log π − log π_ref): ½(−2 + 1.5), ½(−1 + 1.5)
      closeTo(values(rpo.chosenRewards), [-0.25], 7)
      closeTo(values(rpo.rejectedRewards), [0.25], 7)
    })
  })

  it("SimPO: equal mean log-probabilities lose softplus(γ); label smoothing mixes in the flipped label", () => {
    tf.tidy(() => {
      // logit β(ā_c − ā_r) − γ: 0 − 1 = −1, so −log σ(−1) = log(1 + e)
      closeTo(values(policy.simpoLoss(tf.tensor1d([-1]), tf.tensor1d([-1]), { beta: 2, gamma: 1 }).losses), [Math.log1p(Math.E)])
      // logit 2·1 − 1 = 1: 0.9·(−log σ(1)) + 0.1·(−log σ(−1))
      const smoothed = policy.simpoLoss(tf.tensor1d([-0.5]), tf.tensor1d([-1.5]), { beta: 2, gamma: 1, labelSmoothing: 0.1 })
      closeTo(values(smoothed.losses), [-0.9 * logSigmoid(1) - 0.1 * logSigmoid(-1)])
      closeTo(values(smoothed.rejectedRewards), [-3], 6) // β·ā_r
    })
  })

  it("ORPO's log-odds match an independent Math.expm1 computation from ā = −1e−5 to −30, and its gradients have the right signs", () => {
    const chosen = [-1e-5, -0.01, -0.7, -5, -30].map(Math.fround)
    const rejected = [-0.7, -30, -1e-5, -0.01, -5].map(Math.fround)
    const nll = [0.1, 0.2, 0.3, 0.4, 0.5]
    const logOdds = (a: number) => a - Math.log(-Math.expm1(a)) // log(p/(1 − p)), p = e^a
    const out = tf.tidy(() => {
      const r = policy.orpoLoss(tf.tensor1d(chosen), tf.tensor1d(rejected), tf.tensor1d(nll), { lambda: 0.5 })
      return { logOdds: values(r.logOdds), losses: values(r.losses) }
    })
    const ratio = chosen.map((a, i) => logOdds(a) - logOdds(rejected[i]!))
    closeTo(out.logOdds, ratio, 4)
    closeTo(out.losses, ratio.map((x, i) => nll[i]! - 0.5 * logSigmoid(x)), 4)
    // d loss/dā_r = λ·σ(−logOdds)/(1 − e^{ā_r}) > 0: a likelier rejected response costs more
    const dRejected = tf.tidy(() =>
      values(tf.grad((r: tf.Tensor) => tf.sum(policy.orpoLoss(tf.tensor1d([-0.5]), r as tf.Tensor1D, tf.tensor1d([0]), { lambda: 0.5 }).losses))(tf.tensor1d([-1])))[0]!)
    expect(dRejected).toBeCloseTo((0.5 * sigmoid(-(logOdds(-0.5) - logOdds(-1)))) / -Math.expm1(-1), 4)
  })

  it("KTO: at r = z each response loses λ/2, and the slope is ∓λβ/4 for desirable and undesirable responses", () => {
    tf.tidy(() => {
      const reference = tf.tensor1d([-2, -2])
      const desirable = tf.tensor1d([1, 0])
      const options = { beta: 0.4, desirableWeight: 1.5, undesirableWeight: 3, referencePoint: 0.25 }
      const policyLogProbs = tf.tensor1d([-1.75, -1.75]) // r = 0.25 = z for both
      closeTo(values(policy.ktoLoss(policyLogProbs, reference, desirable, options).losses), [0.75, 1.5], 6)
      // d λ(1 − σ(β(r − z)))/dr = −λβ·σ'(0) = −λβ/4; d λ(1 − σ(β(z − r)))/dr = +λβ/4
      const slope = tf.grad((p: tf.Tensor) => tf.sum(policy.ktoLoss(p as tf.Tensor1D, reference, desirable, options).losses))(policyLogProbs)
      closeTo(values(slope), [(-1.5 * 0.4) / 4, (3 * 0.4) / 4], 6)
    })
    expect(policy.ktoReferencePoint([], [])).toBe(0)
  })

  it("the losses free what they allocate: only their inputs and outputs remain", () => {
    const inputs = [tf.tensor1d([-2, -1]), tf.tensor1d([-1, -3]), tf.tensor1d([-1.5, -2]), tf.tensor1d([-1.5, -2])] as const
    for (const lossType of ["sigmoid", "robust", "hinge", "ipo"] as const) {
      const before = tf.memory().numTensors
      const out = policy.dpoLoss(...inputs, { beta: 0.5, lossType, labelSmoothing: lossType === "robust" ? 0.1 : 0 })
      expect(tf.memory().numTensors - before, lossType).toBe(3) // losses, chosenRewards, rejectedRewards
      tf.dispose([out.losses, out.chosenRewards, out.rejectedRewards])
    }
    const before = tf.memory().numTensors
    const orpo = policy.orpoLoss(inputs[0], inputs[1], inputs[2], { lambda: 0.1 })
    expect(tf.memory().numTensors - before).toBe(4)
    tf.dispose([orpo.losses, orpo.chosenRewards, orpo.rejectedRewards, orpo.logOdds, ...inputs])
  })
})

describe("advantages against independent computations", () => {
  it("GAE equals its closed form A_t = Σ_l (γλ)^l·δ_{t+l}", () => {
    const rewards = [0.3, -1, 0, 2.5, 0.7]
    const vals = [0.1, 0.4, -0.2, 1, 0.5]
    const gamma = 0.95
    const lambda = 0.9
    const lastValue = 0.6
    const next = (t: number) => (t + 1 < vals.length ? vals[t + 1]! : lastValue)
    const delta = rewards.map((r, t) => r + gamma * next(t) - vals[t]!)
    const closedForm = delta.map((_, t) => delta.slice(t).reduce((s, d, l) => s + (gamma * lambda) ** l * d, 0))
    const { advantages, returns } = policy.gae(rewards, vals, { gamma, lambda, lastValue })
    closeTo(advantages, closedForm, 12)
    closeTo(returns, closedForm.map((a, t) => a + vals[t]!), 12)
  })

  it("GAE with λ = 1 returns the discounted Monte-Carlo return whatever V is; with λ = 0 the TD target", () => {
    // γ = ½, bootstrapped from 8: R₂ = 4 + ½·8 = 8, R₁ = 2 + ½·8 = 6, R₀ = 1 + ½·6 = 4
    const mc = policy.gae([1, 2, 4], [1, 1, 1], { gamma: 0.5, lambda: 1, lastValue: 8 })
    expect(mc.returns).toEqual([4, 6, 8])
    expect(mc.advantages).toEqual([3, 5, 7])
    expect(policy.gae([1, 2, 4], [0, -3, 5], { gamma: 0.5, lambda: 1, lastValue: 8 }).returns).toEqual([4, 6, 8])
    // λ = 0: R_t = r_t + γV_{t+1} = [1 + ½·(−3), 2 + ½·5, 4 + ½·8]
    const td = policy.gae([1, 2, 4], [0, -3, 5], { gamma: 0.5, lambda: 0, lastValue: 8 })
    expect(td.returns).toEqual([-0.5, 4.5, 8])
    expect(td.advantages).toEqual([-0.5, 7.5, 3])
    expect(policy.gae([], [], { gamma: 1, lambda: 1 })).toEqual({ advantages: [], returns: [] })
  })

  it("whiten: (x − 5)/√13 for [2, 4, 9] (sample variance (9 + 1 + 16)/2); equal values and no values", () => {
    closeTo(policy.whiten([2, 4, 9]), [-3, -1, 4].map((d) => d / Math.sqrt(13 + 1e-8)), 12)
    closeTo(policy.whiten([2, 4, 9], { shiftMean: false }), [-3, -1, 4].map((d) => d / Math.sqrt(13 + 1e-8) + 5), 12)
    expect(policy.whiten([1, 1])).toEqual([0, 0]) // 0/√(0 + 1e−8)
    expect(policy.whiten([5], { shiftMean: false })).toEqual([5])
    expect(policy.whiten([])).toEqual([])
  })

  it("GRPO groups prompt-major, and a zero-variance group is exactly 0 even with ε = 0 and a mean that misses it by an ulp", () => {
    // groups [1, 0] (mean ½, sample std √½), [0, 0], [3, 1] (mean 2, sample std √2)
    const eps = 1e-4
    closeTo(policy.grpoAdvantages([1, 0, 0, 0, 3, 1], 2), [0.5 / (Math.SQRT1_2 + eps), -0.5 / (Math.SQRT1_2 + eps), 0, 0, 1 / (Math.SQRT2 + eps), -1 / (Math.SQRT2 + eps)], 12)
    expect(policy.grpoAdvantages([4, 4, 4], 3, { epsilon: 0 })).toEqual([0, 0, 0])
    // (0.1 + 0.1 + 0.1)/3 ≠ 0.1 in floating point
    expect(policy.grpoAdvantages([0.1, 0.1, 0.1], 3, { epsilon: 0 })).toEqual([0, 0, 0])
    expect(policy.grpoAdvantages([0.1, 0.1, 0.1], 3, { scale: "none" })).toEqual([0, 0, 0])
    // [0, 0, 1, 1]: mean ½, sample std √(4·¼/3) = 1/√3
    closeTo(policy.grpoAdvantages([0, 0, 1, 1], 4, { epsilon: 0 }), [-1, -1, 1, 1].map((s) => s * 0.5 * Math.sqrt(3)), 12)
  })

  it("GRPO's std scaling makes advantages invariant to the reward scale; Dr. GRPO's scale with it", () => {
    const rewards = [1, 4, 2, 7]
    const scaled = rewards.map((r) => 10 * r)
    closeTo(policy.grpoAdvantages(scaled, 4, { epsilon: 0 }), policy.grpoAdvantages(rewards, 4, { epsilon: 0 }), 12)
    // mean 3.5: 10·(−2.5, 0.5, −1.5, 3.5)
    closeTo(policy.grpoAdvantages(scaled, 4, { scale: "none" }), [-25, 5, -15, 35], 12)
  })

  it("RLOO equals G/(G − 1)·(r − mean) in each group", () => {
    // [1, 2, 3, 10]: mean 4, 4/3·(−3, −2, −1, 6); [0, 0, 0, 4]: mean 1, 4/3·(−1, −1, −1, 3)
    closeTo(policy.rlooAdvantages([1, 2, 3, 10, 0, 0, 0, 4], 4), [-4, -8 / 3, -4 / 3, 8, -4 / 3, -4 / 3, -4 / 3, 4], 12)
  })
})

describe("KL penalty and PPO: clipping regions, masks and gradients", () => {
  it("per-token KL keeps its shape, averages to klEstimators, and is 0 for identical policies", () => {
    const logp = [[-0.2, -1.9], [-3, -0.05]]
    const ref = [[-0.6, -1.1], [-2.2, -0.4]]
    const estimates = math.evaluate.klEstimators(logp.flat(), ref.flat())
    for (const k of ["k1", "k2", "k3"] as const) {
      const penalty = tf.tidy(() => {
        const p = policy.klPenalty(tf.tensor2d(logp), tf.tensor2d(ref), k)
        expect(p.shape).toEqual([2, 2])
        return values(p)
      })
      expect(penalty.reduce((a, b) => a + b, 0) / 4, k).toBeCloseTo(estimates[k], 6)
      closeTo(tf.tidy(() => values(policy.klPenalty(tf.tensor2d(logp), tf.tensor2d(logp), k))), [0, 0, 0, 0], 12)
    }
    // k3 = e^{log r} − 1 − log r ≥ 0 where k1 = −log r is negative: log r = 0.4 gives k1 = −0.4, k3 = e^0.4 − 1.4
    const [k1, k3] = tf.tidy(() => [values(policy.klPenalty(tf.tensor1d([-0.6]), tf.tensor1d([-0.2]), "k1"))[0]!, values(policy.klPenalty(tf.tensor1d([-0.6]), tf.tensor1d([-0.2]), "k3"))[0]!])
    expect(k1).toBeCloseTo(-0.4, 6)
    expect(k3).toBeCloseTo(Math.exp(0.4) - 1.4, 6)
  })

  // tokens (log ratio, A): (0.5, 1) clipped above; (−0.5, −1) clipped below; (0.1, −1) inside the range;
  // (0.5, −1) outside but the unclipped term is the larger, so it is kept; two masked tokens
  const logRatio = [[0.5, -0.5, 0.1], [0.5, 5, -3]]
  const advantage = [[1, -1, -1], [-1, 100, -7]]
  const mask = [[1, 1, 1], [1, 0, 0]]
  const surrogate = () =>
    tf.tidy(() => {
      const old = tf.tensor2d([[-1, -2, -0.5], [-1.5, -1, -4]])
      const lossOf = (lp: tf.Tensor) => policy.ppoPolicyLoss(lp as tf.Tensor2D, old, tf.tensor2d(advantage), tf.tensor2d(mask), { clipRange: 0.2 })
      const logProbs = tf.add(old, tf.tensor2d(logRatio))
      const out = lossOf(logProbs)
      return { loss: values(out.loss)[0]!, clip: values(out.clipFraction)[0]!, kl: values(out.approxKl)[0]!, grad: values(tf.grad((lp) => lossOf(lp).loss)(logProbs)) }
    })

  it("clipped surrogate on both sides of the range, masked tokens ignored", () => {
    const { loss, clip, kl } = surrogate()
    // max(−A·r, −A·clip(r)): max(−1.6487, −1.2) = −1.2; max(0.6065, 0.8) = 0.8; e^{0.1} both; max(e^{0.5}, 1.2) = e^{0.5}
    expect(loss).toBeCloseTo((-1.2 + 0.8 + Math.exp(0.1) + Math.exp(0.5)) / 4, 5)
    expect(clip).toBeCloseTo(2 / 4, 6)
    // ½·(0.25 + 0.25 + 0.01 + 0.25)/4
    expect(kl).toBeCloseTo(0.095, 6)
  })

  it("clipped and masked tokens pass no gradient; the others pass −A·ratio/N", () => {
    closeTo(surrogate().grad, [0, 0, Math.exp(0.1) / 4, Math.exp(0.5) / 4, 0, 0], 6)
  })

  it("an all-zero mask gives a zero loss, not NaN", () => {
    const loss = tf.tidy(() => {
      const z = tf.zeros([1, 2]) as tf.Tensor2D
      return values(policy.ppoPolicyLoss(z, z, tf.ones([1, 2]) as tf.Tensor2D, z, { clipRange: 0.2 }).loss)[0]
    })
    expect(loss).toBe(0)
  })

  it("value loss: the clipped error counts only when larger, and then passes no gradient", () => {
    const out = tf.tidy(() => {
      const old = tf.tensor2d([[1, 1, 0]])
      const returns = tf.tensor2d([[-1, 2, 100]])
      const m = tf.tensor2d([[1, 1, 0]])
      const lossOf = (v: tf.Tensor) => policy.ppoValueLoss(v as tf.Tensor2D, old, returns, m, { clipRange: 0.2 })
      const v = tf.tensor2d([[0, 3, 9]])
      const r = lossOf(v)
      return { loss: values(r.loss)[0]!, clip: values(r.clipFraction)[0]!, grad: values(tf.grad((x) => lossOf(x).loss)(v)) }
    })
    // token 1: v_clip = 1 − 0.2 = 0.8; (0 + 1)² = 1 < (0.8 + 1)² = 3.24, clipped counts
    // token 2: v_clip = 1.2; (3 − 2)² = 1 > (1.2 − 2)² = 0.64, unclipped counts; token 3 masked
    expect(out.loss).toBeCloseTo((0.5 * (3.24 + 1)) / 2, 5)
    expect(out.clip).toBeCloseTo(0.5, 6)
    // d ½·(v − R)²/2 /dv = (3 − 2)/2 on token 2; nothing through the clipped token 1 or the masked token 3
    closeTo(out.grad, [0, 0.5, 0], 6)
  })

  it("the adaptive KL controller is immutable and compounds its updates", () => {
    const start = policy.adaptiveKlController({ initial: 0.1, target: 4, horizon: 20 })
    // kl/target − 1 = 0.25 clips to 0.2: 0.1·(1 + 0.2·10/20) = 0.11, then 0.5 − 1 = −0.5 clips to −0.2: 0.11·(1 − 0.2·5/20) = 0.1045
    const next = start.update(5, 10)
    expect(next.value).toBeCloseTo(0.11, 12)
    expect(next.update(2, 5).value).toBeCloseTo(0.1045, 12)
    expect(start.value).toBe(0.1)
    expect([next.target, next.horizon]).toEqual([4, 20])
    // inside the clip: 4.4/4 − 1 = 0.1, 0.1·(1 + 0.1·20/20)
    expect(start.update(4.4, 20).value).toBeCloseTo(0.11, 12)
  })

  it("best-of-2 KL is log 2 − ½, and the KL grows with n", () => {
    expect(policy.bestOfNKl(2)).toBeCloseTo(0.1931472, 7)
    const kls = [1, 2, 4, 16, 64].map(policy.bestOfNKl)
    kls.slice(1).forEach((kl, i) => expect(kl).toBeGreaterThan(kls[i]!))
  })
})

describe("bad arguments fail, naming the argument", () => {
  const t = (xs: Array<number>) => tf.tensor1d(xs)
  const throws = (f: () => unknown, message: string) => expect(() => tf.tidy(() => void f())).toThrow(message)

  it("preference losses", () => {
    const dpo = (options: math.policy.DpoOptions, rejected = [-1, -2]) => () => policy.dpoLoss(t([-1, -2]), t(rejected), t([-1, -2]), t([-1, -2]), options)
    throws(dpo({ beta: 0 }), "beta must be a positive number, got 0")
    throws(dpo({ beta: Number.NaN }), "beta must be a positive number")
    throws(dpo({ beta: 1, labelSmoothing: -0.1 }), "labelSmoothing must be in [0, 0.5), got -0.1")
    throws(dpo({ beta: 1 }, [-1, -2, -3]), "policyRejected has shape [3] but policyChosen has [2]")
    // a [1] argument would broadcast silently
    throws(dpo({ beta: 1 }, [-1]), "policyRejected has shape [1] but policyChosen has [2]")
    throws(() => policy.rpoLoss(t([-1]), t([-1]), t([-1]), t([-1]), t([1]), { beta: 1, alpha: -1 }), "alpha must be ≥ 0, got -1")
    throws(() => policy.rpoLoss(t([-1]), t([-1]), t([-1]), t([-1]), t([1, 2]), { beta: 1, alpha: 1 }), "chosenNll has shape [2]")
    throws(() => policy.simpoLoss(t([-1]), t([-1]), { beta: -1, gamma: 1 }), "beta must be a positive number")
    throws(() => policy.simpoLoss(t([-1]), t([-1]), { beta: 1, gamma: 1, labelSmoothing: 0.5 }), "labelSmoothing must be in [0, 0.5)")
    throws(() => policy.simpoLoss(t([-1]), t([-1, -2]), { beta: 1, gamma: 1 }), "policyRejectedMean has shape [2]")
    throws(() => policy.orpoLoss(t([-1]), t([-1]), t([1]), { lambda: -0.1 }), "lambda must be ≥ 0")
    throws(() => policy.orpoLoss(t([-1]), t([-1]), t([1, 1]), { lambda: 0.1 }), "chosenNll has shape [2]")
    const kto = (options: { beta: number; referencePoint: number; desirableWeight?: number }, desirable = [1]) => () => policy.ktoLoss(t([-1]), t([-1]), t(desirable), options)
    throws(kto({ beta: 0, referencePoint: 0 }), "beta must be a positive number")
    throws(kto({ beta: 1, referencePoint: -0.5 }), "referencePoint must be ≥ 0, got -0.5")
    throws(kto({ beta: 1, referencePoint: 0, desirableWeight: -1 }), "desirableWeight must be ≥ 0")
    throws(kto({ beta: 1, referencePoint: 0 }, [1, 0]), "desirable has shape [2] but policyLogProbs has [1]")
    expect(() => policy.ktoReferencePoint([-1, -2], [-1])).toThrow("policyLogProbs (2) and referenceLogProbs (1) differ in length")
  })

  it("advantages", () => {
    expect(() => policy.gae([1, 2], [0], { gamma: 1, lambda: 1 })).toThrow("rewards (2) and values (1) differ in length")
    expect(() => policy.gae([1], [0], { gamma: 1.5, lambda: 1 })).toThrow("gamma must be in [0, 1], got 1.5")
    expect(() => policy.gae([1], [0], { gamma: 1, lambda: -0.1 })).toThrow("lambda must be in [0, 1], got -0.1")
    expect(() => policy.grpoAdvantages([1, 2], 1)).toThrow("groupSize must be an integer ≥ 2, got 1")
    expect(() => policy.grpoAdvantages([1, 2, 3, 4, 5], 2.5)).toThrow("groupSize must be an integer ≥ 2, got 2.5")
    expect(() => policy.grpoAdvantages([1, 2, 3, 4, 5], 2)).toThrow("groupSize 2 does not divide the 5 rewards")
    expect(() => policy.grpoAdvantages([1, 2], 2, { epsilon: -1e-4 })).toThrow("epsilon must be ≥ 0")
    expect(() => policy.rlooAdvantages([1, 2], 1)).toThrow("groupSize must be an integer ≥ 2")
    expect(() => policy.rlooAdvantages([1, 2, 3], 2)).toThrow("groupSize 2 does not divide the 3 rewards")
  })

  it("KL penalty, PPO, the KL controller and best-of-n", () => {
    const m = (rows: Array<Array<number>>) => tf.tensor2d(rows)
    throws(() => policy.klPenalty(t([-1, -2]), t([-1]), "k3"), "referenceLogProbs has shape [1] but logProbs has [2]")
    throws(() => policy.ppoPolicyLoss(m([[0]]), m([[0]]), m([[1]]), m([[1]]), { clipRange: 0 }), "clipRange must be a positive number")
    throws(() => policy.ppoPolicyLoss(m([[0, 0]]), m([[0, 0]]), m([[1], [1]]), m([[1, 1]]), { clipRange: 0.2 }), "advantages has shape [2,1] but logProbs has [1,2]")
    throws(() => policy.ppoValueLoss(m([[0]]), m([[0]]), m([[1]]), m([[1]]), { clipRange: -1 }), "clipRange must be a positive number")
    throws(() => policy.ppoValueLoss(m([[0, 0]]), m([[0, 0]]), m([[1, 1]]), m([[1]]), { clipRange: 0.2 }), "mask has shape [1,1] but values has [1,2]")
    expect(() => policy.adaptiveKlController({ initial: 0.1, target: 0, horizon: 10 })).toThrow("target must be a positive number")
    expect(() => policy.adaptiveKlController({ initial: 0.1, target: 6, horizon: 0 })).toThrow("horizon must be a positive number")
    expect(() => policy.adaptiveKlController({ initial: -0.1, target: 6, horizon: 10 })).toThrow("initial must be ≥ 0")
    expect(() => policy.bestOfNKl(0)).toThrow("n must be an integer ≥ 1, got 0")
    expect(() => policy.bestOfNKl(2.5)).toThrow("n must be an integer ≥ 1, got 2.5")
  })
})
