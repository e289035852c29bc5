/**
 * The run log's SQLite database, without Effect: opened by the RunLog service and by
 * cli/Replay.ts, which answers a command before Effect is loaded. Writing and what a replay
 * reads are here; the RunLog service's queries, decoded with Schema, are in RunLogQueries.ts.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { DatabaseSync } from "node:sqlite"
import type { NodeEntry } from "../RunLog.ts"
import { makeDirectory } from "./Directory.ts"
import { host } from "./Process.ts"

const schema = `
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  pipeline TEXT NOT NULL, file TEXT NOT NULL, argv TEXT NOT NULL,
  started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, host TEXT, pid INTEGER, replay_of INTEGER,
  results TEXT
);
CREATE TABLE IF NOT EXISTS node_runs (
  run_id INTEGER NOT NULL REFERENCES runs(id),
  node_id TEXT NOT NULL, label TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
  key TEXT, output_hash TEXT, metrics_hash TEXT, duration_ms REAL NOT NULL,
  params TEXT NOT NULL, inputs TEXT NOT NULL, components TEXT, metrics TEXT NOT NULL, error TEXT,
  log TEXT, failure TEXT, coords TEXT
);
CREATE INDEX IF NOT EXISTS node_runs_label ON node_runs(label);
CREATE INDEX IF NOT EXISTS node_runs_run ON node_runs(run_id);
CREATE TABLE IF NOT EXISTS replays (signature TEXT PRIMARY KEY, run_id INTEGER NOT NULL, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS key_components (key TEXT PRIMARY KEY, components TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forgotten_keys (key TEXT PRIMARY KEY);
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
  makeDirectory(path.dirname(file))
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
    // logs written before node entries kept their log and failure
    if (!columnsOf(db, "node_runs").includes("log")) db.exec("ALTER TABLE node_runs ADD COLUMN log TEXT; ALTER TABLE node_runs ADD COLUMN failure TEXT;")
    // logs written before runs kept their results table and node entries their sweep cell
    if (!columns.includes("results")) db.exec("ALTER TABLE runs ADD COLUMN results TEXT;")
    if (!columnsOf(db, "node_runs").includes("coords")) db.exec("ALTER TABLE node_runs ADD COLUMN coords TEXT;")
  })
  return db
}

/** The names of a table's columns. */
const columnsOf = (db: DatabaseSync, table: string): Array<string> =>
  db.prepare(`PRAGMA table_info(${table})`).all().map((column) => String(column["name"]))

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

/** Keep a run's results table (Results.ts, as JSON) with it. */
export const saveResults = (db: DatabaseSync, runId: number, results: string): void => {
  db.prepare("UPDATE runs SET results = ? WHERE id = ?").run(results, runId)
}

/** Remember what a run's preparation depended on under the command's signature (cli/Replay.ts). */
export const saveReplay = (db: DatabaseSync, signature: string, runId: number, record: string): void => {
  db.prepare("INSERT OR REPLACE INTO replays (signature, run_id, record) VALUES (?, ?, ?)").run(signature, runId, record)
}

/**
 * The replay record kept under a command's signature, with the run it was recorded by. Its two
 * columns are checked by hand, not with Schema: this runs before Effect loads (cli/Replay.ts),
 * and a row that is not what it should be is no record (the command runs normally).
 */
export const loadReplay = (db: DatabaseSync, signature: string): { readonly runId: number; readonly record: string } | undefined => {
  const row = db.prepare("SELECT run_id, record FROM replays WHERE signature = ?").get(signature)
  const runId = row?.["run_id"]
  const record = row?.["record"]
  return typeof runId === "number" && typeof record === "string" ? { runId, record } : undefined
}

// The columns of a node entry, in the order both writers give them.
const nodeColumns = `run_id, node_id, label, kind, status, key, output_hash, metrics_hash, duration_ms,
  params, inputs, components, metrics, error, log, failure, coords`

/**
 * Log node entries of a run. Key components are kept once per key (the key is their hash),
 * not in each entry.
 */
export const recordNodes = (db: DatabaseSync, runId: number, entries: ReadonlyArray<NodeEntry>): void => {
  const insert = db.prepare(`INSERT INTO node_runs (${nodeColumns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`)
  // a key already kept is not serialised again (an all-cached rerun logs every node's known key)
  const known = db.prepare("SELECT 1 FROM key_components WHERE key = ?")
  const keep = db.prepare("INSERT OR IGNORE INTO key_components (key, components) VALUES (?, ?)")
  transaction(db, () => {
    for (const e of entries) {
      if (e.key !== undefined && e.components !== undefined && known.get(e.key) === undefined) keep.run(e.key, JSON.stringify(e.components))
      insert.run(
        runId, e.nodeId, e.label, e.kind, e.status, e.key ?? null, e.outputHash ?? null, e.metricsHash ?? null,
        e.durationMs, JSON.stringify(e.params), JSON.stringify(e.inputs), JSON.stringify(e.metrics), e.error ?? null,
        e.log ?? null, e.failure === undefined ? null : JSON.stringify(e.failure), JSON.stringify(e.coords ?? {})
      )
    }
  })
}

