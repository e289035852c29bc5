/**
 * What changed between two runs (`pipeline compare`), node by node and result by result.
 * Pure: cli/CompareCommand.ts reads the runs from the run log.
 *
 * Nodes are matched by name and sweep coordinates (identitiesOf), so a one-seed run's `rm` meets a
 * sweep's `rm[seed=0]`. A node with the same key in both runs is unchanged; one whose
 * key differs is described by CacheKey.diff of its key components (params, code, upstream
 * artifacts, env), and is changed only by its upstream when nothing but its inputs differ.
 * Results rows are matched by output, cell and split; each metric's difference B − A comes
 * with Welch's 95% interval, recovered from the intervals the runs kept (Statistics.estimateOf),
 * where both sides pooled at least two seeds (the difference alone otherwise).
 */
import type { Json } from "../dsl/Artifact.ts"
import { canonicalJson } from "../dsl/internal/Canonical.ts"
import * as CacheKey from "./CacheKey.ts"
import * as Results from "./Results.ts"
import type { NodeEntry, RunEntry } from "./RunLog.ts"
import * as Statistics from "./Statistics.ts"

/** One run as compare reads it: the run, its node entries, the results table it kept, and its seeds where known. */
export interface RunData {
  readonly run: RunEntry
  readonly nodes: ReadonlyArray<NodeEntry>
  readonly results: Results.Table | undefined
  readonly seeds?: ReadonlyArray<number> | undefined
}

/**
 * How a node differs: only one run has it (`onlyA`, `onlyB`), the same key in both
 * (`unchanged`), a key component of its own changed (`changed`), or only its upstream
 * artifacts did (`upstream`).
 */
export type NodeChange = "onlyA" | "onlyB" | "unchanged" | "changed" | "upstream"

/** One node label of either run. */
export interface NodeDifference {
  readonly label: string
  readonly kind: string
  readonly change: NodeChange
  /** what changed from A to B (empty unless `changed` or `upstream`, or when a run did not record its key components) */
  readonly changes: ReadonlyArray<CacheKey.Change>
  /** the labels of the upstream nodes whose output changed, in input order */
  readonly upstream: ReadonlyArray<string>
  /** the node's status in each run (undefined where the run has no such node) */
  readonly status: { readonly a: NodeEntry["status"] | undefined; readonly b: NodeEntry["status"] | undefined }
}

/** A component of a cache key that a node's change may touch. */
export type Component = CacheKey.Change["component"]

/** How many nodes differ, by kind of difference. */
export interface Counts {
  readonly onlyA: number
  readonly onlyB: number
  readonly unchanged: number
  /** nodes whose key differs */
  readonly changed: number
  /** of those, the nodes that differ only by an upstream artifact */
  readonly upstreamOnly: number
  /** nodes with at least one change of each component (a node may count under several) */
  readonly byComponent: { readonly [C in Component]: number }
}

/** One metric of one results row in both runs. */
export interface MetricDifference {
  readonly a: Results.Cell | undefined
  readonly b: Results.Cell | undefined
  /** B − A with Welch's interval (NaN bounds unless both have n ≥ 2); undefined unless both runs have the metric */
  readonly delta: Statistics.Interval | undefined
}

/** One results row (output, cell, split) of either run. */
export interface RowDifference {
  readonly output: string
  readonly factors: Readonly<Record<string, Json>>
  readonly split: string
  /** seeds pooled in each run (undefined where the run has no such row) */
  readonly seeds: { readonly a: number | undefined; readonly b: number | undefined }
  readonly metrics: Readonly<Record<string, MetricDifference>>
}

/** The two runs' results tables side by side. */
export interface ResultsDifference {
  /** factor and metric names in first-seen order, A's first */
  readonly factors: ReadonlyArray<string>
  readonly metrics: ReadonlyArray<string>
  readonly rows: ReadonlyArray<RowDifference>
}

/** Everything `pipeline compare` shows. */
export interface Comparison {
  readonly a: RunEntry
  readonly b: RunEntry
  readonly counts: Counts
  readonly nodes: ReadonlyArray<NodeDifference>
  readonly results: ResultsDifference
  /** no node differs and every results row has the same means and seeds in both */
  readonly identical: boolean
}

const inputLabel = (input: string, a: NodeEntry | undefined, b: NodeEntry | undefined): string =>
  b?.inputs[input]?.label ?? a?.inputs[input]?.label ?? input

/** How node `label` differs between its entries in A and B (at least one present). */
export const nodeDifference = (a: NodeEntry | undefined, b: NodeEntry | undefined): NodeDifference => {
  const either = (b ?? a)!
  const base = { label: either.label, kind: either.kind, status: { a: a?.status, b: b?.status } }
  if (a === undefined || b === undefined) return { ...base, change: a === undefined ? "onlyB" : "onlyA", changes: [], upstream: [] }
  if (a.key !== undefined && a.key === b.key) return { ...base, change: "unchanged", changes: [], upstream: [] }
  const changes = a.components === undefined || b.components === undefined ? [] : CacheKey.diff(a.components, b.components)
  const upstream = [...new Set(changes.flatMap((c) => (c.component === "inputs" ? [inputLabel(c.input, a, b)] : [])))]
  const onlyInputs = changes.length > 0 && changes.every((c) => c.component === "inputs")
  return { ...base, change: onlyInputs ? "upstream" : "changed", changes, upstream }
}

