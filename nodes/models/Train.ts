/**
 * The training loop every training node uses. Each step computes the loss and its
 * gradients, applies Adam, reports progress (step, loss, throughput) and records the
 * loss metric. Every `checkpointEvery` steps it saves weights, optimizer state and the
 * batch generator's state under the node's cache key; a run killed mid-training
 * continues from the last checkpoint and ends with the same bytes as an
 * uninterrupted run. It yields to the event loop between steps, so the progress
 * display updates and Ctrl-C interrupts between steps.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import { InvariantError } from "../../dsl/Errors.ts"
import type { NodeContext, Progress } from "../../dsl/Node.ts"
import type { Json } from "../../dsl/Artifact.ts"
import type { Random, State } from "../../dsl/Random.ts"
import * as Adam from "./Adam.ts"
import { assignFrom, snapshot } from "./Tensors.ts"

/**
 * What a step's loss function returns: the loss, or the loss with statistics of the step
 * (e.g. `rewards/chosen`) that the loop records as metrics, each as the mean of its tensor.
 */
export type StepLoss = tf.Scalar | { readonly loss: tf.Scalar; readonly stats: Readonly<Record<string, tf.Tensor>> }

/** A step's loss value and the means of its statistics. */
export interface StepResult {
  readonly loss: number
  readonly stats: Readonly<Record<string, number>>
}

export interface LoopOptions {
  readonly ctx: NodeContext
  readonly steps: number
  /** the trainable variables, by stable name */
  readonly variables: Readonly<Record<string, tf.Variable>>
  readonly optimizer: Adam.Adam
  /** the loss of step `index` (draw batches from `random`) */
  readonly loss: (index: number) => StepLoss
  /**
   * Work before step `index`, outside the gradient tape (e.g. a policy trainer's rollout):
   * tensors it keeps survive the step. Called for every step, resumed or not.
   */
  readonly beforeStep?: (index: number) => void
  /** the generator the loss draws batches from; its state is checkpointed */
  readonly random?: Random
  /** more state to checkpoint and restore (e.g. an adaptive KL coefficient) */
  readonly state?: { readonly save: () => Json; readonly restore: (saved: Json) => void }
  readonly checkpointEvery?: number
  /** record the loss and the step's statistics every this many steps (and at the last) */
  readonly logEvery?: number
  /** what the progress bar shows as reward and KL, from the step's statistics */
  readonly display?: (stats: Readonly<Record<string, number>>) => Pick<Progress, "reward" | "kl">
  /** items (pairs, tokens, ...) per step, for the throughput shown in the progress bar */
  readonly itemsPerStep?: number
  readonly unit?: string
}

/**
 * One optimisation step: the loss and its gradients with respect to `variables` (in
 * the optimizer's sorted name order), one Adam update, and the loss value with the means
 * of the step's statistics; frees the loss, statistics and gradient tensors.
 */
export const step = (variables: Readonly<Record<string, tf.Variable>>, optimizer: Adam.Adam, loss: () => StepLoss): StepResult => {
  const ours = new Map(optimizer.names.map((name) => [variables[name]!.name, name]))
  let kept: Readonly<Record<string, tf.Tensor>> = {}
  const { value, grads } = tf.variableGrads(() => {
    const out = loss()
    if (out instanceof tf.Tensor) return out
    // statistics are made inside the gradient tape's scope: keep them past it
    kept = Object.fromEntries(Object.entries(out.stats).map(([name, t]) => [name, tf.keep(t)]))
    return out.loss
  }, optimizer.names.map((name) => variables[name]!))
  Adam.apply(optimizer, variables, Object.fromEntries(Object.entries(grads).map(([name, g]) => [ours.get(name)!, g])))
  const lossValue = value.dataSync()[0]!
  const stats = Object.fromEntries(Object.entries(kept).map(([name, t]) => [name, tf.tidy(() => tf.mean(t).dataSync()[0]!)]))
  tf.dispose([value, ...Object.values(grads), ...Object.values(kept)])
  return { loss: lossValue, stats }
}

/**
 * The throughput of a progress report: `items` done since `started` (a `performance.now()`)
 * per second, in `unit`; nothing before any time has passed.
 */
export const throughputSince = (started: number, items: number, unit: string): Pick<Progress, "throughput" | "unit"> => {
  const seconds = (performance.now() - started) / 1000
  return seconds === 0 ? {} : { throughput: items / seconds, unit }
}

/** Run `steps` optimisation steps, resuming from this node's checkpoint if an earlier run left one. */
export const loop = Effect.fnUntraced(function*(options: LoopOptions) {
  const { ctx, steps, variables, optimizer } = options
  const checkpointEvery = options.checkpointEvery ?? 50
  const logEvery = options.logEvery ?? 10
  const names = Object.keys(variables).sort()

  let start = 0
  const saved = yield* ctx.checkpoint.load
  if (saved !== undefined) {
    for (const name of names) {
      const tensor = saved.tensors[`var.${name}`]
      if (tensor === undefined) return yield* new InvariantError({ what: "checkpoint", reason: `has no variable "${name}"` })
      assignFrom(variables[name]!, tensor)
    }
    Adam.restore(optimizer, saved.tensors, Number(saved.state["adamSteps"]))
    if (options.random !== undefined) options.random.restore(saved.state["random"] as unknown as State)
    if (options.state !== undefined) options.state.restore(saved.state["node"] ?? null)
    start = saved.step
  }

  const save = (step: number) =>
    ctx.checkpoint.save({
      step,
      tensors: {
        ...Object.fromEntries(names.map((name) => [`var.${name}`, snapshot(variables[name]!)])),
        ...Adam.tensors(optimizer)
      },
      state: {
        adamSteps: optimizer.t,
        random: options.random === undefined ? null : [...options.random.state()],
        node: options.state === undefined ? null : options.state.save()
      }
    })

  const started = performance.now()
  for (let i = start; i < steps; i++) {
    options.beforeStep?.(i)
    const { loss, stats } = step(variables, optimizer, () => options.loss(i))
    if (i % logEvery === 0 || i === steps - 1) {
      ctx.metric("loss", loss, i)
      for (const [name, value] of Object.entries(stats)) ctx.metric(name, value, i)
    }
    ctx.progress({
      step: i + 1,
      total: steps,
      loss,
      ...options.display?.(stats),
      ...(options.itemsPerStep === undefined ? {} : throughputSince(started, options.itemsPerStep * (i + 1 - start), options.unit ?? "items"))
    })
    if ((i + 1) % checkpointEvery === 0 && i + 1 < steps) yield* save(i + 1)
    if (i % 10 === 9) yield* Effect.yieldNow
  }
})

/** `loop` with an Adam optimizer of learning rate `lr` that it creates for the variables and frees afterwards. */
export const fit = (options: Omit<LoopOptions, "optimizer"> & { readonly lr: number }) =>
  Effect.acquireUseRelease(
    Effect.sync(() => Adam.make(options.variables, { lr: options.lr })),
    (optimizer) => loop({ ...options, optimizer }),
    (optimizer) => Effect.sync(() => Adam.dispose(optimizer))
  )
