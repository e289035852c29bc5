/**
 * Gold reward functions of synthetic tasks. Linear: r(x) = w·x with w ~ N(0, I/d).
 * MLP: r(x) = v·tanh(Wx) with fixed random W ~ N(0, I/d), v ~ N(0, I/h), h = 2d.
 */
import type { Random } from "../../dsl/Random.ts"

const gaussian = (rng: Random, n: number, scale: number): Array<number> => Array.from({ length: n }, () => rng.normal() * scale)

const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!
  return s
}

/** A gold reward over `d`-dimensional features, drawn once from `rng`. */
export const goldReward = (form: "linear" | "mlp", d: number, rng: Random): (x: ReadonlyArray<number>) => number => {
  if (form === "linear") {
    const w = gaussian(rng, d, 1 / Math.sqrt(d))
    return (x) => dot(w, x)
  }
  const h = 2 * d
  const W = Array.from({ length: h }, () => gaussian(rng, d, 1 / Math.sqrt(d)))
  const v = gaussian(rng, h, 1 / Math.sqrt(h))
  return (x) => dot(v, W.map((row) => Math.tanh(dot(row, x))))
}
