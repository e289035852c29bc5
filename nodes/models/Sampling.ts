/**
 * Drawing one token (or response) from a row of logits: temperature scaling,
 * top-k truncation, greedy decoding at temperature 0. Randomness comes from the
 * node's seeded generator, never from TensorFlow.js, so samples are reproducible.
 */
import type { Random } from "../../dsl/Random.ts"
import { logSoftmax } from "../data/math.ts"
import { sum } from "../evaluate/math.ts"

export interface Options {
  /** softmax temperature; 0 decodes greedily */
  readonly temperature: number
  /** sample among the k most likely only; 0 for all */
  readonly topK: number
}

/** Index of the largest logit (the lowest index on ties). */
export const argmax = (row: ArrayLike<number>): number => {
  let best = 0
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i
  return best
}

/** log softmax(row)[index], computed stably (ablate/math's data.logSoftmax; use it for a whole row). */
export const logSoftmaxAt = (row: ArrayLike<number>, index: number): number => logSoftmax(row)[index]!

/** Draw an index with probability ∝ exp(logit / temperature) among the top-k logits. */
export const draw = (row: ArrayLike<number>, options: Options, rng: Random): number => {
  if (options.temperature === 0) return argmax(row)
  const order = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b)
  const kept = options.topK > 0 ? order.slice(0, options.topK) : order
  const max = row[kept[0]!]!
  const weights = kept.map((i) => Math.exp((row[i]! - max) / options.temperature))
  let u = rng.uniform() * sum(weights)
  for (let j = 0; j < kept.length; j++) {
    u -= weights[j]!
    if (u < 0) return kept[j]!
  }
  return kept.at(-1)!
}
