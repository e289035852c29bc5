/**
 * User types with conflicting preferences over a task's items (as in Poddar et al., 2024,
 * "Personalizing RLHF with Variational Preference Learning", https://arxiv.org/abs/2408.10075):
 * one type per entry of `shares`, type t with share shares[t] / Σ shares of the users and the
 * linear reward r_t(x) = w_t·x, w_t correlated ρ with w_0 (./population.ts). ρ = −1 with two
 * types gives two groups that disagree on every pair. label/userPreferences draws annotators
 * from the population; data/userTask gives the task as one type sees it.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, UserTypes } from "../artifacts.ts"
import { typeName, typeWeights } from "./population.ts"

export const userTypes = Node.make({
  kind: "label/userTypes",
  version: 1,
  description: "User types with their shares of the population and linear rewards correlated ρ with type 0's.",
  params: Schema.Struct({
    shares: Param.withDefault(
      Schema.Array(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))).check(Schema.isMinLength(1), Schema.isMaxLength(16))
        .annotate({ description: "Each type's share of the users (normalised to sum 1); one type per entry" }),
      [0.5, 0.5]
    ),
    correlation: Param.number({ default: -1, min: -1, max: 1, description: "Correlation ρ between a type's reward weights and type 0's" }),
    seed: Param.seed
  }),
  inputs: { task: Items },
  output: UserTypes,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const total = params.shares.reduce((s, x) => s + x, 0)
      if (total === 0) return yield* new InputError({ param: "shares", reason: "the shares sum to 0; give at least one type a positive share" })
      const d = inputs.task[0]?.features.length ?? 0
      const weights = typeWeights(ctx.random.split("types"), d, params.shares.length, params.correlation)
      return weights.map((w, t) => ({ type: typeName(t), share: params.shares[t]! / total, weights: w }))
    })
})
