/**
 * Artifacts and metrics as text for `pipeline cat` and `pipeline metrics`: table rows as
 * CSV (one column per field, arrays and objects as JSON) or JSON, and per-step metrics as
 * a compact summary with a sparkline for `pipeline show`.
 */

/** A CSV field, quoted when it holds a comma, a quote or a line break. */
export const csvField = (value: string | number): string => {
  const text = String(value)
  return /[",\n\r]/.test(text) ? `"${text.replaceAll(`"`, `""`)}"` : text
}

const cellText = (value: unknown): string =>
  value === null || value === undefined
    ? ""
    : typeof value === "string"
    ? value
    : typeof value === "number" || typeof value === "boolean" || typeof value === "bigint"
    ? String(value)
    : JSON.stringify(value, (_, v: unknown) => (ArrayBuffer.isView(v) ? Array.from(v as Float32Array) : v))

/** Rows as CSV with a header of every field, in first-seen order (no trailing newline). */
export const csv = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): string => {
  const columns: Array<string> = []
  for (const row of rows) for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key)
  return [columns.map(csvField).join(","), ...rows.map((row) => columns.map((c) => csvField(cellText(row[c]))).join(","))].join("\n")
}

const ticks = "▁▂▃▄▅▆▇█"

/** Values as a sparkline of at most `width` characters (buckets averaged; min to max over the ticks). */
export const sparkline = (values: ReadonlyArray<number>, width = 24): string => {
  if (values.length === 0) return ""
  const buckets = Math.min(width, values.length)
  const means = Array.from({ length: buckets }, (_, b) => {
    const slice = values.slice(Math.floor((b * values.length) / buckets), Math.floor(((b + 1) * values.length) / buckets))
    return slice.reduce((s, v) => s + v, 0) / slice.length
  })
  const min = Math.min(...means)
  const max = Math.max(...means)
  return means.map((v) => ticks[max === min ? 3 : Math.round(((v - min) / (max - min)) * (ticks.length - 1))]).join("")
}

/** A per-step metric row, as nodes record them. */
export interface MetricRow {
  readonly step: number
  readonly name: string
  readonly value: number
}

const short = (value: number): string => (Number.isInteger(value) ? String(value) : value.toPrecision(4))

/** One line per metric: its sparkline, first → last value, min and max with their steps, and how many points. */
export const metricSummaries = (rows: ReadonlyArray<MetricRow>): Array<{ readonly name: string; readonly text: string }> => {
  const byName = new Map<string, Array<MetricRow>>()
  for (const row of rows) byName.set(row.name, [...(byName.get(row.name) ?? []), row])
  return [...byName].map(([name, points]) => {
    const sorted = [...points].sort((a, b) => a.step - b.step)
    const values = sorted.map((p) => p.value)
    if (sorted.length === 1) return { name, text: `${short(values[0]!)} (step ${sorted[0]!.step})` }
    const at = (value: number) => sorted.find((p) => p.value === value)!.step
    const min = Math.min(...values)
    const max = Math.max(...values)
    return {
      name,
      text: `${sparkline(values)}  ${short(values[0]!)} → ${short(values.at(-1)!)}  min ${short(min)} @${at(min)}  max ${short(max)} @${at(max)}  (${sorted.length} points, steps ${sorted[0]!.step}–${sorted.at(-1)!.step})`
    }
  })
}
