/**
 * Pairwise accuracy and calibration of a reward model (scalar or General Preference
 * Model) on labelled pairs, per split:
 * how often it scores the chosen response above the rejected one, and the expected
 * calibration error of its confidence max(p, 1 − p), p = σ(r_c − r_r), against
 * whether its call was right. Pairs with a label source (annotator type) also get
 * one row per source, named `split:source`.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, RewardModel, RewardModelAccuracy } from "../artifacts.ts"
import { sigmoid } from "../label/math.ts"
import * as PreferenceModel from "../models/PreferenceModel.ts"
import { bySplit, expectedCalibrationError, rankedRight } from "./math.ts"

export const rmAccuracy = Node.make({
  kind: "evaluate/rmAccuracy",
  version: 1,
  description: "Pairwise accuracy and calibration (ECE) of a reward model on the train and test pairs, overall and per label source.",
  tensors: true,
  metrics: { "<split>/accuracy": "pairwise accuracy per split and split:source", "<split>/ece": "expected calibration error per split and split:source" },
  results: ["<split>/accuracy", "<split>/ece"],
  params: Schema.Struct({
    bins: Param.int({ default: 10, min: 1, max: 100, description: "Equal-width bins of the calibration error" })
  }),
  inputs: { model: RewardModel, pairs: FeaturePairs },
  output: RewardModelAccuracy,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const rows: Array<{ split: string; accuracy: number; ece: number; pairs: number }> = []
      // ties have no right answer: accuracy and calibration are over preferences
      for (const [split, pairs] of bySplit(inputs.pairs.filter((p) => p.label !== 0.5), { all: false })) {
        const margins = PreferenceModel.scores(inputs.model, pairs, inputs.pairs)
        const groups = new Map<string, Array<number>>([[split, margins]])
        pairs.forEach((p, i) => {
          if (p.source !== "") groups.set(`${split}:${p.source}`, [...(groups.get(`${split}:${p.source}`) ?? []), margins[i]!])
        })
        for (const [name, group] of groups) {
          const accuracy = rankedRight(group)
          // calibration of the model's confidence in its own call: max(p, 1 − p) against whether the call was right
          const p = group.map(sigmoid)
          const ece = expectedCalibrationError(p.map((q) => Math.max(q, 1 - q)), p.map((q) => (q > 0.5 ? 1 : 0)), params.bins)
          ctx.metric(`${name}/accuracy`, accuracy, 0)
          ctx.metric(`${name}/ece`, ece, 0)
          rows.push({ split: name, accuracy, ece, pairs: group.length })
        }
      }
      return rows
    })
})
