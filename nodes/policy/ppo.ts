/**
 * Proximal Policy Optimization for RLHF, token by token (Schulman et al., 2017,
 * https://arxiv.org/abs/1707.06347; its RLHF form: Ziegler et al., 2019,
 * https://arxiv.org/abs/1909.08593, and Ouyang et al., 2022, https://arxiv.org/abs/2203.02155;
 * conventions and defaults of TRL's PPOTrainer). A response is an episode whose actions are
 * its tokens (a bandit's response is one token). Each iteration samples one response to each
 * of `prompts` training prompts from the current policy (./Rollout.ts) and gives token t the reward
 *
 *   r_t = −β·kl_t + [t = L − 1]·r(x, y)       kl_t = log π_old(y_t | ·) − log π_ref(y_t | ·)   (k1; or k2, k3)
 *
 * (a process reward model's per-token rewards replace the last-token score). With V_old the
 * critic's values of the states before each token (./PpoCritic.ts: a separate critic, see
 * there why), GAE(γ, λ) gives advantages Â_t, from 0 after the last token, and value targets
 * R_t = Â_t + V_old(s_t); the advantages are whitened over the rollout's tokens. Then `epochs`
 * passes of `minibatches` shuffled minibatches (./PpoIterations.ts) each take an Adam step on
 *
 *   L = −mean_t min(ρ_t·A_t, clip(ρ_t, 1 ± ε)·A_t) + ½·mean_t max((V − R)², (clip(V, V_old ± ε_v) − R)²)
 *
 * with ρ_t = π_θ(y_t | ·)/π_old(y_t | ·). The policy and critic are separate and trained by one
 * Adam on the summed loss; with disjoint weights and Adam, which is invariant to a gradient's
 * scale, TRL's vf_coef would change nothing but the reported loss, so there is none.
 *
 * β is fixed (`klCoef`) or follows Ziegler et al.'s adaptive controller towards a target
 * sequence KL: after each rollout, β ← β·(1 + clip(KL/target − 1, ±0.2)·B/horizon). β is
 * checkpointed with the weights. Defaults are TRL's (γ 1, λ 0.95, ε = ε_v = 0.2, β 0.05, k1,
 * 4 epochs of 1 minibatch; adaptive: target 6, horizon 10000, which moves β by at most
 * 0.2·B/horizon per rollout, so small runs need a smaller horizon).
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, RewardSource, Task } from "../artifacts.ts"
import * as TaskView from "../data/Task.ts"
import { mean, standardDeviation, sum } from "../evaluate/math.ts"
import { optimizationParams } from "../models/optimization.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as RewardSourceModel from "../models/RewardSource.ts"
import type * as Train from "../models/Train.ts"
import { adaptiveKlController, gae, klPenalty, ppoPolicyLoss, ppoValueLoss, whiten } from "./math.ts"
import * as PpoCritic from "./PpoCritic.ts"
import * as PpoIterations from "./PpoIterations.ts"
import * as Rollout from "./Rollout.ts"
import * as Trainer from "./Trainer.ts"

/** The metrics ppo records every step, under TRL's names. */
const metrics = {
  loss: "the minibatch's clipped surrogate loss plus its clipped value loss",
  value_loss: "the clipped value loss ½·max((V − R)², (V_clip − R)²), averaged over tokens",
  clipfrac: "fraction of the minibatch's tokens where the clip bound the ratio π_θ/π_old",
  value_clipfrac: "fraction of the minibatch's tokens where the clipped value was the larger loss",
  "policy/approxkl": "½·mean (log π_θ − log π_old)² over the minibatch's tokens",
  entropy: "entropy of π_old per token, estimated by −mean log π_old(y_t) over the rollout",
  kl: "KL(π_old ‖ π_ref) per response on the rollout: mean over responses of Σ_t kl_t (the penalty's estimator)",
  kl_coef: "the KL coefficient β the rollout's rewards used",
  reward: "mean reward-source score of the rollout's responses",
  reward_std: "standard deviation of the rollout's scores"
} as const

