/**
 * Artifacts and metrics as text for `pipeline cat` and `pipeline metrics`: table rows as
 * CSV (one column per field, arrays and objects as JSON) or JSON, models as a summary of
 * their tensors, a per-step metric history as a table with one column per metric, and each
 * metric in brief, with a sparkline, for `pipeline show`. Pure: the commands read the store.
 */
import type { Json, ModelValue } from "../../dsl/Artifact.ts"
import type * as MetricHistory from "../MetricHistory.ts"
import { table } from "./Text.ts"

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
export const csvField = (value: string | number): string => {
  const text = String(value)
  return /[",\n\r]/.test(text) ? `"${text.replaceAll(`"`, `""`)}"` : text
}

/** JSON.stringify's replacer for decoded rows: typed arrays as arrays of numbers. */
const plainArrays = (_: string, value: unknown): unknown => (ArrayBuffer.isView(value) ? Array.from(value as Float64Array) : value)

const cellText = (value: unknown): string =>
  value === null || value === undefined
    ? ""
    : typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean" || typeof value === "bigint"
    ? String(value)
    : JSON.stringify(value, plainArrays)

/** A header and rows of cells as CSV (no trailing newline); numbers keep every digit, absent cells are empty. */
export const csvTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>): string =>
  [header.map(csvField).join(","), ...rows.map((row) => row.map((cell) => csvField(cellText(cell))).join(","))].join("\n")

/** Rows as CSV with a header of `columns` (default: every field, in first-seen order). */
export const csv = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>, columns?: ReadonlyArray<string>): string => {
  const header = columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))]
  return csvTable(header, rows.map((row) => header.map((column) => row[column])))
}

/**
 * `value` as JSON whose outer `levels` of arrays and objects put each member on its own
 * indented line, and whose deeper values are each one line: rows one per line (`levels` 1),
 * a summary with its lists one item per line (2). Typed arrays are arrays of numbers.
 */
export const layeredJson = (value: unknown, levels: number, indent = ""): string => {
  const plain = ArrayBuffer.isView(value) ? Array.from(value as Float64Array) : value
  const members = Array.isArray(plain)
    ? plain.map((item) => ["", item] as const)
    : typeof plain === "object" && plain !== null
    ? Object.entries(plain).filter(([, v]) => v !== undefined).map(([k, v]) => [`${JSON.stringify(k)}: `, v] as const)
    : []
  if (levels === 0 || members.length === 0) return JSON.stringify(plain, plainArrays) ?? "null"
  const inner = `${indent}  `
  const lines = members.map(([key, v]) => `${inner}${key}${layeredJson(v, levels - 1, inner)}`).join(",\n")
  return Array.isArray(plain) ? `[\n${lines}\n${indent}]` : `{\n${lines}\n${indent}}`
}

/** What `pipeline cat` shows of a model: its config and each tensor's shape and size, not its weights. */
export interface ModelSummary {
  readonly type: string
  readonly config: { readonly [key: string]: Json }
  readonly tensors: ReadonlyArray<{ readonly name: string; readonly shape: ReadonlyArray<number>; readonly params: number }>
  /** the number of values in all its tensors */
  readonly params: number
}

/** The summary of a model of artifact type `type`, tensors in name order. */
export const modelSummary = (type: string, model: ModelValue): ModelSummary => {
  const tensors = Object.entries(model.tensors)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, tensor]) => ({ name, shape: tensor.shape, params: tensor.data.length }))
  return { type, config: model.config, tensors, params: tensors.reduce((sum, t) => sum + t.params, 0) }
}

const ticks = "▁▂▃▄▅▆▇█"

/**
 * Values as a sparkline of at most `width` characters: buckets of consecutive values
 * averaged, the lowest mean drawn ▁ and the highest █ (all ▄ when they are equal). A bucket
 * holding a value that is not finite (a NaN loss) is a blank.
 */
