/**
 * The local worker pool: up to `size` worker processes, each running one node job at a time
 * (Job.ts) on a TensorFlow.js engine of its own. `Executor.pool` sends it the nodes that
 * compute.
 *
 * Processes, not threads: a worker that is killed (kill -9, the system's out-of-memory
 * killer) or runs out of heap takes down only the node it was running, which fails with how
 * its worker died; the next job starts a fresh worker in its place. A worker is the project's
 * Node running bin/worker.mjs (the module setup of bin/pipeline.mjs, then
 * internal/PoolWorker.ts), talking over its IPC channel. Workers start when a job needs one —
 * a fully cached run starts none — and wait for the next job when done. Interrupting a job
 * stops its worker (SIGTERM, then SIGKILL if it has not exited within a grace period): a job's
 * objects are written atomically and its key record is the scheduler's to commit, so nothing
 * half-written remains. Closing the pool's layer stops every worker; should this process exit
 * without closing it, its workers are killed on the way out, and a worker whose parent died
 * anyway exits when its IPC channel closes.
 */
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Semaphore from "effect/Semaphore"
import { type ChildProcess, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type * as Job from "./Job.ts"
import type * as TensorBackend from "./TensorBackend.ts"


export class WorkerPool extends Context.Service<WorkerPool, {
  /**
   * Run a job in a worker: an idle one, else a new one while fewer than `size` are busy, else
   * the first to become free. Fails with the job's failure, or, when the worker dies while it
   * runs the job, with how it died (`WorkerDied`). A worker that had imported other code than
   * the job names is replaced and the job run in another (a long-lived pool outlives edits).
   */
  readonly run: (job: Job.Job, hooks: Job.Hooks) => Effect.Effect<Job.Done, Job.Failure>
  /** The pids of the worker processes alive now. */
  readonly workers: Effect.Effect<ReadonlyArray<number>>
}>()("ablate/runtime/WorkerPool") {
  /** A pool of at most `size` workers computing on tensor backend `backend`; its workers are stopped when the layer closes. */
  static readonly layer = (options: { readonly size: number; readonly backend: TensorBackend.Name }) =>
    Layer.effect(WorkerPool, make(options))
}

const entry = fileURLToPath(new URL("../bin/worker.mjs", import.meta.url))

/** How long a stopped worker has to exit before it is killed. */
const stopGraceMs = 2_000

/** How much of a worker's last stderr output is kept for the message of its crash. */
const stderrTailChars = 4_096

/** Why a worker's process ended while it ran a node: what the failed node's message says. */
export const crashReason = (ended: {
  readonly pid: number
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  /** the last of what it wrote to stderr */
  readonly stderr: string
}): string => {
  const last = ended.stderr.split("\n").map((line) => line.trim()).filter((line) => line !== "").at(-1)
  const how = ended.signal === "SIGKILL"
    ? "was killed by SIGKILL (kill -9, or the system's out-of-memory killer)"
    : ended.signal !== null
    ? `was killed by ${ended.signal}`
    : /heap out of memory/i.test(ended.stderr)
    ? `ran out of memory (exit code ${ended.code})`
    : `exited with code ${ended.code}`
  return `its worker process (pid ${ended.pid}) ${how} while running it${last === undefined ? "" : `; its last output: ${last}`}`
}

/** The protocol (Job.ts), loaded with the first job: a fully cached run never needs it. */
type Protocol = typeof Job
const loadProtocol = (): Promise<Protocol> => import("./Job.ts")

/** A worker process and the job it runs now. */
interface Worker {
  readonly child: ChildProcess
  readonly pid: number
  readonly protocol: Protocol
  /** done when the process has exited and its streams are closed */
  readonly closed: Deferred.Deferred<void>
  current: { readonly hooks: Job.Hooks; readonly outcome: Deferred.Deferred<Job.Done, Job.Failure> } | undefined
  stderr: string
}

/**
 * Hand a worker's message to the job it runs: its start, progress and prints to the job's
 * hooks, its end to the job's outcome. False when the message is not one (the worker is broken).
 */
const deliver = (worker: Worker, raw: unknown): boolean => {
  const running = worker.current
  if (running === undefined) return true
  const message = worker.protocol.decodeMessage(raw)
  if (Option.isNone(message)) return false
  switch (message.value.type) {
    case "done":
      Deferred.doneUnsafe(running.outcome, Effect.succeed(message.value.done))
      break
    case "failed":
      Deferred.doneUnsafe(running.outcome, Effect.fail(message.value.failure))
      break
    default:
      worker.protocol.tell(running.hooks, message.value)
  }
  return true
}

// Raw output of the process (what its node printed is captured and sent as messages): shown
// as the running node's, else as this process's own; the last of its stderr is kept.
const printed = (worker: Worker, stream: "stdout" | "stderr", text: string) => {
  if (stream === "stderr") worker.stderr = (worker.stderr + text).slice(-stderrTailChars)
  if (worker.current !== undefined) worker.current.hooks.onOutput(stream, text)
  else process.stderr.write(text)
}

/**
 * `GLIBC_TUNABLES` for a worker: the environment's, with glibc's malloc asking the kernel for
 * transparent huge pages for what it maps (`glibc.malloc.hugetlb=1`) unless it says otherwise.
 * A node's buffers (a 1,500 × 2 × 2,048-number feature table is ~50 MB, decoded, copied and
 * freed several times a node) then take one page fault per 2 MB instead of one per 4 KB: on a
 * virtual machine, where a fault costs ~10 µs, the faults had been a third of a reward model's
 * time, and two workers faulting at once slowed each other (docs/performance.md). glibc 2.35+ on
 * Linux; elsewhere nothing reads it.
 */
export const glibcTunables = (current: string | undefined): string =>
  current === undefined || current === "" ? "glibc.malloc.hugetlb=1"
  : current.includes("glibc.malloc.hugetlb=") ? current
  : `${current}:glibc.malloc.hugetlb=1`

/** Fork a worker computing on `backend`; `ended` is told when it can no longer be used, and why. */
const spawnWorker = (backend: TensorBackend.Name, protocol: Protocol, ended: (worker: Worker, reason: string) => void): Worker => {
  const child = fork(entry, [backend], {
    serialization: "advanced",
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    // a debugger's flags would make every worker compete for its port
    execArgv: process.execArgv.filter((arg) => !arg.startsWith("--inspect")),
    env: { ...process.env, GLIBC_TUNABLES: glibcTunables(process.env["GLIBC_TUNABLES"]) }
  })
  const worker: Worker = { child, pid: child.pid ?? 0, protocol, closed: Deferred.makeUnsafe(), current: undefined, stderr: "" }
  child.stdout?.setEncoding("utf8").on("data", (text: string) => printed(worker, "stdout", text))
  child.stderr?.setEncoding("utf8").on("data", (text: string) => printed(worker, "stderr", text))
  child.on("message", (raw) => {
    if (deliver(worker, raw)) return
    ended(worker, `its worker process (pid ${worker.pid}) sent a message the pool cannot read`)
    child.kill("SIGKILL")
  })
  child.on("error", (error) => {
    ended(worker, `its worker process could not be started or reached: ${error.message}`)
    if (child.pid === undefined) Deferred.doneUnsafe(worker.closed, Effect.void)
  })
  child.on("close", (code, signal) => {
    ended(worker, crashReason({ pid: worker.pid, code, signal, stderr: worker.stderr }))
    Deferred.doneUnsafe(worker.closed, Effect.void)
  })
  return worker
}

/** Stop a worker: SIGTERM, and SIGKILL if it has not exited within the grace period. */
const stop = (worker: Worker) =>
  Effect.suspend(() => {
    if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill("SIGTERM")
    return Deferred.await(worker.closed).pipe(Effect.timeoutOrElse({
      duration: stopGraceMs,
      orElse: () => Effect.sync(() => worker.child.kill("SIGKILL")).pipe(Effect.andThen(Deferred.await(worker.closed)))
    }))
  })

const make = (options: { readonly size: number; readonly backend: TensorBackend.Name }) =>
  Effect.gen(function*() {
    const slots = yield* Semaphore.make(Math.max(1, options.size))
    const live = new Set<Worker>()
    const idle: Array<Worker> = []

    /** The worker's process has ended (or cannot be used): it leaves the pool, and its job fails with `reason`. */
    const ended = (worker: Worker, reason: string) => {
      live.delete(worker)
      if (idle.includes(worker)) idle.splice(idle.indexOf(worker), 1)
      if (worker.current !== undefined) Deferred.doneUnsafe(worker.current.outcome, Effect.fail({ _tag: "WorkerDied", reason }))
    }

    const start = (protocol: Protocol): Worker => {
      const worker = spawnWorker(options.backend, protocol, ended)
      live.add(worker)
      return worker
    }

    const killAll = () => live.forEach((worker) => worker.child.kill("SIGKILL"))
    yield* Effect.acquireRelease(
      Effect.sync(() => process.on("exit", killAll)),
      () => Effect.sync(() => process.off("exit", killAll))
    )
    yield* Effect.addFinalizer(() => Effect.forEach([...live], stop, { concurrency: "unbounded", discard: true }))

    // A worker that imported other code than the job names (Job.run's `Outdated`) leaves the
    // pool and the job goes to another; a new worker imports the files as they are now, so
    // it never answers so, and the retries end.
    const runIn = (protocol: Protocol, job: Job.Job, hooks: Job.Hooks): Effect.Effect<Job.Done, Job.Failure> =>
      slots.withPermits(1)(Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => {
          const worker = idle.pop() ?? start(protocol)
          const outcome = Deferred.makeUnsafe<Job.Done, Job.Failure>()
          worker.current = { hooks, outcome }
          const request: Job.Request = { type: "run", job }
          worker.child.send(request, (error) => {
            if (error !== null) ended(worker, `its worker process (pid ${worker.pid}) could not be sent the job: ${error.message}`)
          })
          return restore(Deferred.await(outcome)).pipe(
            // it is mid-job: stopping it is the only way to stop the job
            Effect.onInterrupt(() => stop(worker)),
            Effect.tapError((failure) => (failure._tag === "Outdated" ? stop(worker) : Effect.void)),
            Effect.ensuring(Effect.sync(() => {
              worker.current = undefined
              if (live.has(worker)) idle.push(worker)
            }))
          )
        })
      )).pipe(Effect.catch((failure) => (failure._tag === "Outdated" ? runIn(protocol, job, hooks) : Effect.fail(failure))))

    const run = (job: Job.Job, hooks: Job.Hooks): Effect.Effect<Job.Done, Job.Failure> =>
      Effect.promise(loadProtocol).pipe(Effect.flatMap((protocol) => runIn(protocol, job, hooks)))

    return WorkerPool.of({ run, workers: Effect.sync(() => [...live].map((worker) => worker.pid)) })
  })
