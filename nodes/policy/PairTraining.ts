/**
 * What the trainers on a fixed dataset of responses share (SFT, DPO and its variants,
 * SimPO, ORPO, KTO; iterative DPO trains on fresh pairs with the same step): the training
 * split of ResponsePairs with the reference's summed log-probabilities of every response,
 * computed once outside the gradient tape; the policy's log-probabilities of a minibatch's
 * chosen and rejected responses in one forward pass; the DPO step; the statistics every
 * preference loss reports under TRL's names; their params and defaults; and the loop that
 * draws a minibatch of rows each step from a checkpointed generator (on pairs, `trainOnPairs`).
 *
 * Every response of a task has the same length L, so a response's per-token mean
 * log-probability (IPO, SimPO, ORPO and the SFT term) is its sum divided by L.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import type { ModelValue, ValueOf } from "../../dsl/Artifact.ts"
import { InputError, type InputLocation, type InvariantError } from "../../dsl/Errors.ts"
import type { NodeContext } from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import type { ResponsePair, Task } from "../artifacts.ts"
import { type Prompt, type TaskView, view } from "../data/Task.ts"
import { optimizationParams } from "../models/optimization.ts"
import * as PolicyModel from "../models/Policy.ts"
import type * as Train from "../models/Train.ts"
import { type DpoOptions, dpoLoss, type PreferenceLosses, rpoLoss } from "./math.ts"
import * as Likelihoods from "./Likelihoods.ts"
import * as Trainer from "./Trainer.ts"

/** The training pairs of a ResponsePairs table, with the reference's log-probabilities of their responses. */
export interface PairData {
  /** the prompt of each pair [N] */
  readonly prompts: ReadonlyArray<Prompt>
  /** the preferred response of each pair, L tokens [N][L] */
  readonly chosen: ReadonlyArray<ReadonlyArray<number>>
  /** the dispreferred response of each pair [N][L] */
  readonly rejected: ReadonlyArray<ReadonlyArray<number>>
  /** Σ_t log π_ref(chosen_t | ·) of each pair; 0 when there is no reference [N] */
  readonly referenceChosen: ReadonlyArray<number>
  /** Σ_t log π_ref(rejected_t | ·) of each pair; 0 when there is no reference [N] */
  readonly referenceRejected: ReadonlyArray<number>
  /** tokens per response (the task's response length) */
  readonly responseLength: number
}

/** Fail naming the row (`at`: input, row and field) when a response is not one the task's policies can produce. */
export const checkResponse = (task: TaskView, response: ReadonlyArray<number>, at: InputLocation): void => {
  if (response.length !== task.responseLength || response.some((t) => !Number.isInteger(t) || t < 0 || t >= task.vocab)) {
    throw new InputError({
      ...at,
      reason: `[${response.join(", ")}] is not ${task.responseLength} token${task.responseLength === 1 ? "" : "s"} below ${task.vocab}, as the task's responses are`
    })
  }
}

/**
 * The task's prompt of each data row's prompt id; fails naming the first row whose prompt
 * the task lacks (`at(i)`: the input and row of the i-th id).
 */
export const rowPrompts = (task: TaskView, ids: ReadonlyArray<number>, at: (i: number) => InputLocation): Array<Prompt> => {
  const byId = new Map(task.prompts.map((p) => [p.id, p]))
  return ids.map((id, i) => {
    const prompt = byId.get(id)
    if (prompt === undefined) {
      throw new InputError({
        ...at(i),
        field: "prompt",
        reason: `${id} is not one of the task's prompts (its ${task.prompts.length} prompts have ids ${task.prompts[0]?.id} to ${task.prompts.at(-1)?.id}); were the rows made on another task?`
      })
    }
    return prompt
  })
}

/**
 * The training split of `pairs` as PairData, with the reference's summed log-probabilities
 * of every response (zeros when `reference` is undefined, for reference-free objectives).
 * Fails when there is no training pair, or a pair's prompt or response is not the task's.
 */
