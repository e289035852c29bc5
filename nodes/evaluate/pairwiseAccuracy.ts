/**
 * Held-out pairwise accuracy of a reward model: over every pair of test items,
 * how often the model orders them as the gold reward does. Chance is 0.5. Any model
 * with a scalar reward works (Bradley–Terry, ensemble, latent-user; see
 * nodes/models/PreferenceModel.ts's `rewards`).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import { Items, PairwiseAccuracy, RewardModel } from "../artifacts.ts"
import { rewards } from "../models/PreferenceModel.ts"
import { pairwiseAccuracy as accuracyOf } from "./math.ts"

export const pairwiseAccuracy = Node.make({
  kind: "evaluate/pairwiseAccuracy",
  version: 1,
  description: "Held-out pairwise accuracy of a reward model against the gold reward.",
  tensors: true,
  metrics: { accuracy: "held-out pairwise accuracy against the gold reward" },
  results: ["accuracy"],
  params: Schema.Struct({}),
  inputs: { model: RewardModel, task: Items },
  output: PairwiseAccuracy,
  run: ({ inputs, ctx }) =>
    Effect.gen(function*() {
      const test = inputs.task.filter((row) => row.split === "test")
      if (test.length < 2) return yield* new InputError({ input: "task", reason: `needs at least 2 held-out items, the task has ${test.length}` })
      const predicted = rewards(inputs.model, test.map((row) => row.features))
      const { accuracy, pairs } = accuracyOf(predicted, test.map((row) => row.gold), test.map((row) => row.prompt))
      ctx.metric("accuracy", accuracy, 0)
      return [{ accuracy, pairs, chance: 0.5 }]
    })
})
