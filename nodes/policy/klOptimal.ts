/**
 * The exact KL-regularised optimum of a reward model on a bandit task:
 * π(y | x) ∝ π_ref(y | x) · exp(r̂(x, y) / β), the policy that RLHF's objective
 * E_π[r̂] − β·KL(π ‖ π_ref) is maximised by (ablate/math's klRegularizedPolicy;
 * here as logits log π_ref + r̂/β, whose softmax it is).
 * Sweeping β traces the frontier that policy optimisation can at best reach with this
 * proxy reward: the reference for reward–KL and overoptimisation studies.
 */
import { Effect, Schema } from "effect"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, Policy, RewardModel } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import { rewards } from "../models/PreferenceModel.ts"

export const klOptimal = Node.make({
  kind: "policy/klOptimal",
  version: 1,
  description: "The exact optimum of E[r̂] − β·KL(π ‖ π_ref) for a reward model r̂ on a bandit task: π ∝ π_ref·exp(r̂/β).",
  tensors: true,
  params: Schema.Struct({
    beta: Param.number({ default: 0.1, min: 0, exclusiveMin: true, description: "KL coefficient β" })
  }),
  inputs: { task: Items, reference: Policy, model: RewardModel },
  output: Policy,
  run: ({ params, inputs }) =>
    Effect.sync(() => {
      const task = TaskView.view(inputs.task)
      const reference = PolicyModel.load(inputs.reference)
      try {
        PolicyModel.checkFits(reference, task, "reference")
        if (reference.architecture !== "tabular") throw new Error("the reference must be tabular")
        const { prompts, responses: K } = reference.model.config
        const ids = task.prompts.map((p) => p.id)
        const r = rewards(inputs.model, ids.flatMap((p) => Array.from({ length: K }, (_, k) => task.features(p, [k]))))
        // logits log π_ref + r̂/β: their softmax is the optimum, computed without underflow
        const logits = Float32Array.from(reference.model.variables.logits.dataSync())
        ids.forEach((p, i) => {
          const logRef = PolicyModel.distribution(reference.model, p).map(Math.log)
          for (let k = 0; k < K; k++) logits[p * K + k] = logRef[k]! + r[i * K + k]! / params.beta
        })
        return { config: { architecture: "tabular", prompts, responses: K }, tensors: { logits: { shape: [prompts, K], data: logits } } }
      } finally {
        PolicyModel.dispose(reference)
      }
    })
})
