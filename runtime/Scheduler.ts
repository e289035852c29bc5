/**
 * The scheduler: the only place that executes plans, and what it decides is order and
 * concurrency.
 *
 * Every node gets a fiber that waits for its inputs, recomputes its key from their
 * output hashes, and either reuses the stored result or runs the node through the
 * `Executor` under the key's lock, at most `concurrency` at a time in this process (nodes
 * the executor runs elsewhere, in a worker pool, are bounded by it). Independent
 * nodes run in parallel. Outputs are committed by the scheduler only after their bytes are
 * in place, so an interrupted run leaves finished nodes cached and nothing partial.
 * The parts of running one node live beside it: the values it reads
 * (internal/ValueCache.ts), committing what it stored (internal/OutputCommit.ts).
 *
 * Inputs are read through the store, which checks their bytes against their hash. An
 * input found corrupt (or missing) is quarantined and the node that made it recomputed in
 * this run, in the turn of the node that needed it (internal/Recovery.ts): nothing is
 * computed from bad bytes, and the run goes on when the store can be repaired (see
 * docs/caching.md, "Integrity").
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Semaphore from "effect/Semaphore"
import type * as Graph from "../dsl/Graph.ts"
import type { NodeInstance } from "../dsl/Node.ts"
import { ArtifactStore, type KeyRecord, type ObjectRef } from "./ArtifactStore.ts"
import * as CacheKey from "./CacheKey.ts"
import { failureDetail, NodeFailed, type RunLogCorrupt, type StoreError } from "./Errors.ts"
import { Executor } from "./Executor.ts"
import * as OutputCommit from "./internal/OutputCommit.ts"
import * as Recovery from "./internal/Recovery.ts"
import * as ValueCache from "./internal/ValueCache.ts"
import type { ErrorDetail } from "./internal/ErrorDetail.ts"
import * as Plan from "./Plan.ts"

/** What the scheduler reports while it works; the CLI renders these. */
export type Event =
  | { readonly type: "queued"; readonly id: string; readonly label: string }
  | { readonly type: "waiting"; readonly id: string; readonly label: string }
  /**
   * `worker`: the pid of the worker process running it (none: it runs in this process); `host`:
   * the machine of a job queue's worker
   */
  | { readonly type: "running"; readonly id: string; readonly label: string; readonly worker?: number; readonly host?: string }
  | {
    readonly type: "progress"
    readonly id: string
    readonly label: string
    readonly step: number
    readonly total: number
    readonly loss?: number
    readonly reward?: number
    readonly kl?: number
    readonly throughput?: number
    readonly unit?: string
  }
  | { readonly type: "cached"; readonly id: string; readonly label: string; readonly key: string; readonly hash: string }
  | {
    readonly type: "done"
    readonly id: string
    readonly label: string
    readonly key: string
    readonly hash: string
    readonly durationMs: number
  }
  | { readonly type: "failed"; readonly id: string; readonly label: string; readonly error: string }
  /** not run because its input from node `upstream` failed (or was skipped): a failed node in the results */
  | { readonly type: "skipped"; readonly id: string; readonly label: string; readonly upstream: string }
  /** what a node (or, without id and label, the run) printed: captured into its log (internal/NodeOutput.ts) */
  | { readonly type: "output"; readonly id?: string; readonly label?: string; readonly stream: "stdout" | "stderr"; readonly text: string }

/** The outcome of one node. */
export interface NodeResult {
  readonly id: string
  readonly label: string
  readonly kind: string
  readonly status: "cached" | "ran" | "failed"
  readonly key: string | undefined
  readonly record: KeyRecord | undefined
  /**
   * input name → output hash of the upstream node. Complete unless an upstream failed,
   * when it holds the inputs that had finished by then.
   */
  readonly inputs: { readonly [name: string]: string }
  readonly durationMs: number
  readonly error: string | undefined
  /** what a failed node's code failed with */
  readonly failure?: ErrorDetail | undefined
}

export interface Options {
  readonly concurrency: number
  readonly onEvent: (event: Event) => void
  /** Called as each node finishes, before its dependents start. */
  readonly onResult?: (result: NodeResult) => Effect.Effect<void, StoreError | RunLogCorrupt>
  /** The file a node computing `key` prints to (none: its prints are not captured). */
  readonly nodeLog?: (key: string) => string
}

