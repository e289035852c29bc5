/**
 * How well ensemble preference strength finds the training labels that label noise
 * flipped (Wang et al., 2024, https://arxiv.org/abs/2401.06080, Section 2): the AUC of
 * −strength for telling flipped pairs from the rest, and the precision and recall of the
 * flag "strength below the threshold" (0: the ensemble prefers the rejected response),
 * over the training preferences of a label node's pairs.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Artifact from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { PreferencePairs } from "../artifacts.ts"
import { auc, precisionRecall } from "./math.ts"
import { PreferenceStrengths, strengthsOf } from "./preferenceStrength.ts"

/** One row: the detector's scores over the training preferences. */
export const NoiseDetection = Artifact.table("NoiseDetection", Schema.Struct({
  auc: Schema.Number,
  precision: Schema.Number,
  recall: Schema.Number,
  /** share of the training preferences flagged */
  flagged: Schema.Number,
  /** share of the training preferences flipped by the noise */
  flipped: Schema.Number,
  pairs: Schema.Number
}))

export const noiseDetection = Node.make({
  kind: "evaluate/noiseDetection",
  version: 1,
  description: "How well low ensemble preference strength finds the flipped training labels: AUC, and precision and recall of strength below a threshold.",
  metrics: {
    auc: "AUC of −strength for the flipped training preferences",
    precision: "share of the flagged pairs that were flipped",
    recall: "share of the flipped pairs that were flagged",
    flagged: "share of the training preferences flagged",
    flipped: "share of the training preferences flipped"
  },
  results: ["auc", "precision", "recall", "flagged", "flipped"],
  params: Schema.Struct({
    threshold: Param.number({ default: 0, description: "A pair is flagged when its preference strength is below this" })
  }),
  inputs: { strengths: PreferenceStrengths, labels: PreferencePairs },
  output: NoiseDetection,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      const all = strengthsOf(inputs.labels, inputs.strengths)
      const train = inputs.labels.flatMap((p, j) => (p.split === "train" && !p.tie ? [{ flipped: p.flipped, strength: all[j]! }] : []))
      const flipped = train.map((p) => p.flipped)
      if (!flipped.includes(true) || !flipped.includes(false)) {
        return yield* new InputError({ input: "labels", reason: `needs flipped and unflipped training preferences, has ${flipped.filter(Boolean).length} flipped of ${train.length}` })
      }
      const flags = train.map((p) => p.strength < params.threshold)
      const row = {
        auc: auc(train.map((p) => -p.strength), flipped),
        ...precisionRecall(flags, flipped),
        flagged: flags.filter(Boolean).length / train.length,
        flipped: flipped.filter(Boolean).length / train.length,
        pairs: train.length
      }
      for (const name of ["auc", "precision", "recall", "flagged", "flipped"] as const) ctx.metric(name, row[name], 0)
      return [row]
    })
})
