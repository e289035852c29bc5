/**
 * The scheduler: the only place that executes plans.
 *
 * Every node gets a fiber that waits for its inputs, recomputes its key from their
 * output hashes, and either reuses the stored result or runs the node through the
 * `Executor` under the key's lock, at most `concurrency` at a time. Independent
 * nodes run in parallel. Outputs are committed only after their bytes are in
 * place, so an interrupted run leaves finished nodes cached and nothing partial.
 *
 * Inputs are read through the store, which checks their bytes against their hash. An
 * input found corrupt (or missing) is quarantined with every key record naming it, and
 * the node that needed it fails saying so: nothing is computed from bad bytes, and the
 * next run recomputes the node that made it (see docs/caching.md, "Integrity").
 */
import { Deferred, Effect, Semaphore } from "effect"
import { Metrics } from "../dsl/Artifact.ts"
import type { NodeContext, NodeInstance } from "../dsl/Node.ts"
import * as Random from "../dsl/Random.ts"
import { ArtifactStore, type KeyRecord, type ObjectRef } from "./ArtifactStore.ts"
import * as CacheKey from "./CacheKey.ts"
import { CorruptObject, NodeFailed, reasonOf, type RunLogCorrupt, type StoreError } from "./Errors.ts"
import { Executor } from "./Executor.ts"
import * as Codec from "./internal/Codec.ts"
import * as CheckpointCodec from "./internal/CheckpointCodec.ts"
import type { ErrorDetail } from "./internal/ErrorDetail.ts"
import * as Integrity from "./internal/Integrity.ts"
import * as InputFiles from "./InputFiles.ts"
import * as Plan from "./Plan.ts"

/** What the scheduler reports while it works; the CLI renders these. */
export type Event =
  | { readonly type: "queued"; readonly id: string; readonly label: string }
  | { readonly type: "waiting"; readonly id: string; readonly label: string }
  | { readonly type: "running"; readonly id: string; readonly label: string }
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

const progressInterval = 100

