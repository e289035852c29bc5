/**
 * A synthetic preference task: items with Gaussian feature vectors and a hidden
 * gold reward, linear (r = w·x) or a fixed random two-layer tanh network. A
 * fraction of items is held out for evaluation.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items } from "../artifacts.ts"
import { goldReward } from "./math.ts"
import { heldOutIds, heldOutParam } from "./heldOut.ts"

export const preferenceTask = Node.make({
  kind: "data/preferenceTask",
  version: 1,
  description: "Items with feature vectors and a hidden gold reward, split into train and test.",
  params: Schema.Struct({
    items: Param.int({ default: 600, min: 4, description: "Number of items" }),
    features: Param.int({ default: 8, min: 1, max: 4096, description: "Feature dimension" }),
    gold: Param.literal(["linear", "mlp"], { default: "linear", description: "Form of the hidden gold reward" }),
    heldOut: heldOutParam("items", { exclusiveMin: true }),
    seed: Param.seed
  }),
  inputs: {},
  output: Items,
  run: ({ params, ctx }) =>
    Effect.sync(() => {
      const rng = ctx.random.split("task")
      const reward = goldReward(params.gold, params.features, rng.split("gold"))
      const test = heldOutIds(rng.split("split"), params.items, params.heldOut)
      const draw = rng.split("features")
      return Array.from({ length: params.items }, (_, item) => {
        const features = Array.from({ length: params.features }, () => draw.normal())
        return { item, prompt: 0, features, gold: reward(features), split: test.has(item) ? "test" as const : "train" as const }
      })
    })
})
