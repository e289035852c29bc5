/**
 * Artifact types shared by the node library. Distinct names are distinct types:
 * a `PreferencePairs` handle cannot be wired where `Items` or a `RewardModel` is expected.
 */
import * as Schema from "effect/Schema"
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

/** Success rate, mean return and mean length of a grid-world policy's episodes, each with a 95% interval, and how many episodes. */
export const EpisodeOutcomes = Artifact.table("EpisodeOutcomes", Schema.Struct({
  success: Schema.Number,
  successLower: Schema.Number,
  successUpper: Schema.Number,
  return: Schema.Number,
  returnLower: Schema.Number,
  returnUpper: Schema.Number,
  steps: Schema.Number,
  stepsLower: Schema.Number,
  stepsUpper: Schema.Number,
  episodes: Schema.Number,
  environments: Schema.Number
}))

/**
 * A sequence task for the tiny transformer: prompts over a small vocabulary, a fixed
 * response length and a gold reward computable for any response (see
 * nodes/data/SequenceGold.ts). Config: the vocabulary's token names, the lengths, the
 * gold reward's definition, the prompts and the held-out prompt ids; tensors: the
 * weights of a random-network gold reward.
 */
export const SequenceTask = Artifact.model("SequenceTask")

/**
 * A task whose gold reward is known for any response: a bandit task's `Items` (a
 * response is one of the prompt's K candidates) or a `SequenceTask` (a response is a
 * token sequence). See nodes/data/Task.ts.
 */
export const Task = Artifact.oneOf("Task", [Items, SequenceTask])

/** A policy: a tabular softmax over a bandit's K responses, or a tiny transformer LM. */
export const Policy = Artifact.model("Policy")

/**
 * Responses sampled from a policy, `sample` = 0..n−1 for each prompt. A response is a
 * token sequence; a bandit response is one token, its index among the prompt's
 * candidates. `logProb` is log π(response | prompt) under the sampling policy itself
 * (temperature 1, no top-k), summed over `tokenLogProbs`.
 */
export const Samples = Artifact.table("Samples", Schema.Struct({
  prompt: Schema.Number,
  sample: Schema.Number,
  response: Schema.Array(Schema.Number),
  logProb: Schema.Number,
  tokenLogProbs: Schema.Array(Schema.Number),
  split: Schema.Literals(["train", "test"])
}))

/** One row of Samples. */
export type Sample = Artifact.ValueOf<typeof Samples>[number]

/**
 * Preferences between two responses to the same prompt (token sequences; a bandit
 * response is one token, its candidate's index): `chosen` was preferred to `rejected`
 * by a judge (the task's gold reward, a reward model or a general preference model);
 * `margin` is the judge's score of chosen over rejected (a reward difference or a
 * preference logit; negative when label noise or a Bradley–Terry draw went against
 * it), `flipped` records that label noise reversed the verdict. The policy trainers'
 * data (DPO and its family, KTO, SFT on the chosen responses).
 */
export const ResponsePairs = Artifact.table("ResponsePairs", Schema.Struct({
  prompt: Schema.Number,
  chosen: Schema.Array(Schema.Number),
  rejected: Schema.Array(Schema.Number),
  margin: Schema.Number,
  flipped: Schema.Boolean,
  split: Schema.Literals(["train", "test"])
}))

/** One row of ResponsePairs. */
export type ResponsePair = Artifact.ValueOf<typeof ResponsePairs>[number]

/**
 * What a policy trainer maximises: a reward model's score (a process reward model's
 * per-token rewards), or a task's gold reward (pass the task itself).
 * See nodes/models/RewardSource.ts.
 */
export const RewardSource = Artifact.oneOf("RewardSource", [RewardModel, Items, SequenceTask])

/**
 * A reward model's scores of samples: one scalar per sample; for an ensemble the
 * members' mean, with `spread` their standard deviation (its uncertainty; 0 for a
 * single model); and for process reward models one reward per response token
 * (summing to the scalar), empty otherwise.
 */
export const Scores = Artifact.table("Scores", Schema.Struct({
  prompt: Schema.Number,
  sample: Schema.Number,
  reward: Schema.Number,
  spread: Schema.Number,
  tokenRewards: Schema.Array(Schema.Number),
  split: Schema.Literals(["train", "test"])
}))

/** The mean gold reward of samples with a 95% confidence interval, per split. */
export const GoldReward = Artifact.table("GoldReward", Schema.Struct({
  split: Schema.String,
  mean: Schema.Number,
  lower: Schema.Number,
  upper: Schema.Number,
  samples: Schema.Number
}))

/**
 * KL(π ‖ π_ref) per split, per sequence and per token: the k1, k2, k3 estimates from
 * samples of π, and the exact value where the task allows it (NaN otherwise).
 */
export const KlDivergence = Artifact.table("KlDivergence", Schema.Struct({
  split: Schema.String,
  level: Schema.Literals(["sequence", "token"]),
  k1: Schema.Number,
  k2: Schema.Number,
  k3: Schema.Number,
  exact: Schema.Number,
  samples: Schema.Number
}))

/** How often a policy's response beats the reference's under the gold reward (ties count ½), with a 95% interval. */
export const WinRate = Artifact.table("WinRate", Schema.Struct({
  split: Schema.String,
  winRate: Schema.Number,
  lower: Schema.Number,
  upper: Schema.Number,
  ties: Schema.Number,
  pairs: Schema.Number
}))

/** One point of a reward–KL frontier: gold reward, proxy reward and KL to the reference, per split. */
export const RewardKl = Artifact.table("RewardKl", Schema.Struct({
  split: Schema.String,
  gold: Schema.Number,
  goldLower: Schema.Number,
  goldUpper: Schema.Number,
  proxy: Schema.Number,
  kl: Schema.Number,
  /** "exact" or the estimator used (k3) */
  klMethod: Schema.String,
  samples: Schema.Number
}))

/**
 * The likelihood of a preference dataset under a policy against its reference, per split of
 * the pairs: the mean log-ratio log π/π_ref of the chosen and of the rejected responses, and the
 * mean per prompt of the probability mass the policy (`covered`) and the reference put on the
 * distinct responses of the prompt's pairs.
 */
export const PairLikelihood = Artifact.table("PairLikelihood", Schema.Struct({
  split: Schema.String,
  chosen: Schema.Number,
  rejected: Schema.Number,
  covered: Schema.Number,
  referenceCovered: Schema.Number,
  pairs: Schema.Number,
  responses: Schema.Number
}))

/**
 * A population of user types: each type's name (`type0`, … as labels record it in `source`),
 * its share of the users and the weights w of its linear reward r(x) = w·x over item
 * features. See label/userTypes.
 */
export const UserTypes = Artifact.table("UserTypes", Schema.Struct({
  type: Schema.String,
  share: Schema.Number,
  weights: Schema.Array(Schema.Number)
}))
