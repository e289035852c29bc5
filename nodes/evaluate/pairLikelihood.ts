/**
 * How likely a policy finds the responses of a preference dataset, against its reference
 * (what Liu et al., 2024, https://arxiv.org/abs/2405.16436, Figure 1, follows under DPO and
 * RPO): per split of the pairs, the mean log-ratio log π(y | x)/π_ref(y | x) of the chosen and
 * of the rejected responses, and the probability mass the policy and the reference put on the
 * distinct responses the prompt's pairs cover (ablate/math's evaluate.pairLikelihood). DPO's
 * loss only asks the chosen response to gain on the rejected one: when both fall, the policy's
 * mass has gone to responses no pair covers, about which the data says nothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import { PairLikelihood, Policy, ResponsePairs, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import { checkResponse, rowPrompts } from "../policy/PairTraining.ts"
import { bySplit, type CoveredResponse, pairLikelihood as likelihood } from "./math.ts"

export const pairLikelihood = Node.make({
  kind: "evaluate/pairLikelihood",
  version: 1,
  description: "Log-ratios to the reference of a preference dataset's chosen and rejected responses, and the probability mass on the responses its pairs cover, per split.",
  tensors: true,
  metrics: {
    "<split>/chosen": "mean log π(y_c | x)/π_ref(y_c | x) over the split's pairs",
    "<split>/rejected": "mean log π(y_r | x)/π_ref(y_r | x) over the split's pairs",
    "<split>/covered": "mean over prompts of the policy's probability mass on the distinct responses of the prompt's pairs"
  },
  results: ["<split>/chosen", "<split>/rejected", "<split>/covered"],
  params: Schema.Struct({}),
  inputs: { policy: Policy, reference: Policy, pairs: ResponsePairs, task: Task },
  output: PairLikelihood,
  run: ({ inputs, ctx }) =>
    Effect.gen(function*() {
      const task = TaskView.view(inputs.task)
      if (inputs.pairs.length === 0) return yield* new InputError({ input: "pairs", reason: "the pairs table is empty" })
      inputs.pairs.forEach((p, row) => {
        checkResponse(task, p.chosen, { input: "pairs", row: row + 1, field: "chosen" })
        checkResponse(task, p.rejected, { input: "pairs", row: row + 1, field: "rejected" })
      })
      const prompts = rowPrompts(task, inputs.pairs.map((p) => p.prompt), (row) => ({ input: "pairs", row: row + 1 }))
      // each distinct (prompt, response) once: the pairs index them
      const index = new Map<string, number>()
      const distinct: Array<{ readonly prompt: TaskView.Prompt; readonly response: ReadonlyArray<number> }> = []
      const indexOf = (prompt: TaskView.Prompt, response: ReadonlyArray<number>) => {
        const key = TaskView.responseKey(prompt, response)
        const known = index.get(key)
        if (known !== undefined) return known
        index.set(key, distinct.length)
        return distinct.push({ prompt, response }) - 1
      }
      const pairs = inputs.pairs.map((p, row) => ({ split: p.split, chosen: indexOf(prompts[row]!, p.chosen), rejected: indexOf(prompts[row]!, p.rejected) }))
      const logProbs = (value: typeof inputs.policy, name: "policy" | "reference") =>
        PolicyModel.withLoaded(value, (policy) => {
          PolicyModel.checkFits(policy, task, name)
          return PolicyModel.summedLogProbs(policy, distinct.map((d) => d.prompt), distinct.map((d) => d.response))
        })
      const policy = logProbs(inputs.policy, "policy")
      const reference = logProbs(inputs.reference, "reference")
      const responses: Array<CoveredResponse> = distinct.map((d, i) => ({ prompt: d.prompt.id, logProb: policy[i]!, referenceLogProb: reference[i]! }))
      return bySplit(pairs).map(([split, group]) => {
        // the split's responses, re-indexed for its pairs
        const used = [...new Set(group.flatMap((p) => [p.chosen, p.rejected]))]
        const local = new Map(used.map((i, j) => [i, j]))
        const out = likelihood(used.map((i) => responses[i]!), group.map((p) => ({ chosen: local.get(p.chosen)!, rejected: local.get(p.rejected)! })))
        ctx.metric(`${split}/chosen`, out.chosen, 0)
        ctx.metric(`${split}/rejected`, out.rejected, 0)
        ctx.metric(`${split}/covered`, out.covered, 0)
        return { split, ...out, pairs: group.length, responses: used.length }
      })
    })
})
