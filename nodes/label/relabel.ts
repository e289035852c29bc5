/**
 * Training pairs an ensemble calls mislabelled, dropped or flipped: a preference whose
 * strength (its mean margin across the ensemble's members, evaluate/preferenceStrength)
 * is below a threshold is likely a wrong label; dropping it, or swapping its chosen and
 * rejected responses, is how Wang et al., 2024 ("Secrets of RLHF in Large Language
 * Models Part II: Reward Modeling", https://arxiv.org/abs/2401.06080) clean a preference
 * set before training the reward model. Ties and held-out pairs are kept as they are.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { type FeaturePair, FeaturePairs } from "../artifacts.ts"
import { PreferenceStrengths, strengthsOf } from "../evaluate/preferenceStrength.ts"
import { isTrainingPreference } from "../models/Pairs.ts"

/** What to do with a pair the ensemble calls mislabelled. */
export type Method = "drop" | "flip"

/** Whether a pair is a training preference whose strength is below `threshold`. */
export const suspect = (pair: FeaturePair, strength: number, threshold: number): boolean => isTrainingPreference(pair) && strength < threshold

/** `pairs` with each `suspect` one dropped or flipped (chosen ↔ rejected); `strengths` in the pairs' order. */
export const relabelled = (
  pairs: ReadonlyArray<FeaturePair>,
  strengths: ReadonlyArray<number>,
  method: Method,
  threshold: number
): Array<FeaturePair> =>
  pairs.flatMap((p, j) =>
    !suspect(p, strengths[j]!, threshold) ? [p] : method === "drop" ? [] : [{ ...p, chosen: p.rejected, rejected: p.chosen }]
  )

export const relabel = Node.make({
  kind: "label/relabel",
  version: 1,
  description: "Drop or flip the training preferences whose ensemble preference strength is below a threshold (likely wrong labels).",
  metrics: { relabelled: "training preferences dropped or flipped" },
  params: Schema.Struct({
    method: Param.literal(["drop", "flip"], { default: "flip", description: "Drop the pair, or swap its chosen and rejected responses" }),
    threshold: Param.number({ default: 0, description: "Pairs whose preference strength is below this are relabelled; 0: the ensemble prefers the rejected response" })
  }),
  inputs: { pairs: FeaturePairs, strengths: PreferenceStrengths },
  output: FeaturePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const strengths = strengthsOf(inputs.pairs, inputs.strengths)
      ctx.metric("relabelled", inputs.pairs.filter((p, j) => suspect(p, strengths[j]!, params.threshold)).length, 0)
      return relabelled(inputs.pairs, strengths, params.method, params.threshold)
    })
})
