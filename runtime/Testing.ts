/**
 * Running node kinds in a test: `Testing.run(build)` builds the handles `build` returns
 * into a graph, runs it in this process on an in-memory store (nothing is written to disk),
 * and gives back each handle's output value typed by its artifact type, its per-step
 * metrics and every node's result. A node that fails fails the effect with its
 * `NodeFailed` (so a test of bad input can `Effect.flip` it).
 *
 *     const { values } = yield* Testing.run(({ seed }) => {
 *       const task = data.preferenceTask({ items: 100, seed })
 *       return { task, pairs: label.bradleyTerry({ task, pairs: 50 }) }
 *     })
 *     values.pairs[0].preferred  // typed: a PreferencePairs row
 *
 * The cache keys are the ones `pipeline run --backend <backend>` computes, so a value here
 * is the value a pipeline run gives.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ArtifactType, Metrics, ValueOf } from "../dsl/Artifact.ts"
import type { Handle } from "../dsl/Node.ts"
import * as Pipeline from "../dsl/Pipeline.ts"
import { ArtifactStore } from "./ArtifactStore.ts"
import { NodeFailed } from "./Errors.ts"
import { Executor } from "./Executor.ts"
import * as MetricHistory from "./MetricHistory.ts"
import * as Plan from "./Plan.ts"
import * as Runner from "./Runner.ts"
import * as Scheduler from "./Scheduler.ts"
import * as TensorBackend from "./TensorBackend.ts"

/** The handles a test's builder returns, by name. */
export type Handles = { readonly [name: string]: Handle<ArtifactType> }

/** A row of a node's per-step metrics. */
export type MetricRow = ValueOf<Metrics>[number]

/** What `run` gives back. */
export interface Ran<R extends Handles> {
  /** each handle's output value, typed by its artifact */
  readonly values: { readonly [K in keyof R]: ValueOf<R[K]["~artifact"]> }
  /** each handle's per-step metrics (step, name, value) */
  readonly metrics: { readonly [K in keyof R]: ReadonlyArray<MetricRow> }
  /** every node of the graph, upstream nodes included */
  readonly results: ReadonlyArray<Scheduler.NodeResult>
}

export interface Options {
  /** the pipeline seed the builder is called with (default 0) */
  readonly seed?: number
  /** the tensor backend (default wasm, as `pipeline run`) */
  readonly backend?: TensorBackend.Name
}

/** Build the handles `build` returns and run them in memory (see the module comment). */
export const run = <R extends Handles>(build: (cell: Pipeline.Cell) => R, options: Options = {}) => {
  const backend = options.backend ?? TensorBackend.defaultName
  let handles: R | undefined
  const pipeline = Pipeline.make("test", (cell) => (handles = build(cell)))
  return Effect.gen(function*() {
    const prepared = yield* Runner.prepareGraph("<test>", pipeline, {
      seeds: [options.seed ?? 0],
      overrides: [],
      force: [],
      env: TensorBackend.env(backend)
    })
    const store = yield* ArtifactStore
    const snapshot: Plan.Snapshot = { ...prepared.base, index: yield* store.index(), previous: new Map() }
    const outcome = yield* Scheduler.run(Plan.make(prepared.graph, snapshot), snapshot, { concurrency: 2, onEvent: () => {} })
    const failed = outcome.results.find((r) => r.status === "failed")
    if (failed !== undefined) {
      const { tag, fields } = failed.failure ?? {}
      return yield* new NodeFailed({
        node: failed.label,
        reason: failed.error ?? "failed",
        ...(tag === undefined ? {} : { tag }),
        ...(fields === undefined ? {} : { fields })
      })
    }
    const values: Record<string, unknown> = {}
    const metrics: Record<string, ReadonlyArray<MetricRow>> = {}
    for (const [name, handle] of Object.entries(handles!)) {
      const result = outcome.results.find((r) => r.id === handle.node.id)!
      values[name] = yield* outcome.value(handle.node.id)
      metrics[name] = yield* MetricHistory.read(result.record!.metrics.hash)
    }
    // Each value was decoded by its node's output type, the artifact type its handle carries.
    return { values, metrics, results: outcome.results } as Ran<R>
  }).pipe(Effect.provide(Layer.mergeAll(ArtifactStore.layerMemory(), Executor.inProcess(backend))))
}
