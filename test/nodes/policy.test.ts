import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { data, evaluate, label, policy, reward } from "../../nodes/index.ts"
import * as math from "../../nodes/math.ts"
import { arithmeticAnswer, arithmeticPrompt, configOf, goldOf } from "../../nodes/data/SequenceGold.ts"
import * as TaskView from "../../nodes/data/Task.ts"
import * as PolicyModel from "../../nodes/models/Policy.ts"
import { unprefixed } from "../../nodes/models/Tensors.ts"
import * as Random from "../../dsl/Random.ts"
import { klRows, logProbsOf } from "../../nodes/evaluate/PolicySamples.ts"
import { runInMemory } from "../helpers.ts"

type Row = Record<string, number | string>
type Sample = { prompt: number; sample: number; response: ReadonlyArray<number>; logProb: number; tokenLogProbs: ReadonlyArray<number>; split: string }
const rows = (values: Record<string, unknown>, label: string) => values[label] as ReadonlyArray<Row>
const split = (values: Record<string, unknown>, label: string, name: string) => rows(values, label).find((r) => r["split"] === name)!

/** A bandit task, a uniform reference, a reward model from noiseless labels and its KL-optimal policy at each β. */
const banditPipeline = (betas: ReadonlyArray<number>, extra: (nodes: ReturnType<typeof banditNodes>) => unknown = () => []) =>
  Pipeline.make("bandit", () => {
    const nodes = banditNodes(betas)
    return [nodes.task, ...nodes.policies, extra(nodes)]
  })

const banditNodes = (betas: ReadonlyArray<number>) => {
  const task = data.banditTask({ prompts: 60, responses: 6, features: 4 }, { name: "task" })
  const reference = policy.init({ task }, { name: "reference" })
  const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: 600, temperature: 0 }), task })
  const model = reward.bradleyTerry({ pairs, hidden: 0, steps: 200 }, { name: "rm" })
  const policies = betas.map((beta) => policy.klOptimal({ task, reference, model, beta }, { name: `pi${beta}` }))
  return { task, reference, model, policies }
}

describe("sequence tasks", () => {
  it("arithmetic: prompts are a+b=, the gold reward is the fraction of the sum's digits right", async () => {
    expect(arithmeticPrompt(12, 34, 2)).toEqual([1, 2, 10, 3, 4, 11])
    expect(arithmeticAnswer([9, 9, 10, 0, 5, 11], 2)).toEqual([1, 0, 4])
    const { values } = await runInMemory(Pipeline.make("arith", () => data.sequenceTask({ gold: "arithmetic", prompts: 40, digits: 2 }, { name: "task" })))
    const value = values["task"] as ModelValue
    const config = configOf(value)
    const gold = goldOf(config, value.tensors)
    expect(config.vocab).toHaveLength(12)
    expect(config.responseLength).toBe(3)
    expect(config.test).toHaveLength(10)
    for (const prompt of config.prompts) {
      expect(prompt).toHaveLength(6)
      const answer = arithmeticAnswer(prompt, 2)
      expect(gold(prompt, answer)).toBe(1)
      expect(gold(prompt, [answer[0]!, answer[1]!, (answer[2]! + 1) % 10])).toBeCloseTo(2 / 3)
    }
  })

  it("markers: the gold reward counts marker tokens; network: a fixed function that varies across responses", async () => {
    const { values } = await runInMemory(Pipeline.make("seq", () => [
      data.sequenceTask({ gold: "markers", vocab: 6, markers: 2 }, { name: "markers" }),
      data.sequenceTask({ gold: "network", vocab: 6 }, { name: "network" })
    ]))
    const markersTask = TaskView.view(values["markers"] as ModelValue)
    const config = configOf(values["markers"] as ModelValue)
    expect(config.gold.kind).toBe("markers")
    const markers = config.gold.kind === "markers" ? config.gold.markers : []
    expect(markers).toHaveLength(2)
    const other = [0, 1, 2, 3, 4, 5].find((t) => !markers.includes(t))!
    expect(markersTask.gold(0, [markers[0]!, markers[1]!, markers[0]!, other, other, other])).toBe(3)
    expect(markersTask.gold(0, new Array(6).fill(other))).toBe(0)
    expect(() => markersTask.gold(0, [0, 1])).toThrow("is not 6 tokens below 6")
    const network = TaskView.view(values["network"] as ModelValue)
    const golds = [[0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 0], [5, 5, 5, 5, 5, 5]].map((r) => network.gold(3, r))
    expect(new Set(golds).size).toBe(3)
    // r = v·tanh(Σ_t W[t, y_t] + Σ_s U[s, x_s]), computed here from the stored weights
    const value = values["network"] as ModelValue
    const prompt = configOf(value).prompts[3]!
    const [W, U, v] = ["gold.response", "gold.prompt", "gold.v"].map((name) => value.tensors[name]!.data)
    const h = v!.length
    const byHand = Array.from({ length: h }, (_, j) =>
      [1, 2, 3, 4, 5, 0].reduce((s, token, t) => s + W![(t * 6 + token) * h + j]!, 0) + prompt.reduce((s, token, t) => s + U![(t * 6 + token) * h + j]!, 0))
      .reduce((r, pre, j) => r + v![j]! * Math.tanh(pre), 0)
    expect(golds[1]).toBeCloseTo(byHand, 5)
  })

  it("a marker count of the whole vocabulary fails, naming the params", async () => {
    await expect(runInMemory(Pipeline.make("bad", () => data.sequenceTask({ vocab: 4, markers: 4 }, { name: "task" }))))
      .resolves.toMatchObject({ byLabel: { task: { status: "failed", error: expect.stringContaining(`param "markers": 4 must be fewer than the vocabulary (4)`) } } })
  })
})

