/**
 * What the trainers that learn from groups of their own samples share (GRPO, RLOO,
 * best-of-N behaviour cloning): every `iterations` steps, before the step and outside the
 * gradient tape, a rollout draws `prompts` training prompts and `groupSize` responses to
 * each from the current policy and scores them (./Rollout.ts); the steps up to the next
 * rollout train on it. Checkpoints fall on rollout boundaries only and carry the rollout
 * generator's state, so a resumed run draws the same rollouts and ends bit-identical to an
 * uninterrupted one.
 *
 * On top of it, `trainPolicyGradient` is the objective GRPO and RLOO have in common; they
 * differ only in each response's advantage A_i (RLOO moves the KL to the reference into it):
 *
 *   J(θ) = (1/B) Σ_i (1/L) Σ_t [ min(ρ_it·A_i, clip(ρ_it, 1 − ε, 1 + ε)·A_i) − β·k3_it ]
 *   ρ_it  = π_θ(y_it | x_i, y_i,<t) / π_old(y_it | x_i, y_i,<t)
 *   k3_it = π_ref(y_it | ·)/π_θ(y_it | ·) − log(π_ref(y_it | ·)/π_θ(y_it | ·)) − 1
 *
 * (Shao et al., 2024, https://arxiv.org/abs/2402.03300, eq. 3 with its k3 KL estimator, eq. 4).
 * Every response of a task has the same length L, so GRPO's per-response 1/|y_i| and
 * Dr. GRPO's constant normaliser (a token sum over B·L) give the same token mean here.
 * With one step per rollout ρ = 1 and the objective is the policy gradient Σ A_i ∇log π_θ(y_i).
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import type { ModelValue, ValueOf } from "../../dsl/Artifact.ts"
import type { InvariantError } from "../../dsl/Errors.ts"
import type { NodeContext } from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, RewardSource, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { mean, sum } from "../evaluate/math.ts"
import { optimizationParams } from "../models/optimization.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as RewardSourceModel from "../models/RewardSource.ts"
import type * as Train from "../models/Train.ts"
import { klPenalty, ppoPolicyLoss } from "./math.ts"
import * as Rollout from "./Rollout.ts"
import * as Trainer from "./Trainer.ts"

/** Train.loop's default checkpoint interval, rounded up to whole rollouts. */
const checkpointSteps = (iterations: number) => iterations * Math.ceil(50 / iterations)

/** The params of a group policy-gradient trainer (GRPO, RLOO), with its own defaults. */
export const groupParams = (defaults: { readonly groupSize: number; readonly prompts: number; readonly steps: number; readonly lr: number }) => ({
  groupSize: Param.int({ default: defaults.groupSize, min: 2, description: "Responses sampled per prompt (G); a response's advantage compares it with the rest of its group" }),
  prompts: Param.int({ default: defaults.prompts, min: 1, description: "Prompts per rollout, each with groupSize responses" }),
  iterations: Param.int({ default: 1, min: 1, description: "Adam steps on each rollout (μ); after the first, the ratio π_θ/π_old to the sampling policy is clipped" }),
  epsilon: Param.number({ default: 0.2, min: 0, exclusiveMin: true, description: "Clip range ε of the probability ratio π_θ/π_old" }),
  ...optimizationParams(defaults),
  seed: Param.seed
})

/** The inputs of a group policy-gradient trainer: the starting policy, its reference, what it maximises and the task. */
export const policyGradientInputs = { policy: Policy, reference: Policy, reward: RewardSource, task: Task }

/** The inputs of a trainer that samples its own responses and scores them with a reward source. */
export interface OnPolicyInputs {
  readonly policy: ModelValue
  readonly reward: ValueOf<typeof RewardSource>
  readonly task: ValueOf<typeof Task>
}

/** What a step trains on, made from a rollout outside the tape; `tensors` are freed at the next rollout. */
export interface Batch {
  readonly tensors: Readonly<Record<string, tf.Tensor>>
}

export interface RolloutTraining<B extends Batch> {
  readonly ctx: NodeContext
  readonly inputs: OnPolicyInputs
  /** a frozen reference whose log-probabilities each rollout records, if the objective has one */
  readonly reference: ModelValue | undefined
  readonly steps: number
  readonly lr: number
  readonly prompts: number
  readonly groupSize: number
  /** Adam steps per rollout */
  readonly iterations: number
  readonly prepare: (rollout: Rollout.Rollout) => B
  readonly loss: (policy: PolicyModel.Loaded, batch: B) => Train.StepLoss
  /** what the progress bar shows as reward and KL */
  readonly display: Train.LoopOptions["display"]
}

