/** Preference pairs over items → feature pairs, by looking up each item's feature vector. */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import { FeaturePairs, Items, PreferencePairs } from "../artifacts.ts"

export const pairFeatures = Node.make({
  kind: "data/pairFeatures",
  version: 1,
  description: "Feature vectors of the chosen and rejected item of each pair (label ½ for ties), keeping its split.",
  params: Schema.Struct({}),
  inputs: { pairs: PreferencePairs, task: Items },
  output: FeaturePairs,
  run: ({ inputs }) =>
    Effect.gen(function*() {
      const byItem = new Map(inputs.task.map((row) => [row.item, row.features]))
      for (const [i, pair] of inputs.pairs.entries()) {
        const field = !byItem.has(pair.chosen) ? "chosen" : !byItem.has(pair.rejected) ? "rejected" : undefined
        if (field !== undefined) {
          return yield* new InputError({ input: "pairs", row: i + 1, field, reason: `item ${pair[field]} is not one of the task's items` })
        }
      }
      return inputs.pairs.map((p) => ({
        chosen: byItem.get(p.chosen)!,
        rejected: byItem.get(p.rejected)!,
        label: p.tie ? 0.5 : 1,
        user: p.user,
        source: p.source,
        split: p.split
      }))
    })
})
