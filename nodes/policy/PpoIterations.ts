/**
 * PPO's schedule, shared by policy/ppo and policy/ppoGrid (Schulman et al., 2017,
 * https://arxiv.org/abs/1707.06347, Algorithm 1): an iteration collects a rollout with the
 * current policy, then takes `epochs` passes over it, each pass in `minibatches` shuffled
 * minibatches, one Adam step per minibatch. The training loop's steps are those Adam steps;
 * the rollout and each epoch's shuffle happen in its `beforeStep`, outside the gradient
 * tape, from the loop's batch generator. Checkpoints fall on iteration boundaries only, so
 * the generator's saved state is all a resumed run needs to draw the same rollouts and
 * minibatches and end bit-identical to an uninterrupted run.
 *
 * The policy and its value function are trained together: their variables go to the loop
 * under the prefixes `policy.` and `critic.`, so both are checkpointed.
 */
import type * as tf from "@tensorflow/tfjs-core"
import type { Progress } from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import { prefixed } from "../models/Tensors.ts"

/** The schedule's params, with TRL's PPOConfig defaults (num_ppo_epochs 4, num_mini_batches 1) unless given. */
export const scheduleParams = (defaults: { readonly epochs: number; readonly minibatches: number }) => ({
  epochs: Param.int({ default: defaults.epochs, min: 1, description: "Passes over each rollout" }),
  minibatches: Param.int({ default: defaults.minibatches, min: 1, description: "Minibatches per pass (one Adam step each)" })
})

export interface Schedule {
  readonly epochs: number
  readonly minibatches: number
}

/** Adam steps per iteration (one rollout). */
export const stepsPerIteration = (schedule: Schedule): number => schedule.epochs * schedule.minibatches

/** Train.loop's default checkpoint interval (50 steps), rounded up to whole iterations. */
export const checkpointEvery = (schedule: Schedule): number => {
  const k = stepsPerIteration(schedule)
  return k * Math.ceil(50 / k)
}

/** What an iteration trains on: `size` rows (responses, transitions); `dispose` frees its tensors, if any. */
export interface Rollout {
  readonly size: number
  readonly dispose?: () => void
}

export interface Iterations<R extends Rollout> {
  /** the loop's `beforeStep`: a new rollout at each iteration's first step, a new shuffle at each epoch's */
  readonly beforeStep: (index: number) => void
  /** the current rollout */
  readonly rollout: () => R
  /** the rows of the current step's minibatch */
  readonly minibatch: () => ReadonlyArray<number>
  /** free the last rollout */
  readonly dispose: () => void
}

/** Drive `collect` (a fresh rollout of the current policy) and the minibatches by the schedule, drawing shuffles from `rng`. */
export const iterations = <R extends Rollout>(schedule: Schedule, rng: Random, collect: () => R): Iterations<R> => {
  const perIteration = stepsPerIteration(schedule)
  let current: R | undefined
  let order: ReadonlyArray<number> = []
  let rows: ReadonlyArray<number> = []
  const dispose = () => {
    current?.dispose?.()
    current = undefined
  }
  return {
    beforeStep: (index) => {
      const local = index % perIteration
      if (local === 0) {
        dispose()
        current = collect()
        if (current.size < schedule.minibatches) {
          throw new Error(`a rollout of ${current.size} rows cannot be split into ${schedule.minibatches} minibatches`)
        }
      }
      const n = current!.size
      if (local % schedule.minibatches === 0) order = rng.shuffle(Array.from({ length: n }, (_, i) => i))
      const m = local % schedule.minibatches
      rows = order.slice(Math.floor((m * n) / schedule.minibatches), Math.floor(((m + 1) * n) / schedule.minibatches))
    },
    rollout: () => current!,
    minibatch: () => rows,
    dispose
  }
}

/** What the progress bar shows: the step's `reward` and `kl` statistics. */
export const rewardAndKl = (stats: Readonly<Record<string, number>>): Pick<Progress, "reward" | "kl"> => ({
  ...(stats["reward"] === undefined ? {} : { reward: stats["reward"] }),
  ...(stats["kl"] === undefined ? {} : { kl: stats["kl"] })
})

/** The policy's and the value function's variables as one set for the training loop. */
export const jointVariables = (
  policy: Readonly<Record<string, tf.Variable>>,
  critic: Readonly<Record<string, tf.Variable>>
): Record<string, tf.Variable> => ({ ...prefixed("policy.", policy), ...prefixed("critic.", critic) })
