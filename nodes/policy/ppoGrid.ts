/**
 * PPO in the grid worlds (Schulman et al., 2017, https://arxiv.org/abs/1707.06347), episode
 * by episode: each iteration runs `episodes` episodes of the current grid policy, each in an
 * environment drawn at random from `environments`, then trains on their steps for `epochs`
 * passes of `minibatches` minibatches (./PpoIterations.ts). Per step t of an episode,
 * with V a value network over the same observation (nodes/models/GridPolicy.ts):
 *
 *   Â_t = GAE(γ, λ) of the rewards (1 at the goal, else 0) and V          (Schulman et al., 2016)
 *         bootstrapped from V(s_T) when the episode ran out of steps, from 0 at the goal
 *   R_t = Â_t + V_old(s_t)                                                 (the value target)
 *   L   = −min(ρ_t·A_t, clip(ρ_t, 1 ± ε)·A_t) + ½·max((V − R)², (clip(V, V_old ± ε_v) − R)²) − c_H·H(π(·|s_t))
 *
 * with ρ_t = π_θ(a_t|s_t)/π_old(a_t|s_t) and A the advantages whitened over the rollout.
 * γ 0.99, λ 0.95, ε = ε_v = 0.2, 4 epochs and the entropy bonus 0.01 are CleanRL's ppo.py
 * defaults; the rollout (32 episodes in 2 minibatches) and the learning rate 5e-4 are what
 * made behaviour-cloned policies improve steadily on 8×8 key-and-door worlds (at 1e-3 they
 * sometimes collapsed late in training). The policy and value network are separate and trained by one Adam on
 * the summed loss; with disjoint weights and Adam, which is invariant to a gradient's scale,
 * a value-loss coefficient would change nothing but the reported loss, so there is none.
 *
 * Environments: every environment (distinct `env`) of the `environments` table, e.g. the
 * data/gridWorld node whose demonstrations trained the starting policy with
 * policy/imitationPretrain; only the layouts are read. The starting policy comes from
 * policy/imitationPretrain or policy/gridInit; `kl` reports the distance the policy has
 * moved from it.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import { Policy, Trajectories } from "../artifacts.ts"
import { mean, standardDeviation, sum } from "../evaluate/math.ts"
import * as GridPolicy from "../models/GridPolicy.ts"
import * as Mlp from "../models/Mlp.ts"
import { optimizationParams } from "../models/optimization.ts"
import * as Train from "../models/Train.ts"
import * as GridRollout from "../models/GridRollout.ts"
import { gae, ppoPolicyLoss, ppoValueLoss, whiten } from "./math.ts"
import * as PpoIterations from "./PpoIterations.ts"

export const ppoGrid = Node.make({
  kind: "policy/ppoGrid",
  version: 1,
  description: "PPO for a grid-world policy on its own episodes in the environments of a Trajectories table: GAE, clipped surrogate, clipped value loss, entropy bonus.",
  tensors: true,
  metrics: {
    loss: "the minibatch's clipped surrogate loss plus its value loss, less the entropy bonus",
    value_loss: "the clipped value loss ½·max((V − R)², (V_clip − R)²)",
    clipfrac: "fraction of the minibatch's steps where the clip bound the ratio π_θ/π_old",
    value_clipfrac: "fraction of the minibatch's steps where the clipped value was the larger loss",
    "policy/approxkl": "½·mean (log π_θ − log π_old)² over the minibatch",
    entropy: "entropy of π(·|s) over the minibatch's states",
    kl: "KL(π_old ‖ π_start) over the rollout's states, exact over the four actions",
    reward: "mean return of the rollout's episodes",
    reward_std: "standard deviation of the rollout's episode returns",
    success: "fraction of the rollout's episodes that reached the goal"
  },
  params: Schema.Struct({
    episodes: Param.int({ default: 32, min: 1, description: "Episodes per rollout, each in an environment drawn at random" }),
    ...PpoIterations.scheduleParams({ epochs: 4, minibatches: 2 }),
    maxSteps: Param.int({ default: 100, min: 1, description: "Episode length limit" }),
    gamma: Param.number({ default: 0.99, min: 0, max: 1, description: "Discount γ" }),
    lambda: Param.number({ default: 0.95, min: 0, max: 1, description: "GAE λ" }),
    clipRange: Param.number({ default: 0.2, min: 0, exclusiveMin: true, description: "Clip range ε of the ratio π_θ/π_old" }),
    valueClipRange: Param.number({ default: 0.2, min: 0, exclusiveMin: true, description: "Clip range ε_v of the value around the rollout's" }),
    entropyCoef: Param.number({ default: 0.01, min: 0, description: "Coefficient c_H of the entropy bonus" }),
    ...optimizationParams({ steps: 400, lr: 0.0005 }),
    seed: Param.seed
  }),
  inputs: { policy: Policy, environments: Trajectories },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        const policy = GridPolicy.fromModel(inputs.policy)
        return { policy, start: GridPolicy.fromModel(inputs.policy), critic: GridPolicy.initValue(policy.config, ctx.random.split("critic")) }
      }),
      ({ policy, start, critic }) =>
        Effect.gen(function*() {
          const envs = GridRollout.environments(inputs.environments)
          const rng = ctx.random.split("rollouts")
          const loop = PpoIterations.loop(params, rng, () => collect(policy, start, critic, envs, params, rng), (batch, rows) => loss(policy, critic, batch, rows, params))
          try {
            yield* Train.fit({
              ...loop,
              ctx,
              steps: params.steps,
              lr: params.lr,
              variables: PpoIterations.jointVariables(GridPolicy.variables(policy), Mlp.variables(critic)),
              logEvery: 1,
              // one rollout per iteration
              itemsPerStep: params.episodes / PpoIterations.stepsPerIteration(params),
              unit: "episodes"
            })
          } finally {
            loop.dispose()
          }
          return GridPolicy.toModel(policy)
        }),
      ({ policy, start, critic }) =>
        Effect.sync(() => {
          GridPolicy.dispose(policy)
          GridPolicy.dispose(start)
          Mlp.dispose(critic)
        })
    )
})

/** The steps of a rollout's episodes, flattened, with what PPO trains on. */
interface GridRolloutBatch extends PpoIterations.Rollout {
  /** [size · D] */
  readonly observations: Float32Array
  readonly actions: ReadonlyArray<number>
  readonly logProbs: ReadonlyArray<number>
  readonly values: ReadonlyArray<number>
  /** whitened */
  readonly advantages: ReadonlyArray<number>
  readonly returns: ReadonlyArray<number>
  readonly reward: number
  readonly rewardStd: number
  readonly success: number
  readonly kl: number
}

