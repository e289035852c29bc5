/**
 * Reading the run log: every SELECT of the RunLog service, its rows decoded with Schema.
 * A row that does not decode (a column edited by hand, a value another version wrote) is
 * `RunLogRowInvalid`, naming the table, the row and the column, never a value cast into a
 * type it is not. Kept apart from RunLogDb.ts, which cli/Replay.ts loads before Effect:
 * loading Schema would cost that fast path more than the whole replay takes.
 */
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type { DatabaseSync, SQLInputValue } from "node:sqlite"
import type * as CacheKey from "../CacheKey.ts"
import { reasonOf } from "../Errors.ts"
import type { NodeRecord, RunEntry } from "../RunLog.ts"
import { Components, ErrorDetail, FinalMetrics } from "./RecordSchemas.ts"
import * as RunLogDb from "./RunLogDb.ts"

/** A run-log row whose column holds a value of the wrong type. */
export class RunLogRowInvalid extends Data.TaggedError("RunLogRowInvalid")<{
  readonly table: string
  readonly column: string
  /** the row's `rowid`, or its position in the result when it has none */
  readonly row: number | undefined
  readonly value: string
  readonly reason: string
}> {
  override get message(): string {
    return `table ${this.table}${this.row === undefined ? "" : `, row ${this.row}`}: column ${this.column} holds ${this.value}: ${this.reason}`
  }
}

type Fields = { readonly [column: string]: Schema.Codec<unknown, unknown> }

const preview = (value: unknown): string => {
  const text = typeof value === "string" ? JSON.stringify(value) : String(value)
  return text.length > 60 ? `${text.slice(0, 60)}…` : text
}

// Why `row` of `table` does not decode: its first column that does not.
const invalid = (table: string, fields: Fields, row: Record<string, unknown>): RunLogRowInvalid => {
  const rowid = row["rowid"] ?? row["id"]
  const [column, exit] = Object.entries(fields)
    .map(([name, schema]) => [name, Schema.decodeUnknownExit(schema)(row[name])] as const)
    .find(([, exit]) => Exit.isFailure(exit)) ?? ["(row)", undefined]
  return new RunLogRowInvalid({
    table,
    column,
    row: typeof rowid === "number" ? rowid : undefined,
    value: preview(row[column]),
    reason: exit === undefined || Exit.isSuccess(exit) ? "which does not decode" : reasonOf(Cause.squash(exit.cause)).replace(/\s*\n\s*/g, " ")
  })
}

/** Decode `rows` of `table` with `fields` (one schema per column). */
const decodeRows = <F extends Fields>(table: string, fields: F, rows: ReadonlyArray<Record<string, unknown>>) => {
  const decodeRow = Schema.decodeUnknownExit(Schema.Struct(fields))
  return rows.map((row) => {
    const decoded = decodeRow(row)
    if (Exit.isSuccess(decoded)) return decoded.value
    throw invalid(table, fields, row)
  })
}

const query = <F extends Fields>(db: DatabaseSync, table: string, fields: F, sql: string, ...params: Array<SQLInputValue>) =>
  decodeRows(table, fields, db.prepare(sql).all(...params))

const Text = Schema.String
const MaybeText = Schema.NullOr(Schema.String)
const Count = Schema.NullOr(Schema.Number)

const NodeRow = {
  rowid: Schema.Number,
  run_id: Schema.Number,
  pipeline: Text,
  started_at: Text,
  node_id: Text,
  label: Text,
  kind: Text,
  status: Schema.Literals(["cached", "ran", "failed"]),
  key: MaybeText,
  output_hash: MaybeText,
  metrics_hash: MaybeText,
  duration_ms: Schema.Number,
  params: Schema.fromJsonString(Schema.Json),
  inputs: Schema.fromJsonString(
    Schema.Record(Schema.String, Schema.Struct({ label: Schema.String, hash: Schema.optional(Schema.String) }))
  ),
  components: Schema.NullOr(Schema.fromJsonString(Components)),
  metrics: Schema.fromJsonString(FinalMetrics),
  error: MaybeText,
  log: MaybeText,
  failure: Schema.NullOr(Schema.fromJsonString(ErrorDetail)),
  // entries logged before they kept their sweep cell have none
  coords: Schema.NullOr(Schema.fromJsonString(Schema.Record(Schema.String, Schema.Json)))
}

