/**
 * Where a node's code runs. The scheduler decides what runs and when, and commits what a
 * node computed; an Executor runs one node given the objects its inputs are, stores its
 * output and metrics as objects, and returns their refs.
 *
 * `Executor.inProcess` runs every node on this process's event loop, nodes with tensors one
 * at a time. `Executor.pool` runs nodes with tensors and nodes marked `heavy` in a pool of
 * worker processes (WorkerPool.ts; each with its own tensor backend) and the cheap rest in
 * process: what `pipeline run` uses. `Executor.queue` sends the same nodes, by the same rule, to
 * workers on any machine through a job queue on Redis (JobQueue.ts): what `pipeline run
 * --executor redis://…` uses. A pipeline with no file (tests, `Testing.run`) or a store in
 * memory runs in process, since a worker builds the graph from the file and reads the store
 * from disk.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Node from "../dsl/Node.ts"
import type * as Pipeline from "../dsl/Pipeline.ts"
import { ArtifactStore, type ObjectRef } from "./ArtifactStore.ts"
import type * as CacheKey from "./CacheKey.ts"
import { CorruptObject, NodeFailed, StoreError } from "./Errors.ts"
import * as Compute from "./internal/Compute.ts"
import * as NodeOutput from "./internal/NodeOutput.ts"
import type * as OutputCommit from "./internal/OutputCommit.ts"
import type * as Job from "./Job.ts"
import { JobQueue } from "./JobQueue.ts"
import * as TensorBackend from "./TensorBackend.ts"
import { WorkerPool } from "./WorkerPool.ts"

/** One node to run: the node, its key and what the key is made of, its inputs' objects, its log file. */
export interface Task {
  readonly node: Node.NodeInstance
  readonly label: string
  readonly key: string
  readonly components: CacheKey.Components
  /** input name → the upstream output it reads */
  readonly inputs: { readonly [name: string]: ObjectRef }
  /** where what it prints goes (internal/NodeOutput.ts); none: its prints are not captured */
  readonly log: string | undefined
}

/** What the scheduler gives an executor besides the task. */
export interface Hooks {
  /**
   * The value of input `name`, read in this process: from the run's memory, else from the
   * store, checked, and repaired when found corrupt (internal/Recovery.ts).
   */
  readonly input: (name: string) => Effect.Effect<unknown, NodeFailed | StoreError>
  /**
   * Called when the node's code starts — after any wait for the tensor engine or a worker —
   * so durations measure the node alone; `worker` is the pid of the process running it, and
   * `host` its machine when that is another (a queue's worker).
   */
  readonly onStart: (worker: number | undefined, host?: string) => void
  readonly onProgress: (progress: Node.Progress) => void
  /** What the node printed in another process (in this one, NodeOutput captures it). */
  readonly onOutput: (stream: NodeOutput.Stream, text: string) => void
}

/** What running a node stored, how long its code took, and its output value when it ran here. */
export interface Ran extends OutputCommit.Stored {
  readonly durationMs: number
  /** the output value, when computed in this process: readers get it without a read */
  readonly value?: unknown
}

export class Executor extends Context.Service<Executor, {
  /** Run one node and store its output and metrics in the run's store. */
  readonly run: (task: Task, hooks: Hooks) => Effect.Effect<Ran, NodeFailed | StoreError, ArtifactStore>
  /**
   * Whether the node runs outside this process, where the executor bounds how many run at
   * once (a pool of N workers): the scheduler's `concurrency` bounds the others.
   */
  readonly runsElsewhere: (node: Node.NodeInstance) => boolean
}>()("ablate/runtime/Executor") {
  /** The in-process executor on tensor backend `name` (default wasm). */
  static readonly inProcess = (name: TensorBackend.Name = TensorBackend.defaultName) =>
    Layer.effect(Executor, TensorBackend.TensorBackend.useSync(inProcess)).pipe(
      Layer.provide(TensorBackend.TensorBackend.layer(name))
    )

  /**
   * Nodes with tensors or `heavy` sent to the worker pool (WorkerPool.layer: its workers start
   * as nodes need them, so a fully cached run starts none), the rest in process. A worker
   * builds the graph from `options`: the pipeline file (absolute) and the selection.
   */
  static readonly pool = (options: PoolOptions) =>
    Layer.effect(Executor, pooled(options)).pipe(Layer.provide(TensorBackend.TensorBackend.layer(options.backend)))

  /**
   * The nodes the pool would run sent to the job queue's workers (JobQueue.layer), the rest in
   * process; a worker builds the graph from `options` as a pool worker does.
   */
  static readonly queue = (options: PoolOptions) =>
    Layer.effect(Executor, queued(options)).pipe(Layer.provide(TensorBackend.TensorBackend.layer(options.backend)))
}

/** What a worker builds the graph from: the pipeline file (absolute), the selection, the backend. */
export interface PoolOptions {
  readonly file: string
  readonly seeds: ReadonlyArray<number>
  readonly overrides: ReadonlyArray<Pipeline.Override>
  readonly backend: TensorBackend.Name
}

