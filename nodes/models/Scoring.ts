/**
 * Scoring a policy's samples with any reward model: a scalar reward per sample from a
 * model over features (Bradley–Terry, ensemble mean and spread, latent-user at the population
 * latent; see ./PreferenceModel.ts's `rewards`), or, from an implicit process reward
 * model, a reward per response token and their sum (./ProcessReward.ts).
 */
import type { ModelValue } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import type { Sample } from "../artifacts.ts"
import type { TaskView } from "../data/Task.ts"
import { acrossMembers, sum } from "../evaluate/math.ts"
import { memberRewards } from "./PreferenceModel.ts"
import { isProcessReward, tokenRewards } from "./ProcessReward.ts"

/**
 * Each sample's reward, the spread of an ensemble's members' rewards (0 for one model),
 * and, from a process reward model, its per-token rewards.
 */
export const scoreSamples = (
  model: ModelValue,
  samples: ReadonlyArray<Pick<Sample, "prompt" | "response">>,
  task: TaskView
): Array<{ readonly reward: number; readonly spread: number; readonly tokenRewards: ReadonlyArray<number> }> => {
  if (samples.length === 0) return []
  if (isProcessReward(model)) {
    if (task.kind !== "sequence") throw new InputError({ input: "task", reason: "a process reward model scores token sequences; the task is a bandit" })
    const perToken = tokenRewards(model, samples.map((s) => task.prompt(s.prompt)), samples.map((s) => s.response))
    return perToken.map((tokens) => ({ reward: sum(tokens), spread: 0, tokenRewards: tokens }))
  }
  return acrossMembers(memberRewards(model, samples.map((s) => task.features(s.prompt, s.response))))
    .map(({ mean, spread }) => ({ reward: mean, spread, tokenRewards: [] }))
}
