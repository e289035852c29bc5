/**
 * Answering `pipeline run` from the run log when nothing it depends on has changed.
 *
 * Every `pipeline run` process observes what preparing its plan depended on
 * (../Observer.ts and internal/observe/: the modules that ran, the environment variables
 * read, the files read, the package versions and project roots the cache keys were
 * computed from). When the run succeeds and nothing tainted the observation, the run log keeps a
 * replay record under the command's signature (its arguments and working directory):
 * the observation, and for every node its key, its output and the identity of its key
 * record on disk.
 *
 * The next identical command, before loading Effect or the pipeline file, checks the
 * record: the same Node, every observed file with the same bytes, every observed
 * variable with the same value, every package at the same version, every key record
 * still the one the run saw, and every output and metrics object still the file the run
 * saw (same inode and size: one deleted, truncated, replaced or quarantined is not
 * replayed). If all
 * hold, preparing the pipeline again would build the same graph with the same keys and
 * every node would be a hit, so the command prints what that run would print, logs a
 * run with every node cached, and exits — in a few tens of milliseconds instead of the
 * time it takes to load the pipeline. If anything differs, or the record is missing,
 * the command runs normally. `--force` and `ABLATE_REPLAY=0` always run normally.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import type { DatabaseSync } from "node:sqlite"
import { hashValue, sha256 } from "../../dsl/internal/Canonical.ts"
import * as FileMemo from "../internal/FileMemo.ts"
import * as KeyRecordFile from "../internal/KeyRecordFile.ts"
import { findRoot, packageDirFor, versionIn } from "../internal/Packages.ts"
import * as RunLogDb from "../internal/RunLogDb.ts"
import { layout } from "../internal/StoreLayout.ts"
import type { Observation, Observed } from "../Observer.ts"
import type { Console } from "./main.ts"
import * as Options from "./Options.ts"
import * as Render from "./Render.ts"
import * as Summary from "./Summary.ts"

/** A node as the record keeps it: a node of a successful run, which a replay shows as cached. */
interface RecordedNode extends Pick<Summary.NodeLine, "id" | "label" | "kind" | "type"> {
  readonly key: string
  readonly hash: string
  readonly metricsHash: string
  /** device, inode, size and modification time of the node's key record */
  readonly keyFile: string
}

/** What the run log keeps for a replayable run. */
interface ReplayRecord {
  readonly format: 4
  /** Node version, platform, architecture and flags */
  readonly runtime: string
  readonly pipeline: string
  readonly file: string
  readonly observation: Observation
  readonly nodes: ReadonlyArray<RecordedNode>
  /** output and metrics object hash → device, inode and size of its file */
  readonly objects: { readonly [hash: string]: string }
  readonly outputs: ReadonlyArray<Summary.ShownOutput>
  /** the run's results table, printed again by a replay */
  readonly results: Summary.RunSummary["results"]
}

// Node's flags count too: one may preload a module before anything is observed.
const runtime = [process.version, process.platform, process.arch, ...process.execArgv].join(" ")

/** The signature of a command: the same arguments in the same directory. */
export const signature = (args: ReadonlyArray<string>, cwd: string): string => hashValue({ args: [...args], cwd })

const keyFileOf = (file: string): string | undefined => {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  return stat === undefined ? undefined : KeyRecordFile.identityOf(stat)
}

// An object's modification time is left out: storing the same bytes again renews it (for
// gc's grace period), and that changes nothing a replay reports.
const objectFileOf = (file: string): string | undefined => {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  return stat === undefined ? undefined : `${stat.dev}:${stat.ino}:${stat.size}`
}

/** The identity of a key record whose output hash is `hash`; undefined if it is gone or now names another output. */
const keyFileIdentity = (file: string, hash: string): string | undefined => {
  try {
    const found = KeyRecordFile.readIdentified(file)
    return found?.record.output.hash === hash ? found.identity : undefined
  } catch {
    return undefined
  }
}

/**
 * The replay record of a finished run, or why it has none: it ran with --force, what its
 * preparation depended on could not be observed, a node failed, or a key record changed
 * before the run finished. `keyRecordRead` is the identity of a cached node's key record as
 * planning read it (Runner.execute's), if it still named that output.
 */
