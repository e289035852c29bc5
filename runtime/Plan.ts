/**
 * The planner: a function from a graph and a snapshot of the store to a plan that
 * marks every node hit or miss, with the reason. It runs nothing and writes nothing;
 * what it reads of the store it reads through the snapshot's key index (the file
 * store's index reads each key record from disk when the planner first asks for it).
 *
 * A node whose upstream nodes are all hits has a known key (its inputs are their
 * output hashes): it is a hit when the store holds that key. A node below a miss
 * is a miss for reason `upstream`; the scheduler recomputes its key once the
 * upstream has run, and it still turns out cached when the upstream reproduced the
 * same bytes.
 */
import type { Json } from "../dsl/Artifact.ts"
import type * as Graph from "../dsl/Graph.ts"
import { InvariantError } from "../dsl/Errors.ts"
import type { NodeInstance } from "../dsl/Node.ts"
import type { KeyIndex, KeyRecord } from "./ArtifactStore.ts"
import * as CacheKey from "./CacheKey.ts"

/** Why a node must run. */
export type Reason = "new" | "forced" | "upstream" | CacheKey.Change["component"]

/** The plan for one node. */
export interface NodePlan {
  readonly id: string
  readonly label: string
  readonly status: "hit" | "miss"
  readonly reasons: ReadonlyArray<Reason>
  /** Known unless an upstream node is a miss. */
  readonly key: string | undefined
  /** The stored result, for hits. */
  readonly record: KeyRecord | undefined
  /** What changed since this node (same label) last ran. */
  readonly changes: ReadonlyArray<CacheKey.Change>
  /** Labels of upstream nodes that are misses. */
  readonly upstreamMisses: ReadonlyArray<string>
}

/** A plan: one entry per graph node, in the graph's topological order. */
export interface Plan {
  readonly graph: Graph.Graph
  readonly nodes: ReadonlyArray<NodePlan>
  readonly byId: ReadonlyMap<string, NodePlan>
}

/**
 * What the planner reads besides the graph; the same graph and snapshot give the same
 * plan. Everything but the key index is gathered before planning; the index reads each
 * record the planner asks for from the store as it is then.
 */
export interface Snapshot {
  /** node kind module → code fingerprint */
  readonly code: ReadonlyMap<string, CacheKey.CodeFingerprint>
  /** numerics-relevant environment, e.g. `{ backend: "wasm" }` */
  readonly env: { readonly [name: string]: Json }
  /** the store's key records, by key (read as the planner asks for them) */
  readonly index: KeyIndex
  /** label → components of that node's last run (asked only for misses, to say what changed) */
  readonly previous: ReadonlyMap<string, CacheKey.Components>
  /** ids of nodes to run even when cached */
  readonly forced: ReadonlySet<string>
  /** node id → param field → sha256 of the input file the param names */
  readonly files: ReadonlyMap<string, Readonly<Record<string, string>>>
}

/** The env component of a node: the tensor backend only enters keys of nodes that compute with tensors. */
export const envFor = (node: NodeInstance, env: Snapshot["env"]): CacheKey.Components["env"] =>
  node.kind.tensors === true ? env : {}

/**
 * The key components of a node given its upstream output hashes. Input files named
 * by its params enter `inputs` as `file:<param>`, like upstream artifacts do.
 */
export const componentsOf = (
  node: NodeInstance,
  snapshot: Snapshot,
  upstream: CacheKey.Components["inputs"]
): CacheKey.Components => {
  const code = snapshot.code.get(node.kind.module)
  if (code === undefined) throw new InvariantError({ what: `snapshot of node "${node.name}"`, reason: `has no code fingerprint for ${node.kind.module}` })
  const files = Object.entries(snapshot.files.get(node.id) ?? {}).map(([field, hash]) => [`file:${field}`, hash] as const)
  return {
    kind: node.kind.kind,
    version: node.kind.version,
    code,
    params: node.params,
    inputs: { ...upstream, ...Object.fromEntries(files) },
    env: envFor(node, snapshot.env)
  }
}

const reasonsOf = (changes: ReadonlyArray<CacheKey.Change>): Array<Reason> => [
  ...new Set(changes.map((change) => change.component))
]

/**
 * Plan a graph against a store snapshot. Runs nothing and writes nothing; reads key
 * records only through `snapshot.index`, one lookup per node whose key is known.
 */
export const make = (graph: Graph.Graph, snapshot: Snapshot): Plan => {
  const outputHash = new Map<string, string>()
  const nodes: Array<NodePlan> = []
  const byId = new Map<string, NodePlan>()
  for (const { node, label } of graph.nodes) {
    const inputs: Record<string, string> = {}
    const upstreamMisses: Array<string> = []
    for (const [name, input] of Object.entries(node.inputs)) {
      const hash = outputHash.get(input.id)
      if (hash === undefined) upstreamMisses.push(byId.get(input.id)?.label ?? input.name)
      else inputs[name] = hash
    }
    const components = componentsOf(node, snapshot, inputs)
    const known = upstreamMisses.length === 0
    const key = known ? CacheKey.make(components) : undefined
    const record = key === undefined ? undefined : snapshot.index.get(key)
    const forced = snapshot.forced.has(node.id)
    let plan: NodePlan
    if (record !== undefined && !forced) {
      outputHash.set(node.id, record.output.hash)
      plan = { id: node.id, label, status: "hit", reasons: [], key, record, changes: [], upstreamMisses: [] }
    } else {
      const previous = snapshot.previous.get(label)
      const changes = previous === undefined ? [] : CacheKey.diff(previous, components, { inputs: known })
      const reasons: Array<Reason> = [
        ...(forced ? ["forced" as const] : []),
        ...(upstreamMisses.length > 0 ? ["upstream" as const] : []),
        ...reasonsOf(changes),
        ...(previous === undefined && !forced ? ["new" as const] : [])
      ]
      plan = { id: node.id, label, status: "miss", reasons, key, record: undefined, changes, upstreamMisses }
    }
    nodes.push(plan)
    byId.set(node.id, plan)
  }
  return { graph, nodes, byId }
}
