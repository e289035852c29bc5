/**
 * KTO, Kahneman–Tversky Optimization (Ethayarajh et al., 2024, https://arxiv.org/abs/2402.01306):
 * learns from responses labelled desirable or undesirable, one at a time, with a
 * prospect-theory value of the implicit reward r_θ(x, y) = log π_θ(y | x)/π_ref(y | x)
 * around a reference point z:
 *
 *   v(x, y) = λ_D·σ(β·(r_θ(x, y) − z))   for a desirable y
 *             λ_U·σ(β·(z − r_θ(x, y)))   for an undesirable y
 *   L = E[λ_y − v(x, y)]
 *
 * z estimates KL(π_θ ‖ π_ref) as in TRL: max(0, mean r_θ(x_i, y_{i−1})) over the
 * minibatch's prompts paired with the previous example's response (mismatched pairs),
 * computed before the step and not differentiated.
 *
 * The examples come from ResponsePairs: paired (default), each pair gives its chosen
 * response as desirable and its rejected one as undesirable, on the same prompt; unpaired,
 * the pairs alternate (in table order) between giving only their chosen and only their
 * rejected response, so no pair contributes both sides of a comparison (the paper's
 * setting without paired data; with one pair per prompt no prompt has both).
 * Defaults follow TRL's KTOConfig: β = 0.1, λ_D = λ_U = 1.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, type ResponsePair, ResponsePairs, Task } from "../artifacts.ts"
import type { Prompt } from "../data/Task.ts"
import * as TaskView from "../data/Task.ts"
import { sum } from "../evaluate/math.ts"
import * as PolicyModel from "../models/Policy.ts"
import { ktoLoss, ktoReferencePoint } from "./math.ts"
import { pairData, rowParams, trainOnRows } from "./PairTraining.ts"

/** Responses labelled desirable or not, with the reference's summed log-probability of each. */
interface Examples {
  readonly prompts: ReadonlyArray<Prompt>
  readonly responses: ReadonlyArray<ReadonlyArray<number>>
  /** 1 for a desirable response, 0 for an undesirable one */
  readonly desirable: ReadonlyArray<number>
  readonly referenceLogProbs: ReadonlyArray<number>
  readonly reference: PolicyModel.Loaded
}

const examplesOf = (pairs: ReadonlyArray<ResponsePair>, task: TaskView.TaskView, reference: PolicyModel.Loaded, unpaired: boolean): Examples => {
  const data = pairData(pairs, task, reference)
  const sides = data.prompts.flatMap((_, i) =>
    unpaired ? [{ i, desirable: i % 2 === 0 }] : [{ i, desirable: true }, { i, desirable: false }]
  )
  return {
    prompts: sides.map((s) => data.prompts[s.i]!),
    responses: sides.map((s) => (s.desirable ? data.chosen : data.rejected)[s.i]!),
    desirable: sides.map((s) => (s.desirable ? 1 : 0)),
    referenceLogProbs: sides.map((s) => (s.desirable ? data.referenceChosen : data.referenceRejected)[s.i]!),
    reference
  }
}

/** The mean of `values` where `mask` is 1, as a scalar; `count` is the mask's sum. */
const maskedMean = (values: tf.Tensor1D, mask: tf.Tensor1D, count: number) => tf.div(tf.sum(tf.mul(values, mask)), count)

export const kto = Node.make({
  kind: "policy/kto",
  version: 1,
  description: "KTO: a prospect-theory loss on responses labelled desirable or undesirable (from pairs, paired or unpaired) against a frozen reference.",
  tensors: true,
  metrics: {
    loss: "the KTO loss, mean over the minibatch's examples",
    kl: "the reference point z: max(0, mean log π_θ/π_ref) over the minibatch's mismatched prompt–response pairs",
    "rewards/chosen": "mean reward β·log π_θ/π_ref of the minibatch's desirable responses (steps that drew one)",
    "rewards/rejected": "mean reward β·log π_θ/π_ref of the minibatch's undesirable responses (steps that drew one)",
    "rewards/margins": "rewards/chosen − rewards/rejected (steps that drew both)",
    "logps/chosen": "mean summed log-probability of the desirable responses under the policy",
    "logps/rejected": "mean summed log-probability of the undesirable responses under the policy"
  },
  params: Schema.Struct({
    beta: Param.number({ default: 0.1, min: 0, exclusiveMin: true, description: "β: scale of the implicit reward in the value function" }),
    desirableWeight: Param.number({ default: 1, min: 0, description: "λ_D: weight of the desirable examples' losses" }),
    undesirableWeight: Param.number({ default: 1, min: 0, description: "λ_U: weight of the undesirable examples' losses" }),
    unpaired: Param.boolean({ default: false, description: "false: each pair gives a desirable chosen and an undesirable rejected response; true: pairs alternate between giving one or the other" }),
    ...rowParams("examples")
  }),
  inputs: { policy: Policy, reference: Policy, pairs: ResponsePairs, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.suspend(() => {
      const task = TaskView.view(inputs.task)
      return trainOnRows({
        ctx,
        task,
        policy: inputs.policy,
        reference: inputs.reference,
        params,
        // the reference input is always loaded
        data: (reference) => examplesOf(inputs.pairs, task, reference!, params.unpaired),
        tokensPerRow: task.responseLength,
        prepare: (policy, data, rows) => {
          // example k's prompt with example k − 1's response
          const prompts = rows.map((i) => data.prompts[i]!)
          const responses = rows.map((_, k) => data.responses[rows[(k + rows.length - 1) % rows.length]!]!)
          const logProbs = (model: PolicyModel.Loaded) => PolicyModel.tokenLogProbs(model, prompts, responses).map(sum)
          return ktoReferencePoint(logProbs(policy), logProbs(data.reference))
        },
        loss: (policy, data, rows, referencePoint) => {
          const logps = tf.sum(PolicyModel.trainableTokenLogProbs(policy, rows.map((i) => data.prompts[i]!), rows.map((i) => data.responses[i]!)), 1) as tf.Tensor1D // [B]
          const flags = rows.map((i) => data.desirable[i]!)
          const desirable = tf.tensor1d(flags)
          const undesirable = tf.sub(1, desirable) as tf.Tensor1D
          const out = ktoLoss(logps, tf.tensor1d(rows.map((i) => data.referenceLogProbs[i]!)), desirable, {
            beta: params.beta,
            desirableWeight: params.desirableWeight,
            undesirableWeight: params.undesirableWeight,
            referencePoint: referencePoint!
          })
          const good = sum(flags)
          const bad = flags.length - good
          const stats: Record<string, tf.Tensor> = { kl: tf.scalar(referencePoint!) }
          if (good > 0) {
            stats["rewards/chosen"] = maskedMean(out.rewards, desirable, good)
            stats["logps/chosen"] = maskedMean(logps, desirable, good)
          }
          if (bad > 0) {
            stats["rewards/rejected"] = maskedMean(out.rewards, undesirable, bad)
            stats["logps/rejected"] = maskedMean(logps, undesirable, bad)
          }
          if (good > 0 && bad > 0) stats["rewards/margins"] = tf.sub(stats["rewards/chosen"]!, stats["rewards/rejected"]!)
          return {
            loss: tf.mean(out.losses) as tf.Scalar,
            stats
          }
        },
        display: (stats) => ({
          ...(stats["rewards/margins"] === undefined ? {} : { reward: stats["rewards/margins"] }),
          ...(stats["kl"] === undefined ? {} : { kl: stats["kl"] })
        })
      })
    })
})
