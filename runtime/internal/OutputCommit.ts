/**
 * Storing what a node computed: its output and metrics become objects, then its key
 * record is committed, in that order, so a run killed in between leaves at worst objects
 * no record names (gc removes them), never a record naming bytes that are not there.
 *
 * The key hashed the node's input files (`Param.file`) before it ran: they are hashed
 * again first, and if one changed meanwhile the output may come from other bytes than
 * the key says, so it is not stored.
 */
import * as Effect from "effect/Effect"
import { Metrics } from "../../dsl/Artifact.ts"
import type { NodeInstance } from "../../dsl/Node.ts"
import type { ArtifactStore, KeyRecord } from "../ArtifactStore.ts"
import type * as CacheKey from "../CacheKey.ts"
import { NodeFailed, reasonOf, type StoreError } from "../Errors.ts"
import * as InputFiles from "../InputFiles.ts"
import type * as CheckpointCodec from "./CheckpointCodec.ts"
import * as Codec from "./Codec.ts"

/** What one run of a node produced, and what its key was made of. */
export interface Computed {
  readonly node: NodeInstance
  readonly label: string
  readonly components: CacheKey.Components
  readonly key: string
  readonly output: unknown
  readonly metrics: ReadonlyArray<CheckpointCodec.Metric>
  readonly durationMs: number
  /** param field → sha256 of its input file when the key was made; undefined when the node reads none */
  readonly files: Readonly<Record<string, string>> | undefined
}

/** Where a commit reports to: the value to hand on to readers, and the committed record. */
export interface Report {
  readonly keep: (hash: string, value: unknown) => void
  readonly done: (record: KeyRecord) => void
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
 * Store a node's output and metrics, commit its key record and remove its checkpoint.
 * A value its output type cannot encode fails the node, as does an input file that changed.
 */
export const commit = (
  store: ArtifactStore["Service"],
  computed: Computed,
  report: Report
): Effect.Effect<KeyRecord, NodeFailed | StoreError> =>
  Effect.gen(function*() {
    const { components, durationMs, key, label, metrics, node, output } = computed
    yield* checkFiles(computed)
    const encoded = yield* Effect.try({
      try: () => ({ output: Codec.encode(node.kind.output, output), metrics: Codec.encode(Metrics, metrics) }),
      catch: (error) => new NodeFailed({ node: label, reason: `output cannot be stored: ${reasonOf(error)}` })
    })
    const outputRef = yield* store.put(encoded.output, { format: node.kind.output.format, type: node.kind.output.name })
    const metricsRef = yield* store.put(encoded.metrics, { format: "table", type: Metrics.name })
    report.keep(outputRef.hash, output)
    const record: KeyRecord = {
      key,
      node: { kind: node.kind.kind, label },
      output: outputRef,
      metrics: metricsRef,
      finalMetrics: Object.fromEntries(metrics.map(({ name, value }) => [name, value])),
      components,
      durationMs,
      createdAt: new Date().toISOString()
    }
    yield* store.commit(record)
    yield* store.removeCheckpoint(key)
    report.done(record)
    return record
  })
