/** Held-out evaluation units (items, prompts, records) drawn at random, shared by the task and dataset nodes. */
import type { Random } from "../../dsl/Random.ts"

/** The ids among 0..n−1 of a random `fraction` of n units (rounded), drawn from `rng`. */
export const heldOutIds = (rng: Random, n: number, fraction: number): Set<number> =>
  new Set(rng.shuffle([...Array(n).keys()]).slice(0, Math.round(n * fraction)))
