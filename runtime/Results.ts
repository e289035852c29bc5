/**
 * The results table of a run: one row per sweep cell (and per split, for outputs that
 * report one), with each scalar result metric's mean over seeds and its 95% Student-t
 * interval, and its difference from the baseline cell with Welch's interval
 * (Statistics.ts). Pure: the CLI extracts the observations from a run's outputs.
 *
 * A cell is the sweep coordinates of an output node without its seed; observations of
 * the same output (node name), cell and split over several seeds are pooled. A baseline
 * cell is one whose coordinates include every factor of `baseline`; each other cell of
 * the same output and split is compared with the baseline cell that agrees with it on
 * the factors `baseline` leaves out. So `{ model: "bt" }` over a grid of `preferences`
 * × `model` compares each model with Bradley–Terry under the same preferences. A baseline
 * cell without one of those factors (its node is shared by every value of it, so its
 * coordinates leave it out) serves each value: `{ demos: 0 }` over `demos` × `quality`,
 * where no demonstrations have no quality, compares every quality with the one run
 * without demonstrations.
 */
import type { Json } from "../dsl/Artifact.ts"
import type * as Graph from "../dsl/Graph.ts"
import * as Statistics from "./Statistics.ts"

/** One output node's results in one seed's cell. */
export interface Observation {
  /** the output node's name (its label without the cell) */
  readonly output: string
  /** its sweep coordinates, `seed` included when the run had several seeds */
  readonly coords: Readonly<Record<string, Json>>
  /** a split the output reports apart ("" when it reports one) */
  readonly split: string
  /** result metric → value */
  readonly metrics: Readonly<Record<string, number>>
}

/** One metric of a row. */
export interface Cell {
  readonly mean: number
  readonly low: number
  readonly high: number
  readonly n: number
  /** difference from the baseline cell (absent for the baseline and when there is none) */
  readonly delta?: Statistics.Interval | undefined
}

/** One row of the table. */
export interface Row {
  readonly output: string
  /** the sweep factors of the cell (no seed) */
  readonly factors: Readonly<Record<string, Json>>
  readonly split: string
  readonly baseline: boolean
  readonly seeds: number
  readonly metrics: Readonly<Record<string, Cell>>
}

export interface Table {
  /** factor names in first-seen order */
  readonly factors: ReadonlyArray<string>
  /** metric names in first-seen order */
  readonly metrics: ReadonlyArray<string>
  readonly rows: ReadonlyArray<Row>
}

/** Whether some row of a table is its baseline (and so the others have a Δ). */
export const hasBaseline = (table: Table): boolean => table.rows.some((row) => row.baseline)

const splitPrefix = "<split>/"

/**
 * The observations of one node: its final metrics that its kind declares results (`results`,
 * `<split>/name` standing for one metric per split), one observation per split.
 */
export const observe = (node: {
  readonly name: string
  readonly coords: Readonly<Record<string, Json>>
  readonly results: ReadonlyArray<string>
  readonly finalMetrics: Readonly<Record<string, number>>
}): Array<Observation> => {
  const bySplit = new Map<string, Record<string, number>>()
  const add = (split: string, metric: string, value: number) => {
    const metrics = bySplit.get(split) ?? {}
    metrics[metric] = value
    bySplit.set(split, metrics)
  }
  for (const result of node.results) {
    if (!result.startsWith(splitPrefix)) {
      const value = node.finalMetrics[result]
      if (value !== undefined) add("", result, value)
      continue
    }
    const metric = result.slice(splitPrefix.length)
    for (const [name, value] of Object.entries(node.finalMetrics)) {
      if (name.length > metric.length + 1 && name.endsWith(`/${metric}`)) add(name.slice(0, -metric.length - 1), metric, value)
    }
  }
  return [...bySplit].map(([split, metrics]) => ({ output: node.name, coords: node.coords, split, metrics }))
}

/**
 * The observations of every node of a graph whose kind declares results, from the final
 * metrics `finalMetrics` finds for it (none for a node that has not completed).
 */
