/**
 * N responses per prompt from a policy, with temperature and top-k, each with its
 * log-probability under the policy (per token and summed). A bandit policy picks one
 * of the prompt's K responses; a transformer continues the prompt's tokens by the
 * task's response length. Progress counts generated tokens (responses, for a bandit)
 * with their throughput; sampling has no loss.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, type Sample, Samples, Task } from "../artifacts.ts"
import { sum } from "../evaluate/math.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as TaskView from "./Task.ts"

const splitParam = Param.literal(["test", "train", "all"], { default: "all", description: "Which prompts: held-out, training or all" })

export const sample = Node.make({
  kind: "data/sample",
  version: 1,
  description: "N responses per prompt from a policy (temperature, top-k) with their log-probabilities under the policy.",
  tensors: true,
  params: Schema.Struct({
    n: Param.int({ default: 4, min: 1, description: "Responses per prompt" }),
    temperature: Param.number({ default: 1, min: 0, description: "Softmax temperature; 0 decodes greedily" }),
    topK: Param.int({ default: 0, min: 0, description: "Sample among the k most likely tokens only; 0 for all" }),
    split: splitParam,
    seed: Param.seed
  }),
  inputs: { policy: Policy, task: Task },
  output: Samples,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const task = TaskView.view(inputs.task)
      const prompts = TaskView.promptsOf(task, params.split)
      if (prompts.length === 0) return yield* new InputError({ input: "task", param: "split", reason: `the task has no ${params.split} prompts` })
      return PolicyModel.withLoaded(inputs.policy, (policy) => {
        PolicyModel.checkFits(policy, task)
        const repeated = prompts.flatMap((p) => Array.from({ length: params.n }, () => p))
        const drawn = PolicyModel.sample(policy, repeated, task.responseLength, params, ctx.random.split("sample"), ctx.progress)
        return repeated.map((prompt, i): Sample => ({
          prompt: prompt.id,
          sample: i % params.n,
          response: drawn.responses[i]!,
          logProb: sum(drawn.tokenLogProbs[i]!),
          tokenLogProbs: drawn.tokenLogProbs[i]!,
          split: prompt.split
        }))
      })
    })
})
