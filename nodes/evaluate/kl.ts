/**
 * KL(π ‖ π_ref) of a policy to a reference, per split, per sequence and per token: the
 * k1, k2 and k3 estimators (ablate/math's klEstimators) over the policy's samples, and
 * the exact value for tabular policies (the mean over prompts of the categorical KL).
 * The samples must be the policy's own, drawn at temperature 1 without top-k; the node
 * checks their recorded log-probabilities against the policy.
 */
import { Effect, Schema } from "effect"
import * as Node from "../../dsl/Node.ts"
import { KlDivergence, Policy, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { klRows, logProbsOf } from "./PolicySamples.ts"

export const kl = Node.make({
  kind: "evaluate/kl",
  version: 1,
  description: "KL of a policy to a reference per sequence and per token: k1, k2, k3 estimates from the policy's samples and the exact value for tabular policies.",
  tensors: true,
  metrics: { "<split>/kl": "per-sequence KL per split (exact where known, else k3)" },
  params: Schema.Struct({}),
  inputs: { policy: Policy, reference: Policy, samples: Samples, task: Task },
  output: KlDivergence,
  run: ({ inputs, ctx }) =>
    Effect.sync(() => {
      const rows = klRows(inputs.samples, logProbsOf(TaskView.view(inputs.task), inputs.samples, inputs.policy, inputs.reference))
      for (const row of rows) if (row.level === "sequence") ctx.metric(`${row.split}/kl`, Number.isNaN(row.exact) ? row.k3 : row.exact, 0)
      return rows
    })
})
