/**
 * The exact KL-regularised optimum of a reward model on a bandit task:
 * π(y | x) ∝ π_ref(y | x) · exp(r̂(x, y) / β), the policy that RLHF's objective
 * E_π[r̂] − β·KL(π ‖ π_ref) is maximised by, stored as its logits log π_ref + r̂/β
 * (ablate/math's klRegularizedLogits), whose softmax it is.
 * Sweeping β traces the frontier that policy optimisation can at best reach with this
 * proxy reward: the reference for reward–KL and overoptimisation studies.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, Policy, RewardModel } from "../artifacts.ts"
import { klRegularizedLogits } from "../data/math.ts"
import * as TaskView from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import { rewards } from "../models/PreferenceModel.ts"
import * as TabularPolicy from "../models/TabularPolicy.ts"

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
      return PolicyModel.withLoaded(inputs.reference, (reference) => {
        PolicyModel.checkFits(reference, task, "reference")
        const { prompts, responses: K } = reference.model.config
        const ids = task.prompts.map((p) => p.id)
        const r = rewards(inputs.model, ids.flatMap((p) => Array.from({ length: K }, (_, k) => task.features(p, [k]))))
        // prompts outside the task keep the reference's logits
        const logits = Float32Array.from(reference.model.variables.logits.dataSync())
        ids.forEach((p, i) => logits.set(klRegularizedLogits(r.slice(i * K, (i + 1) * K), PolicyModel.logDistribution(reference.model, p), params.beta), p * K))
        return TabularPolicy.modelOf({ prompts, responses: K }, logits)
      })
    })
})
