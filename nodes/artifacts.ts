/**
 * Artifact types shared by the node library. Distinct names are distinct types:
 * a `PreferencePairs` handle cannot be wired where `Items` or a `RewardModel` is expected.
 */
import { Schema } from "effect"
import * as Artifact from "../dsl/Artifact.ts"

/**
 * Items of a synthetic preference task: a feature vector, a hidden gold reward, and
 * a train/test split. Items are responses to a `prompt`; preferences compare items
 * of the same prompt (a task without prompts puts every item under prompt 0).
 */
export const Items = Artifact.table("Items", Schema.Struct({
  item: Schema.Number,
  prompt: Schema.Number,
  features: Schema.Array(Schema.Number),
  gold: Schema.Number,
  split: Schema.Literals(["train", "test"])
}))

/**
 * Pairwise preferences between items: `chosen` was preferred to `rejected` (or,
 * when `tie`, neither was); `flipped` records that label noise reversed the
 * oracle's verdict. Test pairs are drawn among held-out items.
 */
export const PreferencePairs = Artifact.table("PreferencePairs", Schema.Struct({
  chosen: Schema.Number,
  rejected: Schema.Number,
  tie: Schema.Boolean,
  flipped: Schema.Boolean,
  /** who labelled the pair ("" for a single oracle) */
  user: Schema.String,
  /** the labeller's type or the label source, for per-source evaluation ("" when there is one) */
  source: Schema.String,
  /** per-component gold margins (chosen − rejected) of a multi-objective oracle; empty otherwise */
  components: Schema.Array(Schema.Number),
  split: Schema.Literals(["train", "test"])
}))

/** A scalar reward model over item features. */
export const RewardModel = Artifact.model("RewardModel")

/** Held-out pairwise accuracy of a reward model against the gold preferences. */
export const PairwiseAccuracy = Artifact.table("PairwiseAccuracy", Schema.Struct({
  accuracy: Schema.Number,
  pairs: Schema.Number,
  chance: Schema.Number
}))

/** Text preference pairs: a shared prompt and two responses, the first preferred; rows carry their split. */
export const TextPreferences = Artifact.table("TextPreferences", Schema.Struct({
  id: Schema.Number,
  prompt: Schema.String,
  chosen: Schema.String,
  rejected: Schema.String,
  split: Schema.Literals(["train", "test"])
}))

/**
 * Preference pairs as feature vectors of the chosen and the rejected response, with
 * the probability `label` that the first is preferred (1 for a preference, ½ for a
 * tie), who labelled them, and their split.
 */
export const FeaturePairs = Artifact.table("FeaturePairs", Schema.Struct({
  chosen: Schema.Array(Schema.Number),
  rejected: Schema.Array(Schema.Number),
  label: Schema.Number,
  user: Schema.String,
  source: Schema.String,
  split: Schema.Literals(["train", "test"])
}))

/** One row of FeaturePairs. */
export type FeaturePair = Artifact.ValueOf<typeof FeaturePairs>[number]

/** Pairwise accuracy and calibration of a reward model on labelled pairs, one row per split. */
export const RewardModelAccuracy = Artifact.table("RewardModelAccuracy", Schema.Struct({
  split: Schema.String,
  accuracy: Schema.Number,
  ece: Schema.Number,
  pairs: Schema.Number
}))

/**
 * Steps of demonstration episodes in grid worlds: the environment's layout (see
 * nodes/data/GridEnvironment.ts), the state before the step, the action, the reward and
 * whether the episode ended.
 */
export const Trajectories = Artifact.table("Trajectories", Schema.Struct({
  env: Schema.Number,
  layout: Schema.String,
  episode: Schema.Number,
  step: Schema.Number,
  position: Schema.Number,
  hasKey: Schema.Boolean,
  action: Schema.Number,
  reward: Schema.Number,
  done: Schema.Boolean
}))
