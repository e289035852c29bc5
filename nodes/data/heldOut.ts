/** Held-out evaluation units (items, prompts, records) drawn at random, shared by the task and dataset nodes. */
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"

/** The `heldOut` param of a node that holds out a fraction of its `units` (items, prompts, pairs). */
export const heldOutParam = (units: string, options: { readonly exclusiveMin?: true } = {}) =>
  Param.number({ default: 0.25, min: 0, max: 1, ...options, description: `Fraction of ${units} held out for evaluation` })

/** The ids among 0..n−1 of a random `fraction` of n units (rounded), drawn from `rng`. */
export const heldOutIds = (rng: Random, n: number, fraction: number): Set<number> =>
  new Set(rng.shuffle([...Array(n).keys()]).slice(0, Math.round(n * fraction)))
