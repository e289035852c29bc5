/**
 * The store's history and its lifecycle: `pipeline ls` lists the runs, `pipeline runs rm`
 * forgets some, and `pipeline gc` (with `--keep-last N`, after forgetting all but the newest N)
 * removes what only forgotten runs referred to. What gc removes is decided in
 * internal/Gc.ts; which runs may be forgotten, here.
 */
import * as Effect from "effect/Effect"
import { ArtifactStore } from "../ArtifactStore.ts"
import { ConfigError } from "../Errors.ts"
import { host as thisHost } from "../internal/Process.ts"
import type * as Results from "../Results.ts"
import * as ResultsJson from "../ResultsJson.ts"
import { RunLog, type RunEntry } from "../RunLog.ts"
import type { Console } from "./main.ts"
import type { Values } from "./Options.ts"
import { formatInterval } from "./ResultsFormat.ts"
import { positiveInt, seedsOfArgv, seedsOfCoords, storeLayers } from "./Selection.ts"
import * as Text from "./Text.ts"

/** Every run of the log, whatever its size (SQLite's LIMIT takes any integer). */
const allRuns = Number.MAX_SAFE_INTEGER

/** Seeds as few characters: ascending, three or more consecutive ones as a range (`0-4,7`). */
export const formatSeeds = (seeds: ReadonlyArray<number>): string => {
  const sorted = [...new Set(seeds)].sort((a, b) => a - b)
  const parts: Array<string> = []
  for (let start = 0; start < sorted.length;) {
    let end = start
    while (end + 1 < sorted.length && sorted[end + 1] === sorted[end]! + 1) end++
    parts.push(end - start >= 2 ? `${sorted[start]}-${sorted[end]}` : sorted.slice(start, end + 1).join(","))
    start = end + 1
  }
  return parts.join(",")
}

/**
 * A results table in one narrow cell: the first result metric of its baseline row, else of its
 * first row (`pipeline results <run>` prints them all).
 */
export const resultsCell = (table: Results.Table | undefined): string => {
  const row = table?.rows.find((r) => r.baseline) ?? table?.rows[0]
  const metric = table?.metrics.find((m) => row?.metrics[m] !== undefined)
  return row === undefined || metric === undefined ? "-" : `${metric} ${formatInterval(row.metrics[metric]!)}`
}

const lsHeader = ["run", "pipeline", "age", "status", "seeds", "ran", "cached", "failed", "results", "file"]

/**
 * How `ls` fits a narrow terminal: the file, pipeline and status are cut (a status no further
 * than `interrupted`, the longest), then the file, then the results are left out (a cut number
 * would mislead).
 */
const lsFit: Text.Fit = { shrink: [[9, 4], [1, 8], [3, 12]], drop: [9, 8] }

/** A run as `ls` lists it at time `now` (ms since the epoch): its table cells, given its seeds and results. */
export const lsRow = (run: RunEntry, seeds: ReadonlyArray<number> | undefined, results: Results.Table | undefined, now: number): Array<string> => [
  String(run.id),
  run.pipeline,
  Text.age(now - Date.parse(run.startedAt)),
  run.replayOf === null ? run.status : `${run.status} (replayed run ${run.replayOf})`,
  seeds === undefined ? "-" : formatSeeds(seeds),
  String(run.ran),
  String(run.cached),
  String(run.failed),
  resultsCell(results),
  run.file
]

/** The width `ls` fits its table to: the terminal's, or `$COLUMNS`; unbounded when neither is known (output to a file). */
const lsWidth = (console: Console): number =>
  console.out.isTTY === true || process.env["COLUMNS"] !== undefined ? Text.widthOf(console.out, process.env["COLUMNS"]) : Number.POSITIVE_INFINITY