export const pairData = (pairs: ReadonlyArray<ResponsePair>, task: TaskView, reference: PolicyModel.Loaded | undefined): PairData => {
  const rows = [...pairs.keys()].filter((row) => pairs[row]!.split === "train")
  if (rows.length === 0) {
    throw new InputError({
      input: "pairs",
      reason: `no training pairs to learn from: ${pairs.length === 0 ? "the pairs table is empty" : `all ${pairs.length} pairs are held out (split "test")`}`
    })
  }
  const train = rows.map((row) => pairs[row]!)
  train.forEach((p, i) => {
    checkResponse(task, p.chosen, { input: "pairs", row: rows[i]! + 1, field: "chosen" })
    checkResponse(task, p.rejected, { input: "pairs", row: rows[i]! + 1, field: "rejected" })
  })
  const prompts = rowPrompts(task, train.map((p) => p.prompt), (i) => ({ input: "pairs", row: rows[i]! + 1 }))
  const chosen = train.map((p) => p.chosen)
  const rejected = train.map((p) => p.rejected)
  const zeros = () => new Array<number>(train.length).fill(0)
  return {
    prompts,
    chosen,
    rejected,
    referenceChosen: reference === undefined ? zeros() : PolicyModel.summedLogProbs(reference, prompts, chosen),
    referenceRejected: reference === undefined ? zeros() : PolicyModel.summedLogProbs(reference, prompts, rejected),
    responseLength: task.responseLength
  }
}

/** The policy's summed log-probabilities of the chosen and the rejected responses of some pairs, on the tape. */
export interface PairLogProbs {
  /** Σ_t log π_θ(chosen_t | ·) [B] */
  readonly chosen: tf.Tensor1D
  /** Σ_t log π_θ(rejected_t | ·) [B] */
  readonly rejected: tf.Tensor1D
}

/**
 * The policy's summed log-probabilities of the `rows`' chosen and rejected responses, in
 * one forward pass over the chosen responses followed by the rejected ones.
 */
export const pairLogProbs = (policy: PolicyModel.Loaded, data: Pick<PairData, "prompts" | "chosen" | "rejected">, rows: ReadonlyArray<number>): PairLogProbs => {
  const B = rows.length
  const prompts = rows.map((i) => data.prompts[i]!)
  const summed = tf.sum(PolicyModel.trainableTokenLogProbs(policy, [...prompts, ...prompts], [...rows.map((i) => data.chosen[i]!), ...rows.map((i) => data.rejected[i]!)]), 1) // [2B]
  const [chosen, rejected] = tf.split(summed, [B, B]) as [tf.Tensor1D, tf.Tensor1D]
  return { chosen, rejected }
}

/**
 * The policy's per-token mean log-probabilities (1/L)·Σ_t log π_θ(y_t | ·) of the `rows`'
 * chosen and rejected responses, on the tape: what SimPO and ORPO take.
 */
export const meanPairLogProbs = (policy: PolicyModel.Loaded, data: PairData, rows: ReadonlyArray<number>): PairLogProbs => {
  const L = data.responseLength
  const summed = pairLogProbs(policy, data, rows)
  return { chosen: tf.div(summed.chosen, L) as tf.Tensor1D, rejected: tf.div(summed.rejected, L) as tf.Tensor1D }
}

/** The metrics of a preference loss, under TRL's names. */
export const preferenceMetrics = {
  loss: "the preference loss, mean over the minibatch",
  "rewards/chosen": "mean implicit reward of the chosen responses",
  "rewards/rejected": "mean implicit reward of the rejected responses",
  "rewards/accuracies": "fraction of the minibatch's pairs whose chosen reward exceeds the rejected one",
  "rewards/margins": "mean of rewards/chosen − rewards/rejected per pair",
  "logps/chosen": "mean log-probability of the chosen responses under the policy (as the loss uses it: summed over tokens, or the per-token mean)",
  "logps/rejected": "mean log-probability of the rejected responses under the policy (as the loss uses it)"
} as const

/** The loss (the mean of the per-pair losses) and the statistics named in `preferenceMetrics`. */
export const preferenceStep = (
  out: PreferenceLosses,
  logps: { readonly chosen: tf.Tensor1D; readonly rejected: tf.Tensor1D },
  extra: Readonly<Record<string, tf.Tensor>> = {}
): Train.StepLoss => ({
  loss: tf.mean(out.losses) as tf.Scalar,
  stats: {
    "rewards/chosen": out.chosenRewards,
    "rewards/rejected": out.rejectedRewards,
    "rewards/accuracies": tf.cast(tf.greater(out.chosenRewards, out.rejectedRewards), "float32"),
    "rewards/margins": tf.sub(out.chosenRewards, out.rejectedRewards),
    "logps/chosen": logps.chosen,
    "logps/rejected": logps.rejected,
    ...extra
  }
})

