/**
 * The training split of a FeaturePairs table as tensors, and the training of MLPs
 * over it, shared by the reward-model nodes (each keeps only its loss and outputs).
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import type { NodeContext } from "../../dsl/Node.ts"
import type { FeaturePair } from "../artifacts.ts"
import { acrossMembers, mean, rankedRight } from "../evaluate/math.ts"
import * as Ensemble from "../models/Ensemble.ts"
import * as Mlp from "../models/Mlp.ts"
import { isTrainingPreference, pairTensors } from "../models/Pairs.ts"
import * as PreferenceModel from "../models/PreferenceModel.ts"
import { prefixed } from "../models/Tensors.ts"
import * as Train from "../models/Train.ts"

export interface TrainingPairs {
  readonly rows: ReadonlyArray<FeaturePair>
  /** feature dimension */
  readonly d: number
  /** [B, d] */
  readonly chosen: tf.Tensor2D
  /** [B, d] */
  readonly rejected: tf.Tensor2D
  /** [B] probability that `chosen` is preferred (1, or ½ for ties) */
  readonly labels: tf.Tensor1D
  readonly dispose: () => void
}

/** Tensors of the training pairs (ties dropped when `preferencesOnly`); fails when there are none. */
export const trainingPairs = (pairs: ReadonlyArray<FeaturePair>, options: { readonly preferencesOnly?: boolean } = {}): TrainingPairs => {
  const rows = pairs.filter(options.preferencesOnly === true ? isTrainingPreference : (p) => p.split === "train")
  if (rows.length === 0) throw new InputError({ input: "pairs", reason: `no training ${options.preferencesOnly === true ? "preference " : ""}pairs` })
  const d = rows[0]!.chosen.length
  const { chosen, rejected } = pairTensors(rows)
  const labels = tf.tensor1d(rows.map((p) => p.label))
  return { rows, d, chosen, rejected, labels, dispose: () => tf.dispose([chosen, rejected, labels]) }
}

/** TRL's names for how a reward model ranks its training pairs at the end of training. */
export const rankingMetrics = {
  accuracy: "training pairs ranked right at the end",
  margin: "mean score of chosen over rejected (r_c − r_r) on the training pairs at the end"
} as const

/** TRL's names for the mean rewards of a model with a scalar reward of its own. */
export const rewardMetrics = {
  "rewards/chosen": "mean reward of the chosen responses at the end",
  "rewards/rejected": "mean reward of the rejected responses at the end"
} as const

/**
 * Record a trained reward model's `rankingMetrics` on training pairs (its scores as
 * PreferenceModel.scores gives them: an ensemble's mean, a latent-user model's under each
 * annotator's inferred latent), an ensemble's `spread`, and, with `rewards`, its
 * `rewardMetrics` (for a model whose reward does not depend on a latent or a comparison).
 */
export const recordPairMetrics = (
  ctx: NodeContext,
  step: number,
  model: ModelValue,
  rows: ReadonlyArray<FeaturePair>,
  options: { readonly rewards: boolean }
): void => {
  const members = PreferenceModel.memberScores(model, rows)
  const margins = acrossMembers(members)
  ctx.metric("accuracy", rankedRight(margins.map((m) => m.mean)), step)
  ctx.metric("margin", mean(margins.map((m) => m.mean)), step)
  if (members.length > 1) ctx.metric("spread", mean(margins.map((m) => m.spread)), step)
  if (!options.rewards) return
  // one pass over the chosen responses, then the rejected ones
  const rewards = PreferenceModel.rewards(model, [...rows.map((p) => p.chosen), ...rows.map((p) => p.rejected)])
  ctx.metric("rewards/chosen", mean(rewards.slice(0, rows.length)), step)
  ctx.metric("rewards/rejected", mean(rewards.slice(rows.length)), step)
}

export interface MlpsFit<A> {
  readonly ctx: NodeContext
  /** hidden units of the one hidden layer (Mlp.hiddenLayers) */
  readonly hidden: number
  /** output units; 1 (a reward) when absent */
  readonly outputs?: number
  readonly steps: number
  readonly lr: number
  /**
   * One MLP per name, initialised from `ctx.random.split(name)`; ["init"] when absent.
   * One MLP's variables keep their names (`l0.w`, ...); several are stored as an
   * ensemble stores them (`m{i}.l0.w`, ...).
   */
  readonly inits?: ReadonlyArray<string>
  readonly loss: (mlps: ReadonlyArray<Mlp.Mlp>, step: number) => tf.Scalar
  /** pairs per step, for the throughput; all training pairs when absent */
  readonly itemsPerStep?: number
  /** what the node returns (and reports) from the trained MLPs */
  readonly result: (mlps: ReadonlyArray<Mlp.Mlp>) => A
}

/**
 * Train MLPs over the training pairs' features with Adam (Train.fit) on `loss`, and
 * return `result` of the trained MLPs. Frees the MLPs and the pairs' tensors.
 */
export const fitMlps = <A>(data: TrainingPairs, spec: MlpsFit<A>) =>
  Effect.gen(function*() {
    const mlps: Array<Mlp.Mlp> = []
    try {
      for (const name of spec.inits ?? ["init"]) {
        mlps.push(Mlp.init({ inputs: data.d, hidden: Mlp.hiddenLayers(spec.hidden), ...(spec.outputs === undefined ? {} : { outputs: spec.outputs }) }, spec.ctx.random.split(name)))
      }
      const variables = mlps.length === 1
        ? Mlp.variables(mlps[0]!)
        : Object.fromEntries(mlps.flatMap((m, i) => Object.entries(prefixed(Ensemble.prefix(i), Mlp.variables(m)))))
      yield* Train.fit({
        ctx: spec.ctx,
        steps: spec.steps,
        variables,
        lr: spec.lr,
        loss: (step) => spec.loss(mlps, step),
        itemsPerStep: spec.itemsPerStep ?? data.rows.length,
        unit: "pairs"
      })
      return spec.result(mlps)
    } finally {
      mlps.forEach(Mlp.dispose)
      data.dispose()
    }
  })

/** `fitMlps` of one MLP, initialised from `ctx.random.split("init")`. */
export const fitMlp = <A>(
  data: TrainingPairs,
  spec: Omit<MlpsFit<A>, "inits" | "loss" | "result"> & {
    readonly loss: (mlp: Mlp.Mlp, step: number) => tf.Scalar
    readonly result: (mlp: Mlp.Mlp) => A
  }
) => fitMlps(data, { ...spec, loss: ([mlp], step) => spec.loss(mlp!, step), result: ([mlp]) => spec.result(mlp!) })