export const sparkline = (values: ReadonlyArray<number>, width = 24): string => {
  const buckets = Math.min(width, values.length)
  const means = Array.from({ length: buckets }, (_, b) => {
    const slice = values.slice(Math.floor((b * values.length) / buckets), Math.floor(((b + 1) * values.length) / buckets))
    return slice.reduce((s, v) => s + v, 0) / slice.length
  })
  const finite = means.filter(Number.isFinite)
  const min = finite.reduce((a, b) => Math.min(a, b), Infinity)
  const max = finite.reduce((a, b) => Math.max(a, b), -Infinity)
  return means
    .map((v) => !Number.isFinite(v) ? " " : ticks[max === min ? 3 : Math.round(((v - min) / (max - min)) * (ticks.length - 1))])
    .join("")
}

/** One metric's history in brief, as `pipeline show` prints it (and gives with `--json`). */
export interface MetricSummary {
  readonly name: string
  readonly points: number
  readonly first: MetricHistory.Point
  readonly last: MetricHistory.Point
  /** the lowest and highest finite values, at the first step reaching them (none when no value is finite) */
  readonly min: MetricHistory.Point | undefined
  readonly max: MetricHistory.Point | undefined
  readonly sparkline: string
}

/** The point of `points` whose finite value `better` prefers to every earlier one. */
const extreme = (points: ReadonlyArray<MetricHistory.Point>, better: (a: number, b: number) => boolean) =>
  points.reduce<MetricHistory.Point | undefined>(
    (best, p) => (Number.isFinite(p.value) && (best === undefined || better(p.value, best.value)) ? p : best),
    undefined
  )

/** Each metric's summary; a metric needs at least one point. */
export const metricSummaries = (series: ReadonlyArray<MetricHistory.Series>): Array<MetricSummary> =>
  series.filter((s) => s.points.length > 0).map(({ name, points }) => ({
    name,
    points: points.length,
    first: points[0]!,
    last: points.at(-1)!,
    min: extreme(points, (a, b) => a < b),
    max: extreme(points, (a, b) => a > b),
    sparkline: sparkline(points.map((p) => p.value))
  }))

const short = (value: number): string => (Number.isInteger(value) ? String(value) : value.toPrecision(4))

/** A summary as one line: its sparkline, first → last value, min and max with their steps, and how many points. */
export const summaryText = (s: MetricSummary): string => {
  if (s.points === 1) return `${short(s.first.value)} (step ${s.first.step})`
  const at = (label: string, p: MetricHistory.Point | undefined) => (p === undefined ? "" : `  ${label} ${short(p.value)} @${p.step}`)
  return `${s.sparkline}  ${short(s.first.value)} → ${short(s.last.value)}${at("min", s.min)}${at("max", s.max)}  (${s.points} points, steps ${s.first.step}–${s.last.step})`
}

/**
 * A metric history as rows: one per step any metric was recorded at, in step order, with the
 * value of each metric at that step (undefined where it has none; the last, where a metric
 * was recorded twice at one step).
 */
export const historyRows = (series: ReadonlyArray<MetricHistory.Series>): Array<{ readonly step: number; readonly values: Array<number | undefined> }> => {
  const byStep = new Map<number, Array<number | undefined>>()
  series.forEach(({ points }, column) => {
    for (const { step, value } of points) {
      const values = byStep.get(step) ?? Array.from({ length: series.length }, () => undefined)
      values[column] = value
      byStep.set(step, values)
    }
  })
  return [...byStep].sort(([a], [b]) => a - b).map(([step, values]) => ({ step, values }))
}

/** The formats `pipeline metrics` prints. */
export const historyFormats = ["table", "csv", "json"] as const
export type HistoryFormat = (typeof historyFormats)[number]

/**
 * A metric history in `format` (no trailing newline): `table` and `csv` have a `step` column
 * then one per metric (the table rounds to 4 significant digits, CSV keeps every digit);
 * `json` is `{"<metric>": [{"step", "value"}, …], …}` with every point.
 */
export const history = (series: ReadonlyArray<MetricHistory.Series>, format: HistoryFormat): string => {
  if (format === "json") return JSON.stringify(Object.fromEntries(series.map(({ name, points }) => [name, points])))
  const header = ["step", ...series.map((s) => s.name)]
  const rows = historyRows(series)
  return format === "csv"
    ? csvTable(header, rows.map(({ step, values }) => [step, ...values]))
    : table([header, ...rows.map(({ step, values }) => [String(step), ...values.map((v) => (v === undefined ? "" : short(v)))])])
}
