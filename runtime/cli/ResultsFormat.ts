/**
 * A results table (Results.ts) as text: aligned columns for the terminal, Markdown for
 * docs, CSV with every bound in its own column, or the table as JSON. One table per
 * output node name, one row per cell and split; a metric reads `mean ± half-width` over
 * seeds and `Δ name` reads the difference from the baseline cell with its half-width (the
 * difference alone where a cell has one seed: no spread to estimate).
 */
import type { Json } from "../../dsl/Artifact.ts"
import type * as Results from "../Results.ts"
import type * as Statistics from "../Statistics.ts"
import { csvField } from "./Export.ts"
import { table } from "./Text.ts"

export const formats = ["table", "md", "csv", "json"] as const
export type Format = (typeof formats)[number]

/**
 * What counts as rounding noise around values of size `scale`: a millionth of it. Metrics are often
 * computed in float32 (tensors), which keeps about 7 significant digits, so seeds that give the same
 * value up to its last bits (best-of-n's analytic KL, say) differ by ~1e-8 of it, not by nothing.
 */
const noiseAt = (scale: number): number => 1e-6 * scale

/** An interval's half-width; rounding noise around a constant counts as zero. */
const halfWidth = (interval: Statistics.Interval, scale: number): number => {
  const half = (interval.high - interval.low) / 2
  return half <= noiseAt(scale) ? 0 : half
}

/** Decimals that show an interval's half-width to two significant digits (4 significant digits of `scale` without one). */
const decimalsFor = (half: number, scale: number): number => {
  const digits = Number.isFinite(half) && half > 0 ? 2 : 4
  const of = Number.isFinite(half) && half > 0 ? half : scale
  if (!(of > 0)) return 0
  return Math.min(8, Math.max(0, digits - 1 - Math.floor(Math.log10(of))))
}

/**
 * `0.757 ± 0.089` (or the mean alone from one seed); `signed` writes `+` before a positive mean.
 * `scale`: the size of the values the interval is about (a difference's: that of the values
 * compared), below a millionth of which a mean or half-width is rounding noise, shown as 0.
 */
export const formatInterval = (interval: Statistics.Interval, signed = false, scale = Math.abs(interval.mean)): string => {
  const half = halfWidth(interval, scale)
  const mean = half === 0 && Math.abs(interval.mean) <= noiseAt(scale) ? 0 : interval.mean
  const decimals = decimalsFor(half, Math.abs(mean))
  const text = `${signed && mean > 0 ? "+" : ""}${mean.toFixed(decimals)}`
  return half === 0 ? `${text} ± 0` : Number.isFinite(half) ? `${text} ± ${half.toFixed(decimals)}` : text
}

/** A factor's value in a cell of text. */
export const factorText = (value: Json | undefined): string =>
  value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value)

/** The columns the rows of one output show: the factors and metrics they have, and a split when one reports one. */
export const columnsOf = (
  rows: ReadonlyArray<{ readonly factors: Readonly<Record<string, Json>>; readonly split: string; readonly metrics: Readonly<Record<string, unknown>> }>,
  names: { readonly factors: ReadonlyArray<string>; readonly metrics: ReadonlyArray<string> }
) => ({
  factors: names.factors.filter((f) => rows.some((r) => f in r.factors)),
  metrics: names.metrics.filter((m) => rows.some((r) => m in r.metrics)),
  showSplit: rows.some((r) => r.split !== "")
})

/** The rows of one output as cells of text, with its header first. */
export const textRows = (results: Results.Table, output: string): Array<Array<string>> => {
  const rows = results.rows.filter((r) => r.output === output)
  const { factors, metrics, showSplit } = columnsOf(rows, results)
  const withDelta = (metric: string) => rows.some((r) => r.metrics[metric]?.delta !== undefined)
  const header = [
    ...factors,
    ...(showSplit ? ["split"] : []),
    "n",
    ...metrics.flatMap((m) => [m, ...(withDelta(m) ? [`Δ ${m}`] : [])])
  ]
  const body = rows.map((row) => [
    ...factors.map((f) => factorText(row.factors[f])),
    ...(showSplit ? [row.split] : []),
    `${row.seeds}${row.baseline ? " (baseline)" : ""}`,
    ...metrics.flatMap((m) => {
      const cell = row.metrics[m]
      const value = cell === undefined ? "" : formatInterval(cell)
      if (!withDelta(m)) return [value]
      return [value, cell?.delta === undefined ? (row.baseline ? "—" : "") : formatInterval(cell.delta, true, Math.abs(cell.mean))]
    })
  ])
  return [header, ...body]
}

/** The output names of a table, in first-seen order. */
export const outputsOf = (results: Results.Table): Array<string> => [...new Set(results.rows.map((r) => r.output))]

const csv = (results: Results.Table): string => {
  const bounds = (prefix: string) => [`${prefix}mean`, `${prefix}low`, `${prefix}high`]
  const header = [
    "output",
    ...results.factors,
    "split",
    "seeds",
    "baseline",
    ...results.metrics.flatMap((m) => [...bounds(`${m}_`), `${m}_n`, ...bounds(`${m}_delta_`)])
  ]
  const number = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "" : String(x))
  const lines = results.rows.map((row) => [
    row.output,
    ...results.factors.map((f) => factorText(row.factors[f])),
    row.split,
    String(row.seeds),
    String(row.baseline),
    ...results.metrics.flatMap((m) => {
      const cell = row.metrics[m]
      return [cell?.mean, cell?.low, cell?.high, cell?.n, cell?.delta?.mean, cell?.delta?.low, cell?.delta?.high].map(number)
    })
  ])
  return [header, ...lines].map((line) => line.map(csvField).join(",")).join("\n")
}

/** Rows of text (the header first) as a Markdown table. */
export const markdown = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const escape = (cell: string) => cell.replaceAll("|", "\\|")
  const [header, ...body] = rows
  return [
    `| ${header!.map(escape).join(" | ")} |`,
    `| ${header!.map(() => "---").join(" | ")} |`,
    ...body.map((row) => `| ${row.map(escape).join(" | ")} |`)
  ].join("\n")
}

/** The results table in `format` (without a trailing newline); an empty string when it has no rows. */
export const render = (results: Results.Table, format: Format): string => {
  if (format === "json") return JSON.stringify(results)
  if (results.rows.length === 0) return ""
  if (format === "csv") return csv(results)
  return perOutput(outputsOf(results), (output) => textRows(results, output), format === "md")
}

/** One table per output (aligned columns, or Markdown with `md`), titled when there are several or in Markdown. */
export const perOutput = (outputs: ReadonlyArray<string>, rowsOf: (output: string) => ReadonlyArray<ReadonlyArray<string>>, md: boolean): string =>
  outputs
    .map((output) => {
      const rows = rowsOf(output)
      const title = outputs.length > 1 || md ? `${md ? "### " : ""}${output}\n\n` : ""
      return `${title}${md ? markdown(rows) : table(rows)}`
    })
    .join("\n\n")
