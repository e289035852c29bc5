/**
 * The job queue (JobQueue.ts) on BullMQ: the coordinator's side. Loaded only by a run that uses
 * the queue, since BullMQ and ioredis take a while to load.
 *
 * A node job is added as a BullMQ job whose id is its cache key, with `attempts` and exponential
 * backoff (a worker that crashes while running it fails the attempt, and BullMQ retries it), and
 * waited for through the queue's events: its progress events carry what its worker reports
 * (internal/QueueProtocol.ts), its completion the outcome. The job is removed once its outcome
 * is read; a finished job still in Redis when a job with its key is asked for is from before
 * (a coordinator that died before reading it) and is taken (with `reuse`, a completed one) or
 * replaced.
 *
 * A watch over the jobs waited for checks their state every few seconds: a job Redis no longer
 * has (the server restarted without saving, or was flushed) is added again, and one that
 * finished without its event reaching here is settled from its state. Connection losses are
 * ridden out (ioredis reconnects, and commands wait for it), with a notice when the connection
 * is lost and when it is back.
 */
import { type ConnectionOptions, Queue, QueueEvents } from "bullmq"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import { reasonOf } from "../Errors.ts"
import * as Job from "../Job.ts"
import { JobQueue, type Needs, type Options, type QueueName, queueNames } from "../JobQueue.ts"
import * as QueueProtocol from "./QueueProtocol.ts"
import * as RedisConnection from "./RedisConnection.ts"

/** How many times a job is started before BullMQ gives up on it (a crash of its worker fails one attempt). */
const attempts = 3
/** The first retry waits this long, each next one twice as long. */
const backoffMs = 1_000
/** How long a finished job stays in Redis when no coordinator removes it (one died before reading it). */
const keepFinishedSeconds = 24 * 3600
/** How often the jobs waited for are checked. */
const watchEveryMs = 2_000
/** A job this coordinator waits for. */
interface Waiting {
  readonly job: Job.Job
  readonly hooks: Job.Hooks
  readonly outcome: Deferred.Deferred<Job.Done, Job.Failure>
  /** the queue it is in (set once it is added) */
  queue: QueueName
  /** added (or found) in Redis: from then on the watch checks it */
  watched: boolean
}

const inProgress = new Set(["waiting", "active", "delayed", "prioritized", "waiting-children"])

/** What a coordinator is told when BullMQ gave up on a job: its last worker's reason. */
const gaveUp = (failedReason: string): Job.Failure => ({
  _tag: "NodeFailed",
  reason: /stalled more than allowable limit/.test(failedReason)
    ? "its workers stopped answering while running it (killed, or their machines lost) more often than BullMQ allows; " +
      "a rerun tries again, and a trainer resumes from its last checkpoint"
    : `${failedReason} (the job queue tried it ${attempts} times)`
})

const withTimeout = <A>(promise: Promise<A>, ms: number): Promise<A | undefined> =>
  Promise.race([promise, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms).unref())])

