/**
 * What every policy trainer shares: the starting policy loaded as trainable weights
 * (it must fit the task), a frozen reference where the objective has one, Adam steps
 * through Train.fit (checkpointed under the node's key, resumable bit-identically,
 * progress with reward and KL, metrics every step), and the trained weights returned as
 * a Policy artifact value. Tensors are freed however training ends.
 */
import { Effect } from "effect"
import type { ModelValue } from "../../dsl/Artifact.ts"
import type { NodeContext } from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { TaskView } from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as Train from "../models/Train.ts"

/** The minibatch-size param of a policy trainer. */
export const batchParam = (defaultSize: number, of = "pairs") =>
  Param.int({ default: defaultSize, min: 1, description: `Training ${of} per Adam step (drawn at random each step)` })

/** A policy trainer's loop: what Train.fit takes besides the context, steps, variables and learning rate. */
export type Loop = Omit<Train.LoopOptions, "ctx" | "steps" | "variables" | "optimizer">

export interface TrainSpec<R extends ModelValue | undefined> {
  readonly ctx: NodeContext
  readonly task: TaskView
  /** the starting policy (a Policy artifact value); its weights are trained */
  readonly policy: ModelValue
  /** a frozen reference policy, loaded beside it, when the objective has one */
  readonly reference: R
  readonly steps: number
  readonly lr: number
  /** the loop for the loaded policy and reference; `dispose` frees what it made, after training */
  readonly loop: (policy: PolicyModel.Loaded, reference: R extends ModelValue ? PolicyModel.Loaded : undefined) => Loop & { readonly dispose?: () => void }
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
 * the task, run the loop with logging every step, and return the trained weights as a
 * Policy artifact value.
 */
export const train = <R extends ModelValue | undefined>(spec: TrainSpec<R>): Effect.Effect<ModelValue> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const policy = loadFitting(spec.policy, spec.task, "policy")
      try {
        return { policy, reference: spec.reference === undefined ? undefined : loadFitting(spec.reference, spec.task, "reference") }
      } catch (error) {
        PolicyModel.dispose(policy)
        throw error
      }
    }),
    ({ policy, reference }) =>
      Effect.gen(function*() {
        const loop = spec.loop(policy, reference as R extends ModelValue ? PolicyModel.Loaded : undefined)
        try {
          yield* Train.fit({ logEvery: 1, ...loop, ctx: spec.ctx, steps: spec.steps, variables: PolicyModel.variables(policy), lr: spec.lr })
        } finally {
          loop.dispose?.()
        }
        return PolicyModel.toModel(policy)
      }),
    ({ policy, reference }) =>
      Effect.sync(() => {
        PolicyModel.dispose(policy)
        if (reference !== undefined) PolicyModel.dispose(reference)
      })
  )
