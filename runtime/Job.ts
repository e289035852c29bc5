/**
 * A node job: one node to run, described by data rather than closures, so that another
 * process can run it — a worker of the local pool (WorkerPool.ts), or a worker on another
 * machine sharing the store. The job names the pipeline file and the selection that built the
 * graph, the node's structural id, its key and key components, and the objects its inputs
 * are; the worker builds the graph once per file and selection (node ids are structural
 * hashes, so it finds the same node), reads the inputs from the store (which checks their
 * hashes), runs the node with a context of its own (checkpoints and the seeded random stream
 * work as in process), stores its output and metrics as objects and reports their refs.
 * Committing the key record stays with the scheduler that sent the job.
 *
 * `run` is the whole worker side of one job; `Message` is what a worker reports while it
 * runs one and how it ended, as a Schema, so whoever receives messages decodes them.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type * as Graph from "../dsl/Graph.ts"
import type * as Node from "../dsl/Node.ts"
import * as Pipeline from "../dsl/Pipeline.ts"
import { ArtifactStore } from "./ArtifactStore.ts"
import * as CacheKey from "./CacheKey.ts"
import * as CodeFingerprint from "./CodeFingerprint.ts"
import { failureDetail, type NodeFailed, reasonOf, type StoreError } from "./Errors.ts"
import * as Codec from "./internal/Codec.ts"
import * as Compute from "./internal/Compute.ts"
import * as NodeOutput from "./internal/NodeOutput.ts"
import { Components, ErrorDetail, FinalMetrics } from "./internal/RecordSchemas.ts"
import * as Loader from "./Loader.ts"
import * as TensorBackend from "./TensorBackend.ts"

const ObjectRef = Schema.Struct({
  hash: Schema.String,
  format: Schema.Literals(["table", "model"]),
  type: Schema.String,
  bytes: Schema.Number
})

/** One node to run: where the store is, what built the graph, which node, its key, and its inputs' objects. */
export const Job = Schema.Struct({
  /** the store's root directory (absolute): every process running jobs of a run shares it */
  store: Schema.String,
  /** the pipeline file (absolute) */
  file: Schema.String,
  seeds: Schema.Array(Schema.Number),
  overrides: Schema.Array(Schema.Struct({ node: Schema.String, field: Schema.String, value: Schema.Unknown })),
  /** the tensor backend the run computes on (part of the key of nodes with tensors) */
  backend: Schema.Literals(TensorBackend.names),
  /** the node's structural id in the graph the file and selection build */
  node: Schema.String,
  label: Schema.String,
  key: Schema.String,
  components: Components,
  /** input name → the upstream output it reads */
  inputs: Schema.Record(Schema.String, ObjectRef),
  /** the node's log file, where what it prints goes (none: its prints go to the worker's stdout and stderr) */
  log: Schema.optionalKey(Schema.String)
})
export type Job = typeof Job.Type

/**
 * How a job failed: the node failed (its code, its output, its inputs or code not as the job
 * says), an input object was found corrupt (the scheduler repairs it and sends the job again),
 * the store could not be read or written (the run fails, as when a node runs in process), the
 * process running it died (a crash, kill -9, out of memory), or the process had already imported
 * other code than the job's key names (`Outdated`: a fresh process runs the job instead; see
 * `run`).
 */
export const Failure = Schema.Union([
  Schema.Struct({
    _tag: Schema.Literal("NodeFailed"),
    reason: Schema.String,
    /** what it failed with, as data: a tagged error's tag and fields, the stack */
    detail: Schema.optionalKey(ErrorDetail)
  }),
  Schema.Struct({
    _tag: Schema.Literal("CorruptInput"),
    input: Schema.String,
    hash: Schema.String,
    path: Schema.String,
    reason: Schema.String
  }),
  Schema.Struct({ _tag: Schema.Literal("StoreError"), path: Schema.String, reason: Schema.String }),
  Schema.Struct({ _tag: Schema.Literal("WorkerDied"), reason: Schema.String }),
  Schema.Struct({ _tag: Schema.Literal("Outdated"), reason: Schema.String })
])
export type Failure = typeof Failure.Type

/** What a job stored, and how long the node's code took. */
export const Done = Schema.Struct({
  output: ObjectRef,
  metrics: ObjectRef,
  finalMetrics: FinalMetrics,
  durationMs: Schema.Number
})
export type Done = typeof Done.Type