/** Run nodes on this process's event loop (internal/Compute.ts), reading inputs through the hooks. */
const inProcess = (backend: TensorBackend.TensorBackend["Service"]) =>
  Executor.of({
    run: (task, hooks) =>
      Effect.gen(function*() {
        const { components, key, label, log, node } = task
        const inputs: Record<string, unknown> = {}
        for (const name of Object.keys(task.inputs)) inputs[name] = yield* hooks.input(name)
        return yield* Compute.run({
          node,
          label,
          key,
          components,
          inputs,
          capture: (effect) => (log === undefined ? effect : NodeOutput.attribute({ id: node.id, label, file: log }, effect)),
          onStart: () => hooks.onStart(undefined),
          onProgress: hooks.onProgress
        })
      }).pipe(Effect.provideService(TensorBackend.TensorBackend, backend)),
    runsElsewhere: () => false
  })

/** Whether a node computes enough to be worth a worker process. */
export const runsInPool = (node: Node.NodeInstance): boolean => node.kind.tensors === true || node.kind.heavy === true

/** A failed job as the scheduler sees it: the node's failure, or the store's (which fails the run). */
const errorOf = (label: string, failure: Job.Failure): NodeFailed | StoreError => {
  switch (failure._tag) {
    case "NodeFailed":
      return new NodeFailed({ node: label, reason: failure.reason, ...(failure.detail === undefined ? {} : { detail: failure.detail }) })
    case "CorruptInput":
      return NodeFailed.corruptInput(label, failure.input, new CorruptObject({ hash: failure.hash, path: failure.path, reason: failure.reason }))
    case "StoreError":
      return new StoreError({ path: failure.path, reason: failure.reason })
    case "WorkerDied":
    case "Outdated":
      return new NodeFailed({ node: label, reason: failure.reason })
  }
}

/** Runs a node job in another process: what `elsewhere` gets for each node that runs there. */
type Dispatch = (job: Job.Job, node: Node.NodeInstance, hooks: Hooks) => Effect.Effect<Job.Done, Job.Failure, ArtifactStore>

/**
 * The executor that sends nodes with tensors or marked `heavy` to `dispatch` as node jobs and
 * runs the rest in process: the routing both the pool and the queue use. A job whose input a
 * worker found corrupt: the input is read here, which repairs it (its producer is recomputed,
 * as for a node in process), and the job is sent once more.
 */
const elsewhere = (options: PoolOptions, dispatch: Dispatch) =>
  Effect.gen(function*() {
    const local = inProcess(yield* TensorBackend.TensorBackend)
    const send = (job: Job.Job, node: Node.NodeInstance, hooks: Hooks, repaired: boolean): Effect.Effect<Ran, NodeFailed | StoreError, ArtifactStore> =>
      dispatch(job, node, hooks).pipe(Effect.catch((failure) =>
        failure._tag === "CorruptInput" && !repaired
          ? hooks.input(failure.input).pipe(Effect.andThen(send(job, node, hooks, true)))
          : Effect.fail(errorOf(job.label, failure))
      ))
    return Executor.of({
      run: (task, hooks) =>
        Effect.gen(function*() {
          const store = yield* ArtifactStore
          // a store in memory is this process's alone
          if (!runsInPool(task.node) || store.root === ArtifactStore.memoryRoot) return yield* local.run(task, hooks)
          return yield* send({
            store: store.root,
            file: options.file,
            seeds: options.seeds,
            overrides: options.overrides,
            backend: options.backend,
            node: task.node.id,
            label: task.label,
            key: task.key,
            components: task.components,
            inputs: task.inputs,
            ...(task.log === undefined ? {} : { log: task.log })
          }, task.node, hooks, false)
        }),
      runsElsewhere: runsInPool
    })
  })

/** What follows a crashed pool worker in a local run (the job queue's workers retry the job instead). */
const afterCrash = "the pool starts a new worker for the next node, and a rerun retries this one (a trainer resumes from its last checkpoint)"

const pooled = (options: PoolOptions) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    return yield* elsewhere(options, (job, _, hooks) =>
      pool.run(job, hooks).pipe(
        Effect.mapError((failure) => failure._tag === "WorkerDied" ? { ...failure, reason: `${failure.reason}; ${afterCrash}` } : failure)
      ))
  })

/**
 * A job's result whose objects this process's store holds. A node job run by the queue's
 * workers may come back with a result computed earlier (its job completed while no coordinator
 * waited for it, say): it is taken only when the store still holds what it names, else the
 * node is computed again; a result the store does not hold even then means the worker wrote
 * to another store.
 */
const queued = (options: PoolOptions) =>
  Effect.gen(function*() {
    const queue = yield* JobQueue
    const holds = (done: Job.Done) =>
      Effect.gen(function*() {
        const store = yield* ArtifactStore
        return (yield* store.has(done.output)) && (yield* store.has(done.metrics))
      })
    return yield* elsewhere(options, (job, node, hooks) =>
      Effect.gen(function*() {
        const needs = node.kind.tensors === true ? "tensors" : "compute"
        const done = yield* queue.run(job, needs, hooks, { reuse: true })
        if (yield* holds(done)) return done
        const again = yield* queue.run(job, needs, hooks, { reuse: false })
        if (yield* holds(again)) return again
        return yield* Effect.fail<Job.Failure>({
          _tag: "NodeFailed",
          reason: `its worker stored its output (object ${again.output.hash}) where the store ${job.store} does not have it: ` +
            "every worker must mount the run's store (at the same path, or give its directory with pipeline worker --store)"
        })
      }).pipe(Effect.catchTag("StoreError", (error): Effect.Effect<never, Job.Failure> =>
        Effect.fail({ _tag: "StoreError", path: error.path, reason: error.reason })))
    )
  })
