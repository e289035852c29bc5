/**
 * Where a node's code runs. The scheduler decides what runs and when; an Executor
 * only runs one node given its input values. `Executor.inProcess` runs nodes in this
 * process; a worker-thread or distributed executor implements the same interface.
 */
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Node from "../dsl/Node.ts"
import { NodeFailed } from "./Errors.ts"
import * as NodeOutput from "./internal/NodeOutput.ts"
import * as TensorBackend from "./TensorBackend.ts"

export class Executor extends Context.Service<Executor, {
  /**
   * Run one node. `onStart` is called when its code starts — after any wait for a
   * shared resource such as the tensor engine — so durations measure the node alone.
   * What the node's code prints goes to `log` when given (internal/NodeOutput.ts).
   */
  readonly run: (
    node: Node.NodeInstance,
    label: string,
    inputs: { readonly [name: string]: unknown },
    ctx: Node.NodeContext,
    onStart: () => void,
    log?: string
  ) => Effect.Effect<unknown, NodeFailed>
}>()("ablate/runtime/Executor") {
  /** The in-process executor on tensor backend `name` (default wasm). */
  static readonly inProcess = (name: TensorBackend.Name = TensorBackend.defaultName) =>
    inProcessLayer.pipe(Layer.provide(TensorBackend.TensorBackend.layer(name)))
}

// A node's own code, with its prints going to its log when it has one.
const capturing = <A, E>(node: Node.NodeInstance, label: string, log: string | undefined, effect: Effect.Effect<A, E>) =>
  log === undefined ? effect : NodeOutput.attribute({ id: node.id, label, file: log }, effect)

/**
 * Run nodes on this process's event loop; nodes that compute with tensors run one
 * at a time inside the tensor backend's scope. Typed failures and thrown
 * exceptions both become `NodeFailed`, which keeps a tagged error's tag and fields.
 */
const inProcessLayer = Layer.effect(
  Executor,
  Effect.gen(function*() {
    const backend = yield* TensorBackend.TensorBackend
    const withBackend = (node: Node.NodeInstance, effect: Effect.Effect<unknown, unknown>) =>
      node.kind.tensors === true ? backend.scoped(effect) : effect
    return Executor.of({
      run: (node, label, inputs, ctx, onStart, log) =>
        withBackend(node, Effect.sync(onStart).pipe(Effect.andThen(capturing(node, label, log, Node.runNode(node, inputs, ctx))))).pipe(
          Effect.exit,
          Effect.flatMap((exit) => {
            if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
            if (Cause.hasInterruptsOnly(exit.cause)) return Effect.interrupt
            const failure = exit.cause.reasons.find((r) => r._tag === "Fail" || r._tag === "Die")
            const error = failure === undefined ? exit.cause : failure._tag === "Fail" ? failure.error : failure.defect
            return Effect.fail(NodeFailed.of(label, error))
          })
        )
    })
  })
)
