/**
 * Likelihood tracking for the trainers on preference pairs: how far training has moved the
 * log-probability of the training pairs' chosen responses, of their rejected responses and
 * of unseen responses — ones the starting policy generates for the same prompts that are in
 * none of the pairs — measured as the mean of
 *
 *   Δ(y | x) = log π_θ(y | x) − log π_0(y | x)        (summed over the response's tokens)
 *
 * over each set, π_0 the policy training started from (for DPO, normally the reference), and
 * the probability that the policy generates none of a prompt's chosen and rejected responses,
 *
 *   m(x) = 1 − Σ_{y ∈ D(x)} π_θ(y | x)        (D(x): the distinct responses of x's pairs)
 *
 * averaged over the training prompts: the mass on unseen responses, exact.
 * These are the quantities of the "3D-properties" of DPO (Yan et al., 2024,
 * https://arxiv.org/abs/2406.07327): a drastic drop of the rejected responses' likelihood,
 * a degradation into lowering the chosen one too, and the mass this frees dispersing onto
 * responses in neither set. Every measurement is over all of the training pairs and all of
 * the unseen responses, off the gradient tape, so the curves carry no minibatch noise.
 */
import type { NodeContext } from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import { type Prompt, responseKey } from "../data/Task.ts"
import { massPerPrompt, mean } from "../evaluate/math.ts"
import * as PolicyModel from "../models/Policy.ts"
import type { PairData } from "./PairTraining.ts"

/** What to track: every this many steps (and after the last), with `unseen` responses per training prompt. */
export interface Tracking {
  readonly every: number
  readonly unseen: number
}

/** The params of a trainer that tracks likelihoods. */
export const trackingParams = {
  trackEvery: Param.int({
    default: 0,
    min: 0,
    description: "Every this many steps and after the last, record how far training has moved the log-probabilities of all the training pairs' chosen and rejected responses (delta/chosen, delta/rejected) and the mass left on responses in no pair (mass/unseen); 0 for never"
  }),
  unseen: Param.int({
    default: 0,
    min: 0,
    description: "Responses per training prompt drawn from the starting policy, other than the prompt's chosen and rejected ones, whose log-probabilities are tracked as delta/unseen (needs trackEvery > 0)"
  })
}

/** The metrics a tracking trainer records. */
export const trackingMetrics = {
  "delta/chosen": "mean log π_θ(y_c) − log π_0(y_c) over all training pairs (nats; π_0 the starting policy), every trackEvery steps and after the last",
  "delta/rejected": "mean log π_θ(y_r) − log π_0(y_r) over all training pairs (nats)",
  "delta/unseen": "mean log π_θ(y) − log π_0(y) over the unseen responses: the starting policy's samples for the training prompts that are in none of their pairs (nats)",
  "mass/unseen": "mean over the training prompts of the probability that the policy generates none of the prompt's chosen and rejected responses"
} as const

/** Tracking from the params, or none when `trackEvery` is 0. */
export const trackingOf = (params: { readonly trackEvery: number; readonly unseen: number }): Tracking | undefined =>
  params.trackEvery === 0 ? undefined : { every: params.trackEvery, unseen: params.unseen }

/** Responses paired with their prompts. */
interface Responses {
  /** [U] */
  readonly prompts: ReadonlyArray<Prompt>
  /** [U][L] */
  readonly responses: ReadonlyArray<ReadonlyArray<number>>
}

/** The starting policy's log-probabilities of every tracked response, taken before the first step. */
export interface Start {
  /** log π_0 of each pair's chosen response [N] */
  readonly chosen: ReadonlyArray<number>
  /** log π_0 of each pair's rejected response [N] */
  readonly rejected: ReadonlyArray<number>
  readonly unseen: Responses & {
    /** log π_0 of each unseen response [U] */
    readonly logProbs: ReadonlyArray<number>
  }
}

const summedLogProbs = (policy: PolicyModel.Loaded, { prompts, responses }: Responses): Array<number> =>
  PolicyModel.summedLogProbs(policy, prompts, responses)

