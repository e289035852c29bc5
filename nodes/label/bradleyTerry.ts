/**
 * Oracle preference labels: random pairs of items, each labelled by a
 * Bradley–Terry draw on the gold reward with a temperature; training pairs among
 * training items, test pairs among held-out items.
 */
import { Effect, Schema } from "effect"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, PreferencePairs } from "../artifacts.ts"
import { preferenceProbability } from "./math.ts"
import { drawPairs } from "./pairs.ts"

export const bradleyTerry = Node.make({
  kind: "label/bradleyTerry",
  version: 2,
  description: "Pairs of items labelled by a Bradley–Terry oracle on the gold reward.",
  params: Schema.Struct({
    pairs: Param.int({ default: 2000, min: 1, description: "Number of labelled training pairs" }),
    testPairs: Param.int({ default: 0, min: 0, description: "Number of labelled pairs among held-out items" }),
    temperature: Param.number({ default: 0.3, min: 0, description: "Bradley–Terry temperature; 0 labels by the gold reward exactly" }),
    seed: Param.seed
  }),
  inputs: { task: Items },
  output: PreferencePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const rng = ctx.random.split("label")
      return drawPairs(inputs.task, params, rng, (a, b) => rng.uniform() < preferenceProbability(a.gold, b.gold, params.temperature))
    })
})
