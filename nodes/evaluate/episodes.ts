/**
 * A grid-world policy's episodes in every environment of a Trajectories table: the
 * success rate (the goal reached within `maxSteps`), the mean return (undiscounted sum
 * of rewards) and the mean episode length, each with a 95% interval over environments
 * (episodes of one layout are averaged first; see ./math.ts's meanInterval). Actions are
 * the policy's likeliest (`greedy`) or drawn from it (`sampled`).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { EpisodeOutcomes, Policy, Trajectories } from "../artifacts.ts"
import * as GridPolicy from "../models/GridPolicy.ts"
import * as GridRollout from "../models/GridRollout.ts"
import { meanInterval, sum } from "./math.ts"

export const episodes = Node.make({
  kind: "evaluate/episodes",
  version: 1,
  description: "Success rate, mean return and mean episode length of a grid-world policy in each environment, with 95% intervals over environments.",
  tensors: true,
  metrics: { success: "fraction of episodes that reached the goal", return: "mean undiscounted return", steps: "mean episode length" },
  results: ["success", "return", "steps"],
  params: Schema.Struct({
    actions: Param.literal(["greedy", "sampled"], { default: "greedy", description: "greedy: the likeliest action; sampled: drawn from the policy" }),
    episodes: Param.int({ default: 1, min: 1, description: "Episodes per environment (more than one adds information only when sampling)" }),
    maxSteps: Param.int({ default: 100, min: 1, description: "Episode length limit" }),
    seed: Param.seed
  }),
  inputs: { policy: Policy, environments: Trajectories },
  output: EpisodeOutcomes,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const envs = GridRollout.environments(inputs.environments)
      const repeated = envs.flatMap((e) => Array.from({ length: params.episodes }, () => e))
      const sampling = { temperature: params.actions === "greedy" ? 0 : 1, topK: 0 }
      const played = GridPolicy.withLoaded(inputs.policy, (policy) =>
        GridRollout.run(policy, repeated, { maxSteps: params.maxSteps, sampling }, ctx.random.split("episodes")))
      const clusters = played.map((e) => e.env)
      const interval = (name: string, values: ReadonlyArray<number>) => {
        const result = meanInterval(values, clusters)
        ctx.metric(name, result.mean, 0)
        return result
      }
      const success = interval("success", played.map((e) => (e.success ? 1 : 0)))
      const returns = interval("return", played.map((e) => sum(e.rewards)))
      const steps = interval("steps", played.map((e) => e.actions.length))
      return [{
        success: success.mean,
        successLower: success.lower,
        successUpper: success.upper,
        return: returns.mean,
        returnLower: returns.lower,
        returnUpper: returns.upper,
        steps: steps.mean,
        stepsLower: steps.lower,
        stepsUpper: steps.upper,
        episodes: played.length,
        environments: envs.length
      }]
    })
})
