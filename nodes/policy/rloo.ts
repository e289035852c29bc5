/**
 * REINFORCE Leave-One-Out (Ahmadian et al., 2024, "Back to Basics: Revisiting REINFORCE
 * Style Optimization for Learning from Human Feedback in LLMs",
 * https://arxiv.org/abs/2402.14740): each prompt gets k responses from the current policy and
 * a response's baseline is the mean reward of the other k − 1,
 *
 *   A_i = r̃_i − (1/(k − 1)) Σ_{j≠i} r̃_j,   r̃_i = r_i − β·Σ_t log π_old(y_it | ·)/π_ref(y_it | ·)
 *
 * with the KL to the reference a sequence-level penalty on the reward (its k1 estimate from
 * the sample), as TRL's RLOOTrainer does by default. The update is the policy gradient
 * Σ_i A_i ∇log π_θ(y_i), through the clipped ratio when a rollout gets more than one step
 * (see ./GroupTraining.ts). β = 0.05 is TRL's default; k = 4 is the paper's.
 */
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy } from "../artifacts.ts"
import { groupParams, policyGradientInputs, policyGradientMetrics, trainPolicyGradient } from "./GroupTraining.ts"
import { klPenalisedRewards, rlooAdvantages } from "./math.ts"

export const rloo = Node.make({
  kind: "policy/rloo",
  version: 1,
  description: "RLOO: REINFORCE with the mean reward of a prompt's other responses as baseline, KL to the reference as a reward penalty.",
  tensors: true,
  metrics: { ...policyGradientMetrics, loss: "the clipped surrogate loss of the leave-one-out advantages" },
  params: Schema.Struct({
    beta: Param.number({ default: 0.05, min: 0, description: "Coefficient β of the sequence-level KL penalty subtracted from each response's reward" }),
    ...groupParams({ groupSize: 4, prompts: 16, steps: 100, lr: 0.003 })
  }),
  inputs: policyGradientInputs,
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    trainPolicyGradient({
      ctx,
      inputs,
      params,
      advantages: (rollout) =>
        rlooAdvantages(klPenalisedRewards(rollout.rewards, rollout.logProbs, rollout.referenceLogProbs, params.beta), params.groupSize),
      klCoefficient: 0
    })
})
