/**
 * Group Relative Policy Optimization (Shao et al., 2024, "DeepSeekMath",
 * https://arxiv.org/abs/2402.03300): no value model; each prompt gets G responses from the
 * current policy and a response's advantage is its reward standardised within its group,
 *
 *   A_i = (r_i − mean(r_1..G)) / std(r_1..G)      (sample std; a group of equal rewards gives 0)
 *
 * and the policy maximises the clipped per-token surrogate minus β times the k3 estimate of
 * the per-token KL to the reference (see ./GroupTraining.ts for the objective).
 * `loss: "drGrpo"` is Dr. GRPO (Liu et al., 2025, "Understanding R1-Zero-Like Training",
 * https://arxiv.org/abs/2503.20783): A_i = r_i − mean(r_1..G), without the division by the
 * group's std, and the token losses summed over a constant instead of averaged per response
 * (the same here, where every response has the task's length).
 *
 * β defaults to the paper's 0.04; TRL's GRPOConfig has defaulted to 0 (no KL term, no
 * reference forward pass) since DAPO and Dr. GRPO found the term unneeded: pass `beta: 0`
 * for that. ε = 0.2 and μ = 1 step per rollout are TRL's defaults.
 */
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy } from "../artifacts.ts"
import { groupParams, policyGradientInputs, policyGradientMetrics, trainPolicyGradient } from "./GroupTraining.ts"
import { grpoAdvantages } from "./math.ts"

export const grpo = Node.make({
  kind: "policy/grpo",
  version: 1,
  description: "GRPO: policy gradient with group-standardised rewards as advantages, a clipped ratio and a k3 KL penalty to the reference (or Dr. GRPO's unscaled advantages).",
  tensors: true,
  metrics: policyGradientMetrics,
  params: Schema.Struct({
    loss: Param.literal(["grpo", "drGrpo"], { default: "grpo", description: "grpo: advantages divided by the group's reward std; drGrpo: not divided (Dr. GRPO)" }),
    beta: Param.number({ default: 0.04, min: 0, description: "Coefficient β of the per-token k3 KL to the reference in the loss; 0 drops it (TRL's current default)" }),
    ...groupParams({ groupSize: 8, prompts: 8, steps: 100, lr: 0.003 })
  }),
  inputs: policyGradientInputs,
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    trainPolicyGradient({
      ctx,
      inputs,
      params,
      advantages: (rollout) => grpoAdvantages(rollout.rewards, params.groupSize, { scale: params.loss === "grpo" ? "std" : "none" }),
      klCoefficient: params.beta
    })
})
