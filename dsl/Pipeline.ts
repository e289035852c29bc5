/**
 * Pipelines: a name and a builder that wires node handles. Building runs the
 * builder once per seed (and once per sweep cell inside it) and collects the
 * nodes into one immutable graph; equal sub-graphs collapse into one node.
 */
import * as Effect from "effect/Effect"
import type { ArtifactType, Json } from "./Artifact.ts"
import { ArgumentError, BuildError, OverrideError, ParamError, unknownNode } from "./Errors.ts"
import * as Graph from "./Graph.ts"
import * as BuildContext from "./internal/BuildContext.ts"
import type { Handle, NodeInstance } from "./Node.ts"

/** What the builder receives for each seed. */
export interface Cell {
  readonly seed: number
}

/** A pipeline definition: composition only, nothing runs until `pipeline run`. */
export interface Pipeline {
  readonly _tag: "Pipeline"
  readonly name: string
  readonly builder: (cell: Cell) => unknown
  /** The sweep cell the results table compares every other cell with (see `Options`). */
  readonly baseline: Readonly<Record<string, Json>>
}

/** Options of a pipeline. */
export interface Options {
  /**
   * The baseline cell of its sweep, by factor values (`{ beta: 0.1 }`, or several factors of
   * a grid): the results table gives every other cell's difference from it. Naming only some
   * factors of a grid gives one baseline per value of the others: `{ model: "bt" }` compares
   * every cell with the `bt` cell of the same other factors.
   */
  readonly baseline?: Readonly<Record<string, Json>>
}

/**
 * Define a pipeline. The builder returns the handles whose artifacts are the
 * pipeline's results: one handle, or arrays and records of them (sweeps return arrays).
 *
 * @example
 * export default Pipeline.make("quickstart", ({ seed }) => {
 *   const task = data.preferenceTask({ items: 400, seed })
 *   return evaluate.pairwiseAccuracy({ model: reward.bradleyTerry({ pairs: label.bradleyTerry({ task }) }), task })
 * })
 */
export const make = (name: string, builder: (cell: Cell) => unknown, options: Options = {}): Pipeline => ({
  _tag: "Pipeline",
  name,
  builder,
  baseline: options.baseline ?? {}
})

/** True for a value made by `Pipeline.make` (also when loaded through another module instance). */
export const isPipeline = (value: unknown): value is Pipeline =>
  typeof value === "object" && value !== null && (value as { _tag?: unknown })._tag === "Pipeline" &&
  typeof (value as { builder?: unknown }).builder === "function"

/** One `--set node.field=value`. */
export interface Override {
  readonly node: string
  readonly field: string
  readonly value: unknown
}

/** Options of a build: seeds (default `[0]`) and param overrides. */
export interface BuildOptions {
  readonly seeds?: ReadonlyArray<number>
  readonly overrides?: ReadonlyArray<Override>
}

const isHandle = (value: unknown): value is Handle<ArtifactType> =>
  typeof value === "object" && value !== null && "~artifact" in value && "node" in value

/** The nodes of the handles in a builder's result, by id, in the order first returned. */
const collectHandles = (value: unknown, into: Map<string, NodeInstance>, seen = new Set<unknown>()): void => {
  if (typeof value !== "object" || value === null || seen.has(value)) return
  seen.add(value)
  if (isHandle(value)) {
    if (!into.has(value.node.id)) into.set(value.node.id, value.node)
    return
  }
  for (const item of Array.isArray(value) ? value : Object.values(value)) collectHandles(item, into, seen)
}

/** Why a baseline names no cell of the sweep, if it does not: a factor the sweep lacks, or values no cell has together. */
const checkBaseline = (baseline: Readonly<Record<string, Json>>, cells: ReadonlyArray<Readonly<Record<string, Json>>>): string | undefined => {
  const wanted = Object.entries(baseline)
  if (wanted.length === 0) return undefined
  const factors = [...new Set(cells.flatMap((coords) => Object.keys(coords)))].filter((key) => key !== "seed")
  const missing = wanted.find(([key]) => !factors.includes(key))
  if (missing !== undefined) {
    return `baseline: "${missing[0]}" is not a factor of its sweep (its factors: ${factors.join(", ") || "none"})`
  }
  const same = (a: Json | undefined, b: Json) => JSON.stringify(a) === JSON.stringify(b)
  if (cells.some((coords) => wanted.every(([key, value]) => same(coords[key], value)))) return undefined
  return `baseline ${JSON.stringify(baseline)} matches no cell of its sweep`
}

