/**
 * What a run does when an output it reads is corrupt or missing: nothing is computed from
 * bad bytes, and the run repairs the store instead of failing when it can.
 *
 * The object is moved to quarantine with every key record naming it (so no later plan
 * hits it), then the node that made it is recomputed in this run — its record is gone, so
 * it misses — and the reader gets the fresh value. A node's own inputs are read the same
 * way, so a chain of damaged objects is repaired upstream first. Each producer is
 * recomputed at most once per run: readers that find the same object bad meanwhile wait
 * for that one recomputation. The reader fails with the object, its producer and what to
 * do when the producer cannot be recomputed here, its recomputation fails, it is not
 * deterministic (other bytes, which the reader's key does not name), or the object is
 * found corrupt again afterwards.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type { NodeInstance } from "../../dsl/Node.ts"
import type { ArtifactStore, ObjectRef } from "../ArtifactStore.ts"
import { CorruptObject, type NodeFailed, type StoreError } from "../Errors.ts"
import * as Integrity from "./Integrity.ts"

type Read = (node: NodeInstance, ref: ObjectRef) => Effect.Effect<unknown, StoreError | CorruptObject>

export interface Options {
  readonly store: ArtifactStore["Service"]
  /** Read an output as the run does (from memory, else a verified read); no recovery. */
  readonly read: Read
  readonly labelOf: (node: NodeInstance) => string
  /**
   * Recompute `node` under its key's lock (a record another process committed meanwhile is
   * used instead): the hash of its new output. Undefined when this run cannot recompute it.
   */
  readonly recompute: (node: NodeInstance) => Effect.Effect<string, NodeFailed | StoreError> | undefined
}

/** Recovery for one run: `recover` is what a reader calls when `read` failed with `corrupt`. */
export const make = ({ labelOf, read, recompute, store }: Options) => {
  // producer id → its recomputation in this run: a recovered output is recomputed once
  const attempts = new Map<string, Deferred.Deferred<void, StoreError | CorruptObject>>()

  const attempt = (node: NodeInstance, ref: ObjectRef, corrupt: CorruptObject) =>
    Effect.gen(function*() {
      const producer = labelOf(node)
      const fail = (next: string) => new CorruptObject({ ...corrupt, producer, recovery: next })
      const moved = Integrity.describeQuarantine(yield* store.quarantine(ref.hash))
      const recomputing = recompute(node)
      if (recomputing === undefined) return yield* fail(`${moved}; the next \`pipeline run\` recomputes node "${producer}"`)
      const hash = yield* recomputing.pipe(Effect.catchTag("NodeFailed", (failed) =>
        Effect.fail(fail(`${moved}; recomputing node "${producer}" failed (${failed.reason}); the next \`pipeline run\` tries again`))
      ))
      if (hash !== ref.hash) {
        return yield* fail(
          `${moved}; recomputing node "${producer}" gave other bytes (${Integrity.short(hash)}): it is not deterministic, ` +
            `and its readers' keys name the old ones; the next \`pipeline run\` recomputes its readers from the new ones`
        )
      }
    })

  /** Read `ref` once its producer has been recomputed; found corrupt again, it is quarantined again and the reader fails. */
  const reread = (node: NodeInstance, ref: ObjectRef) =>
    read(node, ref).pipe(Effect.catchTag("CorruptObject", (again) =>
      store.quarantine(ref.hash).pipe(Effect.flatMap((done) =>
        Effect.fail(
          new CorruptObject({
            ...again,
            producer: labelOf(node),
            recovery: `found again after node "${labelOf(node)}" was recomputed in this run; ${
              Integrity.describeQuarantine(done)
            }; check the disk the store is on (\`pipeline fsck\`) and run again`
          })
        )
      ))
    ))

  const recover = (node: NodeInstance, ref: ObjectRef, corrupt: CorruptObject): Effect.Effect<unknown, StoreError | CorruptObject> =>
    Effect.suspend(() => {
      const pending = attempts.get(node.id)
      if (pending !== undefined) return Deferred.await(pending).pipe(Effect.andThen(reread(node, ref)))
      const started = Deferred.makeUnsafe<void, StoreError | CorruptObject>()
      attempts.set(node.id, started)
      return Deferred.into(attempt(node, ref, corrupt), started).pipe(
        Effect.andThen(Deferred.await(started)),
        Effect.andThen(reread(node, ref))
      )
    })

  return { recover }
}
