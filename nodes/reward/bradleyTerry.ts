/**
 * A Bradley–Terry reward model: an MLP over feature vectors trained with Adam on
 * the mean Bradley–Terry loss of its training pairs (full batch), with an optional
 * margin, label smoothing and reward centering (see ./math.ts).
 * Metrics use TRL's names: loss, accuracy, margin, rewards/chosen, rewards/rejected.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, RewardModel } from "../artifacts.ts"
import * as Mlp from "../models/Mlp.ts"
import { hiddenParam, optimizationParams } from "../models/optimization.ts"
import { bradleyTerryLoss, centeringPenalty } from "./math.ts"
import { fitMlp, rankingMetrics, recordPairMetrics, rewardMetrics, trainingPairs } from "./trainingPairs.ts"

export const bradleyTerry = Node.make({
  kind: "reward/bradleyTerry",
  version: 1,
  description: "Bradley–Terry reward model (MLP over features) trained on the training pairs.",
  tensors: true,
  metrics: { loss: "training loss (every 10 steps and the last)", ...rankingMetrics, ...rewardMetrics },
  params: Schema.Struct({
    hidden: hiddenParam(16),
    ...optimizationParams({ steps: 300, lr: 0.02 }),
    margin: Param.number({ default: 0, min: 0, description: "Required reward margin m in −log σ(r_c − r_r − m)" }),
    labelSmoothing: Param.number({ default: 0, min: 0, max: 0.49, description: "Label smoothing ε: weight of the flipped label" }),
    centering: Param.number({ default: 0, min: 0, description: "Reward centering coefficient c on E[(r_c + r_r)²]" }),
    weightDecay: Param.number({ default: 0, min: 0, description: "L2 penalty λ·Σw² on the weight matrices" }),
    seed: Param.seed
  }),
  inputs: { pairs: FeaturePairs },
  output: RewardModel,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const data = trainingPairs(inputs.pairs)
      const { chosen, rejected, labels } = data
      // Targets only when there are ties: all-1 targets give the same loss, but with label
      // smoothing ε > 0 the float32 target (1 − 2ε)·1 + ε is not always 1 − ε, so the
      // trained bytes would change.
      const ties = data.rows.some((p) => p.label !== 1)
      return yield* fitMlp(data, {
        ctx,
        hidden: params.hidden,
        steps: params.steps,
        lr: params.lr,
        loss: (mlp) => {
          const rc = Mlp.score(mlp, chosen)
          const rr = Mlp.score(mlp, rejected)
          const loss = bradleyTerryLoss(tf.sub(rc, rr), {
            margin: params.margin,
            labelSmoothing: params.labelSmoothing,
            ...(ties ? { targets: labels } : {})
          })
          const centered = params.centering === 0 ? loss : tf.add(loss, tf.mul(centeringPenalty(rc, rr), params.centering))
          return (params.weightDecay === 0 ? centered : tf.add(centered, tf.mul(Mlp.weightNorm(mlp), params.weightDecay))) as tf.Scalar
        },
        result: (mlp) => {
          const model = Mlp.toModel(mlp)
          recordPairMetrics(ctx, params.steps, model, data.rows, { rewards: true })
          return model
        }
      })
    })
})
