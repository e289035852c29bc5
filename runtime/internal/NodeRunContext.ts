/**
 * The `NodeContext` one run of a node receives, and what it gathers while the node runs.
 *
 * The random stream is seeded from the node's key components (the same on every run);
 * progress is reported as events, throttled to one per `progressInterval` ms except the
 * last step; metrics are collected for the node's Metrics artifact; checkpoints live in
 * the store under the node's key (CheckpointCodec), and loading one restores the metrics
 * reported before it, so a resumed node continues its metrics too.
 */
import * as Effect from "effect/Effect"
import type { NodeContext, Progress } from "../../dsl/Node.ts"
import * as Random from "../../dsl/Random.ts"
import type { ArtifactStore } from "../ArtifactStore.ts"
import type * as CacheKey from "../CacheKey.ts"
import * as CheckpointCodec from "./CheckpointCodec.ts"

const progressInterval = 100

/** A node's context, and the metrics it has reported so far. */
export interface NodeRun {
  readonly ctx: NodeContext
  readonly metrics: () => ReadonlyArray<CheckpointCodec.Metric>
}

/** What a node's context is made of: its label, its key and key components, the store its checkpoints live in, where progress goes. */
export interface Options {
  readonly label: string
  readonly components: CacheKey.Components
  readonly key: string
  readonly store: ArtifactStore["Service"]
  readonly onProgress: (progress: Progress) => void
}

/** The context of one run of a node. */
export const make = ({ components, key, label, onProgress, store }: Options): NodeRun => {
  let metrics: Array<CheckpointCodec.Metric> = []
  let lastProgress = 0
  const ctx: NodeContext = {
    name: label,
    random: Random.forComponents(components),
    progress: (progress) => {
      const now = performance.now()
      if (progress.step < progress.total && now - lastProgress < progressInterval) return
      lastProgress = now
      onProgress(progress)
    },
    metric: (name, value, step) => void metrics.push({ step: step ?? metrics.length, name, value }),
    checkpoint: {
      load: store.readCheckpoint(key).pipe(
        Effect.map((bytes) => {
          if (bytes === undefined) return undefined
          const saved = CheckpointCodec.decode(bytes)
          metrics = [...saved.metrics]
          return saved.checkpoint
        }),
        Effect.orDie
      ),
      save: (checkpoint) => Effect.suspend(() => store.writeCheckpoint(key, CheckpointCodec.encode(checkpoint, metrics))).pipe(Effect.orDie)
    }
  }
  return { ctx, metrics: () => metrics }
}