/**
 * One DPO step on `rows` of the data: the DPO loss of `options` on the policy's and the
 * reference's log-probabilities (per-token means for IPO, sums otherwise), plus
 * sftWeight times the chosen responses' per-token NLL when sftWeight > 0 (RPO).
 */
export const dpoStep = (
  policy: PolicyModel.Loaded,
  data: PairData,
  rows: ReadonlyArray<number>,
  options: DpoOptions & { readonly sftWeight?: number }
): Train.StepLoss => {
  const L = data.responseLength
  const scale = options.lossType === "ipo" ? 1 / L : 1
  const summed = pairLogProbs(policy, data, rows)
  const logps = { chosen: tf.mul(summed.chosen, scale) as tf.Tensor1D, rejected: tf.mul(summed.rejected, scale) as tf.Tensor1D }
  const referenceChosen = tf.tensor1d(rows.map((i) => data.referenceChosen[i]! * scale))
  const referenceRejected = tf.tensor1d(rows.map((i) => data.referenceRejected[i]! * scale))
  const alpha = options.sftWeight ?? 0
  if (alpha === 0) return preferenceStep(dpoLoss(logps.chosen, logps.rejected, referenceChosen, referenceRejected, options), logps)
  const chosenNll = tf.div(tf.neg(summed.chosen), L) as tf.Tensor1D
  return preferenceStep(rpoLoss(logps.chosen, logps.rejected, referenceChosen, referenceRejected, chosenNll, { ...options, alpha }), logps, { nll_loss: chosenNll })
}

/** `size` distinct rows of `count`, drawn at random (a partial Fisher–Yates shuffle). */
export const minibatch = (count: number, size: number, random: Random): Array<number> => {
  const rows = Array.from({ length: count }, (_, i) => i)
  for (let i = 0; i < size; i++) {
    const j = i + random.int(count - i)
    const drawn = rows[j]!
    rows[j] = rows[i]!
    rows[i] = drawn
  }
  return rows.slice(0, size)
}

/** Rows of training data: one prompt per row (a pair, a demonstration, a KTO example). */
export interface Rows {
  readonly prompts: ReadonlyArray<Prompt>
}

/** The params of a trainer on rows of data. */
export interface RowParams {
  /** Adam steps */
  readonly steps: number
  readonly lr: number
  /** rows per step (all of them when there are fewer) */
  readonly batch: number
}

/**
 * The params of a trainer on rows of data (RowParams and the seed) with the defaults the
 * trainers on fixed data share: 32 rows (`of`, e.g. "pairs") per step, 200 steps at lr 0.003.
 */
export const rowParams = (of = "pairs") => ({
  batch: Trainer.batchParam(32, of),
  ...optimizationParams({ steps: 200, lr: 0.003 }),
  seed: Param.seed
})

export interface RowTraining<D extends Rows, S> {
  readonly ctx: NodeContext
  readonly task: TaskView
  /** the starting policy; its weights are trained */
  readonly policy: ModelValue
  /** the frozen reference, if the objective has one */
  readonly reference: ModelValue | undefined
  readonly params: RowParams
  /** the training rows, made once before the first step, with the loaded reference when there is one and the starting policy */
  readonly data: (reference: PolicyModel.Loaded | undefined, policy: PolicyModel.Loaded) => D
  /** response tokens a row trains on (2·L for a pair), for the throughput */
  readonly tokensPerRow: number
  /** work on the step's rows outside the gradient tape (e.g. KTO's reference point) */
  readonly prepare?: (policy: PolicyModel.Loaded, data: D, rows: ReadonlyArray<number>) => S
  /** the loss of the step's rows, given what `prepare` made */
  readonly loss: (policy: PolicyModel.Loaded, data: D, rows: ReadonlyArray<number>, prepared: S | undefined) => Train.StepLoss
  readonly display?: NonNullable<Train.LoopOptions["display"]>
  /**
   * measurements of the policy off the gradient tape (e.g. likelihood tracking), given the
   * steps taken so far: before every `every`-th step, and after the last
   */
  readonly measure?: { readonly every: number; readonly at: (policy: PolicyModel.Loaded, data: D, step: number) => void }
}