describe("sampling", () => {
  it("a tabular policy's samples follow its distribution; temperature 0 is greedy; top-k keeps the k likeliest; log-probabilities are the policy's", async () => {
    const { values } = await runInMemory(Pipeline.make("tabular", () => {
      const task = data.banditTask({ prompts: 2, responses: 4, heldOut: 0 }, { name: "task" })
      const pi = policy.init({ task, scale: 1 }, { name: "policy" })
      return [
        data.sample({ policy: pi, task, n: 4000 }, { name: "samples" }),
        data.sample({ policy: pi, task, n: 10, temperature: 0 }, { name: "greedy" }),
        data.sample({ policy: pi, task, n: 400, topK: 2 }, { name: "top2" })
      ]
    }))
    const pi = PolicyModel.load(values["policy"] as ModelValue)
    try {
      if (pi.architecture !== "tabular") throw new Error("expected a tabular policy")
      const samples = values["samples"] as ReadonlyArray<Sample>
      for (const prompt of [0, 1]) {
        const probs = PolicyModel.distribution(pi.model, prompt)
        const mine = samples.filter((s) => s.prompt === prompt)
        probs.forEach((p, k) => expect(Math.abs(mine.filter((s) => s.response[0] === k).length / mine.length - p)).toBeLessThan(0.03))
        for (const s of mine.slice(0, 20)) expect(s.logProb).toBeCloseTo(Math.log(probs[s.response[0]!]!), 5)
        const greedy = (values["greedy"] as ReadonlyArray<Sample>).filter((s) => s.prompt === prompt)
        expect(greedy.every((s) => s.response[0] === probs.indexOf(Math.max(...probs)))).toBe(true)
        // greedy or not, a sample's logProb is under the policy itself (temperature 1)
        for (const s of greedy) expect(s.logProb).toBeCloseTo(Math.log(probs[s.response[0]!]!), 5)
        // top-k 2: only the two likeliest responses, both of them
        const top2 = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!).slice(0, 2)
        const drawn = new Set((values["top2"] as ReadonlyArray<Sample>).filter((s) => s.prompt === prompt).map((s) => s.response[0]!))
        expect([...drawn].sort()).toEqual([...top2].sort())
      }
    } finally {
      PolicyModel.dispose(pi)
    }
  })

  it("a transformer continues each prompt by the task's response length, reproducibly, with its own log-probabilities", async () => {
    const build = () => runInMemory(Pipeline.make("lm", () => {
      const task = data.sequenceTask({ prompts: 12, vocab: 7, promptLength: 3, responseLength: 5 }, { name: "task" })
      return data.sample({ policy: policy.init({ task }, { name: "policy" }), task, n: 3, split: "test" }, { name: "samples" })
    }))
    const [first, second] = [await build(), await build()]
    const samples = first.values["samples"] as ReadonlyArray<Sample>
    expect(samples).toHaveLength(3 * 3)
    expect(samples.every((s) => s.split === "test" && s.response.length === 5 && s.response.every((t) => t >= 0 && t < 7))).toBe(true)
    expect(second.byLabel["samples"]!.record!.output.hash).toBe(first.byLabel["samples"]!.record!.output.hash)
    const task = TaskView.view(first.values["task"] as ModelValue)
    const pi = PolicyModel.load(first.values["policy"] as ModelValue)
    try {
      const recomputed = PolicyModel.tokenLogProbs(pi, samples.map((s) => task.prompt(s.prompt)), samples.map((s) => s.response))
      samples.forEach((s, i) => {
        expect(s.logProb).toBeCloseTo(s.tokenLogProbs.reduce((a, b) => a + b, 0), 5)
        recomputed[i]!.forEach((lp, t) => expect(lp).toBeCloseTo(s.tokenLogProbs[t]!, 4))
      })
    } finally {
      PolicyModel.dispose(pi)
    }
  })
})

