/**
 * The steps of `pipeline plan` and `pipeline run`, shared by the CLI, the tests and
 * the benchmarks: prepare (load, build, fingerprint; writes nothing), plan (reads
 * the store), execute (runs the plan and records it in the run log).
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Json } from "../dsl/Artifact.ts"
import { noNodeNamed, unknownNode } from "../dsl/Errors.ts"
import * as Graph from "../dsl/Graph.ts"
import * as Pipeline from "../dsl/Pipeline.ts"
import { ArtifactStore } from "./ArtifactStore.ts"
import * as CodeFingerprint from "./CodeFingerprint.ts"
import { ConfigError } from "./Errors.ts"
import * as InputFiles from "./InputFiles.ts"
import * as NodeOutput from "./internal/NodeOutput.ts"
import { layout } from "./internal/StoreLayout.ts"
import * as Loader from "./Loader.ts"
import { Observer } from "./Observer.ts"
import * as Plan from "./Plan.ts"
import * as Results from "./Results.ts"
import { RunLog, type NodeEntry } from "./RunLog.ts"
import * as Scheduler from "./Scheduler.ts"

/** What the user asked for on the command line. */
export interface Selection {
  readonly seeds: ReadonlyArray<number>
  readonly overrides: ReadonlyArray<Pipeline.Override>
  /** node names or labels to rerun even when cached */
  readonly force: ReadonlyArray<string>
  readonly env: { readonly [name: string]: Json }
  /** node names or labels to run, with what they need (none or absent: the whole graph) */
  readonly targets?: ReadonlyArray<string>
}

/** A built graph and everything planning needs except the store's contents. */
export interface Prepared {
  readonly file: string
  readonly graph: Graph.Graph
  readonly base: Omit<Plan.Snapshot, "index" | "previous">
}

const buildGraph = (pipeline: Pipeline.Pipeline, selection: Selection) =>
  Pipeline.build(pipeline, { seeds: selection.seeds, overrides: selection.overrides })

/**
 * The part of `graph` that computes the selection's targets (Graph.restrict), or the whole graph
 * when it names none. A target that names no node is a configuration error suggesting the
 * nearest name or label.
 */
const restrictTo = (graph: Graph.Graph, targets: ReadonlyArray<string>): Effect.Effect<Graph.Graph, ConfigError> => {
  if (targets.length === 0) return Effect.succeed(graph)
  const restricted = Graph.restrict(graph, targets)
  if (!("unknown" in restricted)) return Effect.succeed(restricted)
  const names = graph.nodes.map(({ node }) => node.name)
  return Effect.fail(new ConfigError({
    reason: `target ${restricted.unknown}: ${noNodeNamed(graph.pipeline, restricted.unknown, names, [...names, ...graph.nodes.map((n) => n.label)])}`
  }))
}

/**
 * Gather what planning a built graph needs, for the part of it the selection targets: forced
 * nodes, code fingerprints, input-file hashes. `--force` may name any node of the whole graph.
 */
const finishPrepare = Effect.fn("Runner.finishPrepare")(function*(file: string, whole: Graph.Graph, selection: Selection) {
  const forcedRoots: Array<string> = []
  for (const name of selection.force) {
    const matches = Graph.named(whole, name)
    if (matches.length === 0) {
      return yield* unknownNode(`--force ${name}`, whole.pipeline, name, whole.nodes.map(({ node }) => node.name))
    }
    forcedRoots.push(...matches.map(({ node }) => node.id))
  }
  const graph = yield* restrictTo(whole, selection.targets ?? [])
  const code = yield* CodeFingerprint.fingerprintAll(graph.nodes.map(({ node }) => node.kind.module))
  const files = yield* InputFiles.hashInputFiles(graph)
  return { file, graph, base: { code, env: selection.env, forced: new Set(forcedRoots), files } } satisfies Prepared
})

/** Build the graph of a loaded pipeline and gather code fingerprints and input-file hashes. */
export const prepareGraph = (file: string, pipeline: Pipeline.Pipeline, selection: Selection) =>
  buildGraph(pipeline, selection).pipe(Effect.flatMap((graph) => finishPrepare(file, graph, selection)))

/**
 * Load a pipeline file and prepare it, reporting what the file's import, its graph build
 * and the preparation read to the Observer (Observer.ts; the `pipeline` command provides a
 * recording one): `observation`, what was observed or why it cannot be replayed. Observing
 * ends here, whether preparing succeeds or not.
 */
export const prepare = (file: string, selection: Selection) =>
  Observer.use((observer) =>
    Loader.locate(file).pipe(
      Effect.flatMap((absolute) =>
        Effect.acquireUseRelease(
          Effect.sync(observer.watchBuild),
          () => Loader.load(file, absolute).pipe(Effect.flatMap((pipeline) => buildGraph(pipeline, selection))),
          (stop) => Effect.sync(stop)
        )
      ),
      Effect.flatMap((graph) => finishPrepare(file, graph, selection)),
      Effect.map((prepared) => ({ ...prepared, observation: observer.finish() })),
      Effect.onError(() => Effect.sync(observer.finish))
    ))

/**
 * Plan against the store's current contents. What changed since the last run is read from
 * the run log only when some node is to run: an all-cached plan has nothing to explain.
 */
export const plan = Effect.fn("Runner.plan")(function*(prepared: Prepared) {
  const store = yield* ArtifactStore
  const runLog = yield* RunLog
  const index = yield* store.index()
  const unexplained: Plan.Snapshot = { ...prepared.base, index, previous: new Map() }
  const planned = Plan.make(prepared.graph, unexplained)
  if (planned.nodes.every((node) => node.status === "hit")) return { plan: planned, snapshot: unexplained }
  const snapshot: Plan.Snapshot = { ...unexplained, previous: yield* runLog.previous(prepared.graph.pipeline) }
  return { plan: Plan.make(prepared.graph, snapshot), snapshot }
})

