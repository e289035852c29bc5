/**
 * `pipeline results` and `pipeline report`: what a pipeline (for a selection of seeds,
 * from what the store holds, running nothing) or a past run (from the run log) computed,
 * as a results table or as an HTML report.
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import type { Json } from "../../dsl/Artifact.ts"
import { ConfigError } from "../Errors.ts"
import * as MetricHistory from "../MetricHistory.ts"
import * as Results from "../Results.ts"
import * as ResultsJson from "../ResultsJson.ts"
import { RunLog } from "../RunLog.ts"
import * as Runner from "../Runner.ts"
import type * as Charts from "../report/Charts.ts"
import type * as Html from "../report/Html.ts"
import type { Console } from "./main.ts"
import type { Values } from "./Options.ts"
import * as ResultsFormat from "./ResultsFormat.ts"
import { formatOf, selectionOf, storeLayers, writeOutput } from "./Selection.ts"

/** A node as results and reports show it. */
interface ShownNode extends Html.NodeRow {
  /** its name in the pipeline (its label without the cell) */
  readonly name: string
  readonly coords: Readonly<Record<string, Json>>
  readonly metricsHash: string | undefined
}

/** What a pipeline or a run computed. */
interface Source {
  readonly title: string
  readonly facts: ReadonlyArray<string>
  readonly results: Results.Table
  readonly nodes: ReadonlyArray<ShownNode>
}

/** A label's node name: the label without its cell (`rm[beta=0.1,seed=0]` → `rm`) and duplicate number. */
const nameOf = (label: string): string => label.replace(/\[.*\]$/, "").replace(/#\d+$/, "")

/** What the store holds for a pipeline file's graph with these flags' seeds and overrides. */
const fromFile = (values: Values, file: string) =>
  Effect.gen(function*() {
    const { selection } = yield* selectionOf(values)
    const prepared = yield* Runner.prepare(file, selection)
    const { plan } = yield* Runner.plan(prepared)
    const graph = prepared.graph
    const record = (id: string) => plan.byId.get(id)?.record
    const finals = (id: string) => (plan.byId.get(id)?.status === "hit" ? record(id)?.finalMetrics : undefined)
    const nodes = graph.nodes.map(({ node, label, coords }): ShownNode => {
      const planned = plan.byId.get(node.id)
      return {
        label,
        name: node.name,
        kind: node.kind.kind,
        status: planned?.status === "hit" ? "cached" : "not computed",
        inputs: Object.fromEntries(Object.entries(node.inputs).map(([name, input]) => [name, graph.byId.get(input.id)?.label ?? input.name])),
        params: node.params,
        durationMs: undefined,
        coords,
        metricsHash: planned?.status === "hit" ? record(node.id)?.metrics.hash : undefined
      }
    })
    const seeds = selection.seeds.join(",")
    return {
      title: `${graph.pipeline}: seeds ${seeds}`,
      facts: [`pipeline file ${file}`, `seeds ${seeds}`, `${nodes.filter((n) => n.status === "cached").length} of ${nodes.length} nodes computed`],
      results: Results.aggregate(Results.fromGraph(graph, finals), graph.baseline),
      nodes
    } satisfies Source
  })

/** What run `id` computed, from the run log. */
const fromRun = (id: number) =>
  Effect.gen(function*() {
    const runLog = yield* RunLog
    const run = yield* runLog.run(id)
    if (run === undefined) return yield* new ConfigError({ reason: `no run ${id} in this store (pipeline ls lists the runs)` })
    const kept = yield* runLog.resultsOf(id)
    const entries = yield* runLog.nodesOf(id)
    const nodes = entries.map((entry): ShownNode => ({
      label: entry.label,
      name: nameOf(entry.label),
      kind: entry.kind,
      status: entry.status,
      inputs: Object.fromEntries(Object.entries(entry.inputs).map(([name, input]) => [name, input.label])),
      params: typeof entry.params === "object" && entry.params !== null ? Object.fromEntries(Object.entries(entry.params)) : {},
      durationMs: entry.durationMs,
      coords: entry.coords ?? {},
      metricsHash: entry.metricsHash
    }))
    return {
      title: `run ${run.id} of ${run.pipeline}`,
      facts: [`pipeline ${run.argv}`, `started ${run.startedAt}, ${run.status}`, `${run.nodes} nodes: ${run.ran} ran, ${run.cached} cached, ${run.failed} failed`],
      results: (kept === undefined ? undefined : ResultsJson.fromJson(kept)) ?? Results.aggregate([]),
      nodes
    } satisfies Source
  })

/** A run id or a pipeline file: what `results` and `report` take. */
const sourceOf = (values: Values, argument: string) => (/^\d+$/.test(argument) ? fromRun(Number(argument)) : fromFile(values, argument))

const noResults = (argument: string) =>
  new ConfigError({
    reason: /^\d+$/.test(argument)
      ? `run ${argument} kept no results: no node of its pipeline declares results, or it ran before runs kept them`
      : `no results for ${argument} with these seeds: run it first (pipeline run ${argument}), or no node of it declares results`
  })

export const resultsCommand = (values: Values, argument: string, root: string, console: Console) =>
  Effect.gen(function*() {
    const format = yield* formatOf(values, "results", ResultsFormat.formats, "table")
    const source = yield* sourceOf(values, argument)
    if (source.results.rows.length === 0) return yield* noResults(argument)
    console.out.write(`${ResultsFormat.render(source.results, format)}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))

/** Each per-step metric of each computed node, as curves. */
const curvesOf = (nodes: ReadonlyArray<ShownNode>) =>
  Effect.gen(function*() {
    const curves: Array<Charts.Curve> = []
    for (const node of nodes) {
      if (node.metricsHash === undefined) continue
      const { seed, ...factors } = node.coords
      for (const { name, points } of MetricHistory.series(yield* MetricHistory.read(node.metricsHash))) {
        curves.push({ node: node.name, factors, seed: typeof seed === "number" ? seed : 0, metric: name, points })
      }
    }
    return curves
  })

export const reportCommand = (values: Values, argument: string, root: string, console: Console) =>
  Effect.gen(function*() {
    const source = yield* sourceOf(values, argument)
    const curves = yield* curvesOf(source.nodes)
    const Report = yield* Effect.promise(() => import("../report/Report.ts"))
    const html = yield* Report.make({ title: source.title, facts: source.facts, results: source.results, curves, nodes: source.nodes })
    const given = values["output"]
    const file = yield* writeOutput(typeof given === "string" ? given : "report.html", new TextEncoder().encode(html))
    const charts = (html.match(/<svg /g) ?? []).length
    console.out.write(
      values["json"] === true
        ? `${JSON.stringify({ file, bytes: Buffer.byteLength(html), charts, resultRows: source.results.rows.length })}\n`
        : `wrote ${path.relative(process.cwd(), file) || file}: ${source.results.rows.length} result rows, ${charts} charts (${Buffer.byteLength(html)} bytes)\n`
    )
    return 0
  }).pipe(Effect.provide(storeLayers(root)))