/**
 * Log every node of run `from` again under run `to`, as cached: what an all-cached rerun
 * logs (a cached entry has no log of its own: `pipeline show` finds the one of the entry
 * that ran it). Only for a replay whose entries were shared (`shareNodes`) and whose run is
 * being forgotten; logs written before replays shared entries hold such copies too.
 */
const copyNodesAsCached = (db: DatabaseSync, from: number, to: number): void => {
  db.prepare(
    `INSERT INTO node_runs (${nodeColumns})
     SELECT ?, node_id, label, kind, 'cached', key, output_hash, metrics_hash, 0, params, inputs, components, metrics, error, NULL, NULL, coords
     FROM node_runs WHERE run_id = ? ORDER BY rowid`
  ).run(to, from)
}

/**
 * SQL: whether run `alias` (a row of `runs`) is a replay sharing the node entries of the run it
 * replayed (`shareNodes`): it has none of its own. Replays logged before entries were shared
 * have copies of their own.
 */
export const sharesEntries = (alias: string): string =>
  `(${alias}.replay_of IS NOT NULL AND NOT EXISTS (SELECT 1 FROM node_runs own WHERE own.run_id = ${alias}.id))`

/**
 * Log run `to`, a replay of run `from`, as having `from`'s node entries, every one cached,
 * without writing them again: a replay logs no node entry of its own, and the run log reads
 * the entries of `from` as the replay's too (RunLogQueries.ts). Its results table is `from`'s.
 * A replay's log entry costs one row, not one per node (a 1,000-node rerun copied ~0.5 MB).
 */
export const shareNodes = (db: DatabaseSync, from: number, to: number): void => {
  db.prepare("UPDATE runs SET results = (SELECT results FROM runs WHERE id = ?) WHERE id = ?").run(from, to)
}

/**
 * Remove runs `ids` from the log: their runs and node entries, their replay records, and the
 * key components no remaining entry uses. The keys they referred to that no remaining run
 * refers to are kept as forgotten (`pipeline gc` removes their records, RunLogQueries.forgottenKeys).
 * A remaining replay of a removed run, which shared its entries (`shareNodes`), gets copies of
 * them first.
 */
export const forgetRuns = (db: DatabaseSync, ids: ReadonlyArray<number>): void => {
  const list = JSON.stringify(ids)
  const inList = "IN (SELECT value FROM json_each(?))"
  transaction(db, () => {
    const sharing = db.prepare(
      `SELECT r.id, r.replay_of FROM runs r WHERE r.replay_of ${inList} AND r.id NOT ${inList} AND ${sharesEntries("r")}`
    ).all(list, list)
    for (const replay of sharing) copyNodesAsCached(db, Number(replay["replay_of"]), Number(replay["id"]))
    db.prepare(`INSERT OR IGNORE INTO forgotten_keys (key) SELECT DISTINCT key FROM node_runs WHERE run_id ${inList} AND key IS NOT NULL`).run(list)
    db.prepare(`DELETE FROM node_runs WHERE run_id ${inList}`).run(list)
    db.prepare(`DELETE FROM replays WHERE run_id ${inList}`).run(list)
    db.prepare(`DELETE FROM runs WHERE id ${inList}`).run(list)
    db.exec(`DELETE FROM forgotten_keys WHERE key IN (SELECT key FROM node_runs WHERE key IS NOT NULL);
      DELETE FROM key_components WHERE key NOT IN (SELECT key FROM node_runs WHERE key IS NOT NULL);`)
  })
}

/** Stop listing `keys` as forgotten: gc has removed their records (or they had none). */
export const settleForgotten = (db: DatabaseSync, keys: ReadonlyArray<string>): void => {
  db.prepare("DELETE FROM forgotten_keys WHERE key IN (SELECT value FROM json_each(?))").run(JSON.stringify(keys))
}

/** Whether a SQLite error says the file is not a sound database (SQLITE_CORRUPT, SQLITE_NOTADB). */
export const isCorruption = (error: unknown): boolean => {
  const code = (error as { errcode?: unknown } | null)?.errcode
  return typeof code === "number" && ((code & 0xff) === 11 || (code & 0xff) === 26)
}
