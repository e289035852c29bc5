/**
 * The run log: every `pipeline run` with, per node, its status, key, output hash,
 * params, lineage (input labels and hashes), timing and final metrics. Kept in
 * SQLite (`node:sqlite`, built into Node) at `<store>/runs.db`, in WAL mode so
 * concurrent runs on one store can both write. A log that SQLite finds damaged fails
 * every use with `RunLogCorrupt`, which says how to repair it (`pipeline fsck --repair`
 * moves it aside and starts a new one); so does a row whose values do not decode (rows are
 * decoded with Schema, internal/RunLogQueries.ts), naming its table, row and column.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import type { DatabaseSync } from "node:sqlite"
import type { Json } from "../dsl/Artifact.ts"
import type * as CacheKey from "./CacheKey.ts"
import { reasonOf, RunLogCorrupt, StoreError } from "./Errors.ts"
import type { ErrorDetail } from "./internal/ErrorDetail.ts"
import { host as thisHost, isAlive } from "./internal/Process.ts"
import * as RunLogDb from "./internal/RunLogDb.ts"
import * as RunLogQueries from "./internal/RunLogQueries.ts"
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
  /** what the node printed when it ran (internal/NodeOutput.ts), relative to the store */
  readonly log?: string | undefined
  /** what a failed node's code failed with: its stack and fields */
  readonly failure?: ErrorDetail | undefined
  /** its sweep coordinates in the graph (Graph.GraphNode) */
  readonly coords?: { readonly [factor: string]: Json } | undefined
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
  /** the machine and process that ran it (null in logs written before runs recorded them) */
  readonly host: string | null
  readonly pid: number | null
}

/** A node entry with the run it belongs to. */
export interface NodeRecord extends NodeEntry {
  readonly runId: number
  readonly pipeline: string
  readonly startedAt: string
}

/** What `pipeline fsck` found in the run log. */
export interface RunLogCheck {
  readonly path: string
  /** `missing`: no run log (a new store, or one deleted: the history of past runs is gone) */
  readonly state: "sound" | "missing" | "corrupt"
  /** what SQLite found wrong, when corrupt */
  readonly reason: string | undefined
  readonly runs: number
  /** node entries naming objects that are not stored: history whose bytes are gone */
  readonly dangling: ReadonlyArray<{ readonly runId: number; readonly label: string; readonly hash: string }>
  /** keys logged runs produced or reused that have no key record now (removed: their nodes rerun) */
  readonly unrecorded: ReadonlyArray<{ readonly key: string; readonly label: string }>
  /** where a corrupt log was moved by a repair (a new, empty one takes its place) */
  readonly movedTo: string | undefined
}

type Failure = StoreError | RunLogCorrupt

export class RunLog extends Context.Service<RunLog, {
  readonly start: (run: Parameters<typeof RunLogDb.startRun>[1]) => Effect.Effect<number, Failure>
  readonly record: (runId: number, entries: ReadonlyArray<NodeEntry>) => Effect.Effect<void, Failure>
  readonly finish: (runId: number, status: "succeeded" | "failed" | "interrupted") => Effect.Effect<void, Failure>
  /** Keep a run's replay record under its command's signature (cli/Replay.ts). */
  readonly remember: (signature: string, runId: number, record: string) => Effect.Effect<void, Failure>
  /** label → key components of that node's latest completed run in this pipeline */
  readonly previous: (pipeline: string) => Effect.Effect<ReadonlyMap<string, CacheKey.Components>, Failure>
  readonly runs: (limit: number) => Effect.Effect<ReadonlyArray<RunEntry>, Failure>
  /** Run `id`, if the log has it. */
  readonly run: (id: number) => Effect.Effect<RunEntry | undefined, Failure>
  /** Every node entry of run `id`, in the order logged. */
  readonly nodesOf: (id: number) => Effect.Effect<ReadonlyArray<NodeRecord>, Failure>
  /** Keep a run's results table (JSON of Results.Table) with it. */
  readonly saveResults: (id: number, results: string) => Effect.Effect<void, Failure>
  /** The results table (JSON) run `id` kept, if any. */
  readonly resultsOf: (id: number) => Effect.Effect<string | undefined, Failure>
  /** Latest entries whose label, key or output hash matches `query` (hashes and keys by prefix). */
  readonly find: (query: string) => Effect.Effect<ReadonlyArray<NodeRecord>, Failure>
  /** Every node label the log holds, those of the latest runs first: what a name that matches nothing is compared with. */
  readonly labels: () => Effect.Effect<ReadonlyArray<string>, Failure>
  /** Output and metrics hashes any run refers to. */
  readonly referencedHashes: () => Effect.Effect<ReadonlySet<string>, Failure>
  /**
   * Remove runs `ids` with their node entries, replay records and logs (`logs/run-<id>.log`);
   * the keys only they referred to are kept as forgotten, for `pipeline gc`.
   */
  readonly forget: (ids: ReadonlyArray<number>) => Effect.Effect<void, Failure>
  /** Keys that forgotten runs referred to and no logged run refers to now. */
  readonly forgottenKeys: () => Effect.Effect<ReadonlySet<string>, Failure>
  /** Stop listing `keys` as forgotten: gc has removed their records (or they had none). */
  readonly settleForgotten: (keys: ReadonlyArray<string>) => Effect.Effect<void, Failure>
  /**
   * Check the database (SQLite's integrity check) and the objects its runs name (`stored`
   * says which are intact); with `repair`, move a corrupt log aside and start a new one.
   */
  readonly check: (options: {
    readonly repair: boolean
    readonly stored: (hash: string) => boolean
    readonly recorded: (key: string) => boolean
  }) => Effect.Effect<RunLogCheck, StoreError>
}>()("ablate/runtime/RunLog") {
  /** The run log of the store at `root`; the database is created on first use. */
  static readonly layer = (root: string) => Layer.succeed(RunLog, makeSqliteLog(path.resolve(root)))
}

