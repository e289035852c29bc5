/**
 * On-policy rollouts, shared by the trainers that learn from their own samples (PPO,
 * GRPO, RLOO, best-of-N, iterative DPO): draw prompts from the task's training split,
 * sample responses from the current policy (groups of responses per prompt, consecutive),
 * and record each token's log-probability under the policy and the reference and each
 * response's reward from the reward source. Nothing here is on the gradient tape.
 */
import { InputError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"
import type { Prompt, TaskView } from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import type * as RewardSource from "../models/RewardSource.ts"

export interface Rollout {
  /** the prompt of each response; a group's responses are consecutive. [B] */
  readonly prompts: ReadonlyArray<Prompt>
  /** number[B][L] */
  readonly responses: ReadonlyArray<ReadonlyArray<number>>
  /** log π_old of each token under the sampling policy. number[B][L] */
  readonly logProbs: ReadonlyArray<ReadonlyArray<number>>
  /** log π_ref of each token (the sampling policy's own when there is no reference). number[B][L] */
  readonly referenceLogProbs: ReadonlyArray<ReadonlyArray<number>>
  /** each response's reward from the source. [B] */
  readonly rewards: ReadonlyArray<number>
  /** per-token rewards of a process reward model. number[B][L] */
  readonly tokenRewards?: ReadonlyArray<ReadonlyArray<number>>
}

/** The task's training prompts; fails when the task holds out every prompt. */
export const trainingPrompts = (task: TaskView): ReadonlyArray<Prompt> => {
  const prompts = task.prompts.filter((p) => p.split === "train")
  if (prompts.length === 0) {
    throw new InputError({ input: "task", reason: "the task has no training prompts to optimise the policy on (every prompt is held out)" })
  }
  return prompts
}

/** `count` prompts drawn with replacement from `prompts`. */
export const drawPrompts = (prompts: ReadonlyArray<Prompt>, count: number, rng: Random): Array<Prompt> =>
  Array.from({ length: count }, () => prompts[rng.int(prompts.length)]!)

/**
 * Sample `groupSize` responses to each prompt from the policy at temperature 1 and score
 * them. The reference's log-probabilities are computed when it is given.
 */
export const rollout = (
  policy: PolicyModel.Loaded,
  reference: PolicyModel.Loaded | undefined,
  source: RewardSource.Source,
  task: TaskView,
  prompts: ReadonlyArray<Prompt>,
  groupSize: number,
  rng: Random
): Rollout => {
  const repeated = prompts.flatMap((p) => Array.from({ length: groupSize }, () => p))
  const { responses, tokenLogProbs } = PolicyModel.sample(policy, repeated, task.responseLength, { temperature: 1, topK: 0 }, rng)
  const referenceLogProbs = reference === undefined ? tokenLogProbs : PolicyModel.tokenLogProbs(reference, repeated, responses)
  const scored = source.score(repeated, responses)
  return {
    prompts: repeated,
    responses,
    logProbs: tokenLogProbs,
    referenceLogProbs,
    rewards: scored.rewards,
    ...(scored.tokenRewards === undefined ? {} : { tokenRewards: scored.tokenRewards })
  }
}
