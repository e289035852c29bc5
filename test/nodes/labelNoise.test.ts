// The label-noise nodes of Wang et al., 2024 (arXiv:2401.06080) on cases small enough to work
// out by hand: relabelling by preference strength, finding the flipped labels, and the
// adaptive margin.
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { FeaturePairs, type FeaturePair, PreferencePairs } from "../../nodes/artifacts.ts"
import { PreferenceStrengths } from "../../nodes/evaluate/preferenceStrength.ts"
import { evaluate, label, reward } from "../../nodes/index.ts"
import { relabelled } from "../../nodes/label/relabel.ts"
import { rewards } from "../../nodes/models/PreferenceModel.ts"
import * as Testing from "../../runtime/Testing.ts"
import { fixedNode } from "../helpers.ts"

const pair = (chosen: number, rejected: number, split: "train" | "test" = "train", label = 1): FeaturePair =>
  ({ chosen: [chosen], rejected: [rejected], label, user: "", source: "", split })
const strengthRows = (strengths: ReadonlyArray<number>, splits: ReadonlyArray<string>) =>
  strengths.map((strength, pair) => ({ pair, split: splits[pair]!, strength, spread: 0.1 }))

describe("label/relabel", () => {
  // a suspect training preference, a clear one, a tie and a held-out pair, both of the last with negative strength
  const pairs = [pair(1, 0), pair(2, 0), pair(3, 0, "train", 0.5), pair(4, 0, "test")]
  const strengths = [-1, 2, -3, -1]

  it("drops or flips the training preferences below the threshold, and only those", () => {
    expect(relabelled(pairs, strengths, "drop", 0)).toEqual(pairs.slice(1))
    expect(relabelled(pairs, strengths, "flip", 0)).toEqual([pair(0, 1), ...pairs.slice(1)])
    expect(relabelled(pairs, strengths, "flip", 2.5)).toEqual([pair(0, 1), pair(0, 2), ...pairs.slice(2)])
  })

  it("as a node: counts what it relabelled, and refuses strengths of other pairs", async () => {
    const { values, metrics } = await Effect.runPromise(Testing.run(() => {
      const fixed = fixedNode("test/pairs", FeaturePairs, pairs)({})
      return { relabelled: label.relabel({ pairs: fixed, strengths: fixedNode("test/strengths", PreferenceStrengths, strengthRows(strengths, ["train", "train", "train", "test"]))({}), method: "drop" }) }
    }))
    expect(values.relabelled).toEqual(pairs.slice(1))
    expect(metrics.relabelled.find((m) => m.name === "relabelled")!.value).toBe(1)
    const error = await Effect.runPromise(Effect.flip(Testing.run(() => {
      const fixed = fixedNode("test/pairs", FeaturePairs, pairs)({})
      return { relabelled: label.relabel({ pairs: fixed, strengths: fixedNode("test/strengths", PreferenceStrengths, strengthRows([1, 2], ["train", "train"]))({}) }) }
    })))
    expect(error.message).toContain(`input "strengths": has 2 rows for 4 pairs`)
  })
})

describe("evaluate/noiseDetection", () => {
  it("AUC of −strength, and precision and recall of strength < 0, over the training preferences", async () => {
    const labels = [
      // flipped, strengths −2 and 0.5; clean, strengths −1, 1, 3; a tie and a held-out pair, left out
      ...[true, true, false, false, false].map((flipped) => ({ chosen: 0, rejected: 1, tie: false, flipped, user: "", source: "", components: [], split: "train" as const })),
      { chosen: 0, rejected: 1, tie: true, flipped: false, user: "", source: "", components: [], split: "train" as const },
      { chosen: 0, rejected: 1, tie: false, flipped: true, user: "", source: "", components: [], split: "test" as const }
    ]
    const strengths = strengthRows([-2, 0.5, -1, 1, 3, -5, -5], labels.map((l) => l.split))
    const { values } = await Effect.runPromise(Testing.run(() => ({
      detection: evaluate.noiseDetection({
        strengths: fixedNode("test/strengths", PreferenceStrengths, strengths)({}),
        labels: fixedNode("test/labels", PreferencePairs, labels)({})
      })
    })))
    // −strength: flipped 2 and −0.5 against clean 1, −1, −3: 2 beats all 3, −0.5 beats 2 of 3 → 5/6
    // flagged (strength < 0): −2 (flipped) and −1 (clean) → precision ½, recall ½
    expect(values.detection).toEqual([{ auc: 5 / 6, precision: 0.5, recall: 0.5, flagged: 0.4, flipped: 0.4, pairs: 5 }])
  })
})

describe("reward/adaptiveMargin", () => {
  it("fits each pair's margin to its strength: two contradicting pairs settle at the strength's margin", async () => {
    // a linear reward r(x) = w·x + b on x ∈ {0, 1}; pair 1 says 1 ≻ 0 with strength 2, pair 2 says 0 ≻ 1 with
    // strength −2: the loss softplus(2 − w) + softplus(w − 2) is least at w = 2, where plain Bradley–Terry
    // (softplus(−w) + softplus(w)) has w = 0
    const pairs = [pair(1, 0), pair(0, 1)]
    const { values } = await Effect.runPromise(Testing.run(() => {
      const fixed = fixedNode("test/pairs", FeaturePairs, pairs)({})
      const strengths = fixedNode("test/strengths", PreferenceStrengths, strengthRows([2, -2], ["train", "train"]))({})
      return {
        margin: reward.adaptiveMargin({ pairs: fixed, strengths, hidden: 0, steps: 400, lr: 0.05 }),
        half: reward.adaptiveMargin({ pairs: fixed, strengths, hidden: 0, steps: 400, lr: 0.05, scale: 0.5 }),
        plain: reward.bradleyTerry({ pairs: fixed, hidden: 0, steps: 400, lr: 0.05 })
      }
    }))
    const gap = (model: typeof values.margin) => {
      const [one, zero] = rewards(model, [[1], [0]])
      return one! - zero!
    }
    expect(gap(values.margin)).toBeCloseTo(2, 2)
    expect(gap(values.half)).toBeCloseTo(1, 2)
    expect(gap(values.plain)).toBeCloseTo(0, 2)
  })
})
