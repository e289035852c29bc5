/**
 * The mean gold reward of a policy's samples with a 95% confidence interval, per
 * split: samples of a prompt are averaged first and the interval is over prompts
 * (see ablate/math's meanInterval).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import { GoldReward, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { bySplit, meanInterval } from "./math.ts"

export const goldReward = Node.make({
  kind: "evaluate/goldReward",
  version: 1,
  description: "Mean gold reward of a policy's samples with a 95% confidence interval over prompts, per split.",
  metrics: { "<split>/gold": "mean gold reward per split" },
  results: ["<split>/gold"],
  params: Schema.Struct({}),
  inputs: { samples: Samples, task: Task },
  output: GoldReward,
  run: ({ inputs, ctx }) =>
    Effect.gen(function*() {
      const task = TaskView.view(inputs.task)
      if (inputs.samples.length === 0) return yield* new InputError({ input: "samples", reason: "there are no samples to evaluate" })
      return bySplit(inputs.samples).map(([split, samples]) => {
        const interval = meanInterval(samples.map((s) => task.gold(s.prompt, s.response)), samples.map((s) => s.prompt))
        ctx.metric(`${split}/gold`, interval.mean, 0)
        return { split, ...interval, samples: samples.length }
      })
    })
})
