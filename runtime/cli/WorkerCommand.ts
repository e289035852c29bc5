/**
 * `pipeline worker`, and the job queue `pipeline run --executor` and `pipeline worker --redis`
 * name (JobQueue.ts): its Redis URL from the flag or `ABLATE_REDIS_URL`, its key prefix from
 * `ABLATE_REDIS_PREFIX` (default `ablate`; one Redis server holds the queues of as many
 * clusters as there are prefixes), and, for a worker, its lock duration from
 * `ABLATE_WORKER_LOCK_MS` (BullMQ's `lockDuration`, default 30 s: how long a worker that stopped
 * answering keeps its job before another takes it).
 */
import * as Effect from "effect/Effect"
import * as os from "node:os"
import { ensureWritable } from "../ArtifactStore.ts"
import { ConfigError } from "../Errors.ts"
import { connectionOf, defaultPrefix, type QueueName, queueNames, type Server } from "../JobQueue.ts"
import type * as QueueWorker from "../internal/QueueWorker.ts"
import type { Values } from "./Options.ts"
import { positiveInt, storeOf } from "./Selection.ts"
import { shortHash } from "./Summary.ts"

/** A worker's default lock duration (BullMQ's). */
const defaultLockMs = 30_000

/**
 * The job queue's server named by `--<flag>` or `ABLATE_REDIS_URL`; undefined when neither names
 * one, or `--executor local` asks for this machine's pool.
 */
export const queueOf = (values: Values, flag: "executor" | "redis") =>
  Effect.gen(function*() {
    const given = values[flag]
    const url = typeof given === "string" ? given : process.env["ABLATE_REDIS_URL"]
    if (url === undefined || url === "" || (flag === "executor" && url === "local")) return undefined
    const connection = yield* connectionOf(url, typeof given === "string" ? `--${flag}` : "ABLATE_REDIS_URL")
    const prefix = process.env["ABLATE_REDIS_PREFIX"] || defaultPrefix
    return { url, connection, prefix } satisfies Server
  })

const queueNameOf = (value: Values[string]) =>
  value === undefined
    ? Effect.succeed<QueueName>("cpu")
    : Effect.suspend(() => {
      const name = queueNames.find((q) => q === value)
      return name === undefined
        ? Effect.fail(new ConfigError({ flag: "--queue", reason: `"${String(value)}" is not a queue (one of: ${queueNames.join(", ")})` }))
        : Effect.succeed(name)
    })

const lockMsOf = (value: string | undefined) =>
  value === undefined || value === ""
    ? Effect.succeed(defaultLockMs)
    : /^[1-9]\d*$/.test(value)
    ? Effect.succeed(Number(value))
    : Effect.fail(new ConfigError({ reason: `ABLATE_WORKER_LOCK_MS=${value}: expected a positive number of milliseconds` }))

const clock = () => new Date().toTimeString().slice(0, 8)

/** A worker event as one line of its terminal. */
const line = (event: QueueWorker.Event): string => {
  switch (event.type) {
    case "ready":
      return `worker ${event.host}:${event.pid} serves queue ${event.queue}, ${event.concurrency} job${event.concurrency === 1 ? "" : "s"} at once`
    case "started":
      return `${clock()} started ${event.label} (key ${shortHash(event.key)}, attempt ${event.attempt})`
    case "done":
      return `${clock()} done    ${event.label} in ${(event.durationMs / 1000).toFixed(1)}s`
    case "failed":
      return `${clock()} failed  ${event.label}: ${event.reason}${event.retried ? " (the queue retries it)" : ""}`
    case "stopped":
      return `${clock()} stopped ${event.label}: ${event.lost ? "its lock was lost, another worker has it" : "handed back to the queue"}`
    case "notice":
      return `${clock()} ${event.text}`
  }
}

/** `pipeline worker`: serve the queue until interrupted. */
export const workerCommand = (values: Values, out: { readonly write: (text: string) => void }) =>
  Effect.gen(function*() {
    const json = values["json"] === true
    const queue = yield* queueOf(values, "redis")
    if (queue === undefined) {
      return yield* new ConfigError({ flag: "--redis", reason: "name the job queue's Redis server (e.g. --redis redis://127.0.0.1:6379), or set ABLATE_REDIS_URL" })
    }
    const name = yield* queueNameOf(values["queue"])
    const concurrency = yield* positiveInt("concurrency", values["concurrency"] as string | undefined, os.availableParallelism())
    const lockMs = yield* lockMsOf(process.env["ABLATE_WORKER_LOCK_MS"])
    const store = values["store"] === undefined ? undefined : yield* storeOf(values)
    if (store !== undefined) yield* ensureWritable(store, "worker")
    const onEvent = (event: QueueWorker.Event) =>
      out.write(`${json ? JSON.stringify({ ...event, ts: new Date().toISOString() }) : line(event)}\n`)
    const { serve } = yield* Effect.promise(() => import("../internal/QueueWorker.ts"))
    return yield* Effect.scoped(serve({ ...queue, queue: name, store, concurrency, lockMs, onEvent }))
  })
