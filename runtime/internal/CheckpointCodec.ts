/**
 * Checkpoint files: a safetensors model (see `ModelCodec`) whose tensors are the
 * checkpoint's and whose config holds the step, the loop's state and the metrics the
 * node had reported so far, so a resumed node continues its metrics too.
 */
import type { Checkpoint } from "../../dsl/Node.ts"
import * as ModelCodec from "./ModelCodec.ts"

/** A metric a node reported, as checkpoints and the metrics artifact keep it (a type, not an interface: it is JSON). */
export type Metric = {
  readonly step: number
  readonly name: string
  readonly value: number
}

/** What a checkpoint's safetensors header holds besides the tensors. */
interface CheckpointConfig {
  readonly step: number
  readonly state: Checkpoint["state"]
  readonly metrics: ReadonlyArray<Metric>
}

/** Encode a checkpoint and the metrics reported up to it. */
export const encode = (checkpoint: Checkpoint, metrics: ReadonlyArray<Metric>): Uint8Array =>
  ModelCodec.encode({ config: { step: checkpoint.step, state: checkpoint.state, metrics }, tensors: checkpoint.tensors })

/** Decode what `encode` wrote. */
export const decode = (bytes: Uint8Array): { readonly checkpoint: Checkpoint; readonly metrics: ReadonlyArray<Metric> } => {
  const { config, tensors } = ModelCodec.decode(bytes)
  const saved = config as unknown as CheckpointConfig
  return { checkpoint: { step: saved.step, state: saved.state, tensors }, metrics: saved.metrics }
}
