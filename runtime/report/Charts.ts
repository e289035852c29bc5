/**
 * The charts of a run's report, as Vega-Lite specs (rendered to SVG by Report.ts):
 *  - each result metric against the sweep factor with the most values, one line per
 *    combination of the other factors (a cell shared by every value of one is on each of
 *    their lines), the mean over seeds with its 95% interval as bars;
 *  - the reward–KL frontier, where an output reports gold reward, KL and proxy reward
 *    (Gao et al., 2022, https://arxiv.org/abs/2210.10760): gold reward with its interval bars
 *    against KL and, in a panel below on its own scale, proxy reward against KL (a learned
 *    reward's offset is arbitrary, so one axis for both squeezes the gold), one frontier per
 *    combination of the other factors;
 *  - training curves: each per-step metric of a node name, mean over seeds per step with
 *    its 95% band, one line per cell.
 * Pure: specs carry their data inline, so a spec is all a renderer needs.
 */
import type { Json } from "../../dsl/Artifact.ts"
import * as Results from "../Results.ts"
import * as Statistics from "../Statistics.ts"

/** A Vega-Lite spec (JSON). */
export type Spec = { readonly [key: string]: Json }

/** A chart: its title and spec. */
export interface Chart {
  readonly title: string
  readonly spec: Spec
}

/** One seed's per-step values of one metric of one node. */
export interface Curve {
  /** the node's name (its label without the cell) */
  readonly node: string
  /** its sweep factors (no seed) */
  readonly factors: Readonly<Record<string, Json>>
  readonly seed: number
  readonly metric: string
  readonly points: ReadonlyArray<{ readonly step: number; readonly value: number }>
}

const schema = "https://vega.github.io/schema/vega-lite/v6.json"
const width = 360
const height = 220

/** Legend labels in full: a cell's name (`responses=8, sftWeight=0.3`) is what tells its line apart. */
const config = { legend: { labelLimit: 0 } }

/** A chart of `values` drawn by `layer`s, at the report's size. */
const chart = (title: string, values: ReadonlyArray<{ readonly [field: string]: Json }>, layer: ReadonlyArray<Spec>): Chart => ({
  title,
  spec: { $schema: schema, config, width, height, data: { values }, layer }
})

/** The colour of one line per cell, named in full in the legend (Vega-Lite cuts labels at 160 px). */
const cellColor = (field: string): Spec => ({ field, type: "nominal", title: "cell", legend: { labelLimit: 480 } })

/** Interval bars from each point's `low` to its `high`, capped by 10-px ticks (on a text axis they would span its band). */
const intervalBars = (x: Spec, title: string, color: Spec): Spec => ({
  mark: { type: "errorbar", ticks: { size: 10 } },
  encoding: { x, y: { field: "low", type: "quantitative", title }, y2: { field: "high" }, color }
})

const factorValue = (value: Json | undefined): string => (typeof value === "string" ? value : JSON.stringify(value ?? null))

/** `beta=0.1, labels=100` for a cell (its factors in order, except `skip`); "all" with none. */
export const cellName = (factors: Readonly<Record<string, Json>>, skip: ReadonlyArray<string> = []): string =>
  Object.entries(factors)
    .filter(([key]) => !skip.includes(key))
    .map(([key, value]) => `${key}=${factorValue(value)}`)
    .join(", ") || "all"

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null)

/** The factor of `rows` with the most distinct values (the x axis), if any. */
const mainFactor = (rows: ReadonlyArray<Results.Row>, factors: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined
  let most = 1
  for (const factor of factors) {
    const count = new Set(rows.map((r) => factorValue(r.factors[factor]))).size
    if (count > most) {
      best = factor
      most = count
    }
  }
  return best
}

/**
 * A quantitative axis for numbers, else ordinal. Positive values spanning ≥ 20× are log-scaled,
 * and with a 0 among them symlog-scaled (log-like away from 0, linear near it: 0, 2, 10, 100).
 */
const axisOf = (field: string, title: string, values: ReadonlyArray<Json | undefined>): Spec => {
  const numbers = values.filter((v): v is number => typeof v === "number")
  if (numbers.length < values.length) return { field, type: "ordinal", title }
  const positive = numbers.filter((v) => v > 0)
  const spans = positive.length > 1 && Math.max(...positive) / Math.min(...positive) >= 20
  const scale = !spans ? undefined : positive.length === numbers.length ? "log" : Math.min(...numbers) === 0 ? "symlog" : undefined
  // symlog's own ticks are uneven: mark the factor's values instead
  const ticks = scale === "symlog" ? { axis: { values: [...new Set(numbers)].sort((a, b) => a - b) } } : {}
  return { field, type: "quantitative", title, ...(scale === undefined ? {} : { scale: { type: scale } }), ...ticks }
}

const seriesName = (row: Results.Row, x: string | undefined) => {
  const others = cellName(row.factors, x === undefined ? [] : [x])
  return row.split === "" ? others : others === "all" ? row.split : `${others} (${row.split})`
}

/**
 * The lines each of `rows` is drawn on: its own, or, for a cell shared by every value of a
 * factor (its coordinates leave the factor out: `demos=0` across `quality`), the line of each value.
 */