// A node entry's key components. The key is their hash, so they are kept once per key
// (key_components); entries logged before that kept them in their own row.
const componentsOf = "COALESCE(n.components, (SELECT kc.components FROM key_components kc WHERE kc.key = n.key))"

/**
 * A replay logs no node entries of its own (RunLogDb.shareNodes): its entries are the rows of
 * the run it replayed, read as cached. `sharing` gives, for each run whose rows are entries
 * (`source`), the latest run they are entries of (`latest`): the run itself, or its latest
 * replay. (Replays logged before entries were shared have rows of their own, and are their own source.)
 */
const sharing = `sharing AS (
  SELECT CASE WHEN ${RunLogDb.sharesEntries("r")} THEN r.replay_of ELSE r.id END AS source, MAX(r.id) AS latest
  FROM runs r GROUP BY source)`

/** An entry of run `source` as the entry of `replay`, which replayed that run: cached, taking no time, with no log of its own. */
const sharedAs = (entry: NodeRecord, replay: { readonly id: number; readonly startedAt: string }): NodeRecord => ({
  ...entry,
  runId: replay.id,
  startedAt: replay.startedAt,
  status: "cached",
  durationMs: 0,
  log: undefined,
  failure: undefined
})

/** label → key components of that node's latest completed run in `pipeline` (a replay's are those of the run it replayed). */
export const previousComponents = (db: DatabaseSync, pipeline: string): Map<string, CacheKey.Components> => {
  const rows = query(
    db,
    "node_runs",
    { label: Text, components: Schema.NullOr(Schema.fromJsonString(Components)) },
    `WITH ${sharing}, ranked AS (
       SELECT n.rowid AS entry, ROW_NUMBER() OVER (PARTITION BY n.label ORDER BY s.latest DESC, n.rowid DESC) AS rank
       FROM node_runs n JOIN sharing s ON s.source = n.run_id JOIN runs r ON r.id = n.run_id
       WHERE r.pipeline = ? AND n.key IS NOT NULL AND n.status != 'failed')
     SELECT n.label, ${componentsOf} AS components FROM node_runs n WHERE n.rowid IN (SELECT entry FROM ranked WHERE rank = 1)`,
    pipeline
  )
  return new Map(rows.flatMap((row) => row.components === null ? [] : [[row.label, row.components] as const]))
}

const RunRow = {
  id: Schema.Number,
  pipeline: Text,
  file: Text,
  argv: Text,
  startedAt: Text,
  finishedAt: MaybeText,
  status: Text,
  host: MaybeText,
  pid: Schema.NullOr(Schema.Number),
  replayOf: Schema.NullOr(Schema.Number),
  nodes: Schema.Number,
  ran: Count,
  cached: Count,
  failed: Count
}

/**
 * The latest `limit` runs (or run `only`), newest first, with their node counts and the process
 * that ran them (its status as logged). A replay that shares the entries of the run it replayed
 * counts them, every one cached.
 */
export const runs = (
  db: DatabaseSync,
  limit: number,
  only?: number
): ReadonlyArray<RunEntry> =>
  query(
    db,
    "runs",
    RunRow,
    `WITH listed AS (
       SELECT r.id, COUNT(n.node_id) AS own, SUM(n.status = 'ran') AS ran, SUM(n.status = 'cached') AS cached,
         SUM(n.status = 'failed') AS failed
       FROM (SELECT id FROM runs ${only === undefined ? "" : "WHERE id = ?"} ORDER BY id DESC LIMIT ?) r
       LEFT JOIN node_runs n ON n.run_id = r.id GROUP BY r.id),
     counted AS (
       SELECT l.*, CASE WHEN ${RunLogDb.sharesEntries("r")}
         THEN (SELECT COUNT(*) FROM node_runs n WHERE n.run_id = r.replay_of) END AS shared
       FROM listed l JOIN runs r ON r.id = l.id)
     SELECT r.id, r.pipeline, r.file, r.argv, r.started_at AS startedAt, r.finished_at AS finishedAt, r.status,
       r.host, r.pid, r.replay_of AS replayOf, COALESCE(c.shared, c.own) AS nodes,
       IIF(c.shared IS NULL, c.ran, 0) AS ran, COALESCE(c.shared, c.cached) AS cached, IIF(c.shared IS NULL, c.failed, 0) AS failed
     FROM counted c JOIN runs r ON r.id = c.id ORDER BY r.id DESC`,
    ...(only === undefined ? [limit] : [only, limit])
  ).map((row) => ({ ...row, ran: row.ran ?? 0, cached: row.cached ?? 0, failed: row.failed ?? 0 }))

