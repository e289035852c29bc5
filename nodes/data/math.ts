/**
 * Gold reward functions of synthetic tasks. Linear: r(x) = w·x with w ~ N(0, I/d).
 * MLP: r(x) = v·tanh(Wx) with fixed random W ~ N(0, I/d), v ~ N(0, I/h), h = 2d.
 */
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

/** A gold reward over `d`-dimensional features, drawn once from `rng`. */
export const goldReward = (form: "linear" | "mlp", d: number, rng: Random): (x: ReadonlyArray<number>) => number => {
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
 * Optimal policies of a bandit prompt with rewards r(y) over its responses.
 *
 * The KL-regularised optimum of E_π[r] − β·KL(π ‖ π_ref) is
 *   π*(y) = π_ref(y)·exp(r(y)/β) / Z,  Z = Σ_y π_ref(y)·exp(r(y)/β)
 * (e.g. Rafailov et al., 2023, https://arxiv.org/abs/2305.18290, eq. 4), and the
 * optimum's value is β·log Z. As β → 0 it tends to the greedy optimum argmax_y r(y).
 */
export const klRegularizedPolicy = (rewards: ReadonlyArray<number>, reference: ReadonlyArray<number>, beta: number): Array<number> => {
  if (beta <= 0) throw new Error(`beta must be positive, got ${beta}`)
  const logits = rewards.map((r, i) => Math.log(reference[i]!) + r / beta)
  const max = Math.max(...logits)
  const weights = logits.map((l) => Math.exp(l - max))
  const z = weights.reduce((a, b) => a + b, 0)
  return weights.map((w) => w / z)
}

/** β·log Σ_y π_ref(y)·exp(r(y)/β): the value of the KL-regularised optimum. */
export const klRegularizedValue = (rewards: ReadonlyArray<number>, reference: ReadonlyArray<number>, beta: number): number => {
  const logits = rewards.map((r, i) => Math.log(reference[i]!) + r / beta)
  const max = Math.max(...logits)
  return beta * (max + Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0)))
}

/** The greedy optimal policy: all mass on the best response (the first on ties). */
export const optimalPolicy = (rewards: ReadonlyArray<number>): Array<number> => {
  const best = rewards.indexOf(Math.max(...rewards))
  return rewards.map((_, i) => (i === best ? 1 : 0))
}