/** Execute a plan. Node failures are results, not errors: the effect fails only when the store does. */
export const run = Effect.fn("Scheduler.run")(function*(plan: Plan.Plan, snapshot: Plan.Snapshot, options: Options) {
  const store = yield* ArtifactStore
  const executor = yield* Executor
  const semaphore = yield* Semaphore.make(Math.max(1, options.concurrency))
  const graph = plan.graph
  const done = new Map(graph.nodes.map(({ node }) => [node.id, Deferred.makeUnsafe<NodeResult>()]))
  // Decoded values by content hash, kept while a node that has not finished may read them:
  // a value is dropped once its producer's last consumer is done (graph outputs stay, for
  // the summary), so a long run holds the frontier of the graph in memory, not all of it.
  const values = new Map<string, unknown>()
  const outputs = new Set(graph.outputs)
  const consumersLeft = new Map<string, number>()
  for (const { node } of graph.nodes) {
    for (const input of Object.values(node.inputs)) consumersLeft.set(input.id, (consumersLeft.get(input.id) ?? 0) + 1)
  }
  const keepsValue = (id: string) => outputs.has(id) || (consumersLeft.get(id) ?? 0) > 0
  // nodes whose output has a given hash: equal outputs of different nodes share one value
  const producers = new Map<string, Set<string>>()
  const finished = new Map<string, NodeResult>()
  const finish = (node: NodeInstance, result: NodeResult) => {
    const hash = result.record?.output.hash
    if (hash !== undefined) producers.set(hash, (producers.get(hash) ?? new Set()).add(node.id))
    for (const input of Object.values(node.inputs)) {
      consumersLeft.set(input.id, consumersLeft.get(input.id)! - 1)
      const inputHash = finished.get(input.id)?.record?.output.hash
      if (inputHash !== undefined && ![...producers.get(inputHash) ?? []].some(keepsValue)) values.delete(inputHash)
    }
  }

  // An output read back corrupt is quarantined (with the key records naming it) before the
  // error is reported, so the next plan recomputes the node that made it.
  const valueOf = (node: NodeInstance, ref: ObjectRef): Effect.Effect<unknown, StoreError | CorruptObject> =>
    values.has(ref.hash)
      ? Effect.succeed(values.get(ref.hash))
      : store.read(ref.hash).pipe(
        Effect.map((bytes) => {
          const value = Codec.decode(node.kind.output, bytes)
          if (keepsValue(node.id)) values.set(ref.hash, value)
          return value
        }),
        Effect.catchTag("CorruptObject", (corrupt) => {
          const producer = graph.byId.get(node.id)?.label ?? node.name
          return store.quarantine(ref.hash).pipe(Effect.flatMap((done) =>
            Effect.fail(new CorruptObject({ ...corrupt, producer, recovery: Integrity.describeQuarantine(done, producer) }))
          ))
        })
      )

  const execute = (node: NodeInstance, label: string, components: CacheKey.Components, key: string) =>
    Effect.gen(function*() {
      const inputs: Record<string, unknown> = {}
      for (const [name, input] of Object.entries(node.inputs)) {
        const upstream = yield* Deferred.await(done.get(input.id)!)
        inputs[name] = yield* valueOf(input, upstream.record!.output).pipe(
          Effect.catchTag("CorruptObject", (corrupt) => Effect.fail(new NodeFailed({ node: label, reason: `input "${name}": ${corrupt.message}` })))
        )
      }
      let metrics: Array<CheckpointCodec.Metric> = []
      let lastProgress = 0
      const ctx: NodeContext = {
        name: label,
        random: Random.forComponents(components),
        progress: (progress) => {
          const now = performance.now()
          if (progress.step < progress.total && now - lastProgress < progressInterval) return
          lastProgress = now
          options.onEvent({ type: "progress", id: node.id, label, ...progress })
        },
        metric: (name, value, step) => void metrics.push({ step: step ?? metrics.length, name, value }),
        checkpoint: {
          load: store.readCheckpoint(key).pipe(
            Effect.map((bytes) => {
              if (bytes === undefined) return undefined
              const saved = CheckpointCodec.decode(bytes)
              metrics = [...saved.metrics]
              return saved.checkpoint
            }),
            Effect.orDie
          ),
          save: (checkpoint) =>
            Effect.suspend(() => store.writeCheckpoint(key, CheckpointCodec.encode(checkpoint, metrics))).pipe(Effect.orDie)
        }
      }
      let started = performance.now()
      const output = yield* executor.run(node, label, inputs, ctx, () => {
        started = performance.now()
        options.onEvent({ type: "running", id: node.id, label })
      }, options.nodeLog?.(key))
      const durationMs = performance.now() - started
      // The key hashed the input files before the node ran: if one changed meanwhile, the
      // output may come from other bytes than the key says, so it is not stored.
      const files = snapshot.files.get(node.id)
      if (files !== undefined) {
        const now = yield* InputFiles.hashFilesOf(node, label).pipe(
          Effect.mapError((error) => new NodeFailed({ node: label, reason: error.reason }))
        )
        const changed = Object.keys(files).find((field) => files[field] !== now[field])
        if (changed !== undefined) {
          return yield* new NodeFailed({ node: label, reason: `input file of param "${changed}" changed while the node ran; run again` })
        }
      }
      const encoded = yield* Effect.try({
        try: () => ({
          output: Codec.encode(node.kind.output, output),
          metrics: Codec.encode(Metrics, metrics)
        }),
        catch: (error) => new NodeFailed({ node: label, reason: `output cannot be stored: ${reasonOf(error)}` })
      })
      const outputRef = yield* store.put(encoded.output, { format: node.kind.output.format, type: node.kind.output.name })
      const metricsRef = yield* store.put(encoded.metrics, { format: "table", type: Metrics.name })
      if (keepsValue(node.id)) values.set(outputRef.hash, output)
      const record: KeyRecord = {
        key,
        node: { kind: node.kind.kind, label },
        output: outputRef,
        metrics: metricsRef,
        finalMetrics: Object.fromEntries(metrics.map(({ name, value }) => [name, value])),
        components,
        durationMs,
        createdAt: new Date().toISOString()
      }
      yield* store.commit(record)
      yield* store.removeCheckpoint(key)
      options.onEvent({ type: "done", id: node.id, label, key, hash: outputRef.hash, durationMs })
      return record
    })

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
          return result(node, label, "failed", inputs, { error: `upstream node "${upstream.label}" failed` })
        }
        inputs[name] = upstream.record.output.hash
      }
      const components = Plan.componentsOf(node, snapshot, inputs)
      const key = CacheKey.make(components)
      const forced = snapshot.forced.has(node.id)
      const cached = (record: KeyRecord) => {
        options.onEvent({ type: "cached", id: node.id, label, key, hash: record.output.hash })
        return result(node, label, "cached", inputs, { key, record })
      }
      if (!forced) {
        const record = planned.record?.key === key ? planned.record : yield* store.lookup(key)
        if (record !== undefined) return cached(record)
      }
      return yield* semaphore.withPermits(1)(
        store.withLock(
          key,
          () => options.onEvent({ type: "waiting", id: node.id, label }),
          Effect.gen(function*() {
            if (!forced) {
              const record = yield* store.lookup(key)
              if (record !== undefined) return cached(record)
            }
            return yield* execute(node, label, components, key).pipe(
              Effect.map((record) => result(node, label, "ran", inputs, { key, record, durationMs: record.durationMs })),
              Effect.catchTag("NodeFailed", (error) => {
                options.onEvent({ type: "failed", id: node.id, label, error: error.reason })
                return Effect.succeed(result(node, label, "failed", inputs, { key, error: error.reason, failure: error.detail }))
              })
            )
          })
        )
      )
    })

  for (const { node, label } of graph.nodes) {
    if (plan.byId.get(node.id)?.status === "miss") options.onEvent({ type: "queued", id: node.id, label })
  }
  const results = yield* Effect.forEach(
    graph.nodes,
    ({ node, label }) =>
      runNode(node, label).pipe(Effect.tap((r) =>
        Effect.sync(() => {
          finished.set(node.id, r)
          finish(node, r)
        }).pipe(
          Effect.andThen(options.onResult?.(r) ?? Effect.void),
          Effect.andThen(Deferred.succeed(done.get(node.id)!, r))
        )
      )),
    { concurrency: "unbounded" }
  )
  return { results, value: (id: string) => {
    const node = graph.byId.get(id)!.node
    const record = results.find((r) => r.id === id)?.record
    return record === undefined ? Effect.succeed(undefined) : valueOf(node, record.output)
  } }
})
