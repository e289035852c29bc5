/**
 * KL(π ‖ π_ref) of a policy to a reference, per split, per sequence and per token: the
 * k1, k2 and k3 estimators (ablate/math's klEstimators) over the policy's samples, and
 * the exact value where responses are few enough to enumerate: always for tabular
 * policies, and for transformers when V^(L−1) ≤ exactLimit (by the chain rule over every
 * prefix of L − 1 tokens); the mean over the split's prompts.
 * The samples must be the policy's own, drawn at temperature 1 without top-k; the node
 * checks their recorded log-probabilities against the policy.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import { KlDivergence, Policy, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { exactLimitParam, klRows, logProbsOf, reportedKl } from "./PolicySamples.ts"

export const kl = Node.make({
  kind: "evaluate/kl",
  version: 1,
  description: "KL of a policy to a reference per sequence and per token: k1, k2, k3 estimates from the policy's samples and the exact value where the responses can be enumerated.",
  tensors: true,
  metrics: { "<split>/kl": "per-sequence KL per split (exact where known, else k3)" },
  results: ["<split>/kl"],
  params: Schema.Struct({ exactLimit: exactLimitParam }),
  inputs: { policy: Policy, reference: Policy, samples: Samples, task: Task },
  output: KlDivergence,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const rows = klRows(inputs.samples, logProbsOf(TaskView.view(inputs.task), inputs.samples, inputs.policy, inputs.reference, params.exactLimit))
      for (const row of rows) if (row.level === "sequence") ctx.metric(`${row.split}/kl`, reportedKl(row).kl, 0)
      return rows
    })
})