const nodeSelect = (more = { columns: "", joins: "" }) =>
  `SELECT n.rowid, n.run_id, n.node_id, n.label, n.kind, n.status, n.key, n.output_hash, n.metrics_hash,
    n.duration_ms, n.params, n.inputs, n.metrics, n.error, n.log, n.failure, n.coords, r.pipeline, r.started_at,
    ${componentsOf} AS components${more.columns}
  FROM node_runs n JOIN runs r ON r.id = n.run_id ${more.joins}`

const recordOf = (row: Schema.Struct<typeof NodeRow>["Type"]): NodeRecord => ({
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
  params: row.params,
  inputs: Object.fromEntries(Object.entries(row.inputs).map(([name, { hash, label }]) => [name, { label, hash }])),
  components: row.components ?? undefined,
  metrics: row.metrics,
  error: row.error ?? undefined,
  log: row.log ?? undefined,
  failure: row.failure ?? undefined,
  coords: row.coords ?? undefined
})

const nodeRecords = (db: DatabaseSync, where: string, ...params: Array<SQLInputValue>): Array<NodeRecord> =>
  query(db, "node_runs", NodeRow, `${nodeSelect()} ${where}`, ...params).map(recordOf)

const foundLimit = 20

/**
 * Latest entries whose label, key or output hash matches `query` (hashes and keys by prefix),
 * newest first: of each matching entry, the entry itself and, when a later replay shared it,
 * that replay's (the latest one's).
 */
export const findNodes = (db: DatabaseSync, text: string): Array<NodeRecord> =>
  query(
    db,
    "node_runs",
    { ...NodeRow, latest: Schema.Number, latest_started_at: Text },
    `WITH ${sharing}
     ${nodeSelect({ columns: ", s.latest, l.started_at AS latest_started_at", joins: "JOIN sharing s ON s.source = n.run_id JOIN runs l ON l.id = s.latest" })}
     WHERE n.label = ? OR n.key LIKE ? OR n.output_hash LIKE ? ORDER BY s.latest DESC, n.run_id DESC LIMIT ${foundLimit}`,
    text,
    `${text}%`,
    `${text}%`
  )
    .flatMap((row) => {
      const own = recordOf(row)
      return row.latest === own.runId ? [own] : [sharedAs(own, { id: row.latest, startedAt: row.latest_started_at }), own]
    })
    .sort((a, b) => b.runId - a.runId)
    .slice(0, foundLimit)

/** Every node label the log holds: those of the latest run first, in its order, then those of earlier runs. */
export const labels = (db: DatabaseSync): Array<string> =>
  query(
    db,
    "node_runs",
    { label: Text },
    `WITH ${sharing}
     SELECT n.label FROM node_runs n JOIN sharing s ON s.source = n.run_id GROUP BY n.label ORDER BY MAX(s.latest) DESC, MAX(n.rowid)`
  ).map((row) => row.label)

/** Every node entry of run `runId`, in the order it was logged (a replay's: those of the run it replayed, cached). */
export const runNodes = (db: DatabaseSync, runId: number): Array<NodeRecord> => {
  const own = nodeRecords(db, "WHERE n.run_id = ? ORDER BY n.rowid", runId)
  if (own.length > 0) return own
  const [replay] = query(db, "runs", { replayOf: Schema.NullOr(Schema.Number), startedAt: Text }, "SELECT replay_of AS replayOf, started_at AS startedAt FROM runs WHERE id = ?", runId)
  if (replay === undefined || replay.replayOf === null) return own
  return nodeRecords(db, "WHERE n.run_id = ? ORDER BY n.rowid", replay.replayOf).map((entry) => sharedAs(entry, { id: runId, startedAt: replay.startedAt }))
}

