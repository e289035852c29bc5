/**
 * SimPO, Simple Preference Optimization with a reference-free reward (Meng et al., 2024,
 * https://arxiv.org/abs/2405.14734): the implicit reward is the per-token mean
 * log-probability, scaled, r(x, y) = (β/L)·log π_θ(y | x), and the Bradley–Terry loss asks
 * for a target margin γ between chosen and rejected:
 *
 *   L = −(1 − ε)·log σ(r(x, y_c) − r(x, y_r) − γ) − ε·log σ(−(r(x, y_c) − r(x, y_r) − γ))
 *
 * No reference model. Defaults: β = 2 (the paper's range is 2.0–2.5; TRL's CPOConfig
 * β = 0.1 is CPO's) and γ = 0.5 (TRL's `simpo_gamma`); TRL's CPOTrainer with
 * loss_type="simpo" and cpo_alpha=0 is this loss.
 */
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, ResponsePairs, Task } from "../artifacts.ts"
import { simpoLoss } from "./math.ts"
import { meanPairLogProbs, preferenceMetrics, preferenceStep, rowParams, trainOnPairs } from "./PairTraining.ts"

export const simpo = Node.make({
  kind: "policy/simpo",
  version: 1,
  description: "SimPO: a reference-free Bradley–Terry loss on length-normalised log-probabilities with a target reward margin γ.",
  tensors: true,
  metrics: {
    ...preferenceMetrics,
    "rewards/chosen": "mean reward β·(per-token mean log π_θ) of the chosen responses",
    "rewards/rejected": "mean reward β·(per-token mean log π_θ) of the rejected responses",
    "logps/chosen": "mean per-token mean log-probability of the chosen responses",
    "logps/rejected": "mean per-token mean log-probability of the rejected responses"
  },
  params: Schema.Struct({
    beta: Param.number({ default: 2, min: 0, exclusiveMin: true, description: "β: scale of the length-normalised reward (the paper uses 2.0–2.5)" }),
    gamma: Param.number({ default: 0.5, min: 0, description: "γ: target reward margin of chosen over rejected (TRL's simpo_gamma)" }),
    labelSmoothing: Param.number({ default: 0, min: 0, max: 0.49, description: "ε: the assumed rate of flipped labels" }),
    ...rowParams()
  }),
  inputs: { policy: Policy, pairs: ResponsePairs, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    trainOnPairs({
      ctx,
      inputs,
      params,
      loss: (policy, data, rows) => {
        const means = meanPairLogProbs(policy, data, rows)
        return preferenceStep(simpoLoss(means.chosen, means.rejected, { beta: params.beta, gamma: params.gamma, labelSmoothing: params.labelSmoothing }), means)
      }
    })
})