const valuesOf = (critic: Mlp.Mlp, observations: Float32Array, D: number): Array<number> => {
  const out = tf.tidy(() => GridPolicy.values(critic, tf.tensor2d(observations, [observations.length / D, D])))
  const data = Array.from(out.dataSync())
  out.dispose()
  return data
}

const collect = (
  policy: GridPolicy.GridPolicy,
  start: GridPolicy.GridPolicy,
  critic: Mlp.Mlp,
  envs: ReadonlyArray<GridRollout.Environment>,
  params: { readonly episodes: number; readonly maxSteps: number; readonly gamma: number; readonly lambda: number },
  rng: Random
): GridRolloutBatch => {
  const D = GridPolicy.observationSize(policy.config.radius)
  const drawn = Array.from({ length: params.episodes }, () => envs[rng.int(envs.length)]!)
  const episodes = GridRollout.run(policy, drawn, { maxSteps: params.maxSteps, sampling: { temperature: 1, topK: 0 } }, rng)
  const size = sum(episodes.map((e) => e.actions.length))
  const observations = new Float32Array(size * D)
  let at = 0
  for (const e of episodes) {
    observations.set(e.observations, at * D)
    at += e.actions.length
  }
  const values = valuesOf(critic, observations, D)
  const lastValues = valuesOf(critic, Float32Array.from(episodes.flatMap((e) => Array.from(e.last))), D)
  const advantages: Array<number> = []
  const returns: Array<number> = []
  let offset = 0
  episodes.forEach((e, i) => {
    const T = e.actions.length
    const estimate = gae([...e.rewards], values.slice(offset, offset + T), {
      gamma: params.gamma,
      lambda: params.lambda,
      lastValue: e.success ? 0 : lastValues[i]!
    })
    advantages.push(...estimate.advantages)
    returns.push(...estimate.returns)
    offset += T
  })
  const kl = tf.tidy(() => {
    const x = tf.tensor2d(observations, [size, D])
    const logP = GridPolicy.logDistribution(policy, x)
    const logQ = GridPolicy.logDistribution(start, x)
    return tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), -1)).dataSync()[0]!
  })
  const episodeReturns = episodes.map((e) => sum(e.rewards))
  return {
    size,
    observations,
    actions: episodes.flatMap((e) => e.actions),
    logProbs: episodes.flatMap((e) => e.logProbs),
    values,
    advantages: whiten(advantages, { shiftMean: true }),
    returns,
    reward: mean(episodeReturns),
    rewardStd: standardDeviation(episodeReturns),
    success: mean(episodes.map((e) => (e.success ? 1 : 0))),
    kl
  }
}

