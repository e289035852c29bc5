/**
 * Supervised fine-tuning on demonstrations: the next-token negative log-likelihood of the
 * demonstrated responses, a per-token mean over each minibatch,
 *
 *   L(θ) = −(1/B) Σ_i (1/L) Σ_t log π_θ(y_it | x_i, y_i,<t)
 *
 * (the behaviour-cloning stage of InstructGPT, Ouyang et al., 2022,
 * https://arxiv.org/abs/2203.02155). The demonstrations are the training split of Samples
 * (e.g. best-of-n picks, rejection-sampled responses) or the chosen responses of
 * ResponsePairs (TRL's SFT on the chosen side of a preference dataset).
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Artifact from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import { Policy, type ResponsePair, ResponsePairs, type Sample, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import { checkResponse, rowParams, rowPrompts, trainOnRows } from "./PairTraining.ts"

/** What SFT imitates: sampled responses (Samples) or the chosen responses of preference pairs (ResponsePairs). */
export const Demonstrations = Artifact.oneOf("Demonstrations", [ResponsePairs, Samples])

interface Demonstration {
  readonly prompts: ReadonlyArray<TaskView.Prompt>
  readonly responses: ReadonlyArray<ReadonlyArray<number>>
}

const isSample = (row: Sample | ResponsePair): row is Sample => "sample" in row

/** The training split's demonstrated responses, checked against the task. */
const demonstrations = (rows: ReadonlyArray<Sample | ResponsePair>, task: TaskView.TaskView): Demonstration => {
  const indices = [...rows.keys()].filter((row) => rows[row]!.split === "train")
  if (indices.length === 0) {
    throw new InputError({
      input: "data",
      reason: `no training demonstrations to imitate: ${rows.length === 0 ? "the table is empty" : `all ${rows.length} rows are held out (split "test")`}`
    })
  }
  const train = indices.map((row) => rows[row]!)
  const responses = train.map((row, i) => {
    const response = isSample(row) ? row.response : row.chosen
    checkResponse(task, response, { input: "data", row: indices[i]! + 1, field: isSample(row) ? "response" : "chosen" })
    return response
  })
  return { prompts: rowPrompts(task, train.map((row) => row.prompt), (i) => ({ input: "data", row: indices[i]! + 1 })), responses }
}

export const sft = Node.make({
  kind: "policy/sft",
  version: 1,
  description: "Supervised fine-tuning: per-token NLL of demonstrations (training samples, or the chosen responses of preference pairs).",
  tensors: true,
  metrics: {
    loss: "per-token negative log-likelihood of the minibatch's demonstrations",
    "logps/chosen": "mean summed log-probability of the minibatch's demonstrations under the policy"
  },
  params: Schema.Struct(rowParams("demonstrations")),
  inputs: { policy: Policy, data: Demonstrations, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.suspend(() => {
      const task = TaskView.view(inputs.task)
      const demonstrated = demonstrations(inputs.data, task)
      return trainOnRows({
        ctx,
        task,
        policy: inputs.policy,
        reference: undefined,
        params,
        data: () => demonstrated,
        tokensPerRow: task.responseLength,
        loss: (policy, data, rows) => {
          const summed = tf.sum(PolicyModel.trainableTokenLogProbs(policy, rows.map((i) => data.prompts[i]!), rows.map((i) => data.responses[i]!)), 1) // [B]
          return {
            loss: tf.neg(tf.div(tf.mean(summed), task.responseLength)) as tf.Scalar,
            stats: { "logps/chosen": summed }
          }
        }
      })
    })
})