const linesOf = (rows: ReadonlyArray<Results.Row>, x: string): (row: Results.Row) => Array<string> => {
  const factors = [...new Set(rows.flatMap((r) => Object.keys(r.factors)))]
  // the rows with a coordinate on every factor: each names a line
  const full = rows.filter((r) => factors.every((f) => f in r.factors))
  return (row) => {
    const lines = full.filter((other) => other.split === row.split && Results.covers(row.factors, other.factors, (f) => f === x))
      .map((other) => seriesName(other, x))
    return lines.length === 0 ? [seriesName(row, x)] : [...new Set(lines)]
  }
}

/** Each result metric of each output against its main factor. */
export const metricCharts = (results: Results.Table): Array<Chart> => {
  const charts: Array<Chart> = []
  for (const output of new Set(results.rows.map((r) => r.output))) {
    const rows = results.rows.filter((r) => r.output === output)
    const x = mainFactor(rows, results.factors)
    if (x === undefined) continue
    const lines = linesOf(rows, x)
    for (const metric of results.metrics) {
      const points = rows.flatMap((row) => {
        const cell = row.metrics[metric]
        return cell === undefined ? [] : lines(row).map((series) => ({
          x: row.factors[x] ?? null,
          series,
          mean: cell.mean,
          low: finite(cell.low),
          high: finite(cell.high),
          n: cell.n
        }))
      })
      if (points.length === 0) continue
      const xAxis = axisOf("x", x, points.map((p) => p.x))
      const color = cellColor("series")
      charts.push(chart(`${output}: ${metric} by ${x}`, points, [
        { mark: { type: "line", point: true }, encoding: { x: xAxis, y: { field: "mean", type: "quantitative", title: metric, scale: { zero: false } }, color } },
        intervalBars(xAxis, metric, color)
      ]))
    }
  }
  return charts
}

/**
 * The reward–KL frontier of each output that reports gold reward and KL: gold against KL with
 * interval bars and, when the output reports proxy reward, proxy against KL in a panel below
 * with its own y scale.
 */
export const frontierCharts = (results: Results.Table): Array<Chart> => {
  const charts: Array<Chart> = []
  for (const output of new Set(results.rows.map((r) => r.output))) {
    const rows = results.rows.filter((r) => r.output === output && r.metrics["gold"] !== undefined && r.metrics["kl"] !== undefined)
    if (rows.length < 2) continue
    const x = mainFactor(rows, results.factors)
    const points = rows.flatMap((row) => {
      const kl = row.metrics["kl"]!.mean
      const gold = row.metrics["gold"]!
      const proxy = row.metrics["proxy"]
      const frontier = seriesName(row, x)
      return [
        { kl, reward: gold.mean, low: finite(gold.low), high: finite(gold.high), which: "gold", frontier },
        ...(proxy === undefined ? [] : [{ kl, reward: proxy.mean, low: null, high: null, which: "proxy", frontier }])
      ]
    })
    const color = cellColor("frontier")
    const xAxis = { field: "kl", type: "quantitative", title: "KL to the reference (nats)" }
    const panel = (which: "gold" | "proxy"): Spec => {
      const title = `${which} reward`
      return {
        width,
        height,
        transform: [{ filter: { field: "which", equal: which } }],
        layer: [
          { mark: { type: "line", point: true }, encoding: { x: xAxis, y: { field: "reward", type: "quantitative", title, scale: { zero: false } }, color, order: { field: "kl" } } },
          ...(which === "gold" ? [intervalBars(xAxis, title, color)] : [])
        ]
      }
    }
    const panels = points.some((p) => p.which === "proxy") ? [panel("gold"), panel("proxy")] : [panel("gold")]
    charts.push({ title: `${output}: reward–KL frontier`, spec: { $schema: schema, config, data: { values: points }, vconcat: panels } })
  }
  return charts
}

/** Training curves: each metric of each node name with more than one step, mean over seeds with a 95% band, one line per cell. */
export const curveCharts = (curves: ReadonlyArray<Curve>): Array<Chart> => {
  const groups = new Map<string, Array<Curve>>()
  for (const curve of curves) {
    if (curve.points.length < 2) continue
    const id = JSON.stringify([curve.node, curve.metric])
    groups.set(id, [...(groups.get(id) ?? []), curve])
  }
  const charts: Array<Chart> = []
  for (const group of groups.values()) {
    const { node, metric } = group[0]!
    const byCellStep = new Map<string, { cell: string; step: number; values: Array<number> }>()
    for (const curve of group) {
      const cell = cellName(curve.factors)
      for (const { step, value } of curve.points) {
        const id = JSON.stringify([cell, step])
        const entry = byCellStep.get(id) ?? { cell, step, values: [] }
        entry.values.push(value)
        byCellStep.set(id, entry)
      }
    }
    const points = [...byCellStep.values()].map(({ cell, step, values }) => {
      const interval = Statistics.meanInterval(values)
      return { cell, step, mean: interval.mean, low: finite(interval.low) ?? interval.mean, high: finite(interval.high) ?? interval.mean }
    })
    const color = cellColor("cell")
    const xAxis = { field: "step", type: "quantitative", title: "step" }
    charts.push(chart(`${node}: ${metric}`, points, [
      { mark: { type: "errorband", opacity: 0.25 }, encoding: { x: xAxis, y: { field: "low", type: "quantitative", title: metric }, y2: { field: "high" }, color } },
      { mark: "line", encoding: { x: xAxis, y: { field: "mean", type: "quantitative", title: metric, scale: { zero: false } }, color } }
    ]))
  }
  return charts
}
