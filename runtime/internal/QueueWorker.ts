/**
 * A worker of the job queue (JobQueue.ts): `pipeline worker` on any machine that mounts the
 * store. It takes node jobs from one queue (`cpu` or `gpu`) with a BullMQ Worker and runs each
 * in a pool of worker processes on this machine (WorkerPool.ts, one pool per tensor backend a
 * job names, started as jobs need them), reporting through BullMQ what the node's process
 * reports (the job's progress updates, internal/QueueProtocol.ts) and how it ended (the job's
 * return value).
 *
 * Why the pool: this process stays light while nodes compute, so it renews the locks of its
 * jobs on time (BullMQ hands a job whose lock expires to another worker); a node that crashes
 * its process (out of memory, kill -9) takes down only that process, and the attempt fails so
 * that BullMQ retries it with backoff; and a pool process that imported older code than a job
 * names is replaced by a fresh one (Job.run's `Outdated`), so a worker that lives for days runs
 * the code each run planned.
 *
 * A node's own failure (its code failed, an input corrupt, its code edited since the run
 * planned) is the job's outcome, returned, not retried: it would fail again. A crashed pool
 * process, or a store this machine cannot read or write, fails the attempt (retried, maybe by
 * another worker). Closing the worker (Ctrl-C, SIGTERM: the effect is interrupted) stops taking
 * jobs, stops the nodes running here (their checkpoints stay in the store) and hands their jobs
 * back to the queue at once, so another worker resumes them; a job whose lock this worker lost
 * (its connection to Redis was down too long) is stopped here, since another worker has it.
 */
import { type Job as BullJob, UnrecoverableError, WaitingError, Worker } from "bullmq"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as path from "node:path"
import { reasonOf } from "../Errors.ts"
import * as Job from "../Job.ts"
import type { QueueName, Server } from "../JobQueue.ts"
import * as TensorBackend from "../TensorBackend.ts"
import { WorkerPool } from "../WorkerPool.ts"
import { host } from "./Process.ts"
import type * as QueueProtocol from "./QueueProtocol.ts"
import * as RedisConnection from "./RedisConnection.ts"

/** What a worker serves and how. */
export interface Options extends Server {
  readonly queue: QueueName
  /** the store's directory on this machine, when not the path the coordinator names */
  readonly store: string | undefined
  /** how many jobs run at once (the size of each pool) */
  readonly concurrency: number
  /** BullMQ's lock duration: a job whose worker has not renewed its lock for this long is handed to another */
  readonly lockMs: number
  readonly onEvent: (event: Event) => void
}

/** What a worker tells its terminal. */
export type Event =
  | { readonly type: "ready"; readonly queue: QueueName; readonly concurrency: number; readonly host: string; readonly pid: number }
  | { readonly type: "started"; readonly label: string; readonly key: string; readonly attempt: number }
  | { readonly type: "done"; readonly label: string; readonly key: string; readonly durationMs: number }
  /** `retried`: the attempt failed and BullMQ may retry it; otherwise the node failed */
  | { readonly type: "failed"; readonly label: string; readonly key: string; readonly reason: string; readonly retried: boolean }
  /** stopped here and handed back to the queue (`lost`: its lock was lost, and the job is another worker's) */
  | { readonly type: "stopped"; readonly label: string; readonly key: string; readonly lost: boolean }
  | { readonly type: "notice"; readonly text: string }

/** How many times a job may be found stalled (its worker gone) and handed on before BullMQ fails it. */
const maxStalledCount = 2
/** Why a job is cancelled: this worker closes (the job goes back to the queue), or it lost the job's lock. */
const closing = "the worker is closing"
const lostLock = "the worker lost the job's lock"

const decodeJob = Schema.decodeUnknownOption(Job.Job)

/** The job with the store where this machine mounts it (`store`, when given), and its log in it. */
const relocate = (job: Job.Job, store: string | undefined): Job.Job =>
  store === undefined || store === job.store
    ? job
    : { ...job, store, ...(job.log === undefined ? {} : { log: path.join(store, path.relative(job.store, job.log)) }) }

/**
 * Sends what the node's process reports as the job's progress updates, one at a time and in
 * order: what arrives while one is sent goes in the next.
 */
const reporter = (job: BullJob<Job.Job>) => {
  let pending: Array<Job.Reported> = []
  let queued = false
  let sending: Promise<void> = Promise.resolve()
  const send = (reported: Job.Reported) => {
    pending.push(reported)
    if (queued) return
    queued = true
    sending = sending.then(() => {
      queued = false
      const update: QueueProtocol.Reports = { reports: pending }
      pending = []
      // a job Redis lost cannot be updated: its coordinator adds it again
      return job.updateProgress(update).catch(() => undefined)
    })
  }
  return { send, flush: () => sending }
}

