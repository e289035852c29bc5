import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../dsl/Artifact.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { type ResponsePair, ResponsePairs } from "../../nodes/artifacts.ts"
import * as TaskView from "../../nodes/data/Task.ts"
import { mean } from "../../nodes/evaluate/math.ts"
import { data, evaluate, label, policy, reward } from "../../nodes/index.ts"
import * as math from "../../nodes/math.ts"
import * as PolicyModel from "../../nodes/models/Policy.ts"
import { rewards } from "../../nodes/models/PreferenceModel.ts"
import { fixedNode, runInMemory } from "../helpers.ts"

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

describe("pair likelihood", () => {
  it("measures how SFT on the chosen responses moved their likelihood and the mass on the covered responses; bad pairs fail naming the row", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("pair-likelihood", () => {
      const task = data.sequenceTask({ gold: "markers", vocab: 4, promptLength: 2, responseLength: 2, prompts: 12 }, { name: "task" })
      const reference = policy.init({ task, width: 8 }, { name: "reference" })
      const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 4 }), task, judge: task, pairing: "bestWorst" }, { name: "pairs" })
      const tuned = policy.sft({ policy: reference, data: pairs, task, steps: 30, lr: 0.03 }, { name: "tuned" })
      const bad = fixedNode("test/outOfVocabulary", ResponsePairs, [{ prompt: 0, chosen: [0, 7], rejected: [1, 1], margin: 1, flipped: false, split: "train" }])({})
      return [
        evaluate.pairLikelihood({ policy: reference, reference, pairs, task }, { name: "itself" }),
        evaluate.pairLikelihood({ policy: tuned, reference, pairs, task }, { name: "sft" }),
        evaluate.pairLikelihood({ policy: tuned, reference, pairs: bad, task }, { name: "bad" })
      ]
    }))
    type Row = { split: string; chosen: number; rejected: number; covered: number; referenceCovered: number; pairs: number; responses: number }
    const rows = (name: string) => values[name] as ReadonlyArray<Row>
    const pairs = values["pairs"] as ReadonlyArray<ResponsePair>
    const task = TaskView.view(values["task"] as ModelValue)
    // each split's rows: its pairs, and the distinct responses they cover, recounted here
    for (const row of rows("itself")) {
      const group = row.split === "all" ? pairs : pairs.filter((p) => p.split === row.split)
      expect(row.pairs).toBe(group.length)
      expect(row.responses).toBe(new Set(group.flatMap((p) => [`${p.prompt}:${p.chosen}`, `${p.prompt}:${p.rejected}`])).size)
      expect(row.chosen).toBeCloseTo(0, 6)
      expect(row.rejected).toBeCloseTo(0, 6)
      expect(row.covered).toBeCloseTo(row.referenceCovered, 6)
    }
    // the reference's mass on the training split's covered responses, from its log-probabilities computed here
    const train = pairs.filter((p) => p.split === "train")
    const logProbs = PolicyModel.withLoaded(values["reference"] as ModelValue, (loaded) => {
      const covered = [...new Map(train.flatMap((p) => [p.chosen, p.rejected].map((r) => [`${p.prompt}:${r}`, { prompt: p.prompt, response: r }]))).values()]
      const lp = PolicyModel.tokenLogProbs(loaded, covered.map((c) => task.prompt(c.prompt)), covered.map((c) => c.response))
      return covered.map((c, i) => ({ prompt: c.prompt, p: Math.exp(lp[i]!.reduce((a, b) => a + b, 0)) }))
    })
    const perPrompt = [...new Set(logProbs.map((c) => c.prompt))].map((prompt) => logProbs.filter((c) => c.prompt === prompt).reduce((s, c) => s + c.p, 0))
    expect(rows("itself").find((r) => r.split === "train")!.referenceCovered).toBeCloseTo(mean(perPrompt), 6)
    // SFT on the chosen responses makes them likelier than the reference did, and puts more mass on the covered responses
    const sftTrain = rows("sft").find((r) => r.split === "train")!
    expect(sftTrain.chosen).toBeGreaterThan(0.5)
    expect(sftTrain.covered).toBeGreaterThan(sftTrain.referenceCovered)
    expect(byLabel["bad"]!.status).toBe("failed")
    expect(byLabel["bad"]!.error).toMatch(/row 1.*chosen.*\[0, 7\]/)
  })
})
