/**
 * The queue of node jobs on Redis, as the coordinator (`pipeline run --executor redis://…`)
 * sees it: `Executor.queue` sends it the nodes that compute, and workers on any machine
 * (`pipeline worker`, internal/QueueWorker.ts) run them against the store they all mount.
 *
 * The queue is BullMQ's (internal/BullQueue.ts, loaded only when a run uses the queue): one
 * BullMQ job per node job, its id the node's cache key, so every coordinator asking for one key
 * waits for the same job. BullMQ's own mechanisms do the rest: a worker holds a lock on the job
 * it runs and renews it; a job whose lock expires (its worker was killed, or lost its machine)
 * is stalled and handed to another worker; a job whose worker crashed is retried with backoff.
 * Progress, prints and the job's start reach the coordinator as the job's progress events, its
 * outcome as the job's return value.
 *
 * Two queues, by capability: `cpu`, which every node job may go to, and `gpu`, where a node with
 * tensors goes while some worker serves it (`pipeline worker --queue gpu`).
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { ConfigError } from "./Errors.ts"
import type * as Job from "./Job.ts"

/** What a node job needs of its worker: a tensor engine (and a GPU when one serves), or only a core. */
export type Needs = "tensors" | "compute"

/** The queues, by capability. */
export const queueNames = ["cpu", "gpu"] as const
export type QueueName = (typeof queueNames)[number]

/** The prefix of every Redis key of the queues when `ABLATE_REDIS_PREFIX` names none. */
export const defaultPrefix = "ablate"

/** How to reach Redis, as ioredis (under BullMQ) takes it. */
export interface Connection {
  readonly host: string
  readonly port: number
  readonly username?: string
  readonly password?: string
  readonly db?: number
  readonly tls?: {}
  /** BullMQ's workers need commands to wait for a reconnection rather than fail */
  readonly maxRetriesPerRequest: null
}

/**
 * The connection a `redis://[user:password@]host[:port][/db]` URL names (`rediss://` for TLS);
 * anything else is a configuration error naming `flag`.
 */
export const connectionOf = (url: string, flag: string): Effect.Effect<Connection, ConfigError> =>
  Effect.suspend(() => {
    const bad = (reason: string) => Effect.fail(new ConfigError({ flag, reason: `${url}: ${reason} (example: redis://127.0.0.1:6379)` }))
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      return bad("not a URL")
    }
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") return bad(`expected a redis:// or rediss:// URL, not ${parsed.protocol}//`)
    if (parsed.hostname === "") return bad("it names no host")
    const db = parsed.pathname.replace(/^\//, "")
    if (db !== "" && !/^\d+$/.test(db)) return bad(`the database "${db}" is not a number`)
    return Effect.succeed({
      host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: parsed.port === "" ? 6379 : Number(parsed.port),
      ...(parsed.username === "" ? {} : { username: decodeURIComponent(parsed.username) }),
      ...(parsed.password === "" ? {} : { password: decodeURIComponent(parsed.password) }),
      ...(db === "" ? {} : { db: Number(db) }),
      ...(parsed.protocol === "rediss:" ? { tls: {} } : {}),
      maxRetriesPerRequest: null
    })
  })

/** The queues' Redis server, and their key prefix (two prefixes on one server are two separate sets of queues). */
export interface Server {
  /** the URL, as the user gave it (for messages) */
  readonly url: string
  readonly connection: Connection
  readonly prefix: string
}

/** A coordinator's queues: their server, and who is told what the user should know of them. */
export interface Options extends Server {
  /** Told what the user should know about the queue that is no node's: its connection lost, regained. */
  readonly notify: (text: string) => void
}

export class JobQueue extends Context.Service<JobQueue, {
  /**
   * Run a node job on the queue's workers and wait for how it ended, reporting its start,
   * progress and prints to `hooks`. A job with its key that is waiting or running already is
   * waited for rather than added again; one that completed before (while no coordinator
   * waited for it) is taken with `reuse`, and otherwise replaced by a new one, as is one that
   * failed. Fails with the job's failure, or with why its workers could not finish it.
   */
  readonly run: (
    job: Job.Job,
    needs: Needs,
    hooks: Job.Hooks,
    options: { readonly reuse: boolean }
  ) => Effect.Effect<Job.Done, Job.Failure>
}>()("ablate/runtime/JobQueue") {
  /**
   * The queues on the Redis server `options` names; fails with `QueueUnavailable` when it does
   * not answer. Their connections close with the layer.
   */
  static readonly layer = (options: Options) =>
    Layer.effect(JobQueue, Effect.flatMap(Effect.promise(() => import("./internal/BullQueue.ts")), (bull) => bull.make(options)))
}
