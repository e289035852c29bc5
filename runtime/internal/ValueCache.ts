/**
 * The decoded output values of one scheduler run, by content hash.
 *
 * A node's inputs are the outputs of its upstream nodes: decoding them once and handing
 * the same value to every reader saves a Parquet or safetensors decode per reader, and a
 * node that has just run hands on its value without reading its bytes back. A value is
 * kept while a node that may read it has not finished (and for the graph's outputs, which
 * the summary shows): once its producer's last consumer is done it is dropped, so a long
 * run holds the frontier of the graph in memory, not all of it. Equal outputs of
 * different nodes share one value. Whatever is not in memory is read through the store's
 * verified read, so a value is only ever decoded from bytes that hash to its name.
 */
import * as Effect from "effect/Effect"
import type * as Graph from "../../dsl/Graph.ts"
import type { NodeInstance } from "../../dsl/Node.ts"
import type { ArtifactStore, ObjectRef } from "../ArtifactStore.ts"
import type { CorruptObject, StoreError } from "../Errors.ts"
import * as Codec from "./Codec.ts"

export interface ValueCache {
  /** The value of `node`'s output `ref`: from memory, else read (verified) and decoded. */
  readonly read: (node: NodeInstance, ref: ObjectRef) => Effect.Effect<unknown, StoreError | CorruptObject>
  /** Hand on `value`, the output of `node` that has just been stored as `hash`. */
  readonly keep: (node: NodeInstance, hash: string, value: unknown) => void
  /**
   * `node` has finished with output `hash` (undefined when it failed): its inputs have
   * one reader fewer, and a value nobody will read any more is dropped.
   */
  readonly finished: (node: NodeInstance, hash: string | undefined) => void
}

/** The value cache of a run of `graph` reading from `store`. */
export const make = (graph: Graph.Graph, store: ArtifactStore["Service"]): ValueCache => {
  const values = new Map<string, unknown>()
  const outputs = new Set(graph.outputs)
  const consumersLeft = new Map<string, number>()
  for (const { node } of graph.nodes) {
    for (const input of Object.values(node.inputs)) consumersLeft.set(input.id, (consumersLeft.get(input.id) ?? 0) + 1)
  }
  const keepsValue = (id: string) => outputs.has(id) || (consumersLeft.get(id) ?? 0) > 0
  // the nodes whose output has a given hash, and the output hash of each finished node
  const producers = new Map<string, Set<string>>()
  const outputOf = new Map<string, string>()

  const keep = (node: NodeInstance, hash: string, value: unknown) => {
    if (keepsValue(node.id)) values.set(hash, value)
  }
  return {
    read: (node, ref) =>
      Effect.suspend(() =>
        values.has(ref.hash)
          ? Effect.succeed(values.get(ref.hash))
          : store.read(ref.hash).pipe(Effect.map((bytes) => {
            const value = Codec.decode(node.kind.output, bytes)
            keep(node, ref.hash, value)
            return value
          }))
      ),
    keep,
    finished: (node, hash) => {
      if (hash !== undefined) {
        producers.set(hash, (producers.get(hash) ?? new Set()).add(node.id))
        outputOf.set(node.id, hash)
      }
      for (const input of Object.values(node.inputs)) {
        consumersLeft.set(input.id, consumersLeft.get(input.id)! - 1)
        const inputHash = outputOf.get(input.id)
        if (inputHash !== undefined && ![...producers.get(inputHash) ?? []].some(keepsValue)) values.delete(inputHash)
      }
    }
  }
}