const loss = (
  policy: GridPolicy.GridPolicy,
  critic: Mlp.Mlp,
  batch: GridRolloutBatch,
  rows: ReadonlyArray<number>,
  params: { readonly clipRange: number; readonly valueClipRange: number; readonly entropyCoef: number }
): Train.StepLoss => {
  const D = GridPolicy.observationSize(policy.config.radius)
  const B = rows.length
  const observations = new Float32Array(B * D)
  rows.forEach((r, i) => observations.set(batch.observations.subarray(r * D, (r + 1) * D), i * D))
  const column = (xs: ReadonlyArray<number>) => tf.tensor2d(rows.map((r) => xs[r]!), [B, 1]) // [B, 1]: one step per row
  const x = tf.tensor2d(observations, [B, D])
  const mask = tf.ones([B, 1]) as tf.Tensor2D
  const logDistribution = GridPolicy.logDistribution(policy, x) // [B, 4]
  const logProbs = tf.reshape(tf.sum(tf.mul(logDistribution, tf.oneHot(tf.tensor1d(rows.map((r) => batch.actions[r]!), "int32"), GridPolicy.actionCount)), -1), [B, 1]) as tf.Tensor2D
  const surrogate = ppoPolicyLoss(logProbs, column(batch.logProbs), column(batch.advantages), mask, { clipRange: params.clipRange })
  const value = ppoValueLoss(tf.reshape(GridPolicy.values(critic, x), [B, 1]) as tf.Tensor2D, column(batch.values), column(batch.returns), mask, { clipRange: params.valueClipRange })
  const entropy = tf.mean(tf.neg(tf.sum(tf.mul(tf.exp(logDistribution), logDistribution), -1))) as tf.Scalar
  return {
    loss: tf.sub(tf.add(surrogate.loss, value.loss), tf.mul(params.entropyCoef, entropy)) as tf.Scalar,
    stats: {
      value_loss: value.loss,
      clipfrac: surrogate.clipFraction,
      value_clipfrac: value.clipFraction,
      "policy/approxkl": surrogate.approxKl,
      entropy,
      kl: tf.scalar(batch.kl),
      reward: tf.scalar(batch.reward),
      reward_std: tf.scalar(batch.rewardStd),
      success: tf.scalar(batch.success)
    }
  }
}