export const fromGraph = (
  graph: Graph.Graph,
  finalMetrics: (id: string) => Readonly<Record<string, number>> | undefined
): Array<Observation> =>
  graph.nodes.flatMap(({ node, coords }) => {
    const results = node.kind.results
    const metrics = results === undefined ? undefined : finalMetrics(node.id)
    return results === undefined || metrics === undefined ? [] : observe({ name: node.name, coords, results, finalMetrics: metrics })
  })

const withoutSeed = (coords: Readonly<Record<string, Json>>): Record<string, Json> => {
  const { seed: _, ...rest } = coords
  return rest
}

const stable = (value: Json): string => JSON.stringify(value)

const matches = (factors: Readonly<Record<string, Json>>, baseline: Readonly<Record<string, Json>>): boolean =>
  Object.keys(baseline).length > 0 &&
  Object.entries(baseline).every(([key, value]) => key in factors && stable(factors[key]!) === stable(value))

/**
 * Whether the cell `shared` stands for the cell `cell` on every factor `except` leaves: equal on
 * the factors both have, and a factor `shared` lacks is one whose every value shares its node (a
 * node shared by several cells keeps only the coordinates they agree on).
 */
export const covers = (
  shared: Readonly<Record<string, Json>>,
  cell: Readonly<Record<string, Json>>,
  except: (factor: string) => boolean = () => false
): boolean => Object.entries(cell).every(([key, value]) => except(key) || !(key in shared) || stable(shared[key]!) === stable(value))

/** An interval without the extra fields of the function that made it (Welch's `df`). */
export const intervalOf = ({ mean, low, high, n }: Statistics.Interval): Statistics.Interval => ({ mean, low, high, n })

/** The identity of a row: its output, cell (factors in any order) and split. */
export const rowKey = (row: { readonly output: string; readonly factors: Readonly<Record<string, Json>>; readonly split: string }): string =>
  stable([row.output, Object.entries(row.factors).sort(([a], [b]) => (a < b ? -1 : 1)), row.split])

/** Pool observations by output, cell and split, and compare each cell with the baseline. */
export const aggregate = (observations: ReadonlyArray<Observation>, baseline: Readonly<Record<string, Json>> = {}): Table => {
  const factorNames: Array<string> = []
  const metricNames: Array<string> = []
  const groups = new Map<string, { output: string; factors: Record<string, Json>; split: string; values: Map<string, Array<number>> }>()
  for (const observation of observations) {
    const factors = withoutSeed(observation.coords)
    for (const key of Object.keys(factors)) if (!factorNames.includes(key)) factorNames.push(key)
    const id = rowKey({ output: observation.output, factors, split: observation.split })
    const group = groups.get(id) ?? { output: observation.output, factors, split: observation.split, values: new Map() }
    groups.set(id, group)
    for (const [name, value] of Object.entries(observation.metrics)) {
      if (!metricNames.includes(name)) metricNames.push(name)
      const values = group.values.get(name) ?? []
      values.push(value)
      group.values.set(name, values)
    }
  }
  const list = [...groups.values()]
  const baselineOf = (group: (typeof list)[number]) =>
    list.find((other) =>
      other.output === group.output && other.split === group.split && matches(other.factors, baseline) &&
      covers(other.factors, group.factors, (key) => key in baseline)
    )
  const rows = list.map((group): Row => {
    const reference = baselineOf(group)
    const isBaseline = reference === group
    const metrics: Record<string, Cell> = {}
    for (const [name, values] of group.values) {
      const base = reference?.values.get(name)
      metrics[name] = {
        ...Statistics.meanInterval(values),
        delta: isBaseline || base === undefined ? undefined : intervalOf(Statistics.differenceInterval(values, base))
      }
    }
    return {
      output: group.output,
      factors: group.factors,
      split: group.split,
      baseline: isBaseline,
      seeds: Math.max(0, ...[...group.values.values()].map((v) => v.length)),
      metrics
    }
  })
  return { factors: factorNames, metrics: metricNames, rows }
}