export const recordOf = (
  storeRoot: string,
  run: {
    readonly pipeline: string
    readonly file: string
    readonly nodes: ReadonlyArray<Summary.NodeLine & { readonly metricsHash: string | undefined }>
    readonly outputs: ReadonlyArray<Summary.ShownOutput>
    readonly results: Summary.RunSummary["results"]
    readonly forced: boolean
  },
  observed: Observed,
  keyRecordRead: (key: string, hash: string) => string | undefined = () => undefined
): { readonly record: ReplayRecord } | { readonly notReplayable: string } => {
  if (run.forced) return { notReplayable: "run with --force" }
  if ("notReplayable" in observed) return observed
  const { observation } = observed
  const { keyPath, objectPath } = layout(storeRoot)
  const nodes: Array<RecordedNode> = []
  const objects: Record<string, string> = {}
  for (const { id, label, kind, type, status, key, hash, metricsHash } of run.nodes) {
    if (status === "failed" || key === null || hash === null || metricsHash === undefined) return { notReplayable: `node "${label}" failed` }
    // a cached node's record as planning read it, with that output; else as it is now
    const keyFile = (status === "cached" ? keyRecordRead(key, hash) : undefined) ?? keyFileIdentity(keyPath(key), hash)
    if (keyFile === undefined) return { notReplayable: `the key record of node "${label}" changed before the run finished` }
    for (const object of [hash, metricsHash]) {
      // nodes share objects (the same empty metrics, say): each file is looked at once
      if (objects[object] !== undefined) continue
      const file = objectFileOf(objectPath(object))
      if (file === undefined) return { notReplayable: `an object of node "${label}" was removed before the run finished` }
      objects[object] = file
    }
    nodes.push({ id, label, kind, type, key, hash, metricsHash, keyFile })
  }
  return {
    record: { format: 4, runtime, pipeline: run.pipeline, file: run.file, observation, nodes, objects, outputs: run.outputs, results: run.results }
  }
}

/** The sha256 of a file's bytes, or undefined when it cannot be read. */
export type FileHash = (file: string) => string | undefined

const hashOf: FileHash = (file) => {
  try {
    return sha256(fs.readFileSync(file))
  } catch {
    return undefined
  }
}

/**
 * `hashOf` for a long-lived process (the resident one, ResidentServer.ts): a file is read and
 * hashed again only when its device, inode, size, modification or change time differ from
 * when it was last hashed, as git's index does (internal/FileMemo.ts). A file changed less
 * than two seconds before it was hashed is not remembered: timestamps are coarse, and a
 * second change within the same tick could keep its stat as it was. `now` is the clock, in
 * milliseconds.
 */
export const rememberedHashes = (now: () => number = Date.now): FileHash => {
  const known: FileMemo.Remembered<string> = new Map()
  const options: FileMemo.Options = {
    identity: (stat) => `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`,
    settled: (stat) => now() - stat.ctimeMs > 2000
  }
  return (file) => FileMemo.lookup(file, known, hashOf, options)
}

const sameArray = (a: ReadonlyArray<string>, b: ReadonlyArray<string>) => a.length === b.length && a.every((x, i) => x === b[i])

/** Whether everything the observation recorded is still as it was (files hashed by `hash`). */
export const unchanged = (observed: Observation, env: NodeJS.ProcessEnv, hash: FileHash = hashOf): boolean => {
  for (const [name, value] of Object.entries(observed.env)) if ((env[name] ?? null) !== value) return false
  if (observed.envNames !== null && !sameArray(observed.envNames, Object.keys(env).sort())) return false
  for (const [file, expected] of Object.entries(observed.files)) if (hash(file) !== expected) return false
  for (const [file, existed] of Object.entries(observed.exists)) if (fs.existsSync(file) !== existed) return false
  for (const [dir, version] of Object.entries(observed.packages)) if (versionIn(dir) !== version) return false
  for (const { name, from, dir } of observed.imports) if (packageDirFor(name, from) !== dir) return false
  for (const [file, root] of Object.entries(observed.roots)) if (findRoot(file) !== root) return false
  return true
}

/**
 * Whether every node is still a hit: its key record is the one the run saw and its objects
 * are the files the run saw, with their sizes (a missing, truncated or replaced object is not
 * replayed).
 */
const allCached = (storeRoot: string, record: ReplayRecord): boolean => {
  const { keyPath, objectPath } = layout(storeRoot)
  for (const node of record.nodes) if (keyFileOf(keyPath(node.key)) !== node.keyFile) return false
  for (const [hash, file] of Object.entries(record.objects)) if (objectFileOf(objectPath(hash)) !== file) return false
  return true
}

