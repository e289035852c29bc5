/**
 * Gradient-free policy optimisation by the genetic algorithm of Deep Neuroevolution
 * (Such et al., 2017, https://arxiv.org/abs/1712.06567; operators in ./Neuroevolution.ts).
 * A genome is every weight of the policy, flattened, so a tabular policy and a
 * transformer evolve alike. Generation 0 is the starting policy and N − 1 mutations of
 * it; each generation is then the elite plus N − 1 mutated children of the T fittest.
 *
 * Fitness is the reward minus β·KL(π ‖ π_start), the KL to the starting policy:
 * - "sampled" (the paper's episodic return): the mean reward of the individual's own
 *   responses to a batch of training prompts drawn afresh each generation, the same
 *   prompts for every individual; the KL is the mean of log π(y) − log π_start(y) over them.
 * - "exact" (tabular policy on a bandit): E_{y~π(·|x)}[r(x, y)] and the exact KL,
 *   averaged over the training prompts.
 * The paper re-evaluates its top candidates on extra episodes to pick the elite; here the
 * elite is carried into the next generation and evaluated again with it on that
 * generation's fresh prompts, so a lucky draw keeps it for one generation only. The
 * result is the elite of the last generation.
 *
 * Each generation is checkpointed (the parents and the generator's state): a resumed run
 * ends with the same bytes as an uninterrupted one.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError, InvariantError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random, State } from "../../dsl/Random.ts"
import { Policy, RewardSource, Task } from "../artifacts.ts"
import { logSoftmax } from "../data/math.ts"
import * as TaskView from "../data/Task.ts"
import { categoricalKlOfLogProbs, mean, standardDeviation, sum } from "../evaluate/math.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as Rewards from "../models/RewardSource.ts"
import { throughputSince } from "../models/Train.ts"
import * as Neuroevolution from "./Neuroevolution.ts"
import * as Rollout from "./Rollout.ts"

/** An individual's mean reward and KL to the starting policy. */
interface Evaluation {
  readonly reward: number
  readonly kl: number
}

/** How a generation scores its genomes: made once per generation (drawing its prompts), then applied to each individual. */
type Fitness = (rng: Random) => (genome: Float32Array) => Evaluation

const sampledFitness = (
  policy: PolicyModel.Loaded,
  start: PolicyModel.Loaded,
  layout: Neuroevolution.Layout,
  source: Rewards.Source,
  task: TaskView.TaskView,
  options: { readonly prompts: number; readonly samples: number }
): Fitness => {
  const training = Rollout.trainingPrompts(task)
  return (rng) => {
    const prompts = Rollout.drawPrompts(training, options.prompts, rng)
    return (genome) => {
      Neuroevolution.assign(PolicyModel.variables(policy), layout, genome)
      const rollout = Rollout.rollout(policy, start, source, task, prompts, options.samples, rng)
      return {
        reward: mean(rollout.rewards),
        kl: mean(rollout.logProbs.map((logp, i) => sum(logp) - sum(rollout.referenceLogProbs[i]!)))
      }
    }
  }
}

const exactFitness = (
  start: PolicyModel.Loaded,
  layout: Neuroevolution.Layout,
  source: Rewards.Source,
  task: TaskView.TaskView
): Fitness => {
  if (task.kind !== "bandit") {
    throw new InputError({ param: "fitness", reason: `"exact" needs a bandit task (and a tabular policy); use fitness "sampled" on a sequence task` })
  }
  PolicyModel.checkFits(start, task)
  const K = task.vocab
  const prompts = Rollout.trainingPrompts(task)
  const candidates = Array.from({ length: K }, (_, k) => [k])
  // the reward of every candidate of every training prompt, once
  const { rewards } = source.score(prompts.flatMap((p) => candidates.map(() => p)), prompts.flatMap(() => candidates))
  const startLogProbs = prompts.map((p) => PolicyModel.logDistribution(start.model, p.id))
  const score = (genome: Float32Array): Evaluation => {
    const logits = Neuroevolution.part(genome, layout, "logits") // [prompts, K], row-major
    let reward = 0
    let kl = 0
    prompts.forEach((p, i) => {
      const logp = logSoftmax(logits.subarray(p.id * K, (p.id + 1) * K))
      for (let k = 0; k < K; k++) reward += Math.exp(logp[k]!) * rewards[i * K + k]!
      kl += categoricalKlOfLogProbs(logp, startLogProbs[i]!)
    })
    return { reward: reward / prompts.length, kl: kl / prompts.length }
  }
  return () => score
}

/**
 * Evolve a policy's weights towards a reward without gradients.
 *
 * @example
 * policy.genetic({ policy: start, reward: task, task, fitness: "exact", generations: 40, sigma: 0.3 })
 */
