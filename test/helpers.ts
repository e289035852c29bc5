/**
 * Helpers for tests: the real `pipeline` command in temporary projects, and pipelines run in
 * this process on in-memory stores (including runs stopped after a checkpoint and resumed).
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, expect, onTestFinished } from "vitest"
import type { ArtifactType, Json, ValueOf } from "../dsl/Artifact.ts"
import { sha256 } from "../dsl/internal/Canonical.ts"
import * as Node from "../dsl/Node.ts"
import type { NodeContext } from "../dsl/Node.ts"
import * as Pipeline from "../dsl/Pipeline.ts"
import * as Random from "../dsl/Random.ts"
import { ArtifactStore } from "../runtime/ArtifactStore.ts"
import { StoreError } from "../runtime/Errors.ts"
import { Executor } from "../runtime/Executor.ts"
import * as CheckpointCodec from "../runtime/internal/CheckpointCodec.ts"
import * as MetricHistory from "../runtime/MetricHistory.ts"
import * as Plan from "../runtime/Plan.ts"
import * as ResultsJson from "../runtime/ResultsJson.ts"
import * as Runner from "../runtime/Runner.ts"
import * as Scheduler from "../runtime/Scheduler.ts"
import * as TensorBackend from "../runtime/TensorBackend.ts"

export const repo = path.resolve(import.meta.dirname, "..")
const bin = path.join(repo, "bin", "pipeline.mjs")
/**
 * The Node that runs `pipeline` in tests: this one when bin/pipeline.mjs would run on it, else the
 * project's own. Under an older Node the bin re-executes itself as a child, and a `kill -9` sent to
 * the process a test started would hit that wrapper and orphan the worker.
 */
export const node = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : path.join(repo, "node_modules", "node", "bin", "node")

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** The user a `pipeline` child process runs as, when not this process's. */
export interface RunAs {
  readonly uid: number
  readonly gid: number
}

/** Start `pipeline <args>` in `cwd` (with `env` added to the environment, as user `as`) and return the child process. */
export const spawnCli = (args: ReadonlyArray<string>, cwd: string, env: Readonly<Record<string, string>> = {}, as?: RunAs) =>
  spawn(node, [bin, ...args], { cwd, env: { ...process.env, FORCE_COLOR: "0", ...env }, ...as })

/** Run `pipeline <args>` as a child process in `cwd` (as user `as`, when given). */
export const cli = (args: ReadonlyArray<string>, cwd: string, env: Readonly<Record<string, string>> = {}, as?: RunAs): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawnCli(args, cwd, env, as)
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    // a process that could not start (its user may not run Node or enter `cwd`) is an error, not a hang
    child.on("error", reject)
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  })

/**
 * Start `pipeline <args>` and send it `signal` (default `SIGKILL`, i.e. `kill -9`) once, as soon as
 * `when(stdoutSoFar)` holds; resolves with the output it printed and its exit code once the process
 * is gone (`code` is null when the signal killed it). Rejects if the process ended before the signal
 * was sent, or, for `SIGKILL`, if it was not the signal that ended it.
 */
export const runAndKill = (
  args: ReadonlyArray<string>,
  cwd: string,
  when: (stdout: string) => boolean,
  signal: NodeJS.Signals = "SIGKILL"
): Promise<{ readonly stdout: string; readonly code: number | null }> =>
  new Promise((resolve, reject) => {
    const child = spawnCli(args, cwd)
    let stdout = ""
    let sent = false
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      if (!sent && child.exitCode === null && child.signalCode === null && when(stdout)) sent = child.kill(signal)
    })
    child.on("close", (code, endedBy) => {
      if (!sent || (signal === "SIGKILL" && endedBy !== "SIGKILL")) {
        reject(new Error(`pipeline ${args.join(" ")} ended before it was sent ${signal}:\n${stdout}`))
      } else resolve({ stdout, code })
    })
  })

