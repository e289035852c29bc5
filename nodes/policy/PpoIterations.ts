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
import { InputError } from "../../dsl/Errors.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import { prefixed } from "../models/Tensors.ts"
import type * as Train from "../models/Train.ts"
import { rewardAndKl } from "./Trainer.ts"

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

/** The schedule's part of a PPO trainer's Train loop options; `dispose` frees the last rollout once training ends. */
export type Loop = Pick<Train.LoopOptions, "random" | "checkpointEvery" | "beforeStep" | "loss" | "display"> & { readonly dispose: () => void }

/**
 * The training loop of the schedule: before each step, a fresh rollout of the current policy
 * from `collect` at an iteration's first step and a new shuffle (from `rng`, the loop's
 * checkpointed generator) at an epoch's; each step's loss is `loss` of the current rollout
 * and the rows of its minibatch. Checkpoints on iteration boundaries; the progress bar shows
 * the `reward` and `kl` statistics.
 */
export const loop = <R extends Rollout>(
  schedule: Schedule,
  rng: Random,
  collect: () => R,
  loss: (rollout: R, rows: ReadonlyArray<number>) => Train.StepLoss
): Loop => {
  const perIteration = stepsPerIteration(schedule)
  let current: R | undefined
  let order: ReadonlyArray<number> = []
  let rows: ReadonlyArray<number> = []
  const dispose = () => {
    current?.dispose?.()
    current = undefined
  }
  return {
    random: rng,
    checkpointEvery: checkpointEvery(schedule),
    beforeStep: (index) => {
      const local = index % perIteration
      if (local === 0) {
        dispose()
        current = collect()
        if (current.size < schedule.minibatches) {
          throw new InputError({ param: "minibatches", reason: `a rollout of ${current.size} rows cannot be split into ${schedule.minibatches} minibatches` })
        }
      }
      const n = current!.size
      if (local % schedule.minibatches === 0) order = rng.shuffle(Array.from({ length: n }, (_, i) => i))
      const m = local % schedule.minibatches
      rows = order.slice(Math.floor((m * n) / schedule.minibatches), Math.floor(((m + 1) * n) / schedule.minibatches))
    },
    loss: () => loss(current!, rows),
    display: rewardAndKl,
    dispose
  }
}

/** The policy's and the value function's variables as one set for the training loop. */
export const jointVariables = (
  policy: Readonly<Record<string, tf.Variable>>,
  critic: Readonly<Record<string, tf.Variable>>
): Record<string, tf.Variable> => ({ ...prefixed("policy.", policy), ...prefixed("critic.", critic) })
