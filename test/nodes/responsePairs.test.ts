/**
 * Labelled pairs of a policy's own responses (label/responsePairs, label/Judge.ts), their
 * feature pairs (data/responseFeatures), the policy trainers' differentiable log-probabilities
 * and their reward sources.
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../dsl/Artifact.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Random from "../../dsl/Random.ts"
import type { ResponsePair, Sample } from "../../nodes/artifacts.ts"
import * as TaskView from "../../nodes/data/Task.ts"
import { data, label, policy, reward } from "../../nodes/index.ts"
import * as Judge from "../../nodes/label/Judge.ts"
import * as PolicyModel from "../../nodes/models/Policy.ts"
import * as RewardSource from "../../nodes/models/RewardSource.ts"
import { runInMemory } from "../helpers.ts"

const sequencePipeline = (pairing: Judge.Pairing, extra: Record<string, number> = {}) =>
  Pipeline.make("pairs", () => {
    const task = data.sequenceTask({ prompts: 16, vocab: 5, promptLength: 2, responseLength: 3 }, { name: "task" })
    const samples = data.sample({ policy: policy.init({ task }, { name: "policy" }), task, n: 6 }, { name: "samples" })
    const pairs = label.responsePairs({ samples, task, judge: task, pairing, ...extra }, { name: "pairs" })
    return [pairs, data.responseFeatures({ pairs, task }, { name: "features" })]
  })

describe("label/responsePairs", () => {
  it("gold judge at temperature 0: the chosen response always has the higher gold reward, margins are the gold differences, splits are the prompts'", async () => {
    const { values } = await runInMemory(sequencePipeline("random", { pairs: 3 }))
    const task = TaskView.view(values["task"] as ModelValue)
    const pairs = values["pairs"] as ReadonlyArray<ResponsePair>
    expect(pairs.length).toBeGreaterThan(16)
    for (const p of pairs) {
      const margin = task.gold(p.prompt, p.chosen) - task.gold(p.prompt, p.rejected)
      expect(margin).toBeGreaterThan(0)
      expect(p.margin).toBeCloseTo(margin, 10)
      expect(p.flipped).toBe(false)
      expect(p.split).toBe(task.prompt(p.prompt).split)
    }
    // features: the task's own feature vectors of each response
    const features = values["features"] as ReadonlyArray<{ chosen: ReadonlyArray<number>; rejected: ReadonlyArray<number>; split: string }>
    expect(features).toHaveLength(pairs.length)
    expect(features[0]!.chosen).toEqual(task.features(pairs[0]!.prompt, pairs[0]!.chosen))
    expect(features[0]!.rejected).toEqual(task.features(pairs[0]!.prompt, pairs[0]!.rejected))
  })

  it("bestWorst pairs each prompt's highest-gold sample with its lowest; all pairs every two distinct responses", async () => {
    const best = await runInMemory(sequencePipeline("bestWorst"))
    const task = TaskView.view(best.values["task"] as ModelValue)
    const samples = best.values["samples"] as ReadonlyArray<Sample>
    const pairs = best.values["pairs"] as ReadonlyArray<ResponsePair>
    for (const p of pairs) {
      const golds = samples.filter((s) => s.prompt === p.prompt).map((s) => task.gold(s.prompt, s.response))
      expect(task.gold(p.prompt, p.chosen)).toBe(Math.max(...golds))
      expect(task.gold(p.prompt, p.rejected)).toBe(Math.min(...golds))
    }
    expect(new Set(pairs.map((p) => p.prompt)).size).toBe(pairs.length)

    const all = await runInMemory(sequencePipeline("all"))
    const allPairs = all.values["pairs"] as ReadonlyArray<ResponsePair>
    const groups = Judge.groupResponses(all.values["samples"] as ReadonlyArray<Sample>, task)
    // every two distinct responses of a prompt whose gold rewards differ (equal ones are ties, dropped at temperature 0)
    const expected = groups.reduce((n, g) => {
      const golds = g.responses.map((r) => task.gold(g.prompt.id, r))
      return n + golds.reduce((m, a, i) => m + golds.slice(i + 1).filter((b) => b !== a).length, 0)
    }, 0)
    expect(allPairs).toHaveLength(expected)
  })

  it("Bradley–Terry verdicts at a temperature follow σ(Δ/T); label noise flips the recorded fraction", () => {
    const group: Judge.Group = { prompt: { id: 0, tokens: [], split: "train" }, responses: [[0], [1]] }
    const logits = [[[0, 1], [-1, 0]]] // L[0][1] = 1: P(0 ≻ 1) = σ(1 / T)
    const rng = Random.make("bt")
    const drawn = Array.from({ length: 4000 }, () => Judge.pairResponses([group], logits, { pairing: "all", pairs: 1, temperature: 2, noise: 0 }, rng)).flat()
    expect(drawn.filter((p) => p.chosen[0] === 0).length / drawn.length).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 1)
    expect(drawn.filter((p) => p.chosen[0] === 1).every((p) => p.margin === -1)).toBe(true)
    const noisy = Array.from({ length: 4000 }, () => Judge.pairResponses([group], logits, { pairing: "all", pairs: 1, temperature: 0, noise: 0.2 }, rng)).flat()
    const flipped = noisy.filter((p) => p.flipped)
    expect(flipped.length / noisy.length).toBeCloseTo(0.2, 1)
    expect(flipped.every((p) => p.chosen[0] === 1)).toBe(true)
  })

  it("a General Preference Model judges by its skew-symmetric score; a prompt whose samples are all alike fails the node, saying why", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("gpm", () => {
      const task = data.banditTask({ prompts: 30, responses: 4, features: 4 }, { name: "task" })
      const samples = data.sample({ policy: policy.init({ task }), task, n: 4 }, { name: "samples" })
      const gold = label.responsePairs({ samples, task, judge: task, pairing: "all" }, { name: "gold" })
      const gpm = reward.generalPreference({ pairs: data.responseFeatures({ pairs: gold, task }), steps: 200 }, { name: "gpm" })
      const greedy = data.sample({ policy: policy.init({ task }), task, n: 3, temperature: 0 }, { name: "greedy" })
      return [label.responsePairs({ samples, task, judge: gpm, pairing: "all" }, { name: "judged" }), label.responsePairs({ samples: greedy, task, judge: task }, { name: "alike" })]
    }))
    const task = TaskView.view(values["task"] as ReadonlyArray<never>)
    const judged = values["judged"] as ReadonlyArray<ResponsePair>
    // the GPM learnt the gold order on these pairs: most of its verdicts agree with the gold reward
    const agree = judged.filter((p) => task.gold(p.prompt, p.chosen) > task.gold(p.prompt, p.rejected)).length / judged.length
    expect(agree).toBeGreaterThan(0.8)
    expect(byLabel["alike"]!.status).toBe("failed")
    expect(byLabel["alike"]!.error).toContain("no pair could be labelled")
  })
})

describe("policy training inputs", () => {
  it("trainable token log-probabilities equal the policy's own, for a transformer and a table", async () => {
    const { values } = await runInMemory(Pipeline.make("lp", () => {
      const seq = data.sequenceTask({ prompts: 6, vocab: 5, promptLength: 3, responseLength: 4 }, { name: "seq" })
      const bandit = data.banditTask({ prompts: 5, responses: 4 }, { name: "bandit" })
      return [
        data.sample({ policy: policy.init({ task: seq }, { name: "lm" }), task: seq, n: 2 }, { name: "seqSamples" }),
        data.sample({ policy: policy.init({ task: bandit, scale: 1 }, { name: "table" }), task: bandit, n: 3 }, { name: "banditSamples" })
      ]
    }))
    for (const [taskLabel, policyLabel, samplesLabel] of [["seq", "lm", "seqSamples"], ["bandit", "table", "banditSamples"]] as const) {
      const task = TaskView.view(values[taskLabel] as ModelValue)
      const samples = values[samplesLabel] as ReadonlyArray<Sample>
      PolicyModel.withLoaded(values[policyLabel] as ModelValue, (pi) => {
        const logp = PolicyModel.trainableTokenLogProbs(pi, samples.map((s) => task.prompt(s.prompt)), samples.map((s) => s.response))
        const rows = logp.arraySync()
        logp.dispose()
        samples.forEach((s, i) => s.tokenLogProbs.forEach((lp, t) => expect(rows[i]![t]!).toBeCloseTo(lp, 4)))
      })
    }
    expect(tf.memory().numTensors).toBeLessThan(50)
  })

  it("a reward source is the task's gold when the task is wired, a model's score otherwise", async () => {
    const { values } = await runInMemory(Pipeline.make("src", () => {
      const task = data.banditTask({ prompts: 20, responses: 4, features: 3 }, { name: "task" })
      const pairs = data.responseFeatures({ pairs: label.responsePairs({ samples: data.sample({ policy: policy.init({ task }), task, n: 4 }), task, judge: task, pairing: "all" }), task })
      return reward.bradleyTerry({ pairs, hidden: 0, steps: 100 }, { name: "rm" })
    }))
    const items = values["task"] as ReadonlyArray<{ prompt: number; gold: number; item: number }>
    const task = TaskView.view(items as ReadonlyArray<never>)
    const prompts = [task.prompt(0), task.prompt(0)]
    const gold = RewardSource.of(items as ReadonlyArray<never>, task)
    expect(gold.kind).toBe("gold")
    expect(gold.score(prompts, [[0], [3]]).rewards).toEqual([task.gold(0, [0]), task.gold(0, [3])])
    const model = RewardSource.of(values["rm"] as ModelValue, task)
    expect(model.kind).toBe("model")
    const scored = model.score(prompts, [[0], [3]]).rewards
    expect(scored).toHaveLength(2)
    expect(scored[0]).not.toBe(gold.score(prompts, [[0]]).rewards[0])
  })
})
