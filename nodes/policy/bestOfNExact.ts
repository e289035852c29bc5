/**
 * The exact best-of-n policy of a reward on a bandit task: for each prompt, the distribution
 * of the highest-reward of n draws from a tabular policy,
 *
 *   P(y) = F(y)^n − F(y⁻)^n       (F: the policy's CDF over the responses ranked by reward)
 *
 * (Beirami et al., 2024, https://arxiv.org/abs/2401.01879; ./math.ts's
 * bestOfNLogDistribution), stored as a tabular policy whose logits are log P. Sampling it is
 * best-of-n sampling without drawing n responses per pick, and evaluate/rewardKl reports its
 * exact KL to the base policy; sweeping n traces best-of-n's reward–KL frontier, the one Gao
 * et al. (2022, https://arxiv.org/abs/2210.10760) plot against KL = log n − (n − 1)/n, the
 * value for a continuum of responses that K responses stay below (recorded as `kl/analytic`).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, Policy, RewardSource } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as RewardSourceModel from "../models/RewardSource.ts"
import * as TabularPolicy from "../models/TabularPolicy.ts"
import { bestOfNKl, bestOfNLogDistribution } from "./math.ts"

export const bestOfNExact = Node.make({
  kind: "policy/bestOfNExact",
  version: 1,
  description: "The exact best-of-n policy of a reward over a tabular policy on a bandit task: per prompt, P(y) = F(y)^n − F(y⁻)^n with the responses ranked by reward.",
  tensors: true,
  metrics: { "kl/analytic": "log n − (n − 1)/n, best-of-n's KL to its base policy for a continuum of responses (an upper bound on the exact KL)" },
  params: Schema.Struct({
    n: Param.int({ default: 4, min: 1, description: "Draws the pick is the best of" })
  }),
  inputs: { policy: Policy, reward: RewardSource, task: Items },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const task = TaskView.view(inputs.task)
      const source = RewardSourceModel.of(inputs.reward, task)
      ctx.metric("kl/analytic", bestOfNKl(params.n), 0)
      return PolicyModel.withLoaded(inputs.policy, (policy) => {
        PolicyModel.checkFits(policy, task)
        const { prompts, responses: K } = policy.model.config
        // every prompt's K responses, prompt by prompt
        const repeated = task.prompts.flatMap((p) => Array.from({ length: K }, () => p))
        const { rewards } = source.score(repeated, repeated.map((_, i) => [i % K]))
        // prompts outside the task keep the policy's logits
        const logits = Float32Array.from(policy.model.variables.logits.dataSync())
        task.prompts.forEach((p, i) =>
          logits.set(bestOfNLogDistribution(PolicyModel.logDistribution(policy.model, p.id), rewards.slice(i * K, (i + 1) * K), params.n), p.id * K))
        return TabularPolicy.modelOf({ prompts, responses: K }, logits)
      })
    })
})
