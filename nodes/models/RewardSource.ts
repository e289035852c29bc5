/**
 * What a policy trainer maximises, read from a `RewardSource` input: a reward model's
 * score of each response (an ensemble's mean; a process reward model's per-token
 * rewards and their sum), or a task's gold reward when the task itself is wired in.
 */
import type { ModelValue, ValueOf } from "../../dsl/Artifact.ts"
import type { RewardSource } from "../artifacts.ts"
import { isSequenceTask } from "../data/SequenceGold.ts"
import * as TaskView from "../data/Task.ts"
import type { Prompt } from "../data/Task.ts"
import { scoreSamples } from "./Scoring.ts"

export interface Rewards {
  /** one reward per response */
  readonly rewards: ReadonlyArray<number>
  /** per-token rewards of each response (summing to its reward), from a process reward model only */
  readonly tokenRewards?: ReadonlyArray<ReadonlyArray<number>>
}

export interface Source {
  /** "gold" when the task's own reward is optimised, "model" for a reward model, "process" for a process reward model */
  readonly kind: "gold" | "model" | "process"
  readonly score: (prompts: ReadonlyArray<Prompt>, responses: ReadonlyArray<ReadonlyArray<number>>) => Rewards
}

/** The reward source of a wired value, scoring responses to the prompts of `task`. */
export const of = (value: ValueOf<typeof RewardSource>, task: TaskView.TaskView): Source => {
  if (Array.isArray(value) || isSequenceTask(value as ModelValue)) {
    const gold = TaskView.view(value as ValueOf<typeof RewardSource>)
    return { kind: "gold", score: (prompts, responses) => ({ rewards: responses.map((r, i) => gold.gold(prompts[i]!.id, r)) }) }
  }
  const model = value as ModelValue
  const process = model.config["architecture"] === "implicitProcess"
  return {
    kind: process ? "process" : "model",
    score: (prompts, responses) => {
      const scored = scoreSamples(model, responses.map((response, i) => ({ prompt: prompts[i]!.id, response: [...response] })), task)
      return {
        rewards: scored.map((s) => s.reward),
        ...(process ? { tokenRewards: scored.map((s) => s.tokenRewards) } : {})
      }
    }
  }
}
