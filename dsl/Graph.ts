/**
 * The immutable graph a pipeline builds: node instances in topological order,
 * each with a display label that tells apart the instances of one name across
 * sweep cells (`rm[seed=1]`, `dpo[beta=0.1]`).
 */
import * as Effect from "effect/Effect"
import type { Json } from "./Artifact.ts"
import { BuildError } from "./Errors.ts"
import type { NodeInstance } from "./Node.ts"

/** A node of the graph with its display label and the sweep coordinates it belongs to. */
export interface GraphNode {
  readonly node: NodeInstance
  readonly label: string
  /** Sweep coordinates shared by every cell that uses this node (empty when all cells share it). */
  readonly coords: Readonly<Record<string, Json>>
}

/** A built pipeline: nodes in topological order and the outputs the builder returned. */
export interface Graph {
  readonly pipeline: string
  readonly nodes: ReadonlyArray<GraphNode>
  readonly byId: ReadonlyMap<string, GraphNode>
  /** Ids of the nodes the builder returned, in the order returned. */
  readonly outputs: ReadonlyArray<string>
  /** The sweep cell its results table compares the others with (`Pipeline.make`'s `baseline`). */
  readonly baseline: Readonly<Record<string, Json>>
}

const formatCoord = (key: string, value: Json): string =>
  `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`

const labelsFor = (
  entries: ReadonlyArray<{ readonly node: NodeInstance; readonly coords: Readonly<Record<string, Json>> }>
): Map<string, string> => {
  const byName = new Map<string, Array<(typeof entries)[number]>>()
  for (const entry of entries) {
    const group = byName.get(entry.node.name) ?? []
    group.push(entry)
    byName.set(entry.node.name, group)
  }
  const labels = new Map<string, string>()
  for (const [name, group] of byName) {
    if (group.length === 1) {
      labels.set(group[0]!.node.id, name)
      continue
    }
    const keys = [...new Set(group.flatMap((e) => Object.keys(e.coords)))]
    const varying = keys.filter((key) => new Set(group.map((e) => JSON.stringify(e.coords[key] ?? null))).size > 1)
    const taken = new Map<string, number>()
    for (const entry of group) {
      const parts = varying.flatMap((key) => {
        const value = entry.coords[key]
        return value === undefined ? [] : [formatCoord(key, value)]
      })
      const base = parts.length === 0 ? name : `${name}[${parts.join(",")}]`
      const seen = taken.get(base) ?? 0
      taken.set(base, seen + 1)
      labels.set(entry.node.id, seen === 0 ? base : `${base}#${seen + 1}`)
    }
  }
  return labels
}

/**
 * Build a graph from the nodes a build created (by id, in creation order) and its
 * outputs. A node reached from them that the build did not create was made outside
 * the builder (at module top level): it would miss seeds and `--set`, so it is refused
 * by name.
 */
export const make = (
  pipeline: string,
  created: ReadonlyMap<string, { readonly node: NodeInstance; readonly coords: Readonly<Record<string, Json>> }>,
  outputs: ReadonlyArray<NodeInstance>,
  baseline: Readonly<Record<string, Json>> = {}
): Effect.Effect<Graph, BuildError> => {
  const outside = (node: NodeInstance) =>
    Effect.fail(new BuildError({
      pipeline,
      reason: `node "${node.name}" was created outside the function given to Pipeline.make; create every node inside it`
    }))
  const foreignOutput = outputs.find((node) => !created.has(node.id))
  if (foreignOutput !== undefined) return outside(foreignOutput)
  const labels = labelsFor([...created.values()])
  const ordered: Array<GraphNode> = []
  const visited = new Set<string>()
  // the first node reached that the build did not create
  let foreign: NodeInstance | undefined
  const visit = (node: NodeInstance): void => {
    if (foreign !== undefined || visited.has(node.id)) return
    const entry = created.get(node.id)
    if (entry === undefined) {
      foreign = node
      return
    }
    visited.add(node.id)
    for (const input of Object.values(node.inputs)) visit(input)
    ordered.push({ node, label: labels.get(node.id)!, coords: entry.coords })
  }
  for (const entry of created.values()) visit(entry.node)
  if (foreign !== undefined) return outside(foreign)
  return Effect.succeed({
    pipeline,
    nodes: ordered,
    byId: new Map(ordered.map((n) => [n.node.id, n])),
    outputs: outputs.map((node) => node.id),
    baseline
  })
}

/** The nodes `target` names: every node with that name (one per sweep cell), or the one with that label. */
export const named = (graph: Graph, target: string): ReadonlyArray<GraphNode> =>
  graph.nodes.filter(({ node, label }) => node.name === target || label === target)

/**
 * The part of a graph that computes `targets` (node names or labels): those nodes and every
 * node upstream of them, in the same order, with the targets as its outputs. Returns the
 * first target that names no node, instead, so the caller can say which.
 */
export const restrict = (graph: Graph, targets: ReadonlyArray<string>): Graph | { readonly unknown: string } => {
  const wanted = new Set<string>()
  for (const target of targets) {
    const matches = named(graph, target)
    if (matches.length === 0) return { unknown: target }
    for (const { node } of matches) wanted.add(node.id)
  }
  const outputs = graph.nodes.filter(({ node }) => wanted.has(node.id)).map(({ node }) => node.id)
  const keep = new Set<string>()
  const visit = (node: NodeInstance): void => {
    if (keep.has(node.id)) return
    keep.add(node.id)
    for (const input of Object.values(node.inputs)) visit(input)
  }
  for (const id of outputs) visit(graph.byId.get(id)!.node)
  const nodes = graph.nodes.filter(({ node }) => keep.has(node.id))
  return { ...graph, nodes, byId: new Map(nodes.map((n) => [n.node.id, n])), outputs }
}
