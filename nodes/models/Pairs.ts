/**
 * Feature pairs (nodes/artifacts.ts FeaturePairs) as tensors, and the selections of
 * them that the reward models train on, shared by the reward nodes and PreferenceModel.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { FeaturePair } from "../artifacts.ts"
import { matrix } from "./Tensors.ts"

type Features = Pick<FeaturePair, "chosen" | "rejected">

/** The chosen and rejected feature vectors of `rows`, one row each. → chosen, rejected: [n, d] */
export const pairTensors = (rows: ReadonlyArray<Features>): { chosen: tf.Tensor2D; rejected: tf.Tensor2D } => {
  const d = rows[0]?.chosen.length ?? 0
  return {
    chosen: matrix(rows.map((p) => p.chosen), d, "the chosen features of pair"),
    rejected: matrix(rows.map((p) => p.rejected), d, "the rejected features of pair")
  }
}

/** `pairTensors` of equally long groups (e.g. users' pairs), group-major. → chosen, rejected: [G, n, d] */
export const groupedPairTensors = (groups: ReadonlyArray<ReadonlyArray<Features>>): { chosen: tf.Tensor3D; rejected: tf.Tensor3D } =>
  tf.tidy(() => {
    const { chosen, rejected } = pairTensors(groups.flat())
    const shape: [number, number, number] = [groups.length, groups[0]?.length ?? 0, chosen.shape[1]]
    return { chosen: tf.reshape(chosen, shape) as tf.Tensor3D, rejected: tf.reshape(rejected, shape) as tf.Tensor3D }
  })

/** A training preference: a pair of the train split whose chosen response is preferred (not a tie). */
export const isTrainingPreference = (p: FeaturePair): boolean => p.split === "train" && p.label === 1

/** Each annotator's training preferences, in table order; pairs without an annotator (`user` "") are left out. */
export const userPreferences = (pairs: ReadonlyArray<FeaturePair>): Map<string, Array<FeaturePair>> => {
  const byUser = new Map<string, Array<FeaturePair>>()
  for (const p of pairs) {
    if (!isTrainingPreference(p) || p.user === "") continue
    const mine = byUser.get(p.user)
    if (mine === undefined) byUser.set(p.user, [p])
    else mine.push(p)
  }
  return byUser
}