const result = (
  node: NodeInstance,
  label: string,
  status: NodeResult["status"],
  inputs: NodeResult["inputs"],
  fields: Partial<Pick<NodeResult, "key" | "record" | "durationMs" | "error" | "failure">>
): NodeResult => ({
  id: node.id,
  label,
  kind: node.kind.kind,
  status,
  key: fields.key,
  record: fields.record,
  inputs,
  durationMs: fields.durationMs ?? 0,
  error: fields.error,
  failure: fields.failure
})

/** Execute a plan. Node failures are results, not errors: the effect fails only when the store does. */
export const run = Effect.fn("Scheduler.run")(function*(plan: Plan.Plan, snapshot: Plan.Snapshot, options: Options) {
  const store = yield* ArtifactStore
  const executor = yield* Executor
  const semaphore = yield* Semaphore.make(Math.max(1, options.concurrency))
  const graph = plan.graph
  const done = new Map(graph.nodes.map(({ node }) => [node.id, Deferred.makeUnsafe<NodeResult>()]))
  const finished = new Map<string, NodeResult>()
  const values = ValueCache.make(graph, store)
  const waiting = (node: NodeInstance, label: string) => () => options.onEvent({ type: "waiting", id: node.id, label })
  const failed = (node: NodeInstance, label: string, error: NodeFailed) =>
    Effect.sync(() => options.onEvent({ type: "failed", id: node.id, label, error: error.reason }))
  const cached = (node: NodeInstance, label: string, inputs: NodeResult["inputs"], key: string, record: KeyRecord) => {
    options.onEvent({ type: "cached", id: node.id, label, key, hash: record.output.hash })
    return result(node, label, "cached", inputs, { key, record })
  }

  // A producer recomputed to repair its output runs in the turn of the reader that found
  // it damaged: the reader holds a permit and waits for it, so it takes none of its own.
  const recompute = (node: NodeInstance) => {
    const ran = finished.get(node.id)
    if (ran?.key === undefined) return undefined
    const { key, label } = ran
    return store.withLock(
      key,
      waiting(node, label),
      Effect.gen(function*() {
        const stored = yield* store.lookup(key)
        if (stored !== undefined) return stored.output.hash
        const components = Plan.componentsOf(node, snapshot, ran.inputs)
        const record = yield* execute(node, label, components, key).pipe(
          Effect.tapErrorTag("NodeFailed", (error) => failed(node, label, error))
        )
        return record.output.hash
      })
    )
  }
  const labelOf = (node: NodeInstance) => graph.byId.get(node.id)?.label ?? node.name
  const recovery = Recovery.make({ store, read: values.read, labelOf, recompute })
  const valueOf = (node: NodeInstance, ref: ObjectRef) =>
    values.read(node, ref).pipe(Effect.catchTag("CorruptObject", (corrupt) => recovery.recover(node, ref, corrupt)))

  /** Run a node through the executor and commit what it stored; the caller holds its key's lock. */
  const execute = (
    node: NodeInstance,
    label: string,
    components: CacheKey.Components,
    key: string
  ): Effect.Effect<KeyRecord, NodeFailed | StoreError> =>
    Effect.gen(function*() {
      const inputs: Record<string, ObjectRef> = {}
      for (const [name, input] of Object.entries(node.inputs)) inputs[name] = (yield* Deferred.await(done.get(input.id)!)).record!.output
      const input = (name: string) =>
        valueOf(node.inputs[name]!, inputs[name]!).pipe(
          Effect.catchTag("CorruptObject", (corrupt) => Effect.fail(NodeFailed.corruptInput(label, name, corrupt)))
        )
      const ran = yield* executor.run({ node, label, key, components, inputs, log: options.nodeLog?.(key) }, {
        input,
        onStart: (worker, host) =>
          options.onEvent({ type: "running", id: node.id, label, ...(worker === undefined ? {} : { worker }), ...(host === undefined ? {} : { host }) }),
        onProgress: (progress) => options.onEvent({ type: "progress", id: node.id, label, ...progress }),
        onOutput: (stream, text) => options.onEvent({ type: "output", id: node.id, label, stream, text })
      })
      const { durationMs } = ran
      const record = yield* OutputCommit.commit(store, { node, label, components, key, stored: ran, durationMs, files: snapshot.files.get(node.id) })
      if ("value" in ran) values.keep(node, record.output.hash, ran.value)
      options.onEvent({ type: "done", id: node.id, label, key, hash: record.output.hash, durationMs })
      return record
    }).pipe(Effect.provideService(ArtifactStore, store))

  const runNode = (node: NodeInstance, label: string): Effect.Effect<NodeResult, StoreError> =>
    Effect.gen(function*() {
      const planned = plan.byId.get(node.id)!
      const inputs: Record<string, string> = {}
      for (const [name, input] of Object.entries(node.inputs)) {
        const upstream = yield* Deferred.await(done.get(input.id)!)
        if (upstream.record === undefined) {
          // the inputs not awaited yet are reported if they have finished already
          for (const [other, otherInput] of Object.entries(node.inputs)) {
            const hash = finished.get(otherInput.id)?.record?.output.hash
            if (!(other in inputs) && hash !== undefined) inputs[other] = hash
          }
          options.onEvent({ type: "skipped", id: node.id, label, upstream: upstream.label })
          return result(node, label, "failed", inputs, { error: `upstream node "${upstream.label}" failed` })
        }
        inputs[name] = upstream.record.output.hash
      }
      const components = Plan.componentsOf(node, snapshot, inputs)
      const key = CacheKey.make(components)
      const forced = snapshot.forced.has(node.id)
      if (!forced) {
        const record = planned.record?.key === key ? planned.record : yield* store.lookup(key)
        if (record !== undefined) return cached(node, label, inputs, key, record)
      }
      // a node run elsewhere waits for a worker there, not for a slot of this process
      const slot = executor.runsElsewhere(node) ? <A, E>(effect: Effect.Effect<A, E>) => effect : semaphore.withPermits(1)
      return yield* slot(
        store.withLock(
          key,
          waiting(node, label),
          Effect.gen(function*() {
            if (!forced) {
              const record = yield* store.lookup(key)
              if (record !== undefined) return cached(node, label, inputs, key, record)
            }
            return yield* execute(node, label, components, key).pipe(
              Effect.map((record) => result(node, label, "ran", inputs, { key, record, durationMs: record.durationMs })),
              Effect.catchTag("NodeFailed", (error) =>
                failed(node, label, error).pipe(
                  Effect.as(result(node, label, "failed", inputs, { key, error: error.reason, failure: failureDetail(error) }))
                ))
            )
          })
        )
      )
    })

  // A node the plan found cached has only cached nodes upstream (Plan.ts), so its key and
  // result are known before anything runs: it is settled at once, without a fiber.
  const plannedHit = (node: NodeInstance, label: string): NodeResult | undefined => {
    const { key, record, status } = plan.byId.get(node.id)!
    if (status !== "hit" || key === undefined || record === undefined) return undefined
    const inputs = Object.fromEntries(Object.entries(node.inputs).map(([name, input]) => [name, plan.byId.get(input.id)!.record!.output.hash]))
    return cached(node, label, inputs, key, record)
  }
  const settle = (node: NodeInstance, r: NodeResult) =>
    Effect.sync(() => {
      finished.set(node.id, r)
      values.finished(node, r.record?.output.hash)
    }).pipe(
      Effect.andThen(options.onResult?.(r) ?? Effect.void),
      Effect.andThen(Deferred.succeed(done.get(node.id)!, r))
    )

  for (const { node, label } of graph.nodes) {
    if (plan.byId.get(node.id)?.status === "miss") options.onEvent({ type: "queued", id: node.id, label })
  }
  const toRun: Array<Graph.GraphNode> = []
  for (const entry of graph.nodes) {
    const hit = plannedHit(entry.node, entry.label)
    if (hit === undefined) toRun.push(entry)
    else yield* settle(entry.node, hit)
  }
  yield* Effect.forEach(toRun, ({ node, label }) => runNode(node, label).pipe(Effect.tap((r) => settle(node, r))), {
    concurrency: "unbounded",
    discard: true
  })
  const results = graph.nodes.map(({ node }) => finished.get(node.id)!)
  return { results, value: (id: string) => {
    const node = graph.byId.get(id)!.node
    const record = results.find((r) => r.id === id)?.record
    return record === undefined ? Effect.succeed(undefined) : valueOf(node, record.output)
  } }
})
