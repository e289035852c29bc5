/**
 * Best-of-n sampling: for each prompt, draw n responses from a policy and keep the one a
 * reward scores highest (the first drawn among equals). Its KL to the base policy is at
 * most log n − (n − 1)/n, the value for a continuum of responses (Beirami et al., 2024,
 * "Theoretical guarantees on the best-of-n alignment policy", https://arxiv.org/abs/2401.01879).
 * For a tabular policy the node records the exact KL(P ‖ π) of the best-of-n distribution
 * P over the prompt's responses (./math.ts's bestOfNDistribution).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, RewardSource, type Sample, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { categoricalKl, mean, sum } from "../evaluate/math.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as RewardSourceModel from "../models/RewardSource.ts"
import { bestOfNDistribution, bestOfNKl } from "./math.ts"

/** The index of the best of `rewards`, the first on ties. */
const best = (rewards: ReadonlyArray<number>): number => rewards.reduce((b, r, i) => (r > rewards[b]! ? i : b), 0)

export const bestOfN = Node.make({
  kind: "policy/bestOfN",
  version: 1,
  description: "Best-of-n sampling: per prompt, the highest-reward of n responses drawn from a policy, with the policy's log-probabilities of the pick.",
  tensors: true,
  metrics: {
    "kl/analytic": "log n − (n − 1)/n, the best-of-n policy's KL to the base policy for a continuum of responses (an upper bound)",
    "kl/exact": "the exact KL of the best-of-n distribution to a tabular base policy, mean over prompts",
    reward: "mean reward of the picks",
    "reward/base": "mean reward of all n draws"
  },
  params: Schema.Struct({
    n: Param.int({ default: 4, min: 1, description: "Responses drawn for each pick" }),
    samples: Param.int({ default: 1, min: 1, description: "Picks per prompt (each the best of n fresh draws)" }),
    split: Param.literal(["test", "train", "all"], { default: "all", description: "Which prompts: held-out, training or all" }),
    seed: Param.seed
  }),
  inputs: { policy: Policy, reward: RewardSource, task: Task },
  output: Samples,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const task = TaskView.view(inputs.task)
      const source = RewardSourceModel.of(inputs.reward, task)
      const { n, samples } = params
      const prompts = TaskView.promptsOf(task, params.split)
      if (prompts.length === 0) return yield* new InputError({ input: "task", param: "split", reason: `the task has no ${params.split} prompts` })
      return PolicyModel.withLoaded(inputs.policy, (policy) => {
        PolicyModel.checkFits(policy, task)
        // each prompt's samples·n draws are consecutive; pick j of a prompt is the best of draws j·n .. j·n + n − 1
        const repeated = prompts.flatMap((p) => Array.from({ length: samples * n }, () => p))
        const drawn = PolicyModel.sample(policy, repeated, task.responseLength, { temperature: 1, topK: 0 }, ctx.random.split("sample"), ctx.progress)
        const { rewards } = source.score(repeated, drawn.responses)
        const picks = Array.from({ length: prompts.length * samples }, (_, g) => g * n + best(rewards.slice(g * n, (g + 1) * n)))
        ctx.metric("kl/analytic", bestOfNKl(n), 0)
        ctx.metric("reward", mean(picks.map((i) => rewards[i]!)), 0)
        ctx.metric("reward/base", mean(rewards), 0)
        if (policy.architecture === "tabular") {
          const K = task.vocab
          const candidates = Array.from({ length: K }, (_, k) => [k])
          ctx.metric("kl/exact", mean(prompts.map((p) => {
            const base = PolicyModel.distribution(policy.model, p.id)
            const { rewards: all } = source.score(candidates.map(() => p), candidates)
            return categoricalKl(bestOfNDistribution(base, all, n), base)
          })), 0)
        }
        return picks.map((i, g): Sample => ({
          prompt: repeated[i]!.id,
          sample: g % samples,
          response: drawn.responses[i]!,
          logProb: sum(drawn.tokenLogProbs[i]!),
          tokenLogProbs: drawn.tokenLogProbs[i]!,
          split: repeated[i]!.split
        }))
      })
    })
})