export const lsCommand = (values: Values, root: string, console: Console) =>
  Effect.gen(function*() {
    const limit = yield* positiveInt("limit", values["limit"] as string | undefined, 20)
    const runLog = yield* RunLog
    const runs = yield* Effect.forEach(yield* runLog.runs(limit), (run) =>
      Effect.gen(function*() {
        const kept = yield* runLog.resultsOf(run.id)
        const seeds = seedsOfArgv(run.argv) ?? seedsOfCoords((yield* runLog.nodesOf(run.id)).map((node) => node.coords))
        return { run, seeds, results: kept === undefined ? undefined : ResultsJson.fromJson(kept) }
      }))
    if (values["json"] === true) {
      const lines = runs.map(({ results, run, seeds }) => `${JSON.stringify({ ...run, seeds: seeds ?? null, results: results ?? null })}\n`)
      console.out.write(lines.join(""))
      return 0
    }
    if (runs.length === 0) {
      console.out.write("no runs yet\n")
      return 0
    }
    const now = Date.now()
    const rows = runs.map(({ results, run, seeds }) => lsRow(run, seeds, results, now))
    console.out.write(`${Text.fitTable([lsHeader, ...rows], lsWidth(console), lsFit)}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))

/** Why run `id` cannot be forgotten now, if it cannot: it is not logged, or it is still in progress. */
export const refusal = (id: number, run: RunEntry | undefined, host: string): string | undefined => {
  if (run === undefined) return `no run ${id} (pipeline ls lists them)`
  if (run.status !== "running") return undefined
  return run.host === host || run.host === null
    ? `run ${id} is still running${run.pid === null ? "" : ` (pid ${run.pid})`}`
    : `run ${id} is running on ${run.host}${run.pid === null ? "" : ` (pid ${run.pid})`}, which cannot be checked from here: remove it from there once it has ended`
}

/**
 * The runs `gc --keep-last N` forgets: all but the newest `keep` of `runs` (newest first, as the
 * run log lists them), except runs still in progress.
 */
export const beyondLast = (runs: ReadonlyArray<RunEntry>, keep: number): Array<number> =>
  runs.slice(keep).filter((run) => run.status !== "running").map((run) => run.id)

/** A run id as given on the command line. */
const runId = (text: string) =>
  /^[1-9]\d*$/.test(text)
    ? Effect.succeed(Number(text))
    : Effect.fail(new ConfigError({ reason: `pipeline runs rm: "${text}" is not a run id (a positive integer, as pipeline ls lists them)` }))

/** `pipeline runs rm <id>...`: forget those runs, or none when one of them cannot be. */
export const runsCommand = (values: Values, ids: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    const runLog = yield* RunLog
    const wanted = [...new Set(yield* Effect.forEach(ids, runId))]
    const runs = yield* Effect.forEach(wanted, (id) => runLog.run(id))
    const refused = wanted.flatMap((id, i) => refusal(id, runs[i], thisHost) ?? [])
    if (refused.length > 0) {
      return yield* new ConfigError({ reason: `pipeline runs rm: ${refused.join("; ")}; nothing was removed from ${root}` })
    }
    yield* runLog.forget(wanted)
    if (values["json"] === true) {
      console.out.write(`${JSON.stringify({ removed: wanted })}\n`)
      return 0
    }
    const lines = runs.flatMap((run) => run === undefined ? [] : [`removed run ${run.id} (${run.pipeline}, ${run.startedAt}, ${run.status})`])
    console.out.write(`${[...lines, "run `pipeline gc` to remove what only these runs referred to"].join("\n")}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))

/**
 * What gc is told about the run log, read once, after the store is listed (ArtifactStore.gc):
 * while a run is in progress it may be about to log any key as a cache hit, so no forgotten
 * key's record goes then.
 */
const referencesOf = (runLog: RunLog["Service"]) => Effect.gen(function*() {
  const inProgress = (yield* runLog.runs(allRuns)).filter((run) => run.status === "running").map((run) => run.id)
  const forgotten = yield* runLog.forgottenKeys()
  return {
    inProgress,
    pending: inProgress.length > 0 ? forgotten.size : 0,
    references: { hashes: yield* runLog.referencedHashes(), forgotten: inProgress.length > 0 ? new Set<string>() : forgotten }
  }
})

export const gcCommand = (values: Values, root: string, console: Console) =>
  Effect.gen(function*() {
    const keepLast = values["keep-last"] === undefined ? undefined : yield* positiveInt("keep-last", values["keep-last"] as string, 0)
    const store = yield* ArtifactStore
    const runLog = yield* RunLog
    const forgottenRuns = keepLast === undefined ? [] : beyondLast(yield* runLog.runs(allRuns), keepLast)
    if (forgottenRuns.length > 0) yield* runLog.forget(forgottenRuns)
    const read = yield* Effect.cached(referencesOf(runLog))
    const removed = yield* store.gc(Effect.map(read, (r) => r.references), { checkpoints: values["checkpoints"] === true })
    const { inProgress, pending, references } = yield* read
    // a forgotten key whose record gc spared (written in the last minute, or being computed) stays forgotten
    const settled = yield* Effect.filter([...references.forgotten], (key) => Effect.map(store.lookup(key), (record) => record === undefined))
    if (settled.length > 0) yield* runLog.settleForgotten(settled)
    if (values["json"] === true) {
      console.out.write(`${JSON.stringify({ forgottenRuns, ...removed, inProgress })}\n`)
      return 0
    }
    const lines = [
      ...(forgottenRuns.length === 0 ? [] : [`forgot ${Text.count(forgottenRuns.length, "run")} (${forgottenRuns.join(", ")}), keeping the newest ${keepLast}`]),
      `removed ${Text.count(removed.keyRecords, "key record")}, ${Text.count(removed.objects, "unreferenced object")} (${removed.bytes} bytes), ${
        Text.count(removed.logs, "node log")
      } (${removed.logBytes} bytes) and ${Text.count(removed.checkpoints, "checkpoint")} (${removed.checkpointBytes} bytes) from ${store.root}`,
      ...(pending === 0 ? [] : [
        `kept the key records of forgotten runs: ${inProgress.length === 1 ? "run" : "runs"} ${inProgress.join(", ")} ${
          inProgress.length === 1 ? "is" : "are"
        } in progress and may use them (pipeline gc removes them once no run is)`
      ])
    ]
    console.out.write(`${lines.join("\n")}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))
