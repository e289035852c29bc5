/**
 * `pipeline metrics` and `pipeline cat`: a node's per-step metrics in full, and a stored
 * artifact exported readably (a table as CSV or JSON, or its Parquet bytes; a model as a
 * summary of its tensors); and what `pipeline show` says of a node's per-step metrics.
 * Both print to stdout or, with `-o FILE`, write the file whole or not at all.
 */
import * as Effect from "effect/Effect"
import * as Result from "effect/Result"
import * as path from "node:path"
import { ArtifactStore, type ObjectRef } from "../ArtifactStore.ts"
import { ConfigError, CorruptObject, reasonOf } from "../Errors.ts"
import * as ModelCodec from "../internal/ModelCodec.ts"
import { layout } from "../internal/StoreLayout.ts"
import * as MetricHistory from "../MetricHistory.ts"
import type { NodeRecord } from "../RunLog.ts"
import * as TableCodec from "../TableCodec.ts"
import * as Export from "./Export.ts"
import type { Console } from "./main.ts"
import * as NodeLookup from "./NodeLookup.ts"
import type { Values } from "./Options.ts"
import { formatOf, storeLayers, writeOutput } from "./Selection.ts"
import { shortHash } from "./Summary.ts"

/** A node label as typed in a shell: quoted when it holds anything but letters, digits and `_./-`. */
const shellWord = (label: string): string => (/^[\w./-]+$/.test(label) ? label : `'${label.replaceAll("'", `'\\''`)}'`)

/** The metrics object of a node entry: the one its run recorded, else its key record's. */
const metricsHashOf = (entry: NodeRecord) =>
  Effect.gen(function*() {
    if (entry.metricsHash !== undefined || entry.key === undefined) return entry.metricsHash
    return (yield* (yield* ArtifactStore).lookup(entry.key))?.metrics.hash
  })

/** What `pipeline show` says of a node's per-step metrics: the file they are stored in, and each metric in brief. */
export interface HistoryShown {
  readonly file: string
  readonly summaries: ReadonlyArray<Export.MetricSummary>
  /** why the file could not be read, when it could not (show still shows the rest) */
  readonly problem?: string
}

/** The per-step metrics of a node entry as `show` shows them; undefined when it recorded none (it failed). */
export const historyShown = (entry: NodeRecord) =>
  Effect.gen(function*() {
    const hash = yield* metricsHashOf(entry)
    if (hash === undefined) return undefined
    const file = layout((yield* ArtifactStore).root).objectPath(hash)
    const rows = yield* Effect.result(MetricHistory.read(hash))
    return Result.isSuccess(rows)
      ? { file, summaries: Export.metricSummaries(MetricHistory.series(rows.success)) }
      : { file, summaries: [], problem: reasonOf(rows.failure) } satisfies HistoryShown
  })

/** `show`'s lines for a node's per-step metrics: one per metric recorded at more than one step, then the file. */
export const historyLines = (shown: HistoryShown, label: string, indent: string): Array<string> => {
  const series = shown.summaries.filter((s) => s.points > 1)
  const width = Math.max(0, ...series.map((s) => s.name.length))
  return [
    ...series.map((s) => `${indent}${s.name.padEnd(width)}  ${Export.summaryText(s)}`),
    `${indent}${shown.file}${
      shown.problem === undefined ? `  (every step: pipeline metrics ${shellWord(label)})` : `  (unreadable: ${shown.problem})`
    }`
  ]
}

/**
 * Print `content` (text gets a final newline), or write it to the file `-o` names, whole or not
 * at all, and say so. Binary content is not written to a terminal.
 */
const emit = (values: Values, console: Console, content: string | Uint8Array, what: string) =>
  Effect.gen(function*() {
    const output = values["output"]
    const bytes = typeof content === "string" ? new TextEncoder().encode(`${content}\n`) : content
    if (typeof output === "string") {
      const file = yield* writeOutput(output, bytes)
      console.out.write(`wrote ${path.relative(process.cwd(), file) || file}: ${what} (${bytes.length} bytes)\n`)
    } else if (typeof content === "string") {
      console.out.write(`${content}\n`)
    } else if (console.out.isTTY === true || console.out.writeBytes === undefined) {
      return yield* new ConfigError({ flag: "--format", reason: `${what} is binary: write it to a file with -o FILE (or redirect stdout to one)` })
    } else {
      console.out.writeBytes(bytes)
    }
    return 0
  })

/** `pipeline metrics <node>`: every step of the node's per-step metrics, in `--format` (Export.history). */
export const metricsCommand = (values: Values, query: string, root: string, console: Console) =>
  Effect.gen(function*() {
    const format = yield* formatOf(values, "metrics", Export.historyFormats, "table")
    const entry = yield* NodeLookup.entryOf("metrics", query)
    const hash = yield* metricsHashOf(entry)
    const series = hash === undefined ? [] : MetricHistory.series(yield* MetricHistory.read(hash))
    if (series.length === 0) {
      return yield* new ConfigError({
        reason: `pipeline metrics: node "${entry.label}" (run ${entry.runId}, ${entry.status}) recorded no per-step metrics${
          entry.status === "failed"
            ? `: it failed (pipeline show ${shellWord(entry.label)} says why)`
            : ` (pipeline cat ${shellWord(entry.label)} exports its output)`
        }`
      })
    }
    const steps = new Set(series.flatMap((s) => s.points.map((p) => p.step))).size
    return yield* emit(values, console, Export.history(series, format), `${series.length} metrics of ${entry.label} over ${steps} steps`)
  }).pipe(Effect.provide(storeLayers(root)))

/** The formats `pipeline cat` exports a table in; a model is exported as `json` only. */
const catFormats = ["csv", "json", "parquet"] as const

/**
 * The stored object `query` names: the output of the node it names (see NodeLookup), else an
 * object any key record names (a node's output or its metrics table) by hash prefix.
 */
const objectOf = (query: string) =>
  Effect.gen(function*() {
    const store = yield* ArtifactStore
    const entry = yield* NodeLookup.latestEntry(query)
    if (entry !== undefined) {
      const record = entry.key === undefined ? undefined : yield* store.lookup(entry.key)
      if (record !== undefined) return { ref: record.output, name: entry.label }
      return yield* new ConfigError({
        reason: `pipeline cat: node "${entry.label}" (run ${entry.runId}) has no stored output: ${
          entry.status === "failed"
            ? `it failed (pipeline show ${shellWord(entry.label)} says why)`
            : "its key record is gone (removed by gc or fsck --repair); run its pipeline again to recompute it"
        }`
      })
    }
    const refs = new Map<string, ObjectRef>()
    for (const record of (yield* store.keys()).values()) {
      for (const ref of [record.output, record.metrics]) if (ref.hash.startsWith(query)) refs.set(ref.hash, ref)
    }
    const [only, ...others] = refs.values()
    if (only !== undefined && others.length === 0) return { ref: only, name: `object ${shortHash(only.hash)}` }
    if (only !== undefined) {
      return yield* new ConfigError({
        reason: `pipeline cat: "${query}" begins the hashes of ${refs.size} objects (${[...refs.keys()].slice(0, 4).map(shortHash).join(", ")}…): give more of it`
      })
    }
    return yield* NodeLookup.notFound("cat", query)
  })

/** Bytes that hash to their name but do not decode as their format. */
const undecodable = (ref: ObjectRef, root: string) => (error: unknown) =>
  new CorruptObject({ hash: ref.hash, path: layout(root).objectPath(ref.hash), reason: `not a readable ${ref.type} ${ref.format}: ${reasonOf(error)}` })

/** `pipeline cat <node|hash>`: the object exported in `--format` (a table: csv by default; a model: json). */
export const catCommand = (values: Values, query: string, root: string, console: Console) =>
  Effect.gen(function*() {
    // checked before anything is read: a model takes `json` only, and a table has csv by default
    const given = yield* formatOf(values, "cat", catFormats, undefined)
    const store = yield* ArtifactStore
    const { ref, name } = yield* objectOf(query)
    const bytes = yield* store.read(ref.hash)
    const decode = <A>(f: () => A) => Effect.try({ try: f, catch: undecodable(ref, store.root) })
    if (ref.format === "model") {
      if (given !== undefined && given !== "json") {
        return yield* new ConfigError({
          flag: "--format",
          reason: `${name} is a ${ref.type} model (safetensors), which pipeline cat exports as json only: its config and each tensor's shape and size`
        })
      }
      const summary = yield* decode(() => Export.modelSummary(ref.type, ModelCodec.decode(bytes)))
      return yield* emit(values, console, Export.layeredJson(summary, 2), `a summary of ${name} (${ref.type}, ${summary.params} params)`)
    }
    const format = given ?? "csv"
    if (format === "parquet") return yield* emit(values, console, bytes, `${name} (${ref.type}) as Parquet`)
    const { columns, rows } = yield* decode(() => TableCodec.decodeStored(bytes))
    const text = format === "csv" ? Export.csv(rows, columns) : Export.layeredJson(rows, 1)
    return yield* emit(values, console, text, `${rows.length} rows of ${name} (${ref.type}) as ${format}`)
  }).pipe(Effect.provide(storeLayers(root)))