export const genetic = Node.make({
  kind: "policy/genetic",
  version: 1,
  description: "Gradient-free policy optimisation: Deep Neuroevolution's genetic algorithm (Gaussian mutation, truncation selection, elitism) on all of the policy's weights.",
  tensors: true,
  metrics: {
    reward: "the elite's mean reward, each generation",
    reward_mean: "mean reward of the generation's population",
    reward_std: "standard deviation of the population's rewards",
    kl: "the elite's KL to the starting policy (exact for exact fitness, else the mean log-ratio of its samples)"
  },
  params: Schema.Struct({
    generations: Param.int({ default: 50, min: 1, description: "Generations to evolve" }),
    population: Param.int({ default: 32, min: 2, description: "Individuals per generation (N), the elite included" }),
    parents: Param.int({ default: 8, min: 1, description: "Truncation: the T fittest of a generation breed the next (T ≤ N)" }),
    sigma: Param.number({ default: 0.05, min: 0, exclusiveMin: true, description: "Mutation scale σ: θ' = θ + σ·ε, ε ~ N(0, I)" }),
    fitness: Param.literal(["sampled", "exact"], {
      default: "sampled",
      description: "Reward of an individual: the mean over its samples, or (tabular policy on a bandit) the exact expectation over the training prompts"
    }),
    prompts: Param.int({ default: 32, min: 1, description: "Sampled fitness: training prompts drawn each generation, shared by its individuals" }),
    samples: Param.int({ default: 4, min: 1, description: "Sampled fitness: responses per prompt per individual" }),
    beta: Param.number({ default: 0, min: 0, description: "Fitness is reward − β·KL(π ‖ starting policy)" }),
    seed: Param.seed
  }),
  inputs: { policy: Policy, reward: RewardSource, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) => {
    if (params.parents > params.population) {
      return Effect.fail(new InputError({ param: "parents", reason: `${params.parents} must not exceed the population (${params.population})` }))
    }
    const task = TaskView.view(inputs.task)
    const source = Rewards.of(inputs.reward, task)
    return Effect.acquireUseRelease(
      Effect.sync(() => {
        const policy = PolicyModel.load(inputs.policy)
        try {
          return { policy, start: PolicyModel.load(inputs.policy) }
        } catch (error) {
          PolicyModel.dispose(policy)
          throw error
        }
      }),
      ({ policy, start }) =>
        Effect.gen(function*() {
          PolicyModel.checkFits(policy, task)
          const variables = PolicyModel.variables(policy)
          const layout = Neuroevolution.layoutOf(variables)
          const fitness = params.fitness === "exact"
            ? exactFitness(start, layout, source, task)
            : sampledFitness(policy, start, layout, source, task, params)
          const rng = ctx.random.split("evolve")
          let parents: Array<Float32Array> = [Neuroevolution.flatten(variables, layout)]
          let first = 0
          const saved = yield* ctx.checkpoint.load
          if (saved !== undefined) {
            parents = Array.from({ length: Number(saved.state["parents"]) }, (_, i) => {
              const genome = saved.tensors[`parent.${i}`]
              if (genome === undefined) throw new InvariantError({ what: "checkpoint", reason: `has no parent ${i}` })
              return genome.data
            })
            rng.restore(saved.state["random"] as unknown as State)
            first = saved.step
          }

          const started = performance.now()
          for (let g = first; g < params.generations; g++) {
            const population = Neuroevolution.nextGeneration(parents, params.population, params.sigma, rng)
            const evaluate = fitness(rng)
            const scores = population.map(evaluate)
            const order = Neuroevolution.truncate(scores.map((s) => s.reward - params.beta * s.kl), params.parents)
            parents = order.map((i) => population[i]!)
            const elite = scores[order[0]!]!
            const rewards = scores.map((s) => s.reward)
            ctx.metric("reward", elite.reward, g)
            ctx.metric("reward_mean", mean(rewards), g)
            ctx.metric("reward_std", standardDeviation(rewards), g)
            ctx.metric("kl", elite.kl, g)
            ctx.progress({
              step: g + 1,
              total: params.generations,
              reward: elite.reward,
              kl: elite.kl,
              ...throughputSince(started, params.population * (g + 1 - first), "individuals")
            })
            if (g + 1 < params.generations) {
              yield* ctx.checkpoint.save({
                step: g + 1,
                tensors: Object.fromEntries(parents.map((genome, i) => [`parent.${i}`, { shape: [genome.length], data: genome }])),
                state: { parents: parents.length, random: [...rng.state()] }
              })
            }
            yield* Effect.yieldNow
          }
          Neuroevolution.assign(variables, layout, parents[0]!)
          return PolicyModel.toModel(policy)
        }),
      ({ policy, start }) =>
        Effect.sync(() => {
          PolicyModel.dispose(policy)
          PolicyModel.dispose(start)
        })
    )
  }
})