const Progress = Schema.Struct({
  step: Schema.Number,
  total: Schema.Number,
  loss: Schema.optionalKey(Schema.Number),
  reward: Schema.optionalKey(Schema.Number),
  kl: Schema.optionalKey(Schema.Number),
  throughput: Schema.optionalKey(Schema.Number),
  unit: Schema.optionalKey(Schema.String)
})

/** What a worker reports while it runs a job: its start, progress and prints. */
export const Reported = Schema.Union([
  /** the node's code started in process `worker` (on machine `host`, when another machine's) */
  Schema.Struct({ type: Schema.Literal("started"), worker: Schema.Number, host: Schema.optionalKey(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("progress"), progress: Progress }),
  Schema.Struct({ type: Schema.Literal("output"), stream: Schema.Literals(["stdout", "stderr"]), text: Schema.String })
])
export type Reported = typeof Reported.Type

/** How a job ended: `done`, or `failed` with its failure. */
export const Outcome = Schema.Union([
  Schema.Struct({ type: Schema.Literal("done"), done: Done }),
  Schema.Struct({ type: Schema.Literal("failed"), failure: Failure })
])
export type Outcome = typeof Outcome.Type

/** What a worker reports about the job it runs: its start, progress, prints, and its end. */
export const Message = Schema.Union([...Reported.members, ...Outcome.members])
export type Message = typeof Message.Type

/** The messages of a worker as they arrive: decoded, or none when one is not a message. */
export const decodeMessage = Schema.decodeUnknownOption(Message)

/** Where what a worker reports about a job goes: its start, progress and prints. */
export interface Hooks {
  /** the pid of the process that runs it, and its machine when that is another */
  readonly onStart: (worker: number, host?: string) => void
  readonly onProgress: (progress: Node.Progress) => void
  readonly onOutput: (stream: "stdout" | "stderr", text: string) => void
}

/** Hand what a worker reported to the job's hooks. */
export const tell = (hooks: Hooks, reported: Reported): void => {
  switch (reported.type) {
    case "started":
      return hooks.onStart(reported.worker, reported.host)
    case "progress":
      return hooks.onProgress(reported.progress)
    case "output":
      return hooks.onOutput(reported.stream, reported.text)
  }
}

/** What the pool sends a worker: a job to run. */
export const Request = Schema.Struct({ type: Schema.Literal("run"), job: Job })
export type Request = typeof Request.Type

/** Where a worker sends what it reports while it runs a job. */
export type Report = (message: Reported) => void

/** A job's failure with `reason` and nothing else known (the node's own error has more: `failureOf`). */
export const nodeFailure = (reason: string): Failure => ({ _tag: "NodeFailed", reason })

/** How a job that did not succeed failed: its failure, or, when the worker's code died, a failure saying so. */
export const failureOfCause = (cause: Cause.Cause<Failure>): Failure =>
  Option.getOrElse(Cause.findErrorOption(cause), () => nodeFailure(`the worker failed unexpectedly: ${reasonOf(Cause.squash(cause))}`))

const storeFailure = (error: StoreError): Failure => ({ _tag: "StoreError", path: error.path, reason: error.reason })

/**
 * A failure of the node's own code (or its output), keeping what it failed with as data: a
 * tagged error's fields as JSON (a message carries data, not functions or class instances).
 */
const failureOf = (error: NodeFailed): Failure => ({ _tag: "NodeFailed", reason: error.reason, detail: failureDetail(error) })

/**
 * What a worker keeps between jobs: the graphs it built, by file and selection, and the code
 * fingerprints of the node kinds it ran, by module. One per worker process.
 */
export interface Workspace {
  readonly graphs: Map<string, Graph.Graph>
  readonly code: Map<string, CacheKey.CodeFingerprint>
}

/** An empty workspace. */
export const workspace = (): Workspace => ({ graphs: new Map(), code: new Map() })

/** The graph the job's file and selection build, built once per workspace. */
const graphOf = (job: Job, workspace: Workspace): Effect.Effect<Graph.Graph, Failure> => {
  const id = JSON.stringify([job.file, job.seeds, job.overrides])
  const built = workspace.graphs.get(id)
  if (built !== undefined) return Effect.succeed(built)
  return Loader.load(job.file, job.file).pipe(
    Effect.flatMap((pipeline) => Pipeline.build(pipeline, { seeds: job.seeds, overrides: job.overrides })),
    Effect.tap((graph) => Effect.sync(() => workspace.graphs.set(id, graph))),
    Effect.mapError((error) => nodeFailure(`the worker could not build ${job.file}: ${reasonOf(error)}`))
  )
}

/**
 * Fails unless the code of the node's kind is what the job's key says: the run fingerprinted
 * it when it planned, and a file edited since would compute under a key that names other code.
 * A process runs the modules it imported first, so the fingerprint taken then is kept: a later
 * job whose key names other code fails here (with `mismatch`) rather than running the old code
 * under it.
 */
const checkCode = (job: Job, node: Node.NodeInstance, workspace: Workspace, mismatch: (reason: string) => Failure): Effect.Effect<void, Failure> =>
  Effect.gen(function*() {
    const module = node.kind.module
    const code = workspace.code.get(module) ?? (yield* CodeFingerprint.fingerprintAll([module]).pipe(
      Effect.map((all) => all.get(module)!),
      Effect.tap((fingerprint) => Effect.sync(() => workspace.code.set(module, fingerprint))),
      Effect.mapError((error) => nodeFailure(error.reason))
    ))
    if (code.hash === job.components.code.hash) return
    const changes = CacheKey.diff(job.components, { ...job.components, code }).map(CacheKey.describe)
    return yield* Effect.fail(mismatch(`its code changed since the run planned it (${changes.join("; ")}); run again`))
  })

/** The value of each input of the job, read from the store (checked against its hash) and decoded. */
const readInputs = (job: Job, node: Node.NodeInstance) =>
  Effect.gen(function*() {
    const store = yield* ArtifactStore
    const values: Record<string, unknown> = {}
    for (const [name, ref] of Object.entries(job.inputs)) {
      const input = node.inputs[name]
      if (input === undefined) return yield* Effect.fail(nodeFailure(`the job names input "${name}", which the node does not have`))
      const bytes = yield* store.read(ref.hash).pipe(Effect.mapError((error): Failure =>
        error._tag === "CorruptObject"
          ? { _tag: "CorruptInput", input: name, hash: error.hash, path: error.path, reason: error.reason }
          : storeFailure(error)
      ))
      values[name] = yield* Effect.try({
        try: () => Codec.decode(input.kind.output, bytes),
        catch: (error) => nodeFailure(`input "${name}" cannot be decoded: ${reasonOf(error)}`)
      })
    }
    return values
  })

/**
 * Run one job here: build (or reuse) its graph, find its node, check its code, read its
 * inputs, run it and store its output and metrics; report its start, progress and prints to
 * `report`. Needs the job's store and this process's tensor backend (the job's backend).
 *
 * A node its file no longer builds, or whose code is not what its key names, fails the node
 * when this process had imported nothing before the job: the files changed since the run
 * planned. A process that had (a long-lived worker, which cannot import a module twice) fails
 * with `Outdated` instead: it may be running code older than the files, and the job is for a
 * fresh process to run (WorkerPool.run does so).
 */
export const run = (job: Job, workspace: Workspace, report: Report): Effect.Effect<Done, Failure, ArtifactStore | TensorBackend.TensorBackend> =>
  Effect.gen(function*() {
    const backend = yield* TensorBackend.TensorBackend
    if (backend.name !== job.backend) {
      return yield* Effect.fail(nodeFailure(`the worker computes on tensor backend ${backend.name}, the job on ${job.backend}`))
    }
    const seasoned = workspace.graphs.size > 0 || workspace.code.size > 0
    const mismatch = (reason: string): Failure => (seasoned ? { _tag: "Outdated", reason } : nodeFailure(reason))
    const graph = yield* graphOf(job, workspace)
    const node = graph.byId.get(job.node)?.node
    if (node === undefined) {
      return yield* Effect.fail(mismatch(`${job.file} no longer builds this node (the file or what it imports changed since the run planned it); run again`))
    }
    yield* checkCode(job, node, workspace, mismatch)
    const inputs = yield* readInputs(job, node)
    const log = job.log
    const ran = yield* Compute.run({
      node,
      label: job.label,
      key: job.key,
      components: job.components,
      inputs,
      capture: (effect) =>
        log === undefined
          ? effect
          : NodeOutput.captureAll({ id: node.id, label: job.label, file: log }, ({ stream, text }) => report({ type: "output", stream, text }), effect),
      onStart: () => report({ type: "started", worker: process.pid }),
      onProgress: (progress) => report({ type: "progress", progress })
    }).pipe(Effect.mapError((error) => (error._tag === "NodeFailed" ? failureOf(error) : storeFailure(error))))
    return { output: ran.output, metrics: ran.metrics, finalMetrics: ran.finalMetrics, durationMs: ran.durationMs }
  })
