/**
 * Log-probabilities of a policy's samples under the policy and a reference, shared by
 * the KL and reward–KL evaluations, and the KL of the two per split.
 */
import type { ModelValue, ValueOf } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import * as Param from "../../dsl/Param.ts"
import type { KlDivergence, Sample } from "../artifacts.ts"
import type { Prompt, TaskView } from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import { digitsOf } from "../data/SequenceGold.ts"
import { bySplit, chainRuleKl, klEstimators, mean, sum } from "./math.ts"

/** The param bounding the work of exact KLs. */
export const exactLimitParam = Param.int({
  default: 4096,
  min: 0,
  description: "Compute the exact KL by enumeration when a prompt's responses have at most this many prefixes of L − 1 tokens (V^(L−1); tabular: 1); 0 never"
})

/**
 * A policy's and a reference's log-probabilities of each sample's tokens (number[B][L]
 * each), checked against the samples' own, and each sampled prompt's exact KL where its
 * responses can be enumerated within `exactLimit`.
 */
export const logProbsOf = (
  task: TaskView,
  samples: ReadonlyArray<Sample>,
  policyValue: ModelValue,
  referenceValue: ModelValue,
  /** compute the exact KL when a prompt has at most this many response prefixes (V^(L−1)) */
  exactLimit: number
): { readonly policy: Array<Array<number>>; readonly reference: Array<Array<number>>; readonly exact?: (prompt: number) => number } => {
  if (samples.length === 0) throw new InputError({ input: "samples", reason: "there are no samples to evaluate" })
  return PolicyModel.withLoaded(policyValue, (policy) =>
    PolicyModel.withLoaded(referenceValue, (reference) => {
      PolicyModel.checkFits(policy, task)
      PolicyModel.checkFits(reference, task, "reference")
      const prompts = samples.map((s) => task.prompt(s.prompt))
      const responses = samples.map((s) => s.response)
      const logP = PolicyModel.tokenLogProbs(policy, prompts, responses)
      const mismatch = samples.findIndex((s, i) => Math.abs(sum(logP[i]!) - s.logProb) > 1e-3)
      if (mismatch >= 0) {
        const s = samples[mismatch]!
        throw new InputError({
          input: "samples",
          reason: `the samples were not drawn from this policy: sample ${s.sample} of prompt ${s.prompt} has log-probability ${s.logProb.toFixed(4)} in the samples but ${sum(logP[mismatch]!).toFixed(4)} under the policy`
        })
      }
      const logRef = PolicyModel.tokenLogProbs(reference, prompts, responses)
      const enumerable = task.vocab ** (task.responseLength - 1) <= exactLimit
      if (!enumerable) return { policy: logP, reference: logRef }
      const exact = new Map<number, number>()
      for (const prompt of new Set(samples.map((s) => s.prompt))) exact.set(prompt, exactKl(policy, reference, task.prompt(prompt), task.vocab, task.responseLength))
      return { policy: logP, reference: logRef, exact: (prompt) => exact.get(prompt)! }
    }))
}

/** Every sequence of `length` tokens below V, in lexicographic order. */
const allSequences = (V: number, length: number): Array<Array<number>> =>
  Array.from({ length: V ** length }, (_, index) => digitsOf(index, length, V))

/**
 * Exact KL(π ‖ π_ref) over a prompt's responses of L tokens, by the chain rule over every
 * prefix u of L − 1 tokens: Σ_u π(u)·[log π(u)/π_ref(u) + KL(π(· | u) ‖ π_ref(· | u))].
 */
const exactKl = (policy: PolicyModel.Loaded, reference: PolicyModel.Loaded, prompt: Prompt, V: number, L: number): number => {
  const prefixes = allSequences(V, L - 1)
  return chainRuleKl(prefixes, PolicyModel.responseLogProbs(policy, prompt, prefixes, L), PolicyModel.responseLogProbs(reference, prompt, prefixes, L), V)
}

/** A row of the KlDivergence table. */
export type KlRow = ValueOf<typeof KlDivergence>[number]

/**
 * KL(π ‖ π_ref) per split (ablate/math's bySplit), with the indices of the split's
 * samples: per sequence (estimators over each sample's summed log-ratio) and per token
 * (estimators over every response token's log-ratio), with the exact value — the mean
 * over the split's prompts of each prompt's exact KL — where it was computed.
 */
export const klBySplit = (
  samples: ReadonlyArray<Sample>,
  logProbs: ReturnType<typeof logProbsOf>
): Array<{ readonly split: string; readonly indices: ReadonlyArray<number>; readonly sequence: KlRow; readonly token: KlRow }> => {
  const indexed = samples.map((s, i) => ({ split: s.split, prompt: s.prompt, i }))
  return bySplit(indexed).map(([split, rows]) => {
    const prompts = [...new Set(rows.map((r) => r.prompt))]
    const exact = logProbs.exact === undefined ? Number.NaN : mean(prompts.map(logProbs.exact))
    const sequence = klEstimators(rows.map((r) => sum(logProbs.policy[r.i]!)), rows.map((r) => sum(logProbs.reference[r.i]!)))
    const token = klEstimators(rows.flatMap((r) => logProbs.policy[r.i]!), rows.flatMap((r) => logProbs.reference[r.i]!))
    const length = logProbs.policy[rows[0]!.i]!.length
    return {
      split,
      indices: rows.map((r) => r.i),
      sequence: { split, level: "sequence" as const, ...sequence, exact, samples: rows.length },
      token: { split, level: "token" as const, ...token, exact: exact / length, samples: rows.length }
    }
  })
}

/** The KL a node reports for a row: the exact value where it was computed, else the k3 estimate. */
export const reportedKl = (row: Pick<KlRow, "exact" | "k3">): { readonly kl: number; readonly method: "exact" | "k3" } =>
  Number.isNaN(row.exact) ? { kl: row.k3, method: "k3" } : { kl: row.exact, method: "exact" }

/** The rows of KlDivergence: each split's sequence and token KL (see `klBySplit`). */
export const klRows = (
  samples: ReadonlyArray<Sample>,
  logProbs: ReturnType<typeof logProbsOf>
): Array<KlRow> => klBySplit(samples, logProbs).flatMap((group) => [group.sequence, group.token])
