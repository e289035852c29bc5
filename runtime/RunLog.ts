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

interface NodeRow {
  readonly run_id: number
  readonly pipeline: string
  readonly started_at: string
  readonly node_id: string
  readonly label: string
  readonly kind: string
  readonly status: NodeEntry["status"]
  readonly key: string | null
  readonly output_hash: string | null
  readonly metrics_hash: string | null
  readonly duration_ms: number
  readonly params: string
  readonly inputs: string
  readonly components: string | null
  readonly metrics: string
  readonly error: string | null
}

// A node entry's key components. The key is their hash, so they are kept once per key
// (key_components); entries logged before that kept them in their own row.
const componentsOf = "COALESCE(n.components, (SELECT kc.components FROM key_components kc WHERE kc.key = n.key))"

const toRecord = (row: NodeRow): NodeRecord => ({
  runId: row.run_id,
  pipeline: row.pipeline,
  startedAt: row.started_at,
  nodeId: row.node_id,
  label: row.label,
  kind: row.kind,
  status: row.status,
  key: row.key ?? undefined,
  outputHash: row.output_hash ?? undefined,
  metricsHash: row.metrics_hash ?? undefined,
  durationMs: row.duration_ms,
  params: JSON.parse(row.params),
  inputs: JSON.parse(row.inputs),
  components: row.components === null ? undefined : JSON.parse(row.components),
  metrics: JSON.parse(row.metrics),
  error: row.error ?? undefined
})

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
    previous: (pipeline) =>
      exists()
        ? use((db) => {
          const rows = db.prepare(
            `SELECT n.label, ${componentsOf} AS components FROM node_runs n
             WHERE n.rowid IN (
               SELECT max(n.rowid) FROM node_runs n JOIN runs r ON r.id = n.run_id
               WHERE r.pipeline = ? AND n.key IS NOT NULL AND n.status != 'failed'
               GROUP BY n.label)`
          ).all(pipeline) as unknown as ReadonlyArray<{ label: string; components: string | null }>
          return new Map(
            rows.flatMap((row) => row.components === null ? [] : [[row.label, JSON.parse(row.components) as CacheKey.Components] as const])
          )
        })
        : Effect.succeed(new Map()),
    runs: (limit) =>
      exists()
        ? use((db) =>
          (db.prepare(
            `SELECT r.id, r.pipeline, r.file, r.argv, r.started_at AS startedAt, r.finished_at AS finishedAt, r.status,
               r.host, r.pid, r.replay_of AS replayOf, COUNT(n.node_id) AS nodes,
               SUM(n.status = 'ran') AS ran, SUM(n.status = 'cached') AS cached, SUM(n.status = 'failed') AS failed
             FROM runs r LEFT JOIN node_runs n ON n.run_id = r.id
             GROUP BY r.id ORDER BY r.id DESC LIMIT ?`
          ).all(limit) as unknown as ReadonlyArray<RunEntry & { readonly host: string | null; readonly pid: number | null }>).map(
            ({ host, pid, ...run }) => ({ ...run, status: run.status === "running" && host === thisHost && pid !== null && !isAlive(pid) ? "killed" : run.status })
          )
        )
        : Effect.succeed([]),
    find: (query) =>
      exists()
        ? use((db) =>
          (db.prepare(
            `SELECT n.run_id, n.node_id, n.label, n.kind, n.status, n.key, n.output_hash, n.metrics_hash, n.duration_ms,
               n.params, n.inputs, n.metrics, n.error, r.pipeline, r.started_at, ${componentsOf} AS components
             FROM node_runs n JOIN runs r ON r.id = n.run_id
             WHERE n.label = ? OR n.key LIKE ? OR n.output_hash LIKE ?
             ORDER BY n.run_id DESC LIMIT 20`
          ).all(query, `${query}%`, `${query}%`) as unknown as ReadonlyArray<NodeRow>).map(toRecord)
        )
        : Effect.succeed([]),
    referencedHashes: () =>
      exists()
        ? use((db) => {
          const rows = db.prepare("SELECT output_hash, metrics_hash FROM node_runs").all() as unknown as ReadonlyArray<
            { output_hash: string | null; metrics_hash: string | null }
          >
          return new Set(rows.flatMap((row) => [row.output_hash, row.metrics_hash].filter((h): h is string => h !== null)))
        })
        : Effect.succeed(new Set())
  })
}
