/**
 * Running one node's code in this process and storing what it computed: the in-process
 * executor and a pool worker (Job.ts) both run nodes through `run`.
 *
 * The node gets its context (NodeRunContext.ts: seeded random stream, progress, metrics,
 * checkpoints under its key in the store); a node with tensors runs inside the tensor
 * backend's scope, one at a time per process; typed failures and thrown exceptions both become
 * `NodeFailed`, which keeps a tagged error's tag and fields; its output and metrics are then
 * stored as objects (OutputCommit.store). Committing the key record is the scheduler's.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Node from "../../dsl/Node.ts"
import { ArtifactStore } from "../ArtifactStore.ts"
import type * as CacheKey from "../CacheKey.ts"
import { NodeFailed, type StoreError } from "../Errors.ts"
import { TensorBackend } from "../TensorBackend.ts"
import * as NodeRunContext from "./NodeRunContext.ts"
import * as OutputCommit from "./OutputCommit.ts"

/** One run of a node here: the node, its key, its input values, and where what it does goes. */
export interface Options {
  readonly node: Node.NodeInstance
  readonly label: string
  readonly key: string
  readonly components: CacheKey.Components
  readonly inputs: { readonly [name: string]: unknown }
  /** Run the node's code with what it prints captured (internal/NodeOutput.ts), or as it is. */
  readonly capture: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** Called when its code starts, after any wait for the tensor engine: durations measure the node alone. */
  readonly onStart: () => void
  readonly onProgress: (progress: Node.Progress) => void
}

/** What a run here stored, how long the node's code took, and its output value. */
export interface Ran extends OutputCommit.Stored {
  readonly durationMs: number
  readonly value: unknown
}

/** The node's own failure, whatever it failed or died with, as `NodeFailed`; an interruption stays one. */
const asNodeFailed = (label: string) => <A>(effect: Effect.Effect<A, unknown>): Effect.Effect<A, NodeFailed> =>
  effect.pipe(
    Effect.exit,
    Effect.flatMap((exit) => {
      if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
      if (Cause.hasInterruptsOnly(exit.cause)) return Effect.interrupt
      const failure = exit.cause.reasons.find((r) => r._tag === "Fail" || r._tag === "Die")
      const error = failure === undefined ? exit.cause : failure._tag === "Fail" ? failure.error : failure.defect
      return Effect.fail(NodeFailed.of(label, error))
    })
  )

/** Run a node's code on its input values here and store its output and metrics. */
export const run = (options: Options): Effect.Effect<Ran, NodeFailed | StoreError, ArtifactStore | TensorBackend> =>
  Effect.gen(function*() {
    const { components, inputs, key, label, node } = options
    const store = yield* ArtifactStore
    const backend = yield* TensorBackend
    const context = NodeRunContext.make({ label, components, key, store, onProgress: options.onProgress })
    let started = 0
    const code = Effect.sync(() => {
      started = performance.now()
      options.onStart()
    }).pipe(Effect.andThen(options.capture(Node.runNode(node, inputs, context.ctx))))
    const value = yield* (node.kind.tensors === true ? backend.scoped(code) : code).pipe(asNodeFailed(label))
    const durationMs = performance.now() - started
    const stored = yield* OutputCommit.store(store, node, label, value, context.metrics())
    return { ...stored, durationMs, value }
  })