describe("policy evaluation on a bandit, where the exact values are known", () => {
  it("gold reward: the uniform policy's interval covers the exact mean; the KL-optimal policy of a good reward model scores higher", async () => {
    const { values } = await runInMemory(banditPipeline([0.05], ({ task, reference, policies }) => [
      evaluate.goldReward({ samples: data.sample({ policy: reference, task, n: 8 }), task }, { name: "goldRef" }),
      evaluate.goldReward({ samples: data.sample({ policy: policies[0]!, task, n: 8 }), task }, { name: "goldOpt" })
    ]))
    const task = TaskView.view(values["task"] as ReadonlyArray<never>)
    // the uniform policy's exact mean gold reward: each prompt's mean over its 6 items, averaged over prompts
    const items = values["task"] as ReadonlyArray<{ readonly prompt: number; readonly gold: number }>
    const exact = task.prompts.reduce((s, p) => {
      const golds = items.filter((item) => item.prompt === p.id).map((item) => item.gold)
      expect(golds).toHaveLength(6)
      return s + golds.reduce((a, b) => a + b, 0) / 6
    }, 0) / task.prompts.length
    const ref = split(values, "goldRef", "all")
    expect(ref["samples"]).toBe(60 * 8)
    expect(exact).toBeGreaterThan(ref["lower"] as number)
    expect(exact).toBeLessThan(ref["upper"] as number)
    expect(split(values, "goldOpt", "all")["lower"]).toBeGreaterThan(ref["upper"] as number)
    expect(rows(values, "goldOpt").map((r) => r["split"])).toEqual(["train", "test", "all"])
  })

  it("kl: exact for tabular policies, matching the closed form; k1 and k3 estimate it; zero against itself; foreign samples are refused", async () => {
    // a moderate KL: at large KL, k3's mean over a few thousand samples falls short of the
    // truth, since E[π_ref/π] = 1 rests on rare responses the policy almost never samples
    const beta = 8
    const { values, byLabel } = await runInMemory(banditPipeline([beta], ({ task, reference, policies }) => {
      const samples = data.sample({ policy: policies[0]!, task, n: 64 }, { name: "samples" })
      return [
        evaluate.kl({ policy: policies[0]!, reference, samples, task }, { name: "kl" }),
        evaluate.kl({ policy: reference, reference, samples: data.sample({ policy: reference, task, n: 4 }), task }, { name: "self" }),
        evaluate.kl({ policy: reference, reference, samples, task }, { name: "foreign" })
      ]
    }))
    const task = TaskView.view(values["task"] as ReadonlyArray<never>)
    const rm = values["rm"] as ModelValue
    const uniform = new Array(6).fill(1 / 6)
    const { rewards } = await import("../../nodes/models/PreferenceModel.ts")
    const closedForm = task.prompts.reduce((s, p) => {
      const r = rewards(rm, Array.from({ length: 6 }, (_, k) => task.features(p.id, [k])))
      return s + math.evaluate.categoricalKl(math.data.klRegularizedPolicy(r, uniform, beta), uniform)
    }, 0) / task.prompts.length
    const all = rows(values, "kl").find((r) => r["split"] === "all" && r["level"] === "sequence")!
    expect(all["exact"]).toBeCloseTo(closedForm, 4)
    // the node's policy is the closed-form optimum, prompt by prompt
    const optimum = PolicyModel.load(values[`pi${beta}`] as ModelValue)
    try {
      PolicyModel.checkFits(optimum, task)
      for (const p of task.prompts.slice(0, 5)) {
        const r = rewards(rm, Array.from({ length: 6 }, (_, k) => task.features(p.id, [k])))
        const expected = math.data.klRegularizedPolicy(r, uniform, beta)
        PolicyModel.distribution(optimum.model, p.id).forEach((q, k) => expect(q).toBeCloseTo(expected[k]!, 5))
      }
    } finally {
      PolicyModel.dispose(optimum)
    }
    expect(all["exact"]).toBeGreaterThan(0.05)
    expect(Math.abs((all["k3"] as number) - closedForm)).toBeLessThan(0.15 * closedForm)
    expect(Math.abs((all["k1"] as number) - closedForm)).toBeLessThan(0.15 * closedForm)
    expect(rows(values, "self").every((r) => r["k1"] === 0 && r["k3"] === 0 && Math.abs(r["exact"] as number) < 1e-6)).toBe(true)
    expect(values["foreign"]).toBeUndefined()
    expect(byLabel["foreign"]!.status).toBe("failed")
    expect(byLabel["foreign"]!.error).toContain("the samples were not drawn from this policy")
  })

  it("win rate: about ½ against itself, above ½ for the KL-optimal policy of a good reward model", async () => {
    const { values } = await runInMemory(banditPipeline([0.05], ({ task, reference, policies }) => {
      const ref = data.sample({ policy: reference, task, n: 8 }, { name: "refSamples" })
      return [
        evaluate.winRate({ samples: data.sample({ policy: reference, task, n: 8, seed: 7 }), reference: ref, task }, { name: "self" }),
        evaluate.winRate({ samples: data.sample({ policy: policies[0]!, task, n: 8 }), reference: ref, task }, { name: "optimal" })
      ]
    }))
    const self = split(values, "self", "all")
    expect(self["pairs"]).toBe(480)
    expect(0.5).toBeGreaterThan(self["lower"] as number)
    expect(0.5).toBeLessThan(self["upper"] as number)
    expect(split(values, "optimal", "all")["lower"]).toBeGreaterThan(0.7)
  })

  it("reward–KL: smaller β buys proxy reward with KL; the point agrees with the kl and goldReward nodes", async () => {
    const betas = [2, 0.5, 0.1]
    const { values } = await runInMemory(banditPipeline(betas, ({ task, reference, model, policies }) =>
      policies.map((pi, i) => {
        const samples = data.sample({ policy: pi, task, n: 16 })
        return [
          evaluate.rewardKl({ policy: pi, reference, samples, model, task }, { name: `point${i}` }),
          evaluate.kl({ policy: pi, reference, samples, task }, { name: `kl${i}` }),
          evaluate.goldReward({ samples, task }, { name: `gold${i}` })
        ]
      })
    ))
    const points = betas.map((_, i) => split(values, `point${i}`, "all"))
    expect(rows(values, "point0").map((r) => [r["split"], r["samples"]])).toEqual([
      ["train", rows(values, "kl0").find((r) => r["split"] === "train")!["samples"]],
      ["test", rows(values, "kl0").find((r) => r["split"] === "test")!["samples"]],
      ["all", 60 * 16]
    ])
    expect(points.every((p) => p["klMethod"] === "exact")).toBe(true)
    for (let i = 1; i < points.length; i++) {
      expect(points[i]!["kl"]).toBeGreaterThan(points[i - 1]!["kl"] as number)
      expect(points[i]!["proxy"]).toBeGreaterThan(points[i - 1]!["proxy"] as number)
    }
    points.forEach((p, i) => {
      expect(p["kl"]).toBeCloseTo(rows(values, `kl${i}`).find((r) => r["split"] === "all" && r["level"] === "sequence")!["exact"] as number, 10)
      expect(p["gold"]).toBeCloseTo(split(values, `gold${i}`, "all")["mean"] as number, 10)
    })
  })
})

