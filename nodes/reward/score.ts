/**
 * Applies a reward model to samples: a scalar reward per sample from a model over
 * features (Bradley–Terry, ensemble mean, latent-user at the population latent), or,
 * from an implicit process reward model, a reward per response token and their sum
 * (nodes/models/Scoring.ts).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import { RewardModel, Samples, Scores, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { bySplit, mean } from "../evaluate/math.ts"
import { scoreSamples } from "../models/Scoring.ts"

export const score = Node.make({
  kind: "reward/score",
  version: 1,
  description: "Scores samples with a reward model: a reward per sample (an ensemble's mean, with its members' spread), and per token for a process reward model.",
  tensors: true,
  metrics: { "<split>/reward": "mean reward per split" },
  params: Schema.Struct({}),
  inputs: { model: RewardModel, samples: Samples, task: Task },
  output: Scores,
  run: ({ inputs, ctx }) =>
    Effect.sync(() => {
      const scored = scoreSamples(inputs.model, inputs.samples, TaskView.view(inputs.task))
      const rows = inputs.samples.map((s, i) => ({ prompt: s.prompt, sample: s.sample, split: s.split, ...scored[i]! }))
      for (const [split, group] of bySplit(rows, { all: false })) ctx.metric(`${split}/reward`, mean(group.map((r) => r.reward)), 0)
      return rows
    })
})