/**
 * What can make a node the same node in two runs, the first that matches: its name (its label
 * without the coordinates a label shows) with all its sweep coordinates. A run of one seed builds
 * its nodes without a seed coordinate (nothing varies), so there a node is first taken to be of
 * that run's `onlySeed` (its `rm` is a sweep's `rm[seed=0]`), then to be of no seed (a node the
 * sweep builds once for every seed, as it builds it here). An entry logged without coordinates
 * (an older run log) is known by its label.
 */
export const identitiesOf = (entry: NodeEntry, onlySeed: number | undefined): Array<string> => {
  const { coords } = entry
  if (coords === undefined) return [entry.label]
  const name = entry.label.replace(/\[.*$/, "")
  const of = (c: Readonly<Record<string, Json>>) => `${name}\0${canonicalJson(c)}`
  return onlySeed !== undefined && !("seed" in coords) ? [of({ seed: onlySeed, ...coords }), of(coords)] : [of(coords)]
}

/** A run's one seed, if it ran exactly one. */
const onlySeedOf = (seeds: ReadonlyArray<number> | undefined): number | undefined => (seeds?.length === 1 ? seeds[0] : undefined)

/**
 * Each node of A (in A's order) then each node only B has (in B's), with how it differs; a node
 * of both runs goes by B's label. `seeds`: each run's seeds, where known (identitiesOf).
 */
export const nodeDifferences = (
  a: ReadonlyArray<NodeEntry>,
  b: ReadonlyArray<NodeEntry>,
  seeds: { readonly a?: ReadonlyArray<number> | undefined; readonly b?: ReadonlyArray<number> | undefined } = {}
): Array<NodeDifference> => {
  const [seedA, seedB] = [onlySeedOf(seeds.a), onlySeedOf(seeds.b)]
  const inB = new Map<string, NodeEntry>()
  for (const entry of b) for (const identity of identitiesOf(entry, seedB)) if (!inB.has(identity)) inB.set(identity, entry)
  const matched = new Set<NodeEntry>()
  const fromA = a.map((entry) => {
    const other = identitiesOf(entry, seedA).map((identity) => inB.get(identity)).find((e) => e !== undefined && !matched.has(e))
    if (other !== undefined) matched.add(other)
    return nodeDifference(entry, other)
  })
  return [...fromA, ...b.filter((entry) => !matched.has(entry)).map((entry) => nodeDifference(undefined, entry))]
}

/** How many nodes differ in each way. */
export const countsOf = (nodes: ReadonlyArray<NodeDifference>): Counts => {
  const count = (change: NodeChange) => nodes.filter((n) => n.change === change).length
  const touching = (component: Component) => nodes.filter((n) => n.changes.some((c) => c.component === component)).length
  return {
    onlyA: count("onlyA"),
    onlyB: count("onlyB"),
    unchanged: count("unchanged"),
    changed: count("changed") + count("upstream"),
    upstreamOnly: count("upstream"),
    byComponent: {
      kind: touching("kind"),
      version: touching("version"),
      params: touching("params"),
      code: touching("code"),
      inputs: touching("inputs"),
      env: touching("env")
    }
  }
}

/** B − A of one metric, with Welch's interval from the two kept intervals. */
const metricDelta = (a: Results.Cell, b: Results.Cell): Statistics.Interval =>
  Results.intervalOf(Statistics.welchInterval(Statistics.estimateOf(b), Statistics.estimateOf(a)))

const union = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): Array<string> => [...new Set([...a, ...b])]

/** The two results tables side by side: every row of either, each metric of either with its difference. */
export const resultsDifference = (a: Results.Table | undefined, b: Results.Table | undefined): ResultsDifference => {
  const rowsA = a?.rows ?? []
  const rowsB = b?.rows ?? []
  const metrics = union(a?.metrics ?? [], b?.metrics ?? [])
  const inB = new Map(rowsB.map((row) => [Results.rowKey(row), row]))
  const keysA = new Set(rowsA.map(Results.rowKey))
  const pairs: Array<readonly [Results.Row | undefined, Results.Row | undefined]> = [
    ...rowsA.map((row) => [row, inB.get(Results.rowKey(row))] as const),
    ...rowsB.filter((row) => !keysA.has(Results.rowKey(row))).map((row) => [undefined, row] as const)
  ]
  const rows = pairs.map(([rowA, rowB]): RowDifference => {
    const either = (rowA ?? rowB)!
    const differences = metrics.flatMap((metric) => {
      const [cellA, cellB] = [rowA?.metrics[metric], rowB?.metrics[metric]]
      if (cellA === undefined && cellB === undefined) return []
      const delta = cellA === undefined || cellB === undefined ? undefined : metricDelta(cellA, cellB)
      return [[metric, { a: cellA, b: cellB, delta }] as const]
    })
    return {
      output: either.output,
      factors: either.factors,
      split: either.split,
      seeds: { a: rowA?.seeds, b: rowB?.seeds },
      metrics: Object.fromEntries(differences)
    }
  })
  return { factors: union(a?.factors ?? [], b?.factors ?? []), metrics, rows }
}

const sameResults = (results: ResultsDifference): boolean =>
  results.rows.every((row) =>
    row.seeds.a === row.seeds.b &&
    Object.values(row.metrics).every((m) => m.a !== undefined && m.b !== undefined && m.a.mean === m.b.mean)
  )

/** What changed from run A to run B. */
export const compare = (a: RunData, b: RunData): Comparison => {
  const nodes = nodeDifferences(a.nodes, b.nodes, { a: a.seeds, b: b.seeds })
  const counts = countsOf(nodes)
  const results = resultsDifference(a.results, b.results)
  return {
    a: a.run,
    b: b.run,
    counts,
    nodes,
    results,
    identical: counts.unchanged === nodes.length && sameResults(results)
  }
}
