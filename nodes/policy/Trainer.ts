/**
 * What every policy trainer shares: the starting policy loaded as trainable weights
 * (it must fit the task), a frozen reference where the objective has one, weights trained
 * beside the policy where the method has them (PPO's critic), Adam steps through Train.fit
 * (checkpointed under the node's key, resumable bit-identically, progress with reward and
 * KL, metrics every step), and the trained weights returned as a Policy artifact value.
 * Tensors are freed however training ends.
 */
import type * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import type { ModelValue } from "../../dsl/Artifact.ts"
import type { InvariantError } from "../../dsl/Errors.ts"
import type { NodeContext, Progress } from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { TaskView } from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as Train from "../models/Train.ts"

/** The minibatch-size param of a policy trainer. */
export const batchParam = (defaultSize: number, of = "pairs") =>
  Param.int({ default: defaultSize, min: 1, description: `Training ${of} per Adam step (drawn at random each step)` })

/** A policy trainer's loop: what Train.fit takes besides the context, steps, variables and learning rate. */
export type Loop = Omit<Train.LoopOptions, "ctx" | "steps" | "variables" | "optimizer">

/** What the progress bar of a trainer that records `reward` and `kl` statistics shows. */
export const rewardAndKl = (stats: Readonly<Record<string, number>>): Pick<Progress, "reward" | "kl"> => ({
  ...(stats["reward"] === undefined ? {} : { reward: stats["reward"] }),
  ...(stats["kl"] === undefined ? {} : { kl: stats["kl"] })
})

/** Weights trained beside the policy (PPO's critic): made once the policy is loaded, freed after training. */
export interface Companion<C> {
  readonly make: (policy: PolicyModel.Loaded) => C
  /** all the variables the loop trains, the policy's and the companion's, by the names they are checkpointed under */
  readonly variables: (policy: Readonly<Record<string, tf.Variable>>, companion: C) => Readonly<Record<string, tf.Variable>>
  readonly dispose: (companion: C) => void
}

export interface TrainSpec<R extends ModelValue | undefined, C = undefined> {
  readonly ctx: NodeContext
  readonly task: TaskView
  /** the starting policy (a Policy artifact value); its weights are trained */
  readonly policy: ModelValue
  /** a frozen reference policy, loaded beside it, when the objective has one */
  readonly reference: R
  /** weights trained with the policy, when the method has them; without, the loop trains the policy's variables alone */
  readonly companion?: Companion<C>
  readonly steps: number
  readonly lr: number
  /**
   * the loop for the loaded policy, reference and companion (made before a checkpoint's
   * weights are restored: the policy is still the starting one); `finish` runs after the
   * last step, on the trained weights; `dispose` frees what it made, after training
   */
  readonly loop: (
    policy: PolicyModel.Loaded,
    reference: R extends ModelValue ? PolicyModel.Loaded : undefined,
    companion: C
  ) => Loop & { readonly finish?: () => void; readonly dispose?: () => void }
}

const loadFitting = (value: ModelValue, task: TaskView, role: string): PolicyModel.Loaded => {
  const policy = PolicyModel.load(value)
  try {
    PolicyModel.checkFits(policy, task, role)
    return policy
  } catch (error) {
    PolicyModel.dispose(policy)
    throw error
  }
}

/**
 * Train the starting policy against its reference (if any): load both, check they fit
 * the task, make the companion (if any) from the loaded policy, run the loop with logging
 * every step, and return the trained weights as a Policy artifact value.
 */
export const train = <R extends ModelValue | undefined, C = undefined>(spec: TrainSpec<R, C>): Effect.Effect<ModelValue, InvariantError> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const policy = loadFitting(spec.policy, spec.task, "policy")
      let reference: PolicyModel.Loaded | undefined
      try {
        reference = spec.reference === undefined ? undefined : loadFitting(spec.reference, spec.task, "reference")
        return { policy, reference, companion: spec.companion?.make(policy) as C }
      } catch (error) {
        PolicyModel.dispose(policy)
        if (reference !== undefined) PolicyModel.dispose(reference)
        throw error
      }
    }),
    ({ policy, reference, companion }) =>
      Effect.gen(function*() {
        const loop = spec.loop(policy, reference as R extends ModelValue ? PolicyModel.Loaded : undefined, companion)
        const variables = spec.companion === undefined ? PolicyModel.variables(policy) : spec.companion.variables(PolicyModel.variables(policy), companion)
        try {
          yield* Train.fit({ logEvery: 1, ...loop, ctx: spec.ctx, steps: spec.steps, variables, lr: spec.lr })
          loop.finish?.()
        } finally {
          loop.dispose?.()
        }
        return PolicyModel.toModel(policy)
      }),
    ({ policy, reference, companion }) =>
      Effect.sync(() => {
        PolicyModel.dispose(policy)
        if (reference !== undefined) PolicyModel.dispose(reference)
        if (spec.companion !== undefined) spec.companion.dispose(companion)
      })
  )
