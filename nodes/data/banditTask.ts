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
import { goldReward } from "./math.ts"
import { heldOutIds, heldOutParam } from "./heldOut.ts"

export const banditTask = Node.make({
  kind: "data/banditTask",
  version: 1,
  description: "Prompts × K candidate responses with feature vectors and a gold reward; items of a prompt are its responses.",
  params: Schema.Struct({
    prompts: Param.int({ default: 200, min: 1, description: "Number of prompts" }),
    responses: Param.int({ default: 8, min: 2, description: "Candidate responses per prompt (K)" }),
    features: Param.int({ default: 8, min: 1, max: 4096, description: "Feature dimension of a (prompt, response)" }),
    gold: Param.literal(["linear", "mlp"], { default: "linear", description: "Form of the hidden gold reward" }),
    heldOut: heldOutParam("prompts"),
    seed: Param.seed
  }),
  inputs: {},
  output: Items,
  run: ({ params, ctx }) =>
    Effect.sync(() => {
      const rng = ctx.random.split("bandit")
      const reward = goldReward(params.gold, params.features, rng.split("gold"))
      const test = heldOutIds(rng.split("split"), params.prompts, params.heldOut)
      const draw = rng.split("features")
      return Array.from({ length: params.prompts * params.responses }, (_, item) => {
        const prompt = Math.floor(item / params.responses)
        const features = Array.from({ length: params.features }, () => draw.normal())
        return { item, prompt, features, gold: reward(features), split: test.has(prompt) ? "test" as const : "train" as const }
      })
    })
})
