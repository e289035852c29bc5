/**
 * A comparison of two runs (Compare.ts) as text for the terminal, as Markdown, or as JSON:
 * the two runs, a line per kind of difference with its count of nodes, the nodes that differ
 * (unchanged ones as a count; one changed only by its upstream on one line), and the results
 * tables side by side — each run's mean ± 95% CI and Δ = B − A ± Welch's 95% half-width.
 */
import * as CacheKey from "../CacheKey.ts"
import type * as Compare from "../Compare.ts"
import type { RunEntry } from "../RunLog.ts"
import { columnsOf, factorText, formatInterval, markdown, perOutput } from "./ResultsFormat.ts"
import { table } from "./Text.ts"

export const formats = ["table", "md", "json"] as const
export type Format = (typeof formats)[number]

const nodesText = (n: number): string => `${n} node${n === 1 ? "" : "s"}`

/** What a run is: its id, pipeline, file, start, status and command line. */
export const runText = (run: RunEntry): string =>
  `run ${run.id} of ${run.pipeline} (${run.file}), started ${run.startedAt}, ${run.status}: pipeline ${run.argv}`

/** Each kind of difference some node has, with how many nodes have it, then the unchanged. */
export const countRows = (counts: Compare.Counts): Array<[string, string]> => {
  const { byComponent } = counts
  const rows: Array<[string, number, string]> = [
    ["only in A", counts.onlyA, ""],
    ["only in B", counts.onlyB, ""],
    ["kind", byComponent.kind, ""],
    ["version", byComponent.version, ""],
    ["params", byComponent.params, ""],
    ["code", byComponent.code, ""],
    ["env", byComponent.env, ""],
    ["upstream", byComponent.inputs, counts.upstreamOnly > 0 ? ` (${counts.upstreamOnly} with no other change)` : ""],
    ["unchanged", counts.unchanged, " (same key)"]
  ]
  return rows.filter(([, n]) => n > 0).map(([what, n, note]) => [what, `${nodesText(n)}${note}`])
}

const failedNote = (status: Compare.NodeDifference["status"]): string => {
  const where = [status.a === "failed" ? "A" : "", status.b === "failed" ? "B" : ""].filter((s) => s !== "")
  return where.length === 0 ? "" : `  (failed in ${where.length === 2 ? "both" : where[0]})`
}

/** A node that differs: a mark, its one-line head and the lines of what changed. */
interface NodeItem {
  readonly mark: string
  readonly head: string
  readonly details: ReadonlyArray<string>
}

const upstreamText = (upstream: ReadonlyArray<string>): string => `upstream changed: ${upstream.join(", ")}`

/** The nodes that differ, A's only first, then B's only, then the changed; the unchanged as one count. */
export const nodeItems = (nodes: ReadonlyArray<Compare.NodeDifference>): Array<NodeItem> => {
  const item = (n: Compare.NodeDifference): NodeItem => {
    const head = `${n.label}  (${n.kind})`
    const note = failedNote(n.status)
    switch (n.change) {
      case "onlyA":
      case "onlyB":
        return { mark: n.change === "onlyA" ? "-" : "+", head: `${head}  only in ${n.change === "onlyA" ? "A" : "B"}${note}`, details: [] }
      case "upstream":
        return { mark: "~", head: `${head}  ${upstreamText(n.upstream)}${note}`, details: [] }
      default: {
        const own = n.changes.filter((c) => c.component !== "inputs").map(CacheKey.describe)
        const details = [...own, ...(n.upstream.length > 0 ? [upstreamText(n.upstream)] : [])]
        return { mark: "~", head: `${head}${note}`, details: details.length > 0 ? details : ["its key components were not recorded"] }
      }
    }
  }
  const order: ReadonlyArray<Compare.NodeChange> = ["onlyA", "onlyB", "changed", "upstream"]
  const unchanged = nodes.filter((n) => n.change === "unchanged").length
  return [
    ...order.flatMap((change) => nodes.filter((n) => n.change === change).map(item)),
    ...(unchanged > 0 ? [{ mark: "=", head: `${nodesText(unchanged)} unchanged (same key)`, details: [] }] : [])
  ]
}

