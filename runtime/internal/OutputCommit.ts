/**
 * Storing what a node computed, in two halves that may run in different processes.
 *
 * `store` encodes the node's output and metrics and puts them as objects: it runs where the
 * node ran (this process, or a pool worker), since objects are content-addressed and written
 * atomically by any process on the store. `commit` runs in the scheduler: it commits the key
 * record and removes the checkpoint, in that order, so a run killed in between leaves at
 * worst objects no record names (gc removes them), never a record naming bytes that are not
 * there.
 *
 * The key hashed the node's input files (`Param.file`) before it ran: `commit` hashes them
 * again first, and if one changed meanwhile the output may come from other bytes than the
 * key says, so it is not committed.
 */
import * as Effect from "effect/Effect"
import { Metrics } from "../../dsl/Artifact.ts"
import type { NodeInstance } from "../../dsl/Node.ts"
import type { ArtifactStore, KeyRecord, ObjectRef } from "../ArtifactStore.ts"
import type * as CacheKey from "../CacheKey.ts"
import { NodeFailed, reasonOf, type StoreError } from "../Errors.ts"
import * as InputFiles from "../InputFiles.ts"
import type * as CheckpointCodec from "./CheckpointCodec.ts"
import * as Codec from "./Codec.ts"

/** The objects one run of a node stored, and the last value of each metric it recorded. */
export interface Stored {
  readonly output: ObjectRef
  readonly metrics: ObjectRef
  readonly finalMetrics: { readonly [name: string]: number }
}

/**
 * Encode node `label`'s output and metrics and store them as objects. A value its output type
 * cannot encode fails the node.
 */
export const store = (
  store: ArtifactStore["Service"],
  node: NodeInstance,
  label: string,
  output: unknown,
  metrics: ReadonlyArray<CheckpointCodec.Metric>
): Effect.Effect<Stored, NodeFailed | StoreError> =>
  Effect.gen(function*() {
    const encoded = yield* Effect.try({
      try: () => ({ output: Codec.encode(node.kind.output, output), metrics: Codec.encode(Metrics, metrics) }),
      catch: (error) => new NodeFailed({ node: label, reason: `output cannot be stored: ${reasonOf(error)}` })
    })
    return {
      output: yield* store.put(encoded.output, { format: node.kind.output.format, type: node.kind.output.name }),
      metrics: yield* store.put(encoded.metrics, { format: "table", type: Metrics.name }),
      finalMetrics: Object.fromEntries(metrics.map(({ name, value }) => [name, value]))
    }
  })

/** What one run of a node stored, and what its key was made of. */
export interface Computed {
  readonly node: NodeInstance
  readonly label: string
  readonly components: CacheKey.Components
  readonly key: string
  readonly stored: Stored
  readonly durationMs: number
  /** param field → sha256 of its input file when the key was made; undefined when the node reads none */
  readonly files: Readonly<Record<string, string>> | undefined
}

/** Fails with `NodeFailed` when an input file changed while the node ran. */
const checkFiles = ({ files, label, node }: Computed): Effect.Effect<void, NodeFailed> =>
  files === undefined ? Effect.void : InputFiles.hashFilesOf(node, label).pipe(
    Effect.mapError((error) => new NodeFailed({ node: label, reason: error.reason })),
    Effect.flatMap((now) => {
      const changed = Object.keys(files).find((field) => files[field] !== now[field])
      return changed === undefined
        ? Effect.void
        : Effect.fail(new NodeFailed({ node: label, reason: `input file of param "${changed}" changed while the node ran; run again` }))
    })
  )

/**
 * Commit the key record of a node whose objects are stored, and remove its checkpoint. An
 * input file that changed while it ran fails the node instead.
 */
export const commit = (store: ArtifactStore["Service"], computed: Computed): Effect.Effect<KeyRecord, NodeFailed | StoreError> =>
  Effect.gen(function*() {
    const { components, durationMs, key, label, node, stored } = computed
    yield* checkFiles(computed)
    const record: KeyRecord = {
      key,
      node: { kind: node.kind.kind, label },
      output: stored.output,
      metrics: stored.metrics,
      finalMetrics: stored.finalMetrics,
      components,
      durationMs,
      createdAt: new Date().toISOString()
    }
    yield* store.commit(record)
    yield* store.removeCheckpoint(key)
    return record
  })