describe("KL of transformer policies", () => {
  it("the exact KL by prefix enumeration equals the sum over every full response, and k1, k3 estimate it", async () => {
    const { values } = await runInMemory(Pipeline.make("lm-kl", () => {
      const task = data.sequenceTask({ gold: "markers", prompts: 8, vocab: 4, markers: 1, promptLength: 2, responseLength: 3, heldOut: 0.5 }, { name: "task" })
      const reference = policy.init({ task, width: 16 }, { name: "reference" })
      const samples = data.sample({ policy: reference, task, n: 32 }, { name: "samples" })
      // a policy that differs from its reference: the process reward model's trained copy of it
      return reward.implicitProcess({ reference, samples, task, beta: 1, steps: 60, lr: 0.02 }, { name: "prm" })
    }))
    const prm = values["prm"] as ModelValue
    const trained: ModelValue = {
      config: prm.config["policy"] as ModelValue["config"],
      tensors: unprefixed("policy.", prm.tensors)
    }
    const task = TaskView.view(values["task"] as ModelValue)
    const pi = PolicyModel.load(trained)
    const ref = PolicyModel.load(values["reference"] as ModelValue)
    try {
      const prompts = task.prompts.flatMap((p) => Array.from({ length: 2000 }, () => p))
      const drawn = PolicyModel.sample(pi, prompts, 3, { temperature: 1, topK: 0 }, Random.make("kl-test"))
      const samples = prompts.map((p, i) => ({
        prompt: p.id, sample: i % 2000, response: drawn.responses[i]!, tokenLogProbs: drawn.tokenLogProbs[i]!,
        logProb: drawn.tokenLogProbs[i]!.reduce((a, b) => a + b, 0), split: p.split
      }))
      const rows = klRows(samples, logProbsOf(task, samples, trained, values["reference"] as ModelValue, 4096))
      const all = rows.find((r) => r.split === "all" && r.level === "sequence")!
      const perToken = rows.find((r) => r.split === "all" && r.level === "token")!
      // brute force: Σ_y π(y)·log π(y)/π_ref(y) over all 4³ responses of each prompt
      const responses = Array.from({ length: 64 }, (_, i) => [Math.floor(i / 16), Math.floor(i / 4) % 4, i % 4])
      const brute = task.prompts.reduce((total, p) => {
        const lp = PolicyModel.tokenLogProbs(pi, responses.map(() => p), responses).map((r) => r.reduce((a, b) => a + b, 0))
        const lr = PolicyModel.tokenLogProbs(ref, responses.map(() => p), responses).map((r) => r.reduce((a, b) => a + b, 0))
        return total + lp.reduce((s, l, i) => s + Math.exp(l) * (l - lr[i]!), 0)
      }, 0) / task.prompts.length
      expect(brute).toBeGreaterThan(0.05)
      expect(all.exact).toBeCloseTo(brute, 4)
      // per token: the sequence KL spread over its 3 tokens
      expect(perToken.exact).toBeCloseTo(brute / 3, 4)
      expect(Math.abs(all.k1 - brute)).toBeLessThan(0.1 * brute)
      expect(Math.abs(all.k3 - brute)).toBeLessThan(0.1 * brute)
      expect(klRows(samples, logProbsOf(task, samples, trained, values["reference"] as ModelValue, 8))[0]!.exact).toBeNaN() // 4² prefixes > 8
    } finally {
      PolicyModel.dispose(pi)
      PolicyModel.dispose(ref)
    }
  })
})