/** Train the policy on rollouts of its own, a fresh one every `iterations` steps (see the module comment). */
export const trainOnRollouts = <B extends Batch>(spec: RolloutTraining<B>): Effect.Effect<ModelValue, InvariantError> =>
  Effect.suspend(() => {
    const task = TaskView.view(spec.inputs.task)
    const source = RewardSourceModel.of(spec.inputs.reward, task)
    const prompts = Rollout.trainingPrompts(task)
    // one generator draws the prompts and the responses: its state at a rollout boundary is all a resumed run needs
    const rng = spec.ctx.random.split("rollouts")
    return Trainer.train({
      ctx: spec.ctx,
      task,
      policy: spec.inputs.policy,
      reference: spec.reference,
      steps: spec.steps,
      lr: spec.lr,
      loop: (policy, reference) => {
        let batch: B | undefined
        const free = () => {
          if (batch !== undefined) tf.dispose(Object.values(batch.tensors))
          batch = undefined
        }
        return {
          random: rng,
          checkpointEvery: checkpointSteps(spec.iterations),
          beforeStep: (index) => {
            if (index % spec.iterations !== 0) return
            free()
            const drawn = Rollout.drawPrompts(prompts, spec.prompts, rng)
            batch = spec.prepare(Rollout.rollout(policy, reference, source, task, drawn, spec.groupSize, rng))
          },
          loss: () => spec.loss(policy, batch!),
          ...(spec.display === undefined ? {} : { display: spec.display }),
          itemsPerStep: spec.prompts * spec.groupSize * task.responseLength,
          unit: "tok",
          dispose: free
        }
      }
    })
  })

/** The standard deviation (n − 1) of each group's rewards, averaged over groups: TRL's `reward_std`. */
export const meanGroupStd = (rewards: ReadonlyArray<number>, groupSize: number): number => {
  const stds = Array.from({ length: rewards.length / groupSize }, (_, g) => {
    const group = rewards.slice(g * groupSize, (g + 1) * groupSize)
    const m = mean(group)
    return Math.sqrt(sum(group.map((r) => (r - m) ** 2)) / (groupSize - 1))
  })
  return mean(stds)
}

/** The metrics every group policy-gradient trainer records each step, under TRL's names. */
export const policyGradientMetrics = {
  loss: "the clipped surrogate loss (with β·KL for GRPO)",
  reward: "mean reward of the step's rollout",
  reward_std: "standard deviation of the rewards within a prompt's group, averaged over groups",
  kl: "KL(π_θ ‖ π_ref) per token on the rollout: the mean k3 estimate",
  entropy: "entropy of π_old per token, estimated by −mean log π_old(y_t) over the rollout's tokens",
  clipfrac: "fraction of tokens where the clip bound the ratio π_θ/π_old (0 with one step per rollout)"
} as const

export interface PolicyGradient {
  readonly ctx: NodeContext
  readonly inputs: OnPolicyInputs & { readonly reference: ModelValue }
  readonly params: {
    readonly groupSize: number
    readonly prompts: number
    readonly iterations: number
    readonly epsilon: number
    readonly steps: number
    readonly lr: number
  }
  /** each response's advantage (a group's responses are consecutive) */
  readonly advantages: (rollout: Rollout.Rollout) => ReadonlyArray<number>
  /** β of the per-token k3 KL term in the loss; 0 leaves the loss without it */
  readonly klCoefficient: number
}

interface PolicyGradientBatch extends Batch {
  readonly rollout: Rollout.Rollout
  readonly tensors: {
    /** log π_old per token [B, L] */
    readonly old: tf.Tensor2D
    /** log π_ref per token [B, L] */
    readonly reference: tf.Tensor2D
    /** A_i at every token of response i [B, L] */
    readonly advantages: tf.Tensor2D
    /** 1 at every response token [B, L] */
    readonly mask: tf.Tensor2D
  }
  readonly reward: number
  readonly rewardStd: number
  readonly entropy: number
}

/** Train the policy on the group policy-gradient objective of the module comment with the given advantages. */
export const trainPolicyGradient = (spec: PolicyGradient): Effect.Effect<ModelValue, InvariantError> => {
  const { params, klCoefficient } = spec
  return trainOnRollouts<PolicyGradientBatch>({
    ctx: spec.ctx,
    inputs: spec.inputs,
    reference: spec.inputs.reference,
    steps: params.steps,
    lr: params.lr,
    prompts: params.prompts,
    groupSize: params.groupSize,
    iterations: params.iterations,
    prepare: (rollout) => {
      const B = rollout.responses.length
      const L = rollout.responses[0]!.length
      const tokens = rollout.logProbs.flat()
      return {
        rollout,
        tensors: {
          old: tf.tensor2d(tokens, [B, L]),
          reference: tf.tensor2d(rollout.referenceLogProbs.flat(), [B, L]),
          advantages: tf.tensor2d(spec.advantages(rollout).flatMap((a) => new Array<number>(L).fill(a)), [B, L]),
          mask: tf.ones([B, L])
        },
        reward: mean(rollout.rewards),
        rewardStd: meanGroupStd(rollout.rewards, params.groupSize),
        entropy: -mean(tokens)
      }
    },
    loss: (policy, batch) => {
      const { old, reference, advantages, mask } = batch.tensors
      const logProbs = PolicyModel.trainableTokenLogProbs(policy, batch.rollout.prompts, batch.rollout.responses) // [B, L]
      const surrogate = ppoPolicyLoss(logProbs, old, advantages, mask, { clipRange: params.epsilon })
      const kl = tf.mean(klPenalty(logProbs, reference, "k3")) as tf.Scalar
      return {
        loss: klCoefficient === 0 ? surrogate.loss : tf.add(surrogate.loss, tf.mul(klCoefficient, kl)) as tf.Scalar,
        stats: {
          reward: tf.scalar(batch.reward),
          reward_std: tf.scalar(batch.rewardStd),
          kl,
          entropy: tf.scalar(batch.entropy),
          clipfrac: surrogate.clipFraction
        }
      }
    },
    display: Trainer.rewardAndKl
  })
}
