/**
 * Best-of-n sampling: for each prompt, draw n responses from a policy and keep the one a
 * reward scores highest (the first drawn among equals). Its KL to the base policy is at
 * most log n − (n − 1)/n, the value for a continuum of responses (Beirami et al., 2024,
 * "Theoretical guarantees on the best-of-n alignment policy", https://arxiv.org/abs/2401.01879).
 *
 * Over a prompt's finitely many responses, ranked by reward, with F the base policy's CDF
 * in that order, the pick is y with probability
 *
 *   P(y) = F(y)^n − F(y⁻)^n
 *
 * where F(y⁻) is the mass of the responses below y; responses of equal reward form one
 * block whose mass F(top)^n − F(below)^n they share in proportion to π(y), since the first
 * draw to land in the block is the pick. For a tabular policy the node records the exact
 * KL(P ‖ π) from it.
 */
import { Effect, Schema } from "effect"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, RewardSource, type Sample, Samples, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { categoricalKl, mean, sum } from "../evaluate/math.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as RewardSourceModel from "../models/RewardSource.ts"
import { bestOfNKl } from "./math.ts"

/**
 * The distribution of the best of n draws from `probabilities` under `rewards` (the module
 * comment's P(y), ties shared in proportion to the probabilities).
 *
 * @example
 * bestOfNDistribution([0.5, 0.5], [0, 1], 2) // [0.25, 0.75]
 */
export const bestOfNDistribution = (probabilities: ReadonlyArray<number>, rewards: ReadonlyArray<number>, n: number): Array<number> => {
  const order = [...probabilities.keys()].sort((a, b) => rewards[a]! - rewards[b]!)
  const picked = new Array<number>(probabilities.length).fill(0)
  let below = 0
  for (let start = 0; start < order.length;) {
    let end = start
    while (end < order.length && rewards[order[end]!] === rewards[order[start]!]) end++
    const block = order.slice(start, end)
    const mass = sum(block.map((y) => probabilities[y]!))
    const blockPick = (below + mass) ** n - below ** n
    for (const y of block) picked[y] = mass === 0 ? 0 : (blockPick * probabilities[y]!) / mass
    below += mass
    start = end
  }
  return picked
}

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
    Effect.sync(() => {
      const task = TaskView.view(inputs.task)
      const source = RewardSourceModel.of(inputs.reward, task)
      const { n, samples } = params
      return PolicyModel.withLoaded(inputs.policy, (policy) => {
        PolicyModel.checkFits(policy, task)
        const prompts = TaskView.promptsOf(task, params.split)
        if (prompts.length === 0) throw new Error(`the task has no ${params.split} prompts`)
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
