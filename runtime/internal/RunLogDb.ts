/**
 * The run log's SQLite database, without Effect: opened by the RunLog service and by
 * cli/Replay.ts, which answers a command before Effect is loaded.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { DatabaseSync } from "node:sqlite"
import type * as CacheKey from "../CacheKey.ts"
import type { NodeEntry, NodeRecord, RunEntry } from "../RunLog.ts"
import { host } from "./Process.ts"

const schema = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline TEXT NOT NULL, file TEXT NOT NULL, argv TEXT NOT NULL,
  started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, host TEXT, pid INTEGER, replay_of INTEGER
);
CREATE TABLE IF NOT EXISTS node_runs (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  node_id TEXT NOT NULL, label TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  key TEXT, output_hash TEXT, metrics_hash TEXT, duration_ms REAL NOT NULL,
  params TEXT NOT NULL, inputs TEXT NOT NULL, components TEXT, metrics TEXT NOT NULL, error TEXT
);
CREATE INDEX IF NOT EXISTS node_runs_label ON node_runs(label);
CREATE INDEX IF NOT EXISTS node_runs_run ON node_runs(run_id);
CREATE TABLE IF NOT EXISTS replays (signature TEXT PRIMARY KEY, run_id INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS key_components (key TEXT PRIMARY KEY, components TEXT NOT NULL);
`

/** Whether this process may write `file` (an existing file or directory): not read-only, not someone else's. */
const canWrite = (file: string): boolean => {
  try {
    fs.accessSync(file, fs.constants.W_OK)
    return true
  } catch {
    return false
  }
}

/**
 * Open an existing run log this process cannot write (a read-only file system, or another
 * user's store), writing nothing. SQLite reads a WAL-mode log read-only through its
 * write-ahead log when one is there; when none is (the last writer closed it), and its
 * directory cannot be written to create the shared-memory index, the log is read as
 * immutable: nothing can be writing it.
 */
const openReadOnly = (file: string): DatabaseSync => {
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite")
  const directoryWritable = canWrite(path.dirname(file))
  if (directoryWritable || fs.existsSync(`${file}-wal`)) return new DatabaseSync(file, { readOnly: true })
  const url = pathToFileURL(file)
  url.searchParams.set("immutable", "1")
  return new DatabaseSync(url, { readOnly: true })
}

/**
 * Open (creating if needed) the run log at `file`, in WAL mode so concurrent runs can both
 * write. A log that exists but cannot be written is opened read-only, writing nothing (no
 * directory, no schema): it serves `ls`, `show` and `plan`; a write to it fails.
 */
