/**
 * Response preference pairs → feature pairs, by the task's feature vector of each
 * response (a bandit candidate's features; a sequence response's token counts with its
 * prompt's): what the reward models over features train on.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import { FeaturePairs, ResponsePairs, Task } from "../artifacts.ts"
import * as TaskView from "./Task.ts"

export const responseFeatures = Node.make({
  kind: "data/responseFeatures",
  version: 1,
  description: "Feature vectors of the chosen and rejected response of each response pair, keeping its split.",
  params: Schema.Struct({}),
  inputs: { pairs: ResponsePairs, task: Task },
  output: FeaturePairs,
  run: ({ inputs }) =>
    Effect.sync(() => {
      const task = TaskView.view(inputs.task)
      return inputs.pairs.map((p) => ({
        chosen: [...task.features(p.prompt, p.chosen)],
        rejected: [...task.features(p.prompt, p.rejected)],
        label: 1,
        user: "",
        source: "",
        split: p.split
      }))
    })
})