// A results table's mean and bounds were NaN where JSON has null (one seed: no interval). Only
// what is printed (the table, the outputs shown) is walked: a reviver on the whole record's
// JSON.parse took ~20 ms of a replay (1,000 nodes, cold) against ~4 without one.
const reviveBounds = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(reviveBounds)
  if (typeof value !== "object" || value === null) return value
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [key, field === null && (key === "mean" || key === "low" || key === "high") ? Number.NaN : reviveBounds(field)])
  )
}

const parseRecord = (text: string): ReplayRecord => {
  const record = JSON.parse(text) as ReplayRecord
  return {
    ...record,
    outputs: reviveBounds(record.outputs) as ReplayRecord["outputs"],
    results: reviveBounds(record.results) as ReplayRecord["results"]
  }
}

/** A replay record that still holds, with the open run log it came from. */
interface Found {
  readonly db: DatabaseSync
  readonly sourceRun: number
  readonly record: ReplayRecord
  readonly json: boolean
}

/** The replay record of `pipeline <args>` if it is a `run` that nothing has changed for. */
const find = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, hash: FileHash): Found | undefined => {
  if (args[0] !== "run" || env["ABLATE_REPLAY"] === "0") return undefined
  // a run with a usage error, --help, --version or --log-level is the CLI's to answer
  const values = Options.preParse(args)?.values
  if (values === undefined || values["force"] !== undefined) return undefined
  const storeRoot = path.resolve(Options.storeRoot(values))
  const { runLog } = layout(storeRoot)
  if (!fs.existsSync(runLog)) return undefined
  let db: DatabaseSync | undefined
  try {
    db = RunLogDb.open(runLog)
    const saved = RunLogDb.loadReplay(db, signature(args, process.cwd()))
    const record = saved === undefined ? undefined : parseRecord(saved.record)
    if (
      saved !== undefined && record !== undefined && record.format === 4 && record.runtime === runtime &&
      unchanged(record.observation, env, hash) && allCached(storeRoot, record)
    ) {
      return { db, sourceRun: saved.runId, record, json: values["json"] === true }
    }
  } catch {
    // an unreadable run log or record: the command runs normally and reports what is wrong
  }
  db?.close()
  return undefined
}

/**
 * Answer `pipeline <args>` from its replay record if it is a `run` that nothing has
 * changed for: prints and logs the run and returns the exit code. Returns undefined
 * when the command must run normally. `env` is the process's environment, read without
 * being observed; `hash` hashes the files the record names.
 */
export const attempt = (
  args: ReadonlyArray<string>,
  console: Pick<Console, "out">,
  env: NodeJS.ProcessEnv,
  hash: FileHash = hashOf
): number | undefined => {
  const started = performance.now()
  const found = find(args, env, hash)
  if (found === undefined) return undefined
  const { db, sourceRun, record, json } = found
  let runId: number
  try {
    runId = RunLogDb.transaction(db, () => {
      const id = RunLogDb.startRun(db, { pipeline: record.pipeline, file: record.file, argv: args.join(" "), replayOf: sourceRun })
      RunLogDb.shareNodes(db, sourceRun, id)
      RunLogDb.finishRun(db, id, "succeeded")
      return id
    })
  } catch {
    // the run log cannot be written (say, locked too long): nothing is printed yet, so the
    // command runs normally and reports what is wrong
    db.close()
    return undefined
  }
  try {
    // everything is known at once: one write instead of one per line
    const chunks: Array<string> = []
    const out = { ...console.out, write: (text: string) => void chunks.push(text) }
    const renderer = Render.make(Render.modeOf(json, console.out), out, record.nodes)
    for (const node of record.nodes) renderer.onEvent({ type: "cached", id: node.id, label: node.label, key: node.key, hash: node.hash })
    renderer.finish()
    const code = Summary.write(out, json, {
      pipeline: record.pipeline,
      runId,
      wallMs: performance.now() - started,
      nodes: record.nodes.map(({ id, label, kind, type, key, hash }) => ({ id, label, kind, type, key, hash, status: "cached" as const, durationMs: 0 })),
      outputs: record.outputs,
      results: record.results,
      replayOf: sourceRun
    })
    console.out.write(chunks.join(""))
    return code
  } finally {
    db.close()
  }
}
