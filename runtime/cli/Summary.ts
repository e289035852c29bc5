/**
 * The summary `pipeline run` prints when it ends: a table of nodes and outputs, or
 * with `--json` one summary object. Shared by the CLI and Replay.ts.
 */
import * as Results from "../Results.ts"
import { jsonLine, type Output } from "./Render.ts"
import * as ResultsFormat from "./ResultsFormat.ts"
import { table } from "./Text.ts"

/** One node's line. */
export interface NodeLine {
  readonly id: string
  readonly label: string
  readonly kind: string
  readonly status: "cached" | "ran" | "failed"
  readonly key: string | null
  readonly hash: string | null
  /** artifact type of the output */
  readonly type: string
  readonly durationMs: number
  readonly error?: string | undefined
}

/** A graph output as shown: its rows for `--json` (null when too many or not a table), and as text. */
export interface ShownOutput {
  readonly id: string
  readonly label: string
  readonly value: unknown
  readonly text: string
}

/** Everything the summary of one run shows. */
export interface RunSummary {
  readonly pipeline: string
  readonly runId: number
  readonly wallMs: number
  readonly nodes: ReadonlyArray<NodeLine>
  readonly outputs: ReadonlyArray<ShownOutput>
  /** the run whose record this run replayed (Replay.ts) */
  readonly replayOf?: number | undefined
  /** why this run left no replay record, when it could not (Replay.ts) */
  readonly notReplayable?: string | undefined
  /** the run's results table, when nodes of the pipeline declare results */
  readonly results?: Results.Table | undefined
}

/** With a results table, the node table lists every node only for graphs this small (else the failed ones). */
export const maxListedNodes = 12

/** Output values are decoded and shown for at most this many graph outputs. */
export const maxShownOutputs = 50

/** The first 12 hex digits of a hash: enough to tell artifacts apart on screen. */
export const shortHash = (hash: string | null | undefined) => (hash == null ? "" : hash.slice(0, 12))

/** A param, metric or output value as shown: numbers to 4 significant digits. */
export const formatValue = (value: unknown): string => {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4)
  return JSON.stringify(value)
}

/** How a decoded output is shown: its rows when few, else their count. */
export const showOutput = (id: string, label: string, value: unknown): ShownOutput => {
  const text = Array.isArray(value) && value.length <= 3
    ? value.map((row) => Object.entries(row as Record<string, unknown>).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ")).join("; ")
    : Array.isArray(value)
    ? `${value.length} rows`
    : ""
  return { id, label, value: Array.isArray(value) && value.length <= 100 ? value : null, text }
}

/** Write the summary; returns the exit code (1 if a node failed). */
export const write = (out: Output, json: boolean, summary: RunSummary): number => {
  const failed = summary.nodes.filter((n) => n.status === "failed").length
  const code = failed > 0 ? 1 : 0
  if (json) {
    out.write(jsonLine({
      type: "summary",
      pipeline: summary.pipeline,
      runId: summary.runId,
      status: code === 1 ? "failed" : "succeeded",
      durationMs: summary.wallMs,
      ...(summary.replayOf === undefined ? {} : { replayOf: summary.replayOf }),
      ...(summary.notReplayable === undefined ? {} : { notReplayable: summary.notReplayable }),
      nodes: summary.nodes.map((n) => ({
        id: n.id,
        label: n.label,
        kind: n.kind,
        status: n.status,
        key: n.key,
        hash: n.hash,
        durationMs: n.durationMs,
        ...(n.error === undefined ? {} : { error: n.error })
      })),
      outputs: summary.outputs.map(({ id, label, value }) => ({ id, label, value })),
      ...(summary.results === undefined || summary.results.rows.length === 0 ? {} : { results: summary.results })
    }))
    return code
  }
  const shown = new Map(summary.outputs.map((o) => [o.id, o]))
  // one row from one seed says no more than the node's own line: the table shows when it pools or compares
  const pools = summary.results !== undefined && (summary.results.rows.length > 1 || summary.results.rows.some((r) => r.seeds > 1))
  const results = pools ? ResultsFormat.render(summary.results!, "table") : ""
  // a sweep's results say what its many nodes computed: the node table then lists the failed ones
  const listed = results === "" || summary.nodes.length <= maxListedNodes ? summary.nodes : summary.nodes.filter((n) => n.status === "failed")
  const rows = listed.map((n) => [
    n.label,
    n.kind,
    n.status,
    n.status === "ran" ? `${(n.durationMs / 1000).toFixed(2)}s` : "",
    n.status === "failed" ? n.error ?? "" : shown.has(n.id) ? shown.get(n.id)!.text || shortHash(n.hash) : `${n.type} ${shortHash(n.hash)}`
  ])
  const count = (status: NodeLine["status"]) => summary.nodes.filter((n) => n.status === status).length
  const replayed = summary.replayOf === undefined ? "" : `; replayed run ${summary.replayOf}: nothing it depended on has changed`
  const nodeTable = rows.length === 0 ? "" : `\n${table([["node", "kind", "status", "time", "output"], ...rows])}\n`
  const resultsText = results === ""
    ? ""
    : `\nresults: mean ± 95% CI over seeds (n)${Results.hasBaseline(summary.results!) ? "; Δ: difference from the baseline cell" : ""}\n\n${results}\n`
  out.write(
    `${nodeTable}${resultsText}\n${summary.pipeline}: ${summary.nodes.length} nodes, ${
      count("ran")
    } ran, ${count("cached")} cached, ${failed} failed in ${(summary.wallMs / 1000).toFixed(2)}s (run ${summary.runId}${replayed})\n`
  )
  return code
}
