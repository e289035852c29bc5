/**
 * Gold reward functions of synthetic tasks. Linear: r(x) = w·x with w ~ N(0, I/d).
 * MLP: r(x) = v·tanh(Wx) with fixed random W ~ N(0, I/d), v ~ N(0, I/h), h = 2d.
 * Either may be lowered by an atypicality penalty λ·‖x‖²/d, and features may be drawn
 * heavy-tailed (a Student-t scale), so that a few responses are far from the rest and worse
 * than they look — what a reward model trained on typical responses misses (the
 * off-distribution exploits behind reward-model overoptimisation: Gao et al., 2022,
 * https://arxiv.org/abs/2210.10760). Log-softmax and log-sum-exp of a row of logits, and
 * the exact optimal policies of a bandit prompt built on them.
 */
import { ArgumentError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"

const gaussian = (rng: Random, n: number, scale: number): Array<number> => Array.from({ length: n }, () => rng.normal() * scale)

/** Weights of a random linear reward over `d` features: w ~ N(0, I/d). */
export const linearWeights = (rng: Random, d: number): Array<number> => gaussian(rng, d, 1 / Math.sqrt(d))

/** a · b */
export const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/**
 * A gold reward over `d`-dimensional features, drawn once from `rng`, less the penalty
 * `atypicality`·‖x‖²/d (0: none) on responses far from the typical feature vector.
 */
export const goldReward = (form: "linear" | "mlp", d: number, rng: Random, atypicality = 0): (x: ReadonlyArray<number>) => number => {
  const reward = unpenalizedGold(form, d, rng)
  return atypicality === 0 ? reward : (x) => reward(x) - (atypicality * dot(x, x)) / d
}

const unpenalizedGold = (form: "linear" | "mlp", d: number, rng: Random): (x: ReadonlyArray<number>) => number => {
  if (form === "linear") {
    const w = linearWeights(rng, d)
    return (x) => dot(w, x)
  }
  const h = 2 * d
  const W = Array.from({ length: h }, () => linearWeights(rng, d))
  const v = gaussian(rng, h, 1 / Math.sqrt(h))
  return (x) => dot(v, W.map((row) => Math.tanh(dot(row, x))))
}

/**
 * The scale s of a multivariate Student-t draw x = s·z, z ~ N(0, I): s = 1/√(χ²_ν/ν) with
 * χ²_ν a sum of ν squared standard normals from `rng`. Every feature of the draw shares s,
 * so small ν makes a few whole responses atypical. ν = 0 stands for Gaussian features (s = 1,
 * nothing drawn).
 */
export const studentScale = (rng: Random, nu: number): number => {
  if (nu === 0) return 1
  let chiSquared = 0
  for (let i = 0; i < nu; i++) chiSquared += rng.normal() ** 2
  return 1 / Math.sqrt(chiSquared / nu)
}

/** log Σ_i exp(row_i), computed stably: max + log Σ_i exp(row_i − max). */
export const logSumExp = (row: ArrayLike<number>): number => {
  const { max, logZ } = normalizer(row)
  return max + logZ
}

/** log softmax(row): row_i − max − log Σ_j exp(row_j − max), computed stably. */
export const logSoftmax = (row: ArrayLike<number>): Array<number> => {
  const { max, logZ } = normalizer(row)
  return Array.from(row, (x) => x - max - logZ)
}

const normalizer = (row: ArrayLike<number>): { readonly max: number; readonly logZ: number } => {
  let max = -Infinity
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!)
  let z = 0
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i]! - max)
  return { max, logZ: Math.log(z) }
}

/**
 * Optimal policies of a bandit prompt with rewards r(y) over its responses.
 *
 * The KL-regularised optimum of E_π[r] − β·KL(π ‖ π_ref) is
 *   π*(y) = π_ref(y)·exp(r(y)/β) / Z,  Z = Σ_y π_ref(y)·exp(r(y)/β)
 * (e.g. Rafailov et al., 2023, https://arxiv.org/abs/2305.18290, eq. 4), and the
 * optimum's value is β·log Z. As β → 0 it tends to the greedy optimum argmax_y r(y).
 * Both are computed from the logits log π_ref(y) + r(y)/β, whose softmax is π*.
 */
export const klRegularizedLogits = (rewards: ReadonlyArray<number>, logReference: ArrayLike<number>, beta: number): Array<number> => {
  if (beta <= 0) throw new ArgumentError({ function: "klRegularizedLogits", argument: "beta", reason: `must be positive, got ${beta}` })
  return rewards.map((r, i) => logReference[i]! + r / beta)
}

/** π* = softmax(log π_ref + r/β), the KL-regularised optimum, from the reference's probabilities. */
export const klRegularizedPolicy = (rewards: ReadonlyArray<number>, reference: ReadonlyArray<number>, beta: number): Array<number> =>
  logSoftmax(klRegularizedLogits(rewards, reference.map(Math.log), beta)).map(Math.exp)

/** β·log Σ_y π_ref(y)·exp(r(y)/β): the value of the KL-regularised optimum. */
export const klRegularizedValue = (rewards: ReadonlyArray<number>, reference: ReadonlyArray<number>, beta: number): number =>
  beta * logSumExp(klRegularizedLogits(rewards, reference.map(Math.log), beta))

/** The greedy optimal policy: all mass on the best response (the first on ties). */
export const optimalPolicy = (rewards: ReadonlyArray<number>): Array<number> => {
  const best = rewards.indexOf(Math.max(...rewards))
  return rewards.map((_, i) => (i === best ? 1 : 0))
}
