/**
 * Applies a reward model to samples: a scalar reward per sample from a model over
 * features (Bradley–Terry, ensemble mean, latent-user at the population latent), or,
 * from an implicit process reward model, a reward per response token and their sum.
 */
import { Effect, Schema } from "effect"
import type { ModelValue } from "../../dsl/Artifact.ts"
import * as Node from "../../dsl/Node.ts"
import { RewardModel, type Sample, Samples, Scores, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { rewards } from "../models/PreferenceModel.ts"
import { isProcessReward, tokenRewards } from "../models/ProcessReward.ts"

/** Each sample's reward and, from a process reward model, its per-token rewards. */
export const scoreSamples = (
  model: ModelValue,
  samples: ReadonlyArray<Sample>,
  task: TaskView.TaskView
): Array<{ readonly reward: number; readonly tokenRewards: ReadonlyArray<number> }> => {
  if (samples.length === 0) return []
  if (isProcessReward(model)) {
    if (task.kind !== "sequence") throw new Error("a process reward model scores token sequences; the task is a bandit")
    const perToken = tokenRewards(model, samples.map((s) => task.prompt(s.prompt)), samples.map((s) => s.response))
    return perToken.map((tokens) => ({ reward: tokens.reduce((a, b) => a + b, 0), tokenRewards: tokens }))
  }
  return rewards(model, samples.map((s) => task.features(s.prompt, s.response))).map((reward) => ({ reward, tokenRewards: [] }))
}

export const score = Node.make({
  kind: "reward/score",
  version: 1,
  description: "Scores samples with a reward model: a reward per sample, and per token for a process reward model.",
  tensors: true,
  metrics: { "<split>/reward": "mean reward per split" },
  params: Schema.Struct({}),
  inputs: { model: RewardModel, samples: Samples, task: Task },
  output: Scores,
  run: ({ inputs, ctx }) =>
    Effect.sync(() => {
      const scored = scoreSamples(inputs.model, inputs.samples, TaskView.view(inputs.task))
      const rows = inputs.samples.map((s, i) => ({ prompt: s.prompt, sample: s.sample, split: s.split, ...scored[i]! }))
      for (const split of ["train", "test"] as const) {
        const group = rows.filter((r) => r.split === split)
        if (group.length > 0) ctx.metric(`${split}/reward`, group.reduce((a, r) => a + r.reward, 0) / group.length, 0)
      }
      return rows
    })
})
