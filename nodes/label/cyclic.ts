/**
 * Intransitive (rock–paper–scissors) preferences: each item belongs to one of three
 * classes, the index of the largest of its first three features; class c beats
 * class c + 1 (mod 3) whatever the gold reward says. Only pairs across classes are
 * drawn, so every triple of classes is a cycle no scalar reward can order: a
 * Bradley–Terry model gets at most 2 of the 3 class relations right.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, PreferencePairs } from "../artifacts.ts"
import { drawPairs, pairCountParams } from "./pairs.ts"

/** Class of a feature vector: the index of the largest of its first three features. */
export const classOf = (features: ReadonlyArray<number>): number => {
  if (features.length < 3) throw new InputError({ input: "task", reason: `cyclic labels need items with at least 3 features, got ${features.length}` })
  return features[0]! >= features[1]! ? (features[0]! >= features[2]! ? 0 : 2) : features[1]! >= features[2]! ? 1 : 2
}

/** Rock–paper–scissors: class c beats class c + 1 (mod 3). */
export const beats = (a: number, b: number): boolean => (a + 1) % 3 === b

export const cyclic = Node.make({
  kind: "label/cyclic",
  version: 1,
  description: "Rock–paper–scissors preferences between items of three classes (intransitive).",
  params: Schema.Struct({
    ...pairCountParams({ pairs: 2000, testPairs: 500 }),
    seed: Param.seed
  }),
  inputs: { task: Items },
  output: PreferencePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const classes = new Map(inputs.task.map((row) => [row.item, classOf(row.features)]))
      const cls = (row: { readonly item: number }) => classes.get(row.item)!
      return drawPairs(inputs.task, params, ctx.random.split("label"), (a, b) => (beats(cls(a), cls(b)) ? "a" : "b"), (a, b) => cls(a) !== cls(b))
    })
})