/**
 * Train the policy on a fixed dataset: each step draws a minibatch of distinct rows from a
 * generator the checkpoints carry, so a resumed run draws the same minibatches.
 */
export const trainOnRows = <D extends Rows, S = undefined>(spec: RowTraining<D, S>): Effect.Effect<ModelValue, InvariantError> =>
  Effect.suspend(() => {
    const random = spec.ctx.random.split("minibatches")
    return Trainer.train({
      ctx: spec.ctx,
      task: spec.task,
      policy: spec.policy,
      reference: spec.reference,
      steps: spec.params.steps,
      lr: spec.params.lr,
      loop: (policy, reference) => {
        const data = spec.data(reference, policy)
        const count = data.prompts.length
        const size = Math.min(spec.params.batch, count)
        const measure = spec.measure
        let rows: ReadonlyArray<number> = []
        let prepared: S | undefined
        return {
          random,
          beforeStep: (step) => {
            if (measure !== undefined && step % measure.every === 0) measure.at(policy, data, step)
            rows = minibatch(count, size, random)
            prepared = spec.prepare?.(policy, data, rows)
          },
          loss: () => spec.loss(policy, data, rows, prepared),
          ...(spec.display === undefined ? {} : { display: spec.display }),
          ...(measure === undefined ? {} : { finish: () => measure.at(policy, data, spec.params.steps) }),
          itemsPerStep: size * spec.tokensPerRow,
          unit: "tok"
        }
      }
    })
  })

/** What the progress bar of a preference trainer shows as its reward: the mean reward margin. */
export const marginDisplay: NonNullable<Train.LoopOptions["display"]> = (stats) =>
  stats["rewards/margins"] === undefined ? {} : { reward: stats["rewards/margins"] }

/** The inputs of a trainer on preference pairs: the starting policy, the frozen reference if the objective has one, the pairs and their task. */
export interface PairInputs {
  readonly policy: ModelValue
  readonly reference?: ModelValue
  readonly pairs: ReadonlyArray<ResponsePair>
  readonly task: ValueOf<typeof Task>
}

/**
 * Train the policy on the training split of preference pairs (DPO, SimPO, ORPO): each step,
 * `loss` of a minibatch of pairs (the data has the reference's log-probabilities when there
 * is a reference); the progress bar shows the mean reward margin. With `track`, the
 * likelihoods of the pairs' responses and of unseen ones are recorded as training goes
 * (Likelihoods.ts), the unseen responses drawn from the starting policy before the first step.
 */
export const trainOnPairs = (spec: {
  readonly ctx: NodeContext
  readonly inputs: PairInputs
  readonly params: RowParams
  readonly loss: (policy: PolicyModel.Loaded, data: PairData, rows: ReadonlyArray<number>) => Train.StepLoss
  readonly track?: Likelihoods.Tracking | undefined
}): Effect.Effect<ModelValue, InvariantError> =>
  Effect.suspend(() => {
    const task = view(spec.inputs.task)
    const track = spec.track
    return trainOnRows<PairData & { readonly start: Likelihoods.Start | undefined }>({
      ctx: spec.ctx,
      task,
      policy: spec.inputs.policy,
      reference: spec.inputs.reference,
      params: spec.params,
      data: (reference, policy) => {
        const data = pairData(spec.inputs.pairs, task, reference)
        return { ...data, start: track === undefined ? undefined : Likelihoods.start(policy, data, track.unseen, spec.ctx.random.split("unseen")) }
      },
      tokensPerRow: 2 * task.responseLength,
      loss: spec.loss,
      display: marginDisplay,
      ...(track === undefined ? {} : {
        measure: {
          every: track.every,
          at: (policy, data, step) => {
            if (data.start !== undefined) Likelihoods.record(spec.ctx, policy, data, data.start, step)
          }
        }
      })
    })
  })