export const open = (file: string): DatabaseSync => {
  if (fs.existsSync(file) && !(canWrite(file) && canWrite(path.dirname(file)))) {
    const db = openReadOnly(file)
    db.exec("PRAGMA busy_timeout = 10000;")
    return db
  }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  // Loaded lazily: node:sqlite prints an experimental warning on import.
  const { DatabaseSync } = process.getBuiltinModule("node:sqlite")
  const db = new DatabaseSync(file)
  db.exec("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
  // Under the write lock, taken up front: two processes opening a new log together would
  // otherwise both read an empty schema, and the second to write it fails at once
  // ("database is locked": a read cannot wait to become a write in WAL mode).
  transaction(db, () => {
    db.exec(schema)
    // logs written before runs recorded their process, or replays
    const columns = (db.prepare("PRAGMA table_info(runs)").all() as unknown as ReadonlyArray<{ name: string }>).map((c) => c.name)
    if (!columns.includes("pid")) db.exec("ALTER TABLE runs ADD COLUMN host TEXT; ALTER TABLE runs ADD COLUMN pid INTEGER;")
    if (!columns.includes("replay_of")) db.exec("ALTER TABLE runs ADD COLUMN replay_of INTEGER;")
  })
  return db
}

/** Run `f` in one write transaction. */
export const transaction = <A>(db: DatabaseSync, f: () => A): A => {
  db.exec("BEGIN IMMEDIATE")
  try {
    const result = f()
    db.exec("COMMIT")
    return result
  } catch (error) {
    db.exec("ROLLBACK")
    throw error
  }
}

/** Record the start of a run by this process; returns its id. */
export const startRun = (
  db: DatabaseSync,
  run: { readonly pipeline: string; readonly file: string; readonly argv: string; readonly replayOf?: number }
): number =>
  Number(
    db.prepare("INSERT INTO runs (pipeline, file, argv, started_at, status, host, pid, replay_of) VALUES (?, ?, ?, ?, 'running', ?, ?, ?)")
      .run(run.pipeline, run.file, run.argv, new Date().toISOString(), host, process.pid, run.replayOf ?? null).lastInsertRowid
  )

/** Record how a run ended. */
export const finishRun = (db: DatabaseSync, runId: number, status: "succeeded" | "failed" | "interrupted"): void => {
  db.prepare("UPDATE runs SET finished_at = ?, status = ? WHERE id = ?").run(new Date().toISOString(), status, runId)
}

/** Remember what a run's preparation depended on under the command's signature (cli/Replay.ts). */
export const saveReplay = (db: DatabaseSync, signature: string, runId: number, record: string): void => {
  db.prepare("INSERT OR REPLACE INTO replays (signature, run_id, record) VALUES (?, ?, ?)").run(signature, runId, record)
}

/** The replay record kept under a command's signature, with the run it was recorded by. */
export const loadReplay = (db: DatabaseSync, signature: string): { readonly runId: number; readonly record: string } | undefined => {
  const row = db.prepare("SELECT run_id, record FROM replays WHERE signature = ?").get(signature) as
    | { run_id: number; record: string }
    | undefined
  return row === undefined ? undefined : { runId: row.run_id, record: row.record }
}

// The columns of a node entry, in the order both writers give them.
const nodeColumns = `run_id, node_id, label, kind, status, key, output_hash, metrics_hash, duration_ms,
  params, inputs, components, metrics, error`

/**
 * Log node entries of a run. Key components are kept once per key (the key is their hash),
 * not in each entry.
 */
export const recordNodes = (db: DatabaseSync, runId: number, entries: ReadonlyArray<NodeEntry>): void => {
  const insert = db.prepare(`INSERT INTO node_runs (${nodeColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`)
  // a key already kept is not serialised again (an all-cached rerun logs every node's known key)
  const known = db.prepare("SELECT 1 FROM key_components WHERE key = ?")
  const keep = db.prepare("INSERT OR IGNORE INTO key_components (key, components) VALUES (?, ?)")
  transaction(db, () => {
    for (const e of entries) {
      if (e.key !== undefined && e.components !== undefined && known.get(e.key) === undefined) keep.run(e.key, JSON.stringify(e.components))
      insert.run(
        runId, e.nodeId, e.label, e.kind, e.status, e.key ?? null, e.outputHash ?? null, e.metricsHash ?? null,
        e.durationMs, JSON.stringify(e.params), JSON.stringify(e.inputs), JSON.stringify(e.metrics), e.error ?? null
      )
    }
  })
}

/** Log every node of run `from` again under run `to` (a replay of it), as cached: what an all-cached rerun logs. */
export const copyNodesAsCached = (db: DatabaseSync, from: number, to: number): void => {
  db.prepare(
    `INSERT INTO node_runs (${nodeColumns})
     SELECT ?, node_id, label, kind, 'cached', key, output_hash, metrics_hash, 0, params, inputs, components, metrics, error
     FROM node_runs WHERE run_id = ? ORDER BY rowid`
  ).run(to, from)
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

/** label → key components of that node's latest completed run in `pipeline`. */
export const previousComponents = (db: DatabaseSync, pipeline: string): Map<string, CacheKey.Components> => {
  const rows = db.prepare(
    `SELECT n.label, ${componentsOf} AS components FROM node_runs n
     WHERE n.rowid IN (
       SELECT max(n.rowid) FROM node_runs n JOIN runs r ON r.id = n.run_id
       WHERE r.pipeline = ? AND n.key IS NOT NULL AND n.status != 'failed'
       GROUP BY n.label)`
  ).all(pipeline) as unknown as ReadonlyArray<{ label: string; components: string | null }>
  return new Map(rows.flatMap((row) => row.components === null ? [] : [[row.label, JSON.parse(row.components) as CacheKey.Components] as const]))
}

/** The latest `limit` runs, newest first, with their node counts and the process that ran them. */
export const runs = (db: DatabaseSync, limit: number): ReadonlyArray<RunEntry & { readonly host: string | null; readonly pid: number | null }> =>
  db.prepare(
    `SELECT r.id, r.pipeline, r.file, r.argv, r.started_at AS startedAt, r.finished_at AS finishedAt, r.status,
       r.host, r.pid, r.replay_of AS replayOf, COUNT(n.node_id) AS nodes,
       SUM(n.status = 'ran') AS ran, SUM(n.status = 'cached') AS cached, SUM(n.status = 'failed') AS failed
     FROM runs r LEFT JOIN node_runs n ON n.run_id = r.id
     GROUP BY r.id ORDER BY r.id DESC LIMIT ?`
  ).all(limit) as unknown as ReadonlyArray<RunEntry & { readonly host: string | null; readonly pid: number | null }>

/** Latest entries whose label, key or output hash matches `query` (hashes and keys by prefix). */
export const findNodes = (db: DatabaseSync, query: string): Array<NodeRecord> =>
  (db.prepare(
    `SELECT n.run_id, n.node_id, n.label, n.kind, n.status, n.key, n.output_hash, n.metrics_hash, n.duration_ms,
       n.params, n.inputs, n.metrics, n.error, r.pipeline, r.started_at, ${componentsOf} AS components
     FROM node_runs n JOIN runs r ON r.id = n.run_id
     WHERE n.label = ? OR n.key LIKE ? OR n.output_hash LIKE ?
     ORDER BY n.run_id DESC LIMIT 20`
  ).all(query, `${query}%`, `${query}%`) as unknown as ReadonlyArray<NodeRow>).map(toRecord)

/** Output and metrics hashes any run refers to. */
export const referencedHashes = (db: DatabaseSync): Set<string> => {
  const rows = db.prepare("SELECT output_hash, metrics_hash FROM node_runs").all() as unknown as ReadonlyArray<
    { output_hash: string | null; metrics_hash: string | null }
  >
  return new Set(rows.flatMap((row) => [row.output_hash, row.metrics_hash].filter((h): h is string => h !== null)))
}

/** What SQLite's integrity check finds wrong with the database (nothing when it is sound). */
export const integrityProblems = (db: DatabaseSync): Array<string> =>
  (db.prepare("PRAGMA integrity_check").all() as unknown as ReadonlyArray<{ integrity_check: string }>)
    .map((row) => row.integrity_check)
    .filter((text) => text !== "ok")

/** The number of runs logged. */
export const runCount = (db: DatabaseSync): number => (db.prepare("SELECT COUNT(*) AS n FROM runs").get() as { n: number }).n

/** The node entries that name an output or metrics object for which `stored` is false. */
export const danglingReferences = (
  db: DatabaseSync,
  stored: (hash: string) => boolean
): Array<{ readonly runId: number; readonly label: string; readonly hash: string }> => {
  const rows = db.prepare("SELECT run_id, label, output_hash, metrics_hash FROM node_runs ORDER BY rowid").all() as unknown as ReadonlyArray<
    { run_id: number; label: string; output_hash: string | null; metrics_hash: string | null }
  >
  return rows.flatMap((row) =>
    [row.output_hash, row.metrics_hash]
      .filter((hash): hash is string => hash !== null && !stored(hash))
      .map((hash) => ({ runId: row.run_id, label: row.label, hash }))
  )
}

/** Whether a SQLite error says the file is not a sound database (SQLITE_CORRUPT, SQLITE_NOTADB). */
export const isCorruption = (error: unknown): boolean => {
  const code = (error as { errcode?: unknown } | null)?.errcode
  return typeof code === "number" && ((code & 0xff) === 11 || (code & 0xff) === 26)
}

/** The cache keys of node entries that produced or reused a result (not failed ones). */
export const loggedKeys = (db: DatabaseSync): Array<{ readonly key: string; readonly label: string }> =>
  db.prepare("SELECT key, MAX(label) AS label FROM node_runs WHERE key IS NOT NULL AND status != 'failed' GROUP BY key").all() as unknown as Array<
    { key: string; label: string }
  >
