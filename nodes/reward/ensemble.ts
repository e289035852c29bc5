/**
 * An ensemble of Bradley–Terry reward models that differ in initialisation and in
 * the order they see the training pairs (each member cycles through its own
 * shuffle in minibatches). Its reward is the members' mean, its uncertainty their
 * spread; the mean margin of a training pair across members is that pair's
 * preference strength, low (or negative) for pairs whose label is likely wrong
 * (as used for label-noise filtering in Wang et al., 2024,
 * https://arxiv.org/abs/2401.06080). The node outputs the members as one model:
 * `reward/score` gives each sample's mean reward and spread, and
 * `evaluate/preferenceStrength` each pair's strength.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, RewardModel } from "../artifacts.ts"
import * as Ensemble from "../models/Ensemble.ts"
import * as Mlp from "../models/Mlp.ts"
import { hiddenParam, optimizationParams } from "../models/optimization.ts"
import { bradleyTerryLoss } from "./math.ts"
import { fitMlps, rankingMetrics, recordPairMetrics, rewardMetrics, trainingPairs } from "./trainingPairs.ts"

export const ensemble = Node.make({
  kind: "reward/ensemble",
  version: 1,
  description: "k Bradley–Terry reward models differing in seed and data order: reward/score gives their mean reward and spread, evaluate/preferenceStrength each pair's strength.",
  tensors: true,
  metrics: {
    loss: "sum of the members' losses (every 10 steps and the last)",
    ...rankingMetrics,
    ...rewardMetrics,
    spread: "mean over the training pairs of the members' standard deviation of r_c − r_r, at the end"
  },
  params: Schema.Struct({
    members: Param.int({ default: 5, min: 2, max: 64, description: "Number of members k" }),
    hidden: hiddenParam(16, "Hidden units of each member; 0 for linear members"),
    batch: Param.int({ default: 128, min: 1, description: "Pairs per member per step" }),
    ...optimizationParams({ steps: 300, lr: 0.02 }),
    seed: Param.seed
  }),
  inputs: { pairs: FeaturePairs },
  output: RewardModel,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const data = trainingPairs(inputs.pairs, { preferencesOnly: true })
      const { rows: train, chosen, rejected } = data
      const names = Array.from({ length: params.members }, (_, i) => `member${i}`)
      const orders = names.map((name) => ctx.random.split(`${name}/order`).shuffle(train.map((_, j) => j)))
      const batch = Math.min(params.batch, train.length)
      return yield* fitMlps(data, {
        ctx,
        hidden: params.hidden,
        steps: params.steps,
        lr: params.lr,
        inits: names.map((name) => `${name}/init`),
        // members are independent: the sum of their losses trains each on its own batches
        loss: (members, step) =>
          tf.addN(members.map((mlp, i) => {
            const start = (step * batch) % train.length
            const indices = tf.tensor1d(Array.from({ length: batch }, (_, j) => orders[i]![(start + j) % train.length]!), "int32")
            return bradleyTerryLoss(tf.sub(Mlp.score(mlp, tf.gather(chosen, indices)), Mlp.score(mlp, tf.gather(rejected, indices))))
          })) as tf.Scalar,
        itemsPerStep: batch * params.members,
        result: (members) => {
          const model = Ensemble.toModel(members.map(Mlp.toModel))
          recordPairMetrics(ctx, params.steps, model, train, { rewards: true })
          return model
        }
      })
    })
})