const makeSqliteLog = (root: string): RunLog["Service"] => {
  const file = layout(root).runLog
  let db: DatabaseSync | undefined
  const open = (): DatabaseSync => (db ??= RunLogDb.open(file))
  const use = <A>(f: (db: DatabaseSync) => A) =>
    Effect.try({
      try: () => f(open()),
      catch: (error): Failure =>
        RunLogDb.isCorruption(error) || error instanceof RunLogQueries.RunLogRowInvalid
          ? new RunLogCorrupt({ path: file, reason: reasonOf(error), store: root })
          : new StoreError({ path: file, reason: reasonOf(error) })
    })
  const exists = () => db !== undefined || fs.existsSync(file)

  // What SQLite finds wrong with the log, or rows that do not decode, if anything.
  const damage = (): string | undefined => {
    try {
      const integrity = RunLogQueries.integrityProblems(open())
      const problems = integrity.length > 0 ? integrity : RunLogQueries.undecodableRows(open())
      return problems.length === 0 ? undefined : problems.slice(0, 3).join("; ")
    } catch (error) {
      if (!RunLogDb.isCorruption(error)) throw error
      return reasonOf(error)
    }
  }

  // Move a corrupt log (and its write-ahead log) aside; the next use starts a new one.
  const moveAside = (): string => {
    db?.close()
    db = undefined
    const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`
    fs.renameSync(file, aside)
    if (fs.existsSync(`${file}-wal`)) fs.renameSync(`${file}-wal`, `${aside}-wal`)
    fs.rmSync(`${file}-shm`, { force: true })
    open()
    return aside
  }

  // A run still marked running whose process on this host is gone was killed.
  const runs = (limit: number, only?: number) =>
    exists()
      ? use((db) =>
        RunLogQueries.runs(db, limit, only).map((run) => ({
          ...run,
          status: run.status === "running" && run.host === thisHost && run.pid !== null && !isAlive(run.pid) ? "killed" : run.status
        }))
      )
      : Effect.succeed([])

  return RunLog.of({
    start: (run) => use((db) => RunLogDb.startRun(db, run)),
    record: (runId, entries) => use((db) => RunLogDb.recordNodes(db, runId, entries)),
    finish: (runId, status) => use((db) => RunLogDb.finishRun(db, runId, status)),
    remember: (signature, runId, record) => use((db) => RunLogDb.saveReplay(db, signature, runId, record)),
    previous: (pipeline) => (exists() ? use((db) => RunLogQueries.previousComponents(db, pipeline)) : Effect.succeed(new Map())),
    runs: (limit) => runs(limit),
    run: (id) => runs(1, id).pipe(Effect.map((found) => found[0])),
    nodesOf: (id) => (exists() ? use((db) => RunLogQueries.runNodes(db, id)) : Effect.succeed([])),
    saveResults: (id, results) => use((db) => RunLogDb.saveResults(db, id, results)),
    resultsOf: (id) => (exists() ? use((db) => RunLogQueries.runResults(db, id)) : Effect.succeed(undefined)),
    find: (query) => (exists() ? use((db) => RunLogQueries.findNodes(db, query)) : Effect.succeed([])),
    labels: () => (exists() ? use((db) => RunLogQueries.labels(db)) : Effect.succeed([])),
    referencedHashes: () => (exists() ? use((db) => RunLogQueries.referencedHashes(db)) : Effect.succeed(new Set())),
    forget: (ids) =>
      use((db) => {
        RunLogDb.forgetRuns(db, ids)
        for (const id of ids) fs.rmSync(layout(root).runLogPath(id), { force: true })
      }),
    forgottenKeys: () => (exists() ? use((db) => RunLogQueries.forgottenKeys(db)) : Effect.succeed(new Set())),
    settleForgotten: (keys) => use((db) => RunLogDb.settleForgotten(db, keys)),
    check: ({ recorded, repair, stored }) =>
      Effect.try({
        try: (): RunLogCheck => {
          const none = { path: file, reason: undefined, runs: 0, dangling: [], unrecorded: [], movedTo: undefined }
          if (!exists()) return { ...none, state: "missing" }
          const reason = damage()
          if (reason !== undefined) return { ...none, state: "corrupt", reason, movedTo: repair ? moveAside() : undefined }
          const sound = open()
          return {
            ...none,
            state: "sound",
            runs: RunLogQueries.runCount(sound),
            dangling: RunLogQueries.danglingReferences(sound, stored),
            unrecorded: RunLogQueries.loggedKeys(sound).filter(({ key }) => !recorded(key))
          }
        },
        catch: (error) => new StoreError({ path: file, reason: reasonOf(error) })
      })
  })
}