export const ppo = Node.make({
  kind: "policy/ppo",
  version: 1,
  description: "PPO with a per-token KL penalty to the reference (fixed or adaptive β), GAE, clipped surrogate and a separate clipped critic, on bandit and sequence tasks.",
  tensors: true,
  metrics,
  params: Schema.Struct({
    prompts: Param.int({ default: 16, min: 1, description: "Training prompts per rollout, one response each" }),
    ...PpoIterations.scheduleParams({ epochs: 4, minibatches: 1 }),
    gamma: Param.number({ default: 1, min: 0, max: 1, description: "Discount γ over a response's tokens" }),
    lambda: Param.number({ default: 0.95, min: 0, max: 1, description: "GAE λ" }),
    clipRange: Param.number({ default: 0.2, min: 0, exclusiveMin: true, description: "Clip range ε of the ratio π_θ/π_old" }),
    valueClipRange: Param.number({ default: 0.2, min: 0, exclusiveMin: true, description: "Clip range ε_v of the value around the rollout's" }),
    klCoef: Param.number({ default: 0.05, min: 0, description: "KL coefficient β (the adaptive controller's initial value)" }),
    klEstimator: Param.literal(["k1", "k2", "k3"], { default: "k1", description: "Per-token KL estimator of the penalty" }),
    klController: Param.literal(["fixed", "adaptive"], { default: "fixed", description: "fixed: β stays klCoef; adaptive: Ziegler et al.'s controller moves β towards klTarget" }),
    klTarget: Param.number({ default: 6, min: 0, exclusiveMin: true, description: "Adaptive controller: target KL per response (nats)" }),
    klHorizon: Param.number({ default: 10000, min: 0, exclusiveMin: true, description: "Adaptive controller: horizon in responses" }),
    ...optimizationParams({ steps: 200, lr: 0.003 }),
    seed: Param.seed
  }),
  inputs: { policy: Policy, reference: Policy, reward: RewardSource, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.suspend(() => {
      const task = TaskView.view(inputs.task)
      const source = RewardSourceModel.of(inputs.reward, task)
      const prompts = Rollout.trainingPrompts(task)
      // one generator draws prompts, responses and minibatches: its state at an iteration boundary is all a resumed run needs
      const rng = ctx.random.split("rollouts")
      return Trainer.train({
        ctx,
        task,
        policy: inputs.policy,
        reference: inputs.reference,
        companion: {
          make: (policy) => PpoCritic.init(policy, inputs.policy, ctx.random.split("critic")),
          variables: (policy, critic) => PpoIterations.jointVariables(policy, PpoCritic.variables(critic)),
          dispose: PpoCritic.dispose
        },
        steps: params.steps,
        lr: params.lr,
        loop: (policy, reference, critic) => {
          const kl = klCoefficient(params)
          const collect = () => {
            const rollout = Rollout.rollout(policy, reference, source, task, Rollout.drawPrompts(prompts, params.prompts, rng), 1, rng)
            const batch = prepare(rollout, PpoCritic.values(critic, rollout.prompts, rollout.responses), kl.value(), params)
            kl.update(batch.kl, rollout.responses.length)
            return batch
          }
          return {
            ...PpoIterations.loop(params, rng, collect, (batch, rows) => loss(policy, critic, batch, rows, params)),
            ...(params.klController === "adaptive" ? { state: kl.state } : {}),
            // sampled tokens: one rollout per iteration
            itemsPerStep: (params.prompts * task.responseLength) / PpoIterations.stepsPerIteration(params),
            unit: "tok"
          }
        }
      })
    })
})

/** β, fixed or moved by the adaptive controller after each rollout, with its checkpoint state. */
const klCoefficient = (params: {
  readonly klCoef: number
  readonly klController: "fixed" | "adaptive"
  readonly klTarget: number
  readonly klHorizon: number
}) => {
  const make = (initial: number) => adaptiveKlController({ initial, target: params.klTarget, horizon: params.klHorizon })
  let controller = make(params.klCoef)
  const adaptive = params.klController === "adaptive"
  return {
    value: () => (adaptive ? controller.value : params.klCoef),
    update: (kl: number, responses: number) => {
      if (adaptive) controller = controller.update(kl, responses)
    },
    state: {
      save: () => controller.value,
      restore: (saved: unknown) => {
        controller = make(saved as number)
      }
    }
  }
}

/** A rollout with what PPO trains on, per response and token. number[B][L] unless noted */
interface Batch extends PpoIterations.Rollout {
  readonly rollout: Rollout.Rollout
  readonly values: ReadonlyArray<ReadonlyArray<number>>
  /** whitened over the rollout's tokens */
  readonly advantages: ReadonlyArray<ReadonlyArray<number>>
  readonly returns: ReadonlyArray<ReadonlyArray<number>>
  /** the stats of the rollout */
  readonly reward: number
  readonly rewardStd: number
  readonly kl: number
  readonly klCoef: number
  readonly entropy: number
}

const rowsOf = (flat: ReadonlyArray<number>, L: number): Array<Array<number>> =>
  Array.from({ length: flat.length / L }, (_, b) => flat.slice(b * L, (b + 1) * L))

/** The rewards, advantages and value targets of a rollout, with V_old (`values`, [B, L], freed here) and β. */
const prepare = (
  rollout: Rollout.Rollout,
  values: tf.Tensor2D,
  beta: number,
  params: { readonly klEstimator: "k1" | "k2" | "k3"; readonly gamma: number; readonly lambda: number }
): Batch => {
  const [B, L] = values.shape
  const oldValues = rowsOf(Array.from(values.dataSync()), L)
  values.dispose()
  const perToken = tf.tidy(() =>
    klPenalty(tf.tensor2d(rollout.logProbs.flat(), [B, L]), tf.tensor2d(rollout.referenceLogProbs.flat(), [B, L]), params.klEstimator))
  const kl = rowsOf(Array.from(perToken.dataSync()), L)
  perToken.dispose()
  // the reward source's part of r_t: a process reward model's per-token rewards, else the score at the last token
  const outcome = (b: number, t: number) =>
    rollout.tokenRewards === undefined ? (t === L - 1 ? rollout.rewards[b]! : 0) : rollout.tokenRewards[b]![t]!
  const estimates = rollout.responses.map((_, b) => {
    const rewards = kl[b]!.map((k, t) => -beta * k + outcome(b, t))
    return gae(rewards, oldValues[b]!, { gamma: params.gamma, lambda: params.lambda, lastValue: 0 })
  })
  const scores = [...rollout.rewards]
  return {
    size: B,
    rollout,
    values: oldValues,
    advantages: rowsOf(whiten(estimates.flatMap((e) => e.advantages), { shiftMean: true }), L),
    returns: estimates.map((e) => e.returns),
    reward: mean(scores),
    rewardStd: standardDeviation(scores),
    kl: mean(kl.map(sum)),
    klCoef: beta,
    entropy: -mean(rollout.logProbs.flat())
  }
}

const loss = (
  policy: PolicyModel.Loaded,
  critic: PpoCritic.Critic,
  batch: Batch,
  rows: ReadonlyArray<number>,
  params: { readonly clipRange: number; readonly valueClipRange: number }
): Train.StepLoss => {
  const { rollout } = batch
  const prompts = rows.map((r) => rollout.prompts[r]!)
  const responses = rows.map((r) => rollout.responses[r]!)
  const B = rows.length
  const L = responses[0]!.length
  const tokens = (xs: ReadonlyArray<ReadonlyArray<number>>) => tf.tensor2d(rows.flatMap((r) => [...xs[r]!]), [B, L]) // [B, L]
  const mask = tf.ones([B, L]) as tf.Tensor2D
  const surrogate = ppoPolicyLoss(PolicyModel.trainableTokenLogProbs(policy, prompts, responses), tokens(rollout.logProbs), tokens(batch.advantages), mask, { clipRange: params.clipRange })
  const value = ppoValueLoss(PpoCritic.values(critic, prompts, responses), tokens(batch.values), tokens(batch.returns), mask, { clipRange: params.valueClipRange })
  return {
    loss: tf.add(surrogate.loss, value.loss) as tf.Scalar,
    stats: {
      value_loss: value.loss,
      clipfrac: surrogate.clipFraction,
      value_clipfrac: value.clipFraction,
      "policy/approxkl": surrogate.approxKl,
      entropy: tf.scalar(batch.entropy),
      kl: tf.scalar(batch.kl),
      kl_coef: tf.scalar(batch.klCoef),
      reward: tf.scalar(batch.reward),
      reward_std: tf.scalar(batch.rewardStd)
    }
  }
}