/** A new empty directory, removed when the test that made it ends (call it inside a test). */
export const tempDir = (prefix: string): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ablate-${prefix}-`))
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

// Projects made outside a test (while a file's tests are collected, or in a beforeAll): removed
// once the file's tests have run. One list per test file (each file imports its own helpers).
const projectsOfFile: Array<string> = []
afterAll(() => projectsOfFile.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))

/**
 * A fresh project directory with the given files; `@ablate/` in a file's text is replaced by the
 * repo path. Removed when the test that made it ends, or, made outside a test, after the file's tests.
 */
export const tempProject = (files: Readonly<Record<string, string>>): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-test-"))
  try {
    onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }))
  } catch {
    projectsOfFile.push(dir)
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "fixture", type: "module", private: true }))
  fs.symlinkSync(path.join(repo, "node_modules"), path.join(dir, "node_modules"))
  for (const [name, text] of Object.entries(files)) writeFile(dir, name, text)
  return dir
}

/** Write a file in a temp project, replacing `@ablate/` with the repo path. */
export const writeFile = (dir: string, name: string, text: string): void => {
  const file = path.join(dir, name)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, text.replaceAll("@ablate/", `${repo}/`))
}

/** Parse the NDJSON output of `pipeline run --json`. */
export const events = (stdout: string): Array<Record<string, unknown>> =>
  stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>)

/** The events of the complete lines of `--json` output printed so far (a line still being written is left out). */
export const linesSoFar = (stdout: string): Array<Record<string, unknown>> => events(stdout.slice(0, stdout.lastIndexOf("\n") + 1))

/**
 * The closing summary object of `pipeline run --json`. `Row` is the row type of the output tables the
 * test reads; an output's `value` is null when its table has more than 100 rows (or is not a table).
 */
export const summary = <Row = Record<string, unknown>>(stdout: string) => {
  const last = events(stdout).at(-1)
  if (last?.["type"] !== "summary") throw new Error(`no summary in output:\n${stdout}`)
  return last as {
    readonly status: string
    readonly runId: number
    readonly durationMs: number
    /** set when the run was answered from a replay record */
    readonly replayOf?: number
    /** why the run left no replay record, when it did not */
    readonly notReplayable?: string
    readonly nodes: ReadonlyArray<{ label: string; kind: string; status: string; key: string; hash: string; durationMs: number }>
    readonly outputs: ReadonlyArray<{ readonly id: string; readonly label: string; readonly value: ReadonlyArray<Row> | null }>
  }
}

/**
 * Run a pipeline file with `--set`s (and any other `pipeline run` options) on a fresh store;
 * → the mean of a metric of a row of the run's results table, the row found by its output,
 * factors and split.
 */
export const runResults = async (file: string, sets: ReadonlyArray<string>, options: ReadonlyArray<string> = []) => {
  const result = await cli(["run", file, "--json", "--store", tempDir("repro"), ...options, ...sets.flatMap((s) => ["--set", s])], repo)
  expect(result.stderr).toBe("")
  expect(result.code).toBe(0)
  // the closing summary event carries the run's results table
  const table = ResultsJson.fromJson(JSON.stringify(events(result.stdout).at(-1)?.["results"]))!
  return (output: string, factors: Readonly<Record<string, Json>>, metric: string, split = "") => {
    const row = table.rows.find((r) =>
      r.output === output && r.split === split && Object.entries(factors).every(([k, v]) => r.factors[k] === v)
    )
    expect(row, `${output} ${JSON.stringify(factors)} ${split}`).toBeDefined()
    return row!.metrics[metric]!.mean
  }
}

/** label → status of every node in a run's summary. */
export const statuses = (stdout: string): Record<string, string> =>
  Object.fromEntries(summary(stdout).nodes.map((n) => [n.label, n.status]))

/** label → output hash of every node in a run's summary. */
export const outputHashes = (stdout: string): Record<string, string> =>
  Object.fromEntries(summary(stdout).nodes.map((n) => [n.label, n.hash]))

/** The last lines node `label` printed, as `pipeline show <label> --json` in `dir` finds them in its log in the store. */
export const logTail = async (dir: string, label: string): Promise<ReadonlyArray<string>> =>
  (JSON.parse((await cli(["show", label, "--json"], dir)).stdout) as { logTail: ReadonlyArray<string> }).logTail

/** Every file under a directory, relative to it. */
export const filesUnder = (dir: string): Array<string> =>
  fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as Array<string>).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : []

/** Damage object `hash` of the file store at `root` as a disk would: one byte flipped in place. */
export const corruptObject = (root: string, hash: string): void => {
  const file = path.join(root, "objects", hash.slice(0, 2), hash)
  fs.chmodSync(file, 0o644)
  const bytes = fs.readFileSync(file)
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff
  fs.writeFileSync(file, bytes)
}

/** Every object in the store at `store` hashes to its name, and no temp file or lock is left. */
export const expectStoreIntact = (store: string): void => {
  for (const file of filesUnder(path.join(store, "objects"))) {
    expect(sha256(fs.readFileSync(path.join(store, "objects", file)))).toBe(path.basename(file))
  }
  expect(filesUnder(path.join(store, "tmp"))).toEqual([])
  expect(filesUnder(path.join(store, "locks"))).toEqual([])
}

/**
 * Prepare a pipeline as the CLI does (`Runner.prepareGraph`), plan it against the store's
 * key records as `Runner.plan` does (without a run log) and run it.
 */
export const schedule = (
  pipeline: Pipeline.Pipeline,
  options: {
    readonly seeds?: ReadonlyArray<number>
    readonly env?: Runner.Selection["env"]
    readonly concurrency?: number
    readonly onEvent?: (event: Scheduler.Event) => void
  } = {}
) =>
  Effect.gen(function*() {
    const prepared = yield* Runner.prepareGraph(`<in-memory ${pipeline.name}>`, pipeline, {
      seeds: options.seeds ?? [0],
      overrides: [],
      force: [],
      env: options.env ?? {}
    })
    const snapshot: Plan.Snapshot = { ...prepared.base, index: yield* (yield* ArtifactStore).index(), previous: new Map() }
    return yield* Scheduler.run(Plan.make(prepared.graph, snapshot), snapshot, { concurrency: options.concurrency ?? 2, onEvent: options.onEvent ?? (() => {}) })
  })

/**
 * A node context with no checkpoint store (`load` finds none, `save` keeps nothing) and no-op
 * progress and metrics, for driving models and training loops outside a pipeline.
 */
export const nodeContext = (seed = "test"): NodeContext => ({
  name: "test",
  random: Random.make(seed),
  progress: () => {},
  metric: () => {},
  checkpoint: { load: Effect.succeed(undefined), save: () => Effect.void }
})

/** A node kind with no params or inputs whose output is `value`: hand-made data or models for a node under test. */
export const fixedNode = <A extends ArtifactType>(kind: string, output: A, value: ValueOf<A>, options: { readonly tensors?: boolean } = {}) =>
  Node.make({
    kind,
    version: 1,
    description: `the fixed ${output.name} of a test`,
    ...(options.tensors === true ? { tensors: true } : {}),
    params: Schema.Struct({}),
    inputs: {},
    output,
    run: () => Effect.succeed(value)
  })

/** A row of a node's Metrics table. */
export interface Metric {
  readonly step: number
  readonly name: string
  readonly value: number
}

/** A progress event of a node, as the scheduler reports it. */
export type ProgressEvent = Extract<Scheduler.Event, { type: "progress" }>

/**
 * Run `effect` on a fresh in-memory store with the in-process executor on `backend`: for a test
 * that runs pipelines (`runOn`) more than once on one store, or reads the store.
 */
export const withStore = <A, E>(
  effect: (store: ArtifactStore["Service"]) => Effect.Effect<A, E, Executor>,
  backend: TensorBackend.Name = "wasm"
): Promise<A> =>
  Effect.gen(function*() {
    return yield* effect(yield* ArtifactStore)
  }).pipe(Effect.provide(Layer.mergeAll(ArtifactStore.layerMemory(), Executor.inProcess(backend))), Effect.runPromise)

/** The store, with every checkpoint write failing the node once written: a run on it stops right after its first checkpoint. */
export const stoppingAfterCheckpoint = (store: ArtifactStore["Service"]): ArtifactStore["Service"] => ({
  ...store,
  writeCheckpoint: (key, bytes) =>
    store.writeCheckpoint(key, bytes).pipe(Effect.andThen(Effect.fail(new StoreError({ path: key, reason: "stopped after the checkpoint" }))))
})

/** Where a test runs a pipeline in this process: the backend whose key environment it gets (default wasm), and its seeds (default [0]). */
export interface RunOptions {
  readonly backend?: TensorBackend.Name
  readonly seeds?: ReadonlyArray<number>
}

/**
 * Run a pipeline on `store` (see `schedule`; the key environment is `pipeline run --backend
 * <backend>`'s). Returns every node's result, and by label each node's result, the output value
 * and Metrics table of each node that ran or was cached, and each node's progress events.
 */
export const runOn = (store: ArtifactStore["Service"], pipeline: Pipeline.Pipeline, options: RunOptions = {}) =>
  Effect.gen(function*() {
    const progress: Record<string, Array<ProgressEvent>> = {}
    const outcome = yield* schedule(pipeline, {
      seeds: options.seeds ?? [0],
      env: TensorBackend.env(options.backend ?? "wasm"),
      onEvent: (event) => void (event.type === "progress" && (progress[event.label] ??= []).push(event))
    }).pipe(Effect.provideService(ArtifactStore, store))
    const values: Record<string, unknown> = {}
    const metrics: Record<string, ReadonlyArray<Metric>> = {}
    for (const r of outcome.results) {
      if (r.record === undefined) continue
      values[r.label] = yield* outcome.value(r.id)
      metrics[r.label] = yield* MetricHistory.read(r.record.metrics.hash).pipe(Effect.provideService(ArtifactStore, store))
    }
    return { results: outcome.results, byLabel: Object.fromEntries(outcome.results.map((r) => [r.label, r])), values, metrics, progress }
  })

/** What `runOn` and `runInMemory` return. */
export type StoreRun = Effect.Success<ReturnType<typeof runOn>>

/** Build and run a pipeline in this process on a fresh in-memory store, with the in-process executor on the backend (see `runOn`). */
export const runInMemory = (pipeline: Pipeline.Pipeline, options: RunOptions = {}): Promise<StoreRun> =>
  withStore((store) => runOn(store, pipeline, options), options.backend)

/** The values of the metric `name` in step order (none when the node recorded no metrics). */
export const series = (metrics: ReadonlyArray<Metric> | undefined, name: string): Array<number> =>
  (metrics ?? []).filter((m) => m.name === name).sort((a, b) => a.step - b.step).map((m) => m.value)

/**
 * Run `pipeline` uninterrupted on one store, and on another stopped right after node `label`'s
 * first checkpoint and then run again; expect the resumed run to end bit-identical to the
 * uninterrupted one (same key, output hash and metrics hash) and to leave no checkpoint behind.
 * Returns both runs and the checkpoint the stopped run left, for what a test checks besides.
 * Pass `uninterrupted` when the test already has a run of the pipeline on a fresh store.
 */
export const expectResumesBitIdentically = async (
  pipeline: Pipeline.Pipeline,
  label: string,
  options: { readonly backend?: TensorBackend.Name; readonly uninterrupted?: StoreRun } = {}
) => {
  const backend = options.backend ?? "wasm"
  const uninterrupted = options.uninterrupted ?? await runInMemory(pipeline, { backend })
  const expected = uninterrupted.byLabel[label]!
  expect(expected.status).toBe("ran")
  const { stopped, checkpoint, resumed, left } = await withStore((store) =>
    Effect.gen(function*() {
      const stopped = yield* runOn(stoppingAfterCheckpoint(store), pipeline, { backend })
      const checkpoint = yield* store.readCheckpoint(expected.key!)
      const resumed = yield* runOn(store, pipeline, { backend })
      return { stopped, checkpoint, resumed, left: yield* store.readCheckpoint(expected.key!) }
    }), backend)
  expect(stopped.byLabel[label]!.status).toBe("failed")
  expect(stopped.byLabel[label]!.error).toContain("stopped after the checkpoint")
  const result = resumed.byLabel[label]!
  expect(result.status).toBe("ran")
  expect(result.key).toBe(expected.key)
  expect(result.record!.output.hash).toBe(expected.record!.output.hash)
  expect(result.record!.metrics.hash).toBe(expected.record!.metrics.hash)
  expect(left).toBeUndefined()
  return { uninterrupted, resumed, checkpoint: CheckpointCodec.decode(checkpoint!).checkpoint }
}
