/**
 * A population of annotators of several types, shared by label/annotators (types drawn
 * inside the node, a uniform mixture) and label/userTypes with label/userPreferences
 * (types as an artifact, any mixture). Type t has the linear reward r_t(x) = w_t·x with
 * w_0 ~ N(0, I/d) and w_t = ρ·w_0 + √(1 − ρ²)·z_t for t > 0 (./math.ts's
 * correlatedWeights); each annotator has one type and labels a few training and held-out
 * pairs with Bradley–Terry draws on their type's reward.
 */
import type { ValueOf } from "../../dsl/Artifact.ts"
import type { Random } from "../../dsl/Random.ts"
import type { Items, PreferencePairs } from "../artifacts.ts"
import { dot, linearWeights } from "../data/math.ts"
import { correlatedWeights } from "./math.ts"
import { bradleyTerryVerdict, drawPairs } from "./pairs.ts"

/** The reward weights of `types` types over `d` features, correlated ρ with type 0's, drawn from `rng`. */
export const typeWeights = (rng: Random, d: number, types: number, correlation: number): Array<Array<number>> => {
  const base = linearWeights(rng, d)
  return Array.from({ length: types }, (_, t) => (t === 0 ? base : correlatedWeights(base, linearWeights(rng, d), correlation)))
}

/** The name of type t, as labels record it in `source`. */
export const typeName = (t: number): string => `type${t}`

export interface Annotation {
  readonly annotators: number
  readonly pairs: number
  readonly testPairs: number
  readonly temperature: number
}

/**
 * The labels of `annotators` annotators (`annotator0`, …), each of type `pickType()` with the
 * reward weights `weights[type]`, every label drawn from `rng` in annotator order.
 */
export const annotate = (
  task: ValueOf<typeof Items>,
  weights: ReadonlyArray<ReadonlyArray<number>>,
  annotation: Annotation,
  rng: Random,
  pickType: () => number
): ValueOf<typeof PreferencePairs> =>
  Array.from({ length: annotation.annotators }, (_, a) => {
    const type = pickType()
    const reward = (x: ReadonlyArray<number>) => dot(weights[type]!, x)
    const labels = drawPairs(task, annotation, rng, (x, y) => bradleyTerryVerdict(rng, reward(x.features), reward(y.features), annotation.temperature))
    return labels.map((pair) => ({ ...pair, user: `annotator${a}`, source: typeName(type) }))
  }).flat()
