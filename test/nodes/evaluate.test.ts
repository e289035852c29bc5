import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../dsl/Artifact.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { data, evaluate, label, reward } from "../../nodes/index.ts"
import * as math from "../../nodes/math.ts"
import { rewards } from "../../nodes/models/PreferenceModel.ts"
import { runInMemory } from "../helpers.ts"

type Item = { readonly item: number; readonly prompt: number; readonly split: string; readonly gold: number; readonly features: ReadonlyArray<number> }

describe("pairwise accuracy", () => {
  it("scores any scalar reward model: an ensemble's mean reward orders held-out items; a General Preference Model is refused, saying why", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("ensemble-accuracy", () => {
      const task = data.preferenceTask({ items: 120, features: 4, gold: "linear" }, { name: "task" })
      const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: 300, temperature: 0 }), task })
      const ensemble = reward.ensemble({ pairs, members: 2, hidden: 0, steps: 40 }, { name: "ensemble" })
      return [
        evaluate.pairwiseAccuracy({ model: ensemble, task }, { name: "accuracy" }),
        evaluate.pairwiseAccuracy({ model: reward.generalPreference({ pairs, steps: 5 }), task }, { name: "gpm" })
      ]
    }))
    const [row] = values["accuracy"] as ReadonlyArray<{ accuracy: number; pairs: number; chance: number }>
    const test = (values["task"] as ReadonlyArray<Item>).filter((t) => t.split === "test")
    const expected = math.evaluate.pairwiseAccuracy(rewards(values["ensemble"] as ModelValue, test.map((t) => t.features)), test.map((t) => t.gold), test.map((t) => t.prompt))
    expect(row!.pairs).toBe(expected.pairs)
    expect(row!.accuracy).toBe(expected.accuracy)
    expect(row!.accuracy).toBeGreaterThan(0.7)
    expect(byLabel["gpm"]!.status).toBe("failed")
    expect(byLabel["gpm"]!.error).toContain("General Preference Model")
  })
})
