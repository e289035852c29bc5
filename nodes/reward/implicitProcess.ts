/**
 * An implicit process reward model: a copy of a transformer reference policy trained
 * so that its outcome reward r_θ(y) = β·Σ_t log π_θ(y_t | ·)/π_ref(y_t | ·) predicts
 * outcome labels (gold reward ≥ threshold) under a cross-entropy loss; the per-token
 * log-ratios are then per-step rewards learned without step labels (see ./math.ts and
 * nodes/models/ProcessReward.ts). Trains on the training split's samples.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, RewardModel, Samples, SequenceTask } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { mean, sum } from "../evaluate/math.ts"
import { optimizationParams } from "../models/optimization.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as ProcessReward from "../models/ProcessReward.ts"
import * as Train from "../models/Train.ts"
import * as Transformer from "../models/Transformer.ts"
import { bradleyTerryLoss, implicitRewards } from "./math.ts"

export const implicitProcess = Node.make({
  kind: "reward/implicitProcess",
  version: 1,
  description: "Implicit process reward β·log π_θ/π_ref trained from outcome labels only; gives a reward per response token.",
  tensors: true,
  metrics: { loss: "outcome cross-entropy (every 10 steps and the last)", accuracy: "training outcomes classified right at the end", "rewards/positive": "mean outcome reward of positive samples", "rewards/negative": "mean outcome reward of negative samples" },
  params: Schema.Struct({
    beta: Param.number({ default: 0.1, min: 0, exclusiveMin: true, description: "Scale β of the log-ratio reward" }),
    threshold: Param.number({ default: 1, description: "A sample's outcome label is 1 when its gold reward is at least this" }),
    batch: Param.int({ default: 64, min: 1, description: "Samples per step" }),
    ...optimizationParams({ steps: 200, lr: 0.003 }),
    seed: Param.seed
  }),
  inputs: { reference: Policy, samples: Samples, task: SequenceTask },
  output: RewardModel,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const task = TaskView.view(inputs.task)
      const train = inputs.samples.filter((s) => s.split === "train")
      const labels = train.map((s) => (task.gold(s.prompt, s.response) >= params.threshold ? 1 : 0))
      const positives = labels.filter((y) => y === 1).length
      if (positives === 0 || positives === train.length) {
        return yield* new InputError({
          input: "samples",
          param: "threshold",
          reason: `the ${train.length} training samples' outcome labels (gold ≥ ${params.threshold}) are all ${positives === 0 ? 0 : 1}; the model needs both outcomes`
        })
      }
      const prompts = train.map((s) => task.prompt(s.prompt))
      const Lp = prompts[0]!.tokens.length
      const T = Lp + task.responseLength
      const reference = PolicyModel.load(inputs.reference)
      const mask = tf.tensor2d(Array.from({ length: T }, (_, t) => (t >= Lp ? 1 : 0)), [1, T])
      try {
        PolicyModel.checkFits(reference, task, "reference")
        const policy = reference.model // trained in place: it starts as the reference
        const refLogProbs = PolicyModel.tokenLogProbs(reference, prompts, train.map((s) => s.response)).map(sum)
        const sequences = train.map((s, i) => [...prompts[i]!.tokens, ...s.response])
        // r_θ(y) = β·(log π_θ(y) − log π_ref(y)) over the response tokens
        const outcome = (rows: ReadonlyArray<number>) =>
          implicitRewards(
            Transformer.logProbs(policy, tf.tensor2d(rows.flatMap((i) => sequences[i]!), [rows.length, T], "int32"), tf.tile(mask, [rows.length, 1]) as tf.Tensor2D).summed,
            tf.tensor1d(rows.map((i) => refLogProbs[i]!)),
            params.beta
          )
        const batches = ctx.random.split("batches")
        const size = Math.min(params.batch, train.length)
        yield* Train.fit({
          ctx,
          steps: params.steps,
          variables: policy.variables,
          lr: params.lr,
          random: batches,
          loss: () => {
            const rows = Array.from({ length: size }, () => batches.int(train.length))
            return bradleyTerryLoss(outcome(rows), { targets: tf.tensor1d(rows.map((i) => labels[i]!)) })
          },
          itemsPerStep: size,
          unit: "samples"
        })
        const rewards = Array.from(tf.tidy(() => outcome([...train.keys()]).dataSync()))
        ctx.metric("accuracy", mean(rewards.map((r, i) => ((r > 0 ? 1 : 0) === labels[i] ? 1 : 0))), params.steps)
        ctx.metric("rewards/positive", mean(rewards.filter((_, i) => labels[i] === 1)), params.steps)
        ctx.metric("rewards/negative", mean(rewards.filter((_, i) => labels[i] === 0)), params.steps)
        return ProcessReward.toModel(Transformer.toModel(policy), inputs.reference, params.beta)
      } finally {
        mask.dispose()
        PolicyModel.dispose(reference)
      }
    })
})