/**
 * `perPrompt` responses to each distinct prompt of the pairs, drawn from `policy` at
 * temperature 1, less those that are one of that prompt's chosen or rejected responses
 * (a peaked policy redraws its data often: those are not unseen).
 */
const unseenResponses = (policy: PolicyModel.Loaded, data: PairData, perPrompt: number, random: Random): Responses => {
  const seen = new Set(data.prompts.flatMap((prompt, i) => [responseKey(prompt, data.chosen[i]!), responseKey(prompt, data.rejected[i]!)]))
  const distinct = [...new Map(data.prompts.map((p) => [p.id, p])).values()]
  const repeated = distinct.flatMap((p) => Array.from({ length: perPrompt }, () => p))
  const drawn = perPrompt === 0 ? [] : PolicyModel.sample(policy, repeated, data.responseLength, { temperature: 1, topK: 0 }, random).responses
  const kept = repeated.flatMap((prompt, i) => (seen.has(responseKey(prompt, drawn[i]!)) ? [] : [i]))
  return { prompts: kept.map((i) => repeated[i]!), responses: kept.map((i) => drawn[i]!) }
}

/** The starting policy's log-probabilities of the pairs' responses and of `perPrompt` unseen responses per prompt (drawn with `random`). */
export const start = (policy: PolicyModel.Loaded, data: PairData, perPrompt: number, random: Random): Start => {
  const unseen = unseenResponses(policy, data, perPrompt, random)
  return {
    chosen: summedLogProbs(policy, { prompts: data.prompts, responses: data.chosen }),
    rejected: summedLogProbs(policy, { prompts: data.prompts, responses: data.rejected }),
    unseen: { ...unseen, logProbs: summedLogProbs(policy, unseen) }
  }
}

/** The mean of now − then, element by element. */
const meanShift = (now: ReadonlyArray<number>, then: ReadonlyArray<number>): number => mean(now.map((value, i) => value - then[i]!))

/**
 * The mean over the pairs' distinct prompts of 1 − Σ π(y | x) over the prompt's distinct
 * chosen and rejected responses, given log π of each pair's chosen and rejected response.
 */
export const unseenMass = (data: Pick<PairData, "prompts" | "chosen" | "rejected">, chosen: ReadonlyArray<number>, rejected: ReadonlyArray<number>): number => {
  // each distinct (prompt, response) once, in the order it first appears
  const distinct = new Map<string, { readonly prompt: number; readonly logProb: number }>()
  data.prompts.forEach((prompt, i) => {
    distinct.set(responseKey(prompt, data.chosen[i]!), { prompt: prompt.id, logProb: chosen[i]! })
    distinct.set(responseKey(prompt, data.rejected[i]!), { prompt: prompt.id, logProb: rejected[i]! })
  })
  return mean(massPerPrompt([...distinct.values()]).map((covered) => 1 - covered))
}

/** Mean Δ of the chosen, rejected and (when there are any) unseen responses under `policy` now, and the mass on unseen responses. */
const measure = (
  policy: PolicyModel.Loaded,
  data: PairData,
  from: Start
): { readonly chosen: number; readonly rejected: number; readonly unseen?: number; readonly unseenMass: number } => {
  const chosen = summedLogProbs(policy, { prompts: data.prompts, responses: data.chosen })
  const rejected = summedLogProbs(policy, { prompts: data.prompts, responses: data.rejected })
  return {
    chosen: meanShift(chosen, from.chosen),
    rejected: meanShift(rejected, from.rejected),
    ...(from.unseen.responses.length === 0 ? {} : { unseen: meanShift(summedLogProbs(policy, from.unseen), from.unseen.logProbs) }),
    unseenMass: unseenMass(data, chosen, rejected)
  }
}

/** Record `measure` as the metrics of `trackingMetrics` at `step` (the steps taken so far). */
export const record = (ctx: NodeContext, policy: PolicyModel.Loaded, data: PairData, from: Start, step: number): void => {
  const now = measure(policy, data, from)
  ctx.metric("delta/chosen", now.chosen, step)
  ctx.metric("delta/rejected", now.rejected, step)
  if (now.unseen !== undefined) ctx.metric("delta/unseen", now.unseen, step)
  ctx.metric("mass/unseen", now.unseenMass, step)
}
