/**
 * A latent-user reward model (reward/latentUser; Poddar et al., 2024, "Personalizing RLHF
 * with Variational Preference Learning", https://arxiv.org/abs/2408.10075) conditioned on
 * one user type: the latent z is the mean over the type's annotators of each one's latent
 * (μ of their context, as evaluation scores them), and the reward r(x, z) with z fixed is
 * stored as a plain MLP over x (models/LatentUser.ts's `conditioned`). Any node that takes
 * a scalar reward model — a policy optimiser, evaluate/rewardKl — then serves that type.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, RewardModel } from "../artifacts.ts"
import * as LatentUser from "../models/LatentUser.ts"
import * as Mlp from "../models/Mlp.ts"
import { userPreferences } from "../models/Pairs.ts"
import { userLatent } from "../models/PreferenceModel.ts"

export const personalize = Node.make({
  kind: "reward/personalize",
  version: 1,
  description: "A latent-user reward model conditioned on one user type (the mean latent of its annotators), as a scalar reward model.",
  tensors: true,
  metrics: { annotators: "annotators of the type whose latents were averaged" },
  params: Schema.Struct({
    type: Param.string({ default: "type0", description: "The user type, as the pairs' `source` names it" })
  }),
  inputs: { model: RewardModel, pairs: FeaturePairs },
  output: RewardModel,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      if (inputs.model.config["architecture"] !== "latentUser") {
        return yield* new InputError({ input: "model", reason: `is a ${String(inputs.model.config["architecture"])} model; personalize conditions a latent-user model (reward/latentUser)` })
      }
      const users = [...userPreferences(inputs.pairs).values()].filter((pairs) => pairs[0]!.source === params.type)
      if (users.length === 0) {
        const types = [...new Set(inputs.pairs.map((p) => p.source).filter((s) => s !== ""))].sort()
        return yield* new InputError({ input: "pairs", param: "type", reason: `no annotator of type "${params.type}" has training preferences (the types: ${types.join(", ") || "none"})` })
      }
      ctx.metric("annotators", users.length, 0)
      const model = LatentUser.fromModel(inputs.model)
      try {
        const z = tf.tidy(() => Array.from(tf.mean(tf.concat(users.map((pairs) => userLatent(model, pairs)), 0), 0).dataSync()))
        const reward = LatentUser.conditioned(model, z)
        try {
          return Mlp.toModel(reward)
        } finally {
          Mlp.dispose(reward)
        }
      } finally {
        LatentUser.dispose(model)
      }
    })
})
