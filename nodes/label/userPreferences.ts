/**
 * Preferences from annotators drawn from a population of user types (label/userTypes):
 * each annotator is of type t with probability its share, labels a few training pairs and a
 * few held-out pairs with Bradley–Terry draws on r_t, and each label records its annotator
 * (`user`) and type (`source`) (./population.ts, as label/annotators).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, PreferencePairs, UserTypes } from "../artifacts.ts"
import { typeAt } from "./math.ts"
import { pairCountParams } from "./pairs.ts"
import { annotate } from "./population.ts"

export const userPreferences = Node.make({
  kind: "label/userPreferences",
  version: 1,
  description: "Annotators drawn from a population of user types by their shares; each label records its annotator and type.",
  params: Schema.Struct({
    annotators: Param.int({ default: 100, min: 1, description: "Number of annotators" }),
    ...pairCountParams({ pairs: 20, testPairs: 10 }, "each annotator"),
    temperature: Param.number({ default: 0.1, min: 0, description: "Bradley–Terry temperature of every annotator" }),
    seed: Param.seed
  }),
  inputs: { task: Items, users: UserTypes },
  output: PreferencePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const rng = ctx.random.split("annotators")
      const shares = inputs.users.map((u) => u.share)
      return annotate(inputs.task, inputs.users.map((u) => u.weights), params, rng, () => typeAt(shares, rng.uniform()))
    })
})
