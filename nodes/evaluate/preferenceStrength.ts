/**
 * Preference strength of each pair under an ensemble reward model: the mean margin
 * r(chosen) − r(rejected) across members, and the members' spread (standard
 * deviation) of that margin. Low strength flags pairs whose label the members
 * disagree with — likely label noise.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Artifact from "../../dsl/Artifact.ts"
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
