/**
 * The ambient state of one graph build: the pipeline seed, the sweep cell being
 * built, the `--set` overrides, and the nodes created so far. Builders are
 * synchronous, so one module-level slot is enough; `withContext` restores the
 * previous state even when the builder throws.
 */
import type { Json } from "../Artifact.ts"
import type { NodeInstance } from "../Node.ts"

export interface BuildContext {
  readonly seed: number
  /** The sweep cell being built, e.g. `{ seed: 0, beta: 0.1 }`. */
  readonly coords: Readonly<Record<string, Json>>
  /** node name → field → raw override value */
  readonly overrides: ReadonlyMap<string, Readonly<Record<string, unknown>>>
  /** names of nodes an override was applied to */
  readonly usedOverrides: Set<string>
  /** nodes by id, with the sweep coordinates all of their creations share */
  readonly nodes: Map<string, { readonly node: NodeInstance; coords: Record<string, Json> }>
}

export const empty = (seed = 0): BuildContext => ({
  seed,
  coords: {},
  overrides: new Map(),
  usedOverrides: new Set(),
  nodes: new Map()
})

let current: BuildContext = empty()

export const get = (): BuildContext => current

export const withContext = <A>(context: BuildContext, f: () => A): A => {
  const previous = current
  current = context
  try {
    return f()
  } finally {
    current = previous
  }
}

/** Record a node created in the current cell; a node created again keeps only the coordinates both cells share. */
export const register = (node: NodeInstance): NodeInstance => {
  const entry = current.nodes.get(node.id)
  if (entry === undefined) {
    current.nodes.set(node.id, { node, coords: { ...current.coords } })
    return node
  }
  for (const [key, value] of Object.entries(entry.coords)) {
    if (current.coords[key] !== value) delete entry.coords[key]
  }
  return entry.node
}
