/** The training split of a FeaturePairs table as tensors, shared by the reward-model nodes. */
import * as tf from "@tensorflow/tfjs-core"
import type { FeaturePair } from "../artifacts.ts"

export interface TrainingPairs {
  readonly rows: ReadonlyArray<FeaturePair>
  /** feature dimension */
  readonly d: number
  /** [B, d] */
  readonly chosen: tf.Tensor2D
  /** [B, d] */
  readonly rejected: tf.Tensor2D
  /** [B] probability that `chosen` is preferred (1, or ½ for ties) */
  readonly labels: tf.Tensor1D
  readonly dispose: () => void
}

/** Tensors of the training pairs (ties dropped when `preferencesOnly`); fails when there are none. */
export const trainingPairs = (pairs: ReadonlyArray<FeaturePair>, options: { readonly preferencesOnly?: boolean } = {}): TrainingPairs => {
  const rows = pairs.filter((p) => p.split === "train" && (options.preferencesOnly !== true || p.label === 1))
  if (rows.length === 0) throw new Error(`no training ${options.preferencesOnly === true ? "preference " : ""}pairs`)
  const d = rows[0]!.chosen.length
  const chosen = tf.tensor2d(rows.flatMap((p) => p.chosen), [rows.length, d])
  const rejected = tf.tensor2d(rows.flatMap((p) => p.rejected), [rows.length, d])
  const labels = tf.tensor1d(rows.map((p) => p.label))
  return { rows, d, chosen, rejected, labels, dispose: () => tf.dispose([chosen, rejected, labels]) }
}
