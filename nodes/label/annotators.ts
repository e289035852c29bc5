/**
 * Preferences from a population of annotators of several types. Each type has its
 * own linear gold reward over the item features; type t's weights are
 * w_t = ρ·w_0 + √(1 − ρ²)·z_t (z_t fresh Gaussian directions), so ρ = −1 with two
 * types gives two groups that disagree on every pair. Each annotator belongs to one
 * type (uniform mixture), labels a few training pairs and a few held-out pairs with
 * Bradley–Terry draws on their type's reward, and each label records its annotator
 * (`user`) and type (`source`). See ./population.ts; label/userTypes and
 * label/userPreferences do the same with the types as an artifact and any mixture.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, PreferencePairs } from "../artifacts.ts"
import { pairCountParams } from "./pairs.ts"
import { annotate, typeWeights } from "./population.ts"

export const annotators = Node.make({
  kind: "label/annotators",
  version: 1,
  description: "Annotators of several types with different gold rewards; each label records its annotator and type.",
  params: Schema.Struct({
    types: Param.int({ default: 2, min: 1, max: 16, description: "Number of annotator types" }),
    correlation: Param.number({ default: -1, min: -1, max: 1, description: "Correlation ρ between a type's reward weights and type 0's" }),
    annotators: Param.int({ default: 100, min: 1, description: "Number of annotators" }),
    ...pairCountParams({ pairs: 20, testPairs: 10 }, "each annotator"),
    temperature: Param.number({ default: 0.1, min: 0, description: "Bradley–Terry temperature of every annotator" }),
    seed: Param.seed
  }),
  inputs: { task: Items },
  output: PreferencePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const d = inputs.task[0]?.features.length ?? 0
      const rng = ctx.random.split("annotators")
      const weights = typeWeights(rng, d, params.types, params.correlation)
      return annotate(inputs.task, weights, params, rng, () => rng.int(params.types))
    })
})