export const make = (options: Options) =>
  Effect.gen(function*() {
    const connection: ConnectionOptions = { ...options.connection }
    const common = { connection, prefix: options.prefix }
    const queues = { cpu: new Queue<Job.Job>("cpu", common), gpu: new Queue<Job.Job>("gpu", common) }
    const events = { cpu: new QueueEvents("cpu", common), gpu: new QueueEvents("gpu", common) }
    const clients = [...Object.values(queues), ...Object.values(events)]
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => withTimeout(Promise.allSettled(clients.map((client) => client.close())), 2_000))
    )

    // An unreachable server makes every client report errors, again at each reconnection
    // attempt: the user hears of it once, and again when it is back.
    const link = RedisConnection.watch(options.url, {
      lost: (reason) => options.notify(`lost the connection to the job queue's Redis at ${options.url} (${reason}); waiting for it to come back\n`),
      back: () => options.notify(`reconnected to the job queue's Redis at ${options.url}; jobs it lost are queued again\n`)
    })
    for (const name of queueNames) {
      queues[name].on("error", link.onError)
      events[name].on("error", link.onError)
    }
    yield* link.open(() => Promise.all(clients.map((client) => client.waitUntilReady())))
    queues.cpu.getBackend().on("ready", link.onReady)

    const waiting = new Map<string, Set<Waiting>>()
    const each = (key: string, f: (w: Waiting) => void) => waiting.get(key)?.forEach(f)
    const settle = (w: Waiting, outcome: Effect.Effect<Job.Done, Job.Failure>) => Deferred.doneUnsafe(w.outcome, outcome)
    const settleWith = (w: Waiting, returned: unknown) => settle(w, QueueProtocol.outcomeOf(returned))

    for (const name of queueNames) {
      const mine = (key: string, f: (w: Waiting) => void) => each(key, (w) => w.queue === name && f(w))
      events[name].on("progress", ({ jobId, data }) =>
        mine(jobId, (w) => {
          for (const report of QueueProtocol.reportsOf(data)) Job.tell(w.hooks, report)
        }))
      events[name].on("completed", ({ jobId, returnvalue }) => mine(jobId, (w) => settleWith(w, returnvalue)))
      events[name].on("failed", ({ jobId, failedReason }) => mine(jobId, (w) => settle(w, Effect.fail(gaveUp(failedReason)))))
      events[name].on("stalled", ({ jobId }) =>
        mine(jobId, (w) =>
          w.hooks.onOutput(
            "stderr",
            "its worker stopped renewing the job's lock (killed, or its machine lost): the job goes to another worker, which resumes from the node's last checkpoint\n"
          )))
    }

    /** The queue a job goes to: where one with its key is in progress, else by what it needs and who serves. */
    const choose = async (key: string, needs: Needs): Promise<QueueName> => {
      if (needs === "compute") return "cpu"
      for (const name of queueNames) {
        if (inProgress.has(await queues[name].getJobState(key))) return name
      }
      return (await queues.gpu.getWorkersCount()) > 0 ? "gpu" : "cpu"
    }

    const add = (w: Waiting) =>
      queues[w.queue].add(w.job.label, w.job, {
        jobId: w.job.key,
        attempts,
        backoff: { type: "exponential", delay: backoffMs },
        removeOnComplete: { age: keepFinishedSeconds },
        removeOnFail: { age: keepFinishedSeconds }
      })

    /** Add the job, unless one with its key is in progress (it is waited for) or finished before (taken or replaced). */
    const enqueue = async (w: Waiting, needs: Needs, reuse: boolean) => {
      const key = w.job.key
      w.queue = await choose(key, needs)
      const queue = queues[w.queue]
      const state = await queue.getJobState(key)
      if (!inProgress.has(state)) {
        const finished = state === "completed" || state === "failed" ? await queue.getJob(key) : undefined
        const outcome = finished === undefined || state !== "completed" || !reuse ? undefined : QueueProtocol.outcomeOf(finished.returnvalue)
        if (outcome !== undefined && Deferred.doneUnsafe(w.outcome, outcome)) return
        await finished?.remove()
        await add(w)
      }
      w.watched = true
    }

    /** Check a job waited for: added again when Redis lost it, settled when it finished unnoticed. */
    const check = async (w: Waiting) => {
      const queue = queues[w.queue]
      const state = await queue.getJobState(w.job.key)
      if (Deferred.isDoneUnsafe(w.outcome)) return
      if (state === "unknown") {
        w.hooks.onOutput("stderr", "the job queue's Redis lost this node's job (restarted without saving?): it is queued again\n")
        await add(w)
      } else if (state === "completed" || state === "failed") {
        const finished = await queue.getJob(w.job.key)
        if (finished !== undefined) {
          settle(w, state === "completed" ? QueueProtocol.outcomeOf(finished.returnvalue) : Effect.fail(gaveUp(finished.failedReason)))
        }
      }
    }
    const watch = Effect.gen(function*() {
      while (true) {
        yield* Effect.sleep(watchEveryMs)
        const watched = [...waiting.values()].flatMap((set) => [...set].filter((w) => w.watched && !Deferred.isDoneUnsafe(w.outcome)))
        yield* Effect.promise(() => Promise.allSettled(watched.map(check)))
      }
    })
    yield* Effect.forkScoped(watch)

    const run = (job: Job.Job, needs: Needs, hooks: Job.Hooks, { reuse }: { readonly reuse: boolean }) =>
      Effect.suspend(() => {
        const w: Waiting = { job, hooks, outcome: Deferred.makeUnsafe(), queue: "cpu", watched: false }
        const key = job.key
        const forget = () => {
          const set = waiting.get(key)
          set?.delete(w)
          if (set?.size === 0) waiting.delete(key)
        }
        if (!waiting.has(key)) waiting.set(key, new Set())
        waiting.get(key)!.add(w)
        return Effect.tryPromise({
          try: () => enqueue(w, needs, reuse),
          catch: (error): Job.Failure => ({ _tag: "NodeFailed", reason: `the job queue did not take the job: ${reasonOf(error)}` })
        }).pipe(
          Effect.andThen(Deferred.await(w.outcome)),
          // its outcome is read: the job leaves Redis (one still waiting when the run is interrupted
          // too; a running one finishes, and the next run takes its result)
          Effect.ensuring(Effect.promise(() => queues[w.queue].remove(key).catch(() => 0))),
          Effect.ensuring(Effect.sync(forget))
        )
      })

    return JobQueue.of({ run })
  })