/**
 * Build the graph of a pipeline: decode every param, apply overrides, collapse equal
 * sub-graphs. Fails with the node, field and reason of the first bad param.
 */
export const build = (
  pipeline: Pipeline,
  options: BuildOptions = {}
): Effect.Effect<Graph.Graph, ParamError | OverrideError | BuildError> =>
  Effect.suspend(() => {
    const seeds = options.seeds ?? [0]
    const overrides = new Map<string, Record<string, unknown>>()
    for (const { node, field, value } of options.overrides ?? []) {
      overrides.set(node, { ...overrides.get(node), [field]: value })
    }
    const root = { ...BuildContext.empty(), overrides }
    const outputs = new Map<string, NodeInstance>()
    try {
      for (const seed of seeds) {
        const cell = { ...root, seed, coords: seeds.length > 1 ? { seed } : {} }
        collectHandles(BuildContext.withContext(cell, () => pipeline.builder({ seed })), outputs)
      }
    } catch (error) {
      if (error instanceof ParamError || error instanceof OverrideError || error instanceof BuildError) {
        return Effect.fail(error)
      }
      return Effect.fail(new BuildError({ pipeline: pipeline.name, reason: error instanceof Error ? error.message : String(error), cause: error }))
    }
    const unused = [...overrides.keys()].filter((name) => !root.usedOverrides.has(name))
    if (unused.length > 0) {
      const option = `--set ${unused[0]}.${Object.keys(overrides.get(unused[0]!) ?? {})[0]}`
      return Effect.fail(unknownNode(option, pipeline.name, unused[0]!, [...root.nodes.values()].map((e) => e.node.name)))
    }
    if (outputs.size === 0) {
      return Effect.fail(new BuildError({ pipeline: pipeline.name, reason: "the builder returned no node handles" }))
    }
    const baselineProblem = checkBaseline(pipeline.baseline, [...root.nodes.values()].map((entry) => entry.coords))
    if (baselineProblem !== undefined) return Effect.fail(new BuildError({ pipeline: pipeline.name, reason: baselineProblem }))
    return Graph.make(pipeline.name, root.nodes, [...outputs.values()], pipeline.baseline)
  })

type Cells<F extends Record<string, ReadonlyArray<Json>>> = { readonly [K in keyof F]: F[K][number] }

const runCells = <F extends Record<string, ReadonlyArray<Json>>, R>(
  cells: ReadonlyArray<Cells<F>>,
  body: (cell: Cells<F>) => R
): Array<R> => {
  const context = BuildContext.get()
  return cells.map((cell) => {
    const seed = typeof cell["seed"] === "number" ? cell["seed"] : context.seed
    return BuildContext.withContext({ ...context, seed, coords: { ...context.coords, ...cell } }, () => body(cell))
  })
}

/**
 * Cartesian product of factors: `body` runs once per combination. A factor named
 * `seed` also sets the seed of seeded nodes built in that cell.
 *
 * @example
 * grid({ beta: [0.1, 1], noise: [0, 0.2] }, ({ beta, noise }) => ...)  // 4 cells
 */
export const grid = <const F extends Record<string, ReadonlyArray<Json>>, R>(
  factors: F,
  body: (cell: Cells<F>) => R
): Array<R> => {
  let cells: Array<Record<string, Json>> = [{}]
  for (const [key, values] of Object.entries(factors)) {
    cells = cells.flatMap((cell) => values.map((value) => ({ ...cell, [key]: value })))
  }
  return runCells(cells as Array<Cells<F>>, body)
}

/**
 * Factors varied together: the i-th cell takes the i-th value of every factor, so all
 * factors need the same length. With one factor, a plain sweep over its values.
 *
 * @example
 * sweep({ beta: [0.03, 0.1, 0.3, 1] }, ({ beta }) => policy.dpo({ policy: sft, reference: sft, pairs, task, beta }))
 */
export const sweep = <const F extends Record<string, ReadonlyArray<Json>>, R>(
  factors: F,
  body: (cell: Cells<F>) => R
): Array<R> => {
  const entries = Object.entries(factors)
  const length = entries[0]?.[1].length ?? 0
  const uneven = entries.find(([, values]) => values.length !== length)
  if (uneven !== undefined) {
    throw new ArgumentError({
      function: "sweep",
      argument: `factor "${uneven[0]}"`,
      reason: `has ${uneven[1].length} values but "${entries[0]![0]}" has ${length}`
    })
  }
  const cells = Array.from({ length }, (_, i) => Object.fromEntries(entries.map(([key, values]) => [key, values[i]!])))
  return runCells(cells as Array<Cells<F>>, body)
}
