/**
 * The run log: every `pipeline run` with, per node, its status, key, output hash,
 * params, lineage (input labels and hashes), timing and final metrics. Kept in
 * SQLite (`node:sqlite`, built into Node) at `<store>/runs.db`, in WAL mode so
 * concurrent runs on one store can both write.
 */
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { DatabaseSync } from "node:sqlite"
import type * as CacheKey from "./CacheKey.ts"
import { reasonOf, StoreError } from "./Errors.ts"
import { host as thisHost, isAlive } from "./internal/Process.ts"
import * as RunLogDb from "./internal/RunLogDb.ts"
import { layout } from "./internal/StoreLayout.ts"

/** One node of one run. */
export interface NodeEntry {
  readonly nodeId: string
  readonly label: string
  readonly kind: string
  readonly status: "cached" | "ran" | "failed"
  readonly key: string | undefined
  readonly outputHash: string | undefined
  readonly metricsHash: string | undefined
  readonly durationMs: number
  readonly params: unknown
  /** input name → upstream label and output hash */
  readonly inputs: { readonly [name: string]: { readonly label: string; readonly hash: string | undefined } }
  readonly components: CacheKey.Components | undefined
  /** final value of each metric */
  readonly metrics: { readonly [name: string]: number }
  readonly error: string | undefined
}

/** One run. */
export interface RunEntry {
  readonly id: number
  readonly pipeline: string
  readonly file: string
  readonly argv: string
  readonly startedAt: string
  readonly finishedAt: string | null
  readonly status: string
  readonly nodes: number
  readonly ran: number
  readonly cached: number
  readonly failed: number
  /** the run this one replayed (cli/Replay.ts), if it was answered from a replay record */
  readonly replayOf: number | null
}

/** A node entry with the run it belongs to. */
export interface NodeRecord extends NodeEntry {
  readonly runId: number
  readonly pipeline: string
  readonly startedAt: string
}

export class RunLog extends Context.Service<RunLog, {
  readonly start: (run: Parameters<typeof RunLogDb.startRun>[1]) => Effect.Effect<number, StoreError>
  readonly record: (runId: number, entries: ReadonlyArray<NodeEntry>) => Effect.Effect<void, StoreError>
  readonly finish: (runId: number, status: "succeeded" | "failed" | "interrupted") => Effect.Effect<void, StoreError>
  /** Keep a run's replay record under its command's signature (cli/Replay.ts). */
  readonly remember: (signature: string, runId: number, record: string) => Effect.Effect<void, StoreError>
  /** label → key components of that node's latest completed run in this pipeline */
  readonly previous: (pipeline: string) => Effect.Effect<ReadonlyMap<string, CacheKey.Components>, StoreError>
  readonly runs: (limit: number) => Effect.Effect<ReadonlyArray<RunEntry>, StoreError>
  /** Latest entries whose label, key or output hash matches `query` (hashes and keys by prefix). */
  readonly find: (query: string) => Effect.Effect<ReadonlyArray<NodeRecord>, StoreError>
  /** Output and metrics hashes any run refers to. */
  readonly referencedHashes: () => Effect.Effect<ReadonlySet<string>, StoreError>
}>()("ablate/runtime/RunLog") {
  /** The run log of the store at `root`; the database is created on first use. */
  static readonly layer = (root: string) => Layer.succeed(RunLog, makeSqliteLog(layout(path.resolve(root)).runLog))
}

const makeSqliteLog = (file: string): RunLog["Service"] => {
  let db: DatabaseSync | undefined
  const open = (): DatabaseSync => (db ??= RunLogDb.open(file))
  const use = <A>(f: (db: DatabaseSync) => A) =>
    Effect.try({ try: () => f(open()), catch: (error) => new StoreError({ path: file, reason: reasonOf(error) }) })
  const exists = () => db !== undefined || fs.existsSync(file)

  return RunLog.of({
    start: (run) => use((db) => RunLogDb.startRun(db, run)),
    record: (runId, entries) => use((db) => RunLogDb.recordNodes(db, runId, entries)),
    finish: (runId, status) => use((db) => RunLogDb.finishRun(db, runId, status)),
    remember: (signature, runId, record) => use((db) => RunLogDb.saveReplay(db, signature, runId, record)),
    previous: (pipeline) => (exists() ? use((db) => RunLogDb.previousComponents(db, pipeline)) : Effect.succeed(new Map())),
    runs: (limit) =>
      exists()
        ? use((db) =>
          RunLogDb.runs(db, limit).map(({ host, pid, ...run }) => ({
            ...run,
            status: run.status === "running" && host === thisHost && pid !== null && !isAlive(pid) ? "killed" : run.status
          }))
        )
        : Effect.succeed([]),
    find: (query) => (exists() ? use((db) => RunLogDb.findNodes(db, query)) : Effect.succeed([])),
    referencedHashes: () => (exists() ? use((db) => RunLogDb.referencedHashes(db)) : Effect.succeed(new Set()))
  })
}
