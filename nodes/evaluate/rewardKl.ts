/**
 * One point of a reward–KL frontier (Gao et al., 2022, "Scaling Laws for Reward Model
 * Overoptimization", https://arxiv.org/abs/2210.10760): for a policy's samples, the
 * mean gold reward with its 95% interval, the mean proxy reward the policy was
 * optimised for, and KL(π ‖ π_ref) (exact where the responses can be enumerated, see
 * ./kl.ts, else the k3 estimate). Sweeping the optimisation's strength and plotting gold and proxy against
 * KL shows where the proxy stops tracking the gold reward.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import { Policy, RewardKl, RewardModel, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { scoreSamples } from "../models/Scoring.ts"
import { mean, meanInterval } from "./math.ts"
import { exactLimitParam, klBySplit, logProbsOf, reportedKl } from "./PolicySamples.ts"

export const rewardKl = Node.make({
  kind: "evaluate/rewardKl",
  version: 1,
  description: "One reward–KL frontier point per split: gold reward (95% CI), proxy reward and KL to the reference of a policy's samples.",
  tensors: true,
  metrics: { "<split>/gold": "mean gold reward", "<split>/proxy": "mean proxy reward", "<split>/kl": "KL to the reference" },
  results: ["<split>/gold", "<split>/proxy", "<split>/kl"],
  params: Schema.Struct({ exactLimit: exactLimitParam }),
  inputs: { policy: Policy, reference: Policy, samples: Samples, model: RewardModel, task: Task },
  output: RewardKl,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const task = TaskView.view(inputs.task)
      const samples = inputs.samples
      const groups = klBySplit(samples, logProbsOf(task, samples, inputs.policy, inputs.reference, params.exactLimit))
      const proxy = scoreSamples(inputs.model, samples, task).map((s) => s.reward)
      const gold = samples.map((s) => task.gold(s.prompt, s.response))
      return groups.map(({ split, indices: picked, sequence }) => {
        const interval = meanInterval(picked.map((i) => gold[i]!), picked.map((i) => samples[i]!.prompt))
        const proxyMean = mean(picked.map((i) => proxy[i]!))
        const { kl, method } = reportedKl(sequence)
        ctx.metric(`${split}/gold`, interval.mean, 0)
        ctx.metric(`${split}/proxy`, proxyMean, 0)
        ctx.metric(`${split}/kl`, kl, 0)
        return {
          split,
          gold: interval.mean,
          goldLower: interval.lower,
          goldUpper: interval.upper,
          proxy: proxyMean,
          kl,
          klMethod: method,
          samples: picked.length
        }
      })
    })
})
