/**
 * Preference strength of each pair under an ensemble reward model: the mean margin
 * r(chosen) − r(rejected) across members, and the members' spread (standard
 * deviation) of that margin. Low strength flags pairs whose label the members
 * disagree with — likely label noise.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Artifact from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import { FeaturePairs, RewardModel } from "../artifacts.ts"
import * as PreferenceModel from "../models/PreferenceModel.ts"
import { acrossMembers } from "./math.ts"

/** One row per input pair, in input order. */
export const PreferenceStrengths = Artifact.table("PreferenceStrengths", Schema.Struct({
  pair: Schema.Number,
  split: Schema.String,
  strength: Schema.Number,
  spread: Schema.Number
}))

/**
 * The strength of each of `pairs` from a PreferenceStrengths table computed on those pairs
 * (or on pairs made from them one for one, as data/pairFeatures makes FeaturePairs from
 * PreferencePairs), in the pairs' order. Fails when the table has another length or split order.
 */
export const strengthsOf = (
  pairs: ReadonlyArray<{ readonly split: string }>,
  strengths: Artifact.ValueOf<typeof PreferenceStrengths>
): Array<number> => {
  if (strengths.length !== pairs.length) {
    throw new InputError({ input: "strengths", reason: `has ${strengths.length} rows for ${pairs.length} pairs: compute them on the same pairs` })
  }
  return pairs.map((p, j) => {
    const row = strengths[j]!
    if (row.pair !== j || row.split !== p.split) {
      throw new InputError({ input: "strengths", row: j + 1, reason: `is pair ${row.pair} (${row.split}), not pair ${j} (${p.split}): compute them on the same pairs` })
    }
    return row.strength
  })
}

export const preferenceStrength = Node.make({
  kind: "evaluate/preferenceStrength",
  version: 1,
  description: "Mean margin (preference strength) and spread of each pair across an ensemble's members.",
  tensors: true,
  params: Schema.Struct({}),
  inputs: { model: RewardModel, pairs: FeaturePairs },
  output: PreferenceStrengths,
  run: ({ inputs }) =>
    Effect.sync(() => {
      const margins = acrossMembers(PreferenceModel.memberScores(inputs.model, inputs.pairs))
      return inputs.pairs.map((p, j) => ({ pair: j, split: p.split, strength: margins[j]!.mean, spread: margins[j]!.spread }))
    })
})