/**
 * Plan, execute and record a run. The run is marked interrupted if the effect is interrupted.
 * With `logs` (the store's root), what nodes print goes to their logs in the store instead of
 * stdout, and is reported as `output` events (internal/NodeOutput.ts).
 */
export const execute = Effect.fn("Runner.execute")(function*(
  prepared: Prepared,
  options: Scheduler.Options & { readonly argv: string; readonly logs?: string }
) {
  const runLog = yield* RunLog
  const { plan: planned, snapshot } = yield* plan(prepared)
  const runId = yield* runLog.start({ pipeline: prepared.graph.pipeline, file: prepared.file, argv: options.argv })
  const logs = options.logs === undefined ? undefined : layout(options.logs)
  // the log of a node that ran and printed, relative to the store
  const logOf = (result: Scheduler.NodeResult): string | undefined => {
    if (logs === undefined || result.key === undefined || result.status === "cached") return undefined
    const file = logs.logPath(result.key)
    return fs.existsSync(file) ? path.relative(options.logs!, file) : undefined
  }
  // A node that ran is logged as it finishes, so a run killed midway keeps the record of
  // what it did; cached nodes, which did nothing, are logged together at the end.
  const entryOf = (result: Scheduler.NodeResult): NodeEntry => {
    const { node, label } = prepared.graph.byId.get(result.id)!
    const record = result.record
    return {
      nodeId: result.id,
      label,
      kind: result.kind,
      status: result.status,
      key: result.key,
      outputHash: record?.output.hash,
      metricsHash: record?.metrics.hash,
      durationMs: result.durationMs,
      params: node.params,
      inputs: Object.fromEntries(
        Object.entries(node.inputs).map(([name, input]) => [name, {
          label: prepared.graph.byId.get(input.id)?.label ?? input.name,
          hash: result.inputs[name]
        }])
      ),
      components: record?.components,
      metrics: record?.finalMetrics ?? {},
      error: result.error,
      log: logOf(result),
      failure: result.failure,
      coords: prepared.graph.byId.get(result.id)!.coords
    }
  }
  const cached: Array<NodeEntry> = []
  const scheduled = Scheduler.run(planned, snapshot, {
    ...options,
    ...(logs === undefined ? {} : { nodeLog: logs.logPath }),
    onResult: (result) =>
      result.status === "cached"
        ? Effect.sync(() => void cached.push(entryOf(result)))
        : runLog.record(runId, [entryOf(result)])
  })
  const onPrint = ({ id, label, stream, text }: NodeOutput.Printed) =>
    options.onEvent({ type: "output", ...(id === undefined ? {} : { id }), ...(label === undefined ? {} : { label }), stream, text })
  const outcome = yield* (logs === undefined ? scheduled : NodeOutput.capture({ runLog: logs.runLogPath(runId), onPrint }, scheduled)).pipe(
    Effect.onInterrupt(() => runLog.finish(runId, "interrupted").pipe(Effect.ignore)),
    Effect.tapError(() => runLog.finish(runId, "failed").pipe(Effect.ignore))
  )
  yield* runLog.record(runId, cached)
  const results = resultsOf(prepared.graph, outcome.results)
  if (results.rows.length > 0) yield* runLog.saveResults(runId, JSON.stringify(results))
  const failed = outcome.results.some((r) => r.status === "failed")
  yield* runLog.finish(runId, failed ? "failed" : "succeeded")
  // a cached node's key record as planning read it: the file a replay record pins (cli/Replay.ts)
  const keyRecordRead = (key: string, hash: string): string | undefined =>
    snapshot.index.get(key)?.output.hash === hash ? snapshot.index.identity?.(key) : undefined
  return { runId, plan: planned, results: outcome.results, value: outcome.value, table: results, keyRecordRead }
})

/** The results table of a graph's nodes that completed (their final metrics), against the pipeline's baseline. */
export const resultsOf = (graph: Graph.Graph, results: ReadonlyArray<Scheduler.NodeResult>): Results.Table => {
  const finals = new Map(results.flatMap((r) => (r.record === undefined ? [] : [[r.id, r.record.finalMetrics] as const])))
  return Results.aggregate(Results.fromGraph(graph, (id) => finals.get(id)), graph.baseline)
}

/** A node whose recomputation did not reproduce its stored bytes. */
export interface Mismatch {
  readonly label: string
  readonly kind: string
  readonly stored: string
  readonly recomputed: string | undefined
  readonly error: string | undefined
}

/**
 * Recompute every cached node of a pipeline from scratch in memory (the store is only
 * read) and compare each output's hash with the stored one. Nodes not cached are
 * skipped; a mismatch means a node is not deterministic (or its cache is stale).
 */
export const verify = Effect.fn("Runner.verify")(function*(prepared: Prepared, options: Scheduler.Options) {
  const { plan: stored } = yield* plan(prepared)
  const fresh: Plan.Snapshot = { ...prepared.base, index: new Map(), previous: new Map() }
  const outcome = yield* Scheduler.run(Plan.make(prepared.graph, fresh), fresh, options).pipe(
    Effect.provide(ArtifactStore.layerMemory())
  )
  const checked: Array<string> = []
  const mismatches: Array<Mismatch> = []
  for (const result of outcome.results) {
    const record = stored.byId.get(result.id)?.record
    if (record === undefined) continue
    checked.push(result.label)
    const recomputed = result.record?.output.hash
    if (recomputed !== record.output.hash) {
      mismatches.push({ label: result.label, kind: result.kind, stored: record.output.hash, recomputed, error: result.error })
    }
  }
  return { checked, mismatches }
})