/** Serve jobs until interrupted; fails with `QueueUnavailable` when Redis does not answer at the start. */
export const serve = (options: Options) =>
  Effect.gen(function*() {
    // the pools close after the BullMQ worker (finalizers run last first), whose closing stops the
    // jobs in them and hands them back: closed first, they would fail the jobs as crashed
    const poolScope = yield* Scope.make()
    yield* Effect.addFinalizer((exit) => Scope.close(poolScope, exit))
    const pools = new Map<TensorBackend.Name, Effect.Effect<WorkerPool["Service"]>>()
    for (const backend of TensorBackend.names) {
      const build = Layer.buildWithScope(WorkerPool.layer({ size: options.concurrency, backend }), poolScope)
      pools.set(backend, yield* Effect.cached(Effect.map(build, Context.get(WorkerPool))))
    }

    const run = async (bullJob: BullJob<Job.Job>, token: string | undefined, signal: AbortSignal | undefined): Promise<Job.Outcome> => {
      const decoded = decodeJob(bullJob.data)
      if (Option.isNone(decoded)) {
        throw new UnrecoverableError(`job ${bullJob.id} is not a node job this worker can read (is its coordinator another version of Ablate?)`)
      }
      const job = relocate(decoded.value, options.store)
      const { key, label } = job
      if (fs.statSync(job.store, { throwIfNoEntry: false })?.isDirectory() !== true) {
        const reason = `the worker on ${host} does not see the store ${job.store}: mount the run's store there at the same path, ` +
          "or give its directory with pipeline worker --store"
        options.onEvent({ type: "failed", label, key, reason, retried: bullJob.attemptsMade + 1 < (bullJob.opts.attempts ?? 1) })
        throw new Error(reason)
      }
      options.onEvent({ type: "started", label, key, attempt: bullJob.attemptsMade + 1 })
      const reports = reporter(bullJob)
      const hooks: Job.Hooks = {
        // the node runs in a pool process of this worker: the coordinator is told of this one
        onStart: () => reports.send({ type: "started", worker: process.pid, host }),
        onProgress: (progress) => reports.send({ type: "progress", progress }),
        onOutput: (stream, text) => reports.send({ type: "output", stream, text })
      }
      const pool = await Effect.runPromise(pools.get(job.backend)!)
      const started = performance.now()
      const exit = await Effect.runPromiseExit(pool.run(job, hooks), signal === undefined ? undefined : { signal })
      if (Exit.isSuccess(exit)) {
        await reports.flush()
        options.onEvent({ type: "done", label, key, durationMs: performance.now() - started })
        return { type: "done", done: exit.value }
      }
      if (Cause.hasInterruptsOnly(exit.cause)) {
        await reports.flush()
        const lost = signal?.reason !== closing
        options.onEvent({ type: "stopped", label, key, lost })
        if (lost) throw new Error(`${lostLock} on ${host}`)
        await bullJob.moveToWait(token)
        throw new WaitingError()
      }
      const failure = Job.failureOfCause(exit.cause)
      const retryable = failure._tag === "WorkerDied" || failure._tag === "StoreError"
      const reason = failure._tag === "StoreError" ? `store ${failure.path}: ${failure.reason}` : failure.reason
      const last = bullJob.attemptsMade + 1 >= (bullJob.opts.attempts ?? 1)
      options.onEvent({ type: "failed", label, key, reason, retried: retryable && !last })
      if (!retryable) {
        await reports.flush()
        return { type: "failed", failure }
      }
      reports.send({ type: "output", stream: "stderr", text: `attempt ${bullJob.attemptsMade + 1} on ${host} failed: ${reason}\n` })
      await reports.flush()
      throw new Error(reason)
    }

    const worker = new Worker<Job.Job, Job.Outcome>(options.queue, run, {
      connection: { ...options.connection },
      prefix: options.prefix,
      name: `${host}:${process.pid}`,
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      maxStalledCount,
      autorun: false
    })
    // An unreachable server is reported once, and again when it is back; a lock this worker
    // could not renew is reported as its job's being stopped.
    const notice = (text: string) => options.onEvent({ type: "notice", text })
    const link = RedisConnection.watch(options.url, {
      lost: (reason) => notice(`lost the connection to Redis at ${options.url} (${reason}); waiting for it to come back`),
      back: () => notice(`reconnected to Redis at ${options.url}`)
    })
    worker.on("error", (error) => {
      if (link.onError(error) || !link.isOpen()) return
      if (!/could not renew lock/.test(error.message)) notice(`error: ${reasonOf(error)}`)
    })
    worker.getBackend().on("ready", link.onReady)
    worker.on("lockRenewalFailed", (ids) => ids.forEach((id) => worker.cancelJob(id, lostLock)))
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        const closed = worker.close()
        worker.cancelAllJobs(closing)
        await closed
      })
    )
    yield* link.open(() => worker.waitUntilReady())
    worker.run().catch((error) => notice(`the worker stopped: ${reasonOf(error)}`))
    options.onEvent({ type: "ready", queue: options.queue, concurrency: options.concurrency, host, pid: process.pid })
    return yield* Effect.never
  })
