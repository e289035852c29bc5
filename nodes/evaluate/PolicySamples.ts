/**
 * Log-probabilities of a policy's samples under the policy and a reference, shared by
 * the KL and reward–KL evaluations, and the KL of the two per split.
 */
import type { ModelValue } from "../../dsl/Artifact.ts"
import type { Sample } from "../artifacts.ts"
import type { TaskView } from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import { bySplit, categoricalKl, klEstimators } from "./math.ts"

/** A policy's and a reference's log-probabilities of each sample's tokens. → number[B][L] each */
export const logProbsOf = (
  task: TaskView,
  samples: ReadonlyArray<Sample>,
  policyValue: ModelValue,
  referenceValue: ModelValue
): { readonly policy: Array<Array<number>>; readonly reference: Array<Array<number>>; readonly exact?: (prompt: number) => number } => {
  if (samples.length === 0) throw new Error("there are no samples to evaluate")
  const policy = PolicyModel.load(policyValue)
  const reference = PolicyModel.load(referenceValue)
  try {
    PolicyModel.checkFits(policy, task)
    PolicyModel.checkFits(reference, task, "reference")
    const prompts = samples.map((s) => task.prompt(s.prompt))
    const responses = samples.map((s) => s.response)
    const logP = PolicyModel.tokenLogProbs(policy, prompts, responses)
    const mismatch = samples.findIndex((s, i) => Math.abs(logP[i]!.reduce((a, b) => a + b, 0) - s.logProb) > 1e-3)
    if (mismatch >= 0) {
      const s = samples[mismatch]!
      throw new Error(`the samples were not drawn from this policy: sample ${s.sample} of prompt ${s.prompt} has log-probability ${s.logProb.toFixed(4)} in the samples but ${logP[mismatch]!.reduce((a, b) => a + b, 0).toFixed(4)} under the policy`)
    }
    const logRef = PolicyModel.tokenLogProbs(reference, prompts, responses)
    if (policy.architecture !== "tabular" || reference.architecture !== "tabular") return { policy: logP, reference: logRef }
    const exact = new Map<number, number>()
    for (const prompt of new Set(samples.map((s) => s.prompt))) {
      exact.set(prompt, categoricalKl(PolicyModel.distribution(policy.model, prompt), PolicyModel.distribution(reference.model, prompt)))
    }
    return { policy: logP, reference: logRef, exact: (prompt) => exact.get(prompt)! }
  } finally {
    PolicyModel.dispose(policy)
    PolicyModel.dispose(reference)
  }
}

export interface KlRow {
  readonly split: string
  readonly level: "sequence" | "token"
  readonly k1: number
  readonly k2: number
  readonly k3: number
  readonly exact: number
  readonly samples: number
}

const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

/**
 * KL(π ‖ π_ref) per split: per sequence (estimators over each sample's summed log-ratio)
 * and per token (estimators over every response token's log-ratio), with the exact value
 * — the mean over the split's prompts of the categorical KL — for tabular policies.
 */
export const klRows = (
  samples: ReadonlyArray<Sample>,
  logProbs: ReturnType<typeof logProbsOf>
): Array<KlRow> => {
  const indexed = samples.map((s, i) => ({ split: s.split, prompt: s.prompt, i }))
  return bySplit(indexed).flatMap(([split, rows]) => {
    const prompts = [...new Set(rows.map((r) => r.prompt))]
    const exact = logProbs.exact === undefined ? Number.NaN : sum(prompts.map(logProbs.exact)) / prompts.length
    const sequence = klEstimators(rows.map((r) => sum(logProbs.policy[r.i]!)), rows.map((r) => sum(logProbs.reference[r.i]!)))
    const token = klEstimators(rows.flatMap((r) => logProbs.policy[r.i]!), rows.flatMap((r) => logProbs.reference[r.i]!))
    const length = logProbs.policy[rows[0]!.i]!.length
    return [
      { split, level: "sequence" as const, ...sequence, exact, samples: rows.length },
      { split, level: "token" as const, ...token, exact: exact / length, samples: rows.length }
    ]
  })
}
