/**
 * The "shorter response wins" baseline on held-out text pairs: the accuracy a
 * reward model must beat to show it learned more than length.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import { RewardModelAccuracy, TextPreferences } from "../artifacts.ts"
import { bySplit, mean } from "./math.ts"

export const lengthBaseline = Node.make({
  kind: "evaluate/lengthBaseline",
  // 2: records its accuracy per split as a metric, a result
  version: 2,
  description: "Accuracy of predicting that the shorter response is chosen (ties count half), per split.",
  metrics: { "<split>/accuracy": "accuracy of \"the shorter response is chosen\" per split" },
  results: ["<split>/accuracy"],
  params: Schema.Struct({}),
  inputs: { preferences: TextPreferences },
  output: RewardModelAccuracy,
  run: ({ inputs, ctx }) =>
    Effect.sync(() =>
      bySplit(inputs.preferences, { all: false }).map(([split, pairs]) => {
        const accuracy = mean(pairs.map((p) => (p.chosen.length < p.rejected.length ? 1 : p.chosen.length === p.rejected.length ? 0.5 : 0)))
        ctx.metric(`${split}/accuracy`, accuracy, 0)
        return { split, accuracy, ece: Number.NaN, pairs: pairs.length }
      })
    )
})