/** The results table run `runId` kept (JSON), if it kept one. */
export const runResults = (db: DatabaseSync, runId: number): string | undefined =>
  query(db, "runs", { results: MaybeText }, "SELECT results FROM runs WHERE id = ?", runId)[0]?.results ?? undefined

const hashesOf = { rowid: Schema.Number, run_id: Schema.Number, label: Text, output_hash: MaybeText, metrics_hash: MaybeText }

const nodeHashes = (db: DatabaseSync) =>
  query(db, "node_runs", hashesOf, "SELECT rowid, run_id, label, output_hash, metrics_hash FROM node_runs ORDER BY rowid")

/** Output and metrics hashes any run refers to. */
export const referencedHashes = (db: DatabaseSync): Set<string> =>
  new Set(nodeHashes(db).flatMap((row) => [row.output_hash, row.metrics_hash].filter((h): h is string => h !== null)))

/** Keys that forgotten runs referred to and no logged run refers to now (RunLogDb.forgetRuns). */
export const forgottenKeys = (db: DatabaseSync): Set<string> =>
  new Set(
    query(
      db,
      "forgotten_keys",
      { key: Text },
      "SELECT key FROM forgotten_keys WHERE key NOT IN (SELECT key FROM node_runs WHERE key IS NOT NULL)"
    ).map((row) => row.key)
  )

/** What SQLite's integrity check finds wrong with the database (nothing when it is sound). */
export const integrityProblems = (db: DatabaseSync): Array<string> =>
  query(db, "integrity_check", { integrity_check: Text }, "PRAGMA integrity_check")
    .map((row) => row.integrity_check)
    .filter((text) => text !== "ok")

/**
 * The rows of the run log that do not decode, one message each: damage SQLite's integrity
 * check cannot see (a value of the wrong type in a sound database).
 */
export const undecodableRows = (db: DatabaseSync): Array<string> => {
  const problems: Array<string> = []
  const check = (read: () => unknown) => {
    try {
      read()
    } catch (error) {
      if (!(error instanceof RunLogRowInvalid)) throw error
      problems.push(error.message)
    }
  }
  check(() => query(db, "runs", RunsTable, "SELECT * FROM runs"))
  check(() => query(db, "node_runs", NodeRunsTable, "SELECT rowid, * FROM node_runs"))
  check(() => query(db, "key_components", { key: Text, components: Schema.fromJsonString(Components) }, "SELECT rowid, * FROM key_components"))
  return problems
}

// the columns of the runs table
const RunsTable = {
  id: Schema.Number,
  pipeline: Text,
  file: Text,
  argv: Text,
  started_at: Text,
  finished_at: MaybeText,
  status: Text,
  host: MaybeText,
  pid: Schema.NullOr(Schema.Number),
  replay_of: Schema.NullOr(Schema.Number),
  results: MaybeText
}

// the columns of the node_runs table: a node entry without those of its run
const { pipeline: _pipeline, started_at: _startedAt, ...NodeRunsTable } = NodeRow

/** The number of runs logged. */
export const runCount = (db: DatabaseSync): number =>
  query(db, "runs", { n: Schema.Number }, "SELECT COUNT(*) AS n FROM runs")[0]?.n ?? 0

/** The node entries that name an output or metrics object for which `stored` is false. */
export const danglingReferences = (
  db: DatabaseSync,
  stored: (hash: string) => boolean
): Array<{ readonly runId: number; readonly label: string; readonly hash: string }> =>
  nodeHashes(db).flatMap((row) =>
    [row.output_hash, row.metrics_hash]
      .filter((hash): hash is string => hash !== null && !stored(hash))
      .map((hash) => ({ runId: row.run_id, label: row.label, hash }))
  )

/** The cache keys of node entries that produced or reused a result (not failed ones). */
export const loggedKeys = (db: DatabaseSync): Array<{ readonly key: string; readonly label: string }> =>
  query(
    db,
    "node_runs",
    { key: Text, label: Text },
    "SELECT key, MAX(label) AS label FROM node_runs WHERE key IS NOT NULL AND status != 'failed' GROUP BY key"
  )
