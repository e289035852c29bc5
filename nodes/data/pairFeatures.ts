/** Preference pairs over items → feature pairs, by looking up each item's feature vector. */
import { Effect, Schema } from "effect"
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
    Effect.sync(() => {
      const byItem = new Map(inputs.task.map((row) => [row.item, row.features]))
      const features = (item: number) => {
        const x = byItem.get(item)
        if (x === undefined) throw new Error(`pair refers to item ${item}, which the task does not have`)
        return x
      }
      return inputs.pairs.map((p) => ({
        chosen: features(p.chosen),
        rejected: features(p.rejected),
        label: p.tie ? 0.5 : 1,
        user: p.user,
        source: p.source,
        split: p.split
      }))
    })
})
