/**
 * The "shorter response wins" baseline on held-out text pairs: the accuracy a
 * reward model must beat to show it learned more than length.
 */
import { Effect, Schema } from "effect"
import * as Node from "../../dsl/Node.ts"
import { RewardModelAccuracy, TextPreferences } from "../artifacts.ts"
import { bySplit, mean } from "./math.ts"

export const lengthBaseline = Node.make({
  kind: "evaluate/lengthBaseline",
  version: 1,
  description: "Accuracy of predicting that the shorter response is chosen (ties count half), per split.",
  params: Schema.Struct({}),
  inputs: { preferences: TextPreferences },
  output: RewardModelAccuracy,
  run: ({ inputs }) =>
    Effect.sync(() =>
      bySplit(inputs.preferences, { all: false }).map(([split, pairs]) => {
        const accuracy = mean(pairs.map((p) => (p.chosen.length < p.rejected.length ? 1 : p.chosen.length === p.rejected.length ? 0.5 : 0)))
        return { split, accuracy, ece: Number.NaN, pairs: pairs.length }
      })
    )
})