describe("scoring and process rewards", () => {
  it("score applies a reward model to samples (an ensemble's mean and spread); a General Preference Model is refused", async () => {
    const { values, byLabel } = await runInMemory(banditPipeline([], ({ task, reference, model }) => {
      const samples = data.sample({ policy: reference, task, n: 2 }, { name: "samples" })
      const pairs = data.pairFeatures({ pairs: label.bradleyTerry({ task, pairs: 100 }), task })
      return [
        reward.score({ model, samples, task }, { name: "scores" }),
        reward.score({ model: reward.ensemble({ pairs, members: 3, steps: 20 }, { name: "ensemble" }), samples, task }, { name: "ensembleScores" }),
        reward.score({ model: reward.generalPreference({ pairs, steps: 5 }), samples, task }, { name: "gpm" })
      ]
    }))
    const task = TaskView.view(values["task"] as ReadonlyArray<never>)
    const samples = values["samples"] as ReadonlyArray<Sample>
    const features = samples.map((s) => task.features(s.prompt, s.response))
    const scores = rows(values, "scores")
    const { memberRewards, rewards } = await import("../../nodes/models/PreferenceModel.ts")
    const expected = rewards(values["rm"] as ModelValue, features)
    expect(scores).toHaveLength(samples.length)
    scores.forEach((s, i) => expect(s["reward"]).toBeCloseTo(expected[i]!, 5))
    expect(scores.every((s) => s["spread"] === 0)).toBe(true)
    const members = memberRewards(values["ensemble"] as ModelValue, features)
    rows(values, "ensembleScores").forEach((s, j) => {
      const own = members.map((member) => member[j]!)
      const mean = (own[0]! + own[1]! + own[2]!) / 3
      expect(s["reward"]).toBeCloseTo(mean, 6)
      expect(s["spread"]).toBeCloseTo(Math.sqrt(own.reduce((sum, r) => sum + (r - mean) ** 2, 0) / 3), 6)
      expect(s["spread"]).toBeGreaterThan(0)
    })
    expect(byLabel["gpm"]!.status).toBe("failed")
    expect(byLabel["gpm"]!.error).toContain("General Preference Model")
  })

  it("an implicit process reward learned from outcome labels only credits the steps that decide the outcome", async () => {
    const { values } = await runInMemory(Pipeline.make("prm", () => {
      const task = data.sequenceTask({ gold: "markers", prompts: 120, vocab: 6, markers: 1, promptLength: 2, responseLength: 4 }, { name: "task" })
      const reference = policy.init({ task, width: 16 }, { name: "reference" })
      const samples = data.sample({ policy: reference, task, n: 8 }, { name: "samples" })
      const prm = reward.implicitProcess({ reference, samples, task, beta: 1, steps: 150, lr: 0.01 }, { name: "prm" })
      return reward.score({ model: prm, samples, task }, { name: "scores" })
    }))
    const config = configOf(values["task"] as ModelValue)
    const marker = config.gold.kind === "markers" ? config.gold.markers[0]! : -1
    const samples = values["samples"] as ReadonlyArray<Sample>
    const scores = values["scores"] as ReadonlyArray<{ reward: number; tokenRewards: ReadonlyArray<number>; split: string }>
    const test = samples.flatMap((s, i) => (s.split === "test" ? [{ s, score: scores[i]! }] : []))
    expect(test.length).toBe(30 * 8)
    // sequence level: the summed reward separates held-out outcomes
    const auc = math.evaluate.auc(test.map((t) => t.score.reward), test.map((t) => t.s.response.includes(marker)))
    expect(auc).toBeGreaterThan(0.9)
    // step level: marker tokens get more reward than the others, though no step was labelled
    const atMarker = test.flatMap((t) => t.score.tokenRewards.filter((_, j) => t.s.response[j] === marker))
    const elsewhere = test.flatMap((t) => t.score.tokenRewards.filter((_, j) => t.s.response[j] !== marker))
    expect(math.evaluate.mean(atMarker)).toBeGreaterThan(math.evaluate.mean(elsewhere) + 0.5)
    test.forEach((t) => expect(t.score.tokenRewards.reduce((a, b) => a + b, 0)).toBeCloseTo(t.score.reward, 5))
  })
})
