/**
 * A Bradley–Terry reward model with an adaptive margin (Wang et al., 2024, "Secrets of
 * RLHF in Large Language Models Part II: Reward Modeling", https://arxiv.org/abs/2401.06080):
 * each training pair's required margin is λ·û, û its preference strength (the mean margin
 * across an ensemble's members, evaluate/preferenceStrength), in the loss
 * −log σ(r_c − r_r − λ·û) (see ./math.ts). Pairs the ensemble finds clear are pushed
 * further apart; pairs it finds reversed (û < 0) may end ranked against their label.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, RewardModel } from "../artifacts.ts"
import { PreferenceStrengths, strengthsOf } from "../evaluate/preferenceStrength.ts"
import * as Mlp from "../models/Mlp.ts"
import { hiddenParam, optimizationParams } from "../models/optimization.ts"
import { bradleyTerryLoss } from "./math.ts"
import { fitMlp, rankingMetrics, recordPairMetrics, rewardMetrics, trainingPairs } from "./trainingPairs.ts"

export const adaptiveMargin = Node.make({
  kind: "reward/adaptiveMargin",
  version: 1,
  description: "Bradley–Terry reward model whose loss asks each pair for a margin of λ times its ensemble preference strength (adaptive margin).",
  tensors: true,
  metrics: { loss: "training loss (every 10 steps and the last)", ...rankingMetrics, ...rewardMetrics },
  params: Schema.Struct({
    hidden: hiddenParam(16),
    ...optimizationParams({ steps: 300, lr: 0.02 }),
    scale: Param.number({ default: 1, min: 0, description: "λ: a pair's required margin is λ times its preference strength" }),
    seed: Param.seed
  }),
  inputs: { pairs: FeaturePairs, strengths: PreferenceStrengths },
  output: RewardModel,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const strengths = strengthsOf(inputs.pairs, inputs.strengths)
      const strengthOf = new Map(inputs.pairs.map((pair, j) => [pair, strengths[j]!]))
      const data = trainingPairs(inputs.pairs, { preferencesOnly: true })
      // the margins of the rows trainingPairs kept, in its order: [B]
      const margins = tf.tensor1d(data.rows.map((pair) => params.scale * strengthOf.get(pair)!))
      return yield* fitMlp(data, {
        ctx,
        hidden: params.hidden,
        steps: params.steps,
        lr: params.lr,
        loss: (mlp) => bradleyTerryLoss(tf.sub(Mlp.score(mlp, data.chosen), Mlp.score(mlp, data.rejected)), { margin: margins }),
        result: (mlp) => {
          const model = Mlp.toModel(mlp)
          recordPairMetrics(ctx, params.steps, model, data.rows, { rewards: true })
          return model
        }
      }).pipe(Effect.ensuring(Effect.sync(() => margins.dispose())))
    })
})
