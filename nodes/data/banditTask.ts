/**
 * A contextual bandit preference task: prompts × K candidate responses, each
 * (prompt, response) with a Gaussian feature vector and a gold reward over it
 * (linear or a fixed random MLP; see ./math.ts). Because each prompt has finitely many
 * responses, the optimal and KL-regularised optimal policies are exact
 * (`klRegularizedPolicy`). A fraction of the prompts is held out.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items } from "../artifacts.ts"
import { banditItems, shapeParams } from "./banditItems.ts"

export const banditTask = Node.make({
  kind: "data/banditTask",
  version: 1,
  description: "Prompts × K candidate responses with feature vectors and a gold reward; items of a prompt are its responses.",
  params: Schema.Struct({ ...shapeParams, seed: Param.seed }),
  inputs: {},
  output: Items,
  run: ({ params, ctx }) => Effect.sync(() => banditItems({ ...params, tails: 0, atypicality: 0 }, ctx.random.split("bandit")))
})
