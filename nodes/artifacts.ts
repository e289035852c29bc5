/**
 * Artifact types shared by the node library. Distinct names are distinct types:
 * a `PreferencePairs` handle cannot be wired where `Items` or a `RewardModel` is expected.
 */
import { Schema } from "effect"
import * as Artifact from "../dsl/Artifact.ts"

/** Items of a synthetic preference task: a feature vector, a hidden gold reward, and a train/test split. */
export const Items = Artifact.table("Items", Schema.Struct({
  item: Schema.Number,
  features: Schema.Array(Schema.Number),
  gold: Schema.Number,
  split: Schema.Literals(["train", "test"])
}))

/** Pairwise preferences between items: `chosen` was preferred to `rejected`. */
export const PreferencePairs = Artifact.table("PreferencePairs", Schema.Struct({
  chosen: Schema.Number,
  rejected: Schema.Number
}))

/** A scalar reward model over item features. */
export const RewardModel = Artifact.model("RewardModel")

/** Held-out pairwise accuracy of a reward model against the gold preferences. */
export const PairwiseAccuracy = Artifact.table("PairwiseAccuracy", Schema.Struct({
  accuracy: Schema.Number,
  pairs: Schema.Number,
  chance: Schema.Number
}))
