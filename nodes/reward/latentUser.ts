/**
 * A latent-user reward model (Variational Preference Learning, Poddar et al., 2024,
 * https://arxiv.org/abs/2408.10075): each step, for every annotator, a few of their
 * labelled pairs form a context that the encoder turns into a latent z ~ q(z | context);
 * the reward r(x, z) is trained on their other pairs with the Bradley–Terry loss plus
 * β·KL(q ‖ N(0, I)). On a mixture of users who disagree it learns each user's
 * preferences from their context, where a single reward can only fit the majority.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, RewardModel } from "../artifacts.ts"
import * as LatentUser from "../models/LatentUser.ts"
import { optimizationParams } from "../models/optimization.ts"
import { groupedPairTensors, userPreferences } from "../models/Pairs.ts"
import * as Train from "../models/Train.ts"
import { bradleyTerryLoss } from "./math.ts"
import { recordPairMetrics } from "./trainingPairs.ts"

export const latentUser = Node.make({
  kind: "reward/latentUser",
  version: 1,
  description: "Latent-user reward model: encodes an annotator's few labelled pairs into a latent that conditions the reward (VPL).",
  tensors: true,
  metrics: {
    loss: "Bradley–Terry loss + β·KL (every 10 steps and the last)",
    accuracy: "training pairs ranked right at the end, each under the latent of its annotator's context",
    margin: "mean r_c − r_r on the training pairs at the end, each under the latent of its annotator's context"
  },
  params: Schema.Struct({
    latent: Param.int({ default: 4, min: 1, description: "Latent dimension k" }),
    hidden: Param.int({ default: 32, min: 1, description: "Hidden units of the encoder and the reward" }),
    context: Param.int({ default: 8, min: 1, description: "Labelled pairs of a user that form their context" }),
    targets: Param.int({ default: 8, min: 1, description: "Pairs of a user the reward is trained on per step" }),
    beta: Param.number({ default: 0.01, min: 0, description: "Weight β of the KL term" }),
    ...optimizationParams({ steps: 400, lr: 0.01 }),
    seed: Param.seed
  }),
  inputs: { pairs: FeaturePairs },
  output: RewardModel,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const users = [...userPreferences(inputs.pairs).values()].filter((pairs) => pairs.length > params.context)
      if (users.length === 0) {
        return yield* new InputError({ input: "pairs", param: "context", reason: `no annotator has more than ${params.context} training pairs (set context lower)` })
      }
      const d = users[0]![0]!.chosen.length
      const targets = Math.min(params.targets, ...users.map((pairs) => pairs.length - params.context))
      const model = LatentUser.init({ inputs: d, latent: params.latent, hidden: params.hidden, context: params.context }, ctx.random.split("init"))
      const variables = LatentUser.variables(model)
      const random = ctx.random.split("batches")
      try {
        yield* Train.fit({
          ctx,
          steps: params.steps,
          variables,
          lr: params.lr,
          random,
          loss: () => {
            const draws = users.map((pairs) => random.shuffle(pairs))
            const contexts = draws.map((pairs) => pairs.slice(0, params.context))
            const trained = draws.map((pairs) => pairs.slice(params.context, params.context + targets))
            const noise = tf.tensor2d(Float32Array.from({ length: users.length * params.latent }, () => random.normal()), [users.length, params.latent])
            const context = groupedPairTensors(contexts)
            const { mu, logvar } = LatentUser.encode(model, context.chosen, context.rejected)
            const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), noise)) as tf.Tensor2D // reparameterised sample
            const target = groupedPairTensors(trained)
            const margins = tf.sub(LatentUser.rewards(model, target.chosen, z), LatentUser.rewards(model, target.rejected, z))
            return tf.add(bradleyTerryLoss(tf.reshape(margins, [-1]) as tf.Tensor1D), tf.mul(LatentUser.kl(mu, logvar), params.beta)) as tf.Scalar
          },
          itemsPerStep: users.length * targets,
          unit: "pairs"
        })
        const value = LatentUser.toModel(model)
        recordPairMetrics(ctx, params.steps, value, users.flat(), { rewards: false })
        return value
      } finally {
        LatentUser.dispose(model)
      }
    })
})
