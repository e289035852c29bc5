/**
 * Behaviour cloning of best-of-n positives, the positive-sample half of OREAL (Lyu et al.,
 * 2025, "Exploring the Limit of Outcome Reward for Learning Mathematical Reasoning",
 * https://arxiv.org/abs/2502.06781): under a binary outcome reward, the best-of-n
 * distribution is the policy conditioned on success, and imitating it is enough to learn
 * the KL-regularised optimum. Every step samples n responses to each of `prompts` training
 * prompts from the current policy, keeps for each prompt the first response whose reward
 * reaches `threshold` (a draw from π(· | positive), the best of n under the binary reward),
 * and takes one Adam step on the per-token negative log-likelihood of the kept responses:
 *
 *   L(θ) = −(1/|P|) Σ_{i∈P} (1/L) Σ_t log π_θ(y_it | x_i, y_i,<t)
 *
 * Prompts without a positive contribute nothing (a step with none has a zero gradient).
 * OREAL's reward shaping of the negatives and its token-level weights are left out.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, RewardSource, Task } from "../artifacts.ts"
import { mean } from "../evaluate/math.ts"
import { optimizationParams } from "../models/optimization.ts"
import * as PolicyModel from "../models/Policy.ts"
import { type Batch, trainOnRollouts } from "./GroupTraining.ts"
import type * as Rollout from "./Rollout.ts"

interface Positives extends Batch {
  readonly prompts: Rollout.Rollout["prompts"]
  readonly responses: Rollout.Rollout["responses"]
  readonly tensors: {
    /** 1/|P| for a kept positive, 0 for a prompt without one [prompts] */
    readonly weights: tf.Tensor1D
  }
  readonly positives: number
  readonly reward: number
}

export const bonBehaviorCloning = Node.make({
  kind: "policy/bonBehaviorCloning",
  version: 1,
  description: "Online behaviour cloning (SFT) of the policy's own best-of-n positive samples under a binary reward (OREAL's positive half).",
  tensors: true,
  metrics: {
    loss: "per-token negative log-likelihood of the kept positives",
    positives: "fraction of the step's prompts with a positive among their n responses",
    reward: "mean reward of the step's responses"
  },
  params: Schema.Struct({
    n: Param.int({ default: 8, min: 1, description: "Responses sampled per prompt each step" }),
    prompts: Param.int({ default: 16, min: 1, description: "Training prompts per step" }),
    threshold: Param.number({ default: 1, description: "A response is positive when its reward is at least this" }),
    ...optimizationParams({ steps: 100, lr: 0.003 }),
    seed: Param.seed
  }),
  inputs: { policy: Policy, reward: RewardSource, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    trainOnRollouts<Positives>({
      ctx,
      inputs,
      reference: undefined,
      steps: params.steps,
      lr: params.lr,
      prompts: params.prompts,
      groupSize: params.n,
      iterations: 1,
      prepare: (rollout) => {
        const { n } = params
        // the first positive of each prompt's group, or the group's first response as a placeholder of weight 0
        const kept = Array.from({ length: rollout.rewards.length / n }, (_, g) => {
          const group = rollout.rewards.slice(g * n, (g + 1) * n)
          const first = group.findIndex((r) => r >= params.threshold)
          return { index: g * n + Math.max(first, 0), positive: first >= 0 }
        })
        const positives = kept.filter((k) => k.positive).length
        return {
          prompts: kept.map((k) => rollout.prompts[k.index]!),
          responses: kept.map((k) => rollout.responses[k.index]!),
          tensors: { weights: tf.tensor1d(kept.map((k) => (k.positive ? 1 / positives : 0))) },
          positives: positives / kept.length,
          reward: mean(rollout.rewards)
        }
      },
      loss: (policy, batch) => {
        const logProbs = PolicyModel.trainableTokenLogProbs(policy, batch.prompts, batch.responses) // [P, L]
        return {
          loss: tf.neg(tf.sum(tf.mul(tf.mean(logProbs, 1), batch.tensors.weights))) as tf.Scalar,
          stats: { positives: tf.scalar(batch.positives), reward: tf.scalar(batch.reward) }
        }
      },
      display: (stats) => (stats["reward"] === undefined ? {} : { reward: stats["reward"] })
    })
})
