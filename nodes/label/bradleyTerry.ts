/**
 * Oracle preference labels: random pairs of items, each labelled by a
 * Bradley–Terry draw on the gold reward with a temperature, ties where the gold
 * rewards are within `tieMargin`, and a rate of label noise; training pairs among
 * training items, test pairs among held-out items.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, PreferencePairs } from "../artifacts.ts"
import { bradleyTerryVerdict, drawPairs, pairCountParams } from "./pairs.ts"

export const bradleyTerry = Node.make({
  kind: "label/bradleyTerry",
  version: 2,
  description: "Pairs of items labelled by a Bradley–Terry oracle on the gold reward, with ties and label noise.",
  params: Schema.Struct({
    ...pairCountParams({ pairs: 2000, testPairs: 0 }),
    temperature: Param.number({ default: 0.3, min: 0, description: "Bradley–Terry temperature; 0 labels by the gold reward exactly" }),
    noise: Param.number({ default: 0, min: 0, max: 0.5, description: "Label noise: probability of reversing a preference" }),
    tieMargin: Param.number({ default: 0, min: 0, description: "Pairs whose gold rewards differ by at most this are ties" }),
    seed: Param.seed
  }),
  inputs: { task: Items },
  output: PreferencePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const rng = ctx.random.split("label")
      return drawPairs(inputs.task, params, rng, (a, b) =>
        Math.abs(a.gold - b.gold) <= params.tieMargin && params.tieMargin > 0
          ? "tie"
          : bradleyTerryVerdict(rng, a.gold, b.gold, params.temperature))
    })
})
