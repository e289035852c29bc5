/**
 * A bandit task with atypical responses (data/banditTask's prompts × K responses, see
 * ./banditItems.ts): each response's features are a Gaussian times a Student-t scale with ν
 * degrees of freedom, so a few responses per prompt lie far from the rest, and the gold reward
 * is lowered by λ·‖x‖²/d, so those few are worse than their other features make them look.
 * A reward model trained on random pairs rarely sees them and extrapolates; a policy optimised
 * hard against it finds them — the off-distribution exploits behind reward-model
 * overoptimisation (Gao et al., 2022, https://arxiv.org/abs/2210.10760) at bandit scale, where
 * the KL-regularised optimum and best-of-n are exact.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items } from "../artifacts.ts"
import { banditItems, shapeParams } from "./banditItems.ts"

export const heavyTailedBandit = Node.make({
  kind: "data/heavyTailedBandit",
  version: 1,
  description: "A bandit task whose responses' features are heavy-tailed (Student-t) and whose gold reward penalises the atypical ones.",
  params: Schema.Struct({
    ...shapeParams,
    tails: Param.int({ default: 3, min: 1, description: "Degrees of freedom ν of the Student-t scale of a response's features (smaller: heavier tails)" }),
    atypicality: Param.number({ default: 0.5, min: 0, description: "Weight λ of the gold reward's penalty λ·‖x‖²/d" }),
    seed: Param.seed
  }),
  inputs: {},
  output: Items,
  run: ({ params, ctx }) => Effect.sync(() => banditItems(params, ctx.random.split("bandit")))
})