/** The rows of one output of the side-by-side results as cells of text, with its header first. */
export const resultRows = (results: Compare.ResultsDifference, output: string): Array<Array<string>> => {
  const rows = results.rows.filter((r) => r.output === output)
  const { factors, metrics, showSplit } = columnsOf(rows, results)
  const header = [...factors, ...(showSplit ? ["split"] : []), "n A", "n B", ...metrics.flatMap((m) => [`${m} A`, `${m} B`, `Δ ${m}`])]
  const body = rows.map((row) => {
    const onlyIn = row.seeds.a === undefined ? "only in B" : row.seeds.b === undefined ? "only in A" : ""
    return [
      ...factors.map((f) => factorText(row.factors[f])),
      ...(showSplit ? [row.split] : []),
      String(row.seeds.a ?? "—"),
      String(row.seeds.b ?? "—"),
      ...metrics.flatMap((m) => {
        const metric = row.metrics[m]
        const side = (cell: Compare.MetricDifference["a"]) => (cell === undefined ? "—" : formatInterval(cell))
        return [side(metric?.a), side(metric?.b), metric?.delta === undefined ? onlyIn : formatInterval(metric.delta, true, Math.max(Math.abs(metric.a?.mean ?? 0), Math.abs(metric.b?.mean ?? 0)))]
      })
    ]
  })
  return [header, ...body]
}

const resultsTitle = "results: mean ± 95% CI over seeds (n) in each run; Δ: B − A ± Welch's 95% interval"

/** The side-by-side results, one table per output (titled when there are several, or in Markdown). */
const resultsText = (results: Compare.ResultsDifference, md: boolean): string => {
  if (results.rows.length === 0) return "results: neither run kept a results table"
  const tables = perOutput([...new Set(results.rows.map((r) => r.output))], (output) => resultRows(results, output), md)
  return `${md ? `## ${resultsTitle}` : resultsTitle}\n\n${tables}`
}

const text = (comparison: Compare.Comparison): string => {
  const head = [`A  ${runText(comparison.a)}`, `B  ${runText(comparison.b)}`].join("\n")
  if (comparison.identical) return `${head}\n\nno differences`
  const counts = table(countRows(comparison.counts).map(([what, n]) => [`  ${what}`, n]))
  const nodes = nodeItems(comparison.nodes).flatMap((n) => [`  ${n.mark} ${n.head}`, ...n.details.map((d) => `      ${d}`)])
  return [head, `differences\n${counts}`, `nodes\n${nodes.join("\n")}`, resultsText(comparison.results, false)].join("\n\n")
}

const md = (comparison: Compare.Comparison): string => {
  const head = `## runs\n\n- A: ${runText(comparison.a)}\n- B: ${runText(comparison.b)}`
  if (comparison.identical) return `${head}\n\nno differences`
  const counts = markdown([["difference", "nodes"], ...countRows(comparison.counts)])
  const nodes = nodeItems(comparison.nodes).flatMap((n) => [`- ${n.head}`, ...n.details.map((d) => `  - ${d}`)])
  return [head, `## differences\n\n${counts}`, `## nodes\n\n${nodes.join("\n")}`, resultsText(comparison.results, true)].join("\n\n")
}

/**
 * The comparison as JSON: every field of Compare.Comparison, each change with its `text`
 * (CacheKey.describe), and absent values (a side without the node, row or metric; a bound
 * from one seed) as null.
 */
const json = (comparison: Compare.Comparison): string =>
  JSON.stringify(
    { ...comparison, nodes: comparison.nodes.map((n) => ({ ...n, changes: n.changes.map((c) => ({ ...c, text: CacheKey.describe(c) })) })) },
    (_, value: unknown) => (value === undefined ? null : value)
  )

/** The comparison in `format`, without a trailing newline. */
export const render = (comparison: Compare.Comparison, format: Format): string =>
  format === "json" ? json(comparison) : format === "md" ? md(comparison) : text(comparison)
