/**
 * The trainers on fixed preference data (DPO and its loss variants, RPO, SimPO, ORPO, KTO)
 * and SFT, against what a user would check: on a bandit, DPO lands on the KL-regularised
 * optimum π_ref·exp(r/β)/Z; each loss variant ends where its loss says it should; every
 * trainer raises the gold reward; the metrics carry TRL's names every step; bad input
 * fails naming what is wrong.
 */
import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../../dsl/Artifact.ts"
import * as Pipeline from "../../../dsl/Pipeline.ts"
import { type ResponsePair, ResponsePairs, type Sample } from "../../../nodes/artifacts.ts"
import { klRegularizedPolicy } from "../../../nodes/data/math.ts"
import * as TaskView from "../../../nodes/data/Task.ts"
import { mean } from "../../../nodes/evaluate/math.ts"
import { data, evaluate, label, policy } from "../../../nodes/index.ts"
import * as PolicyModel from "../../../nodes/models/Policy.ts"
import { dpo } from "../../../nodes/policy/dpo.ts"
import { kto } from "../../../nodes/policy/kto.ts"
import { orpo } from "../../../nodes/policy/orpo.ts"
import { sft } from "../../../nodes/policy/sft.ts"
import { simpo } from "../../../nodes/policy/simpo.ts"
import { fixedNode, runInMemory, series } from "../../helpers.ts"

type Row = Record<string, number | string>

/** Run a pipeline in memory (see `runInMemory`); fails naming the failed nodes and their errors unless `failures` are expected. */
const run = async (pipeline: Pipeline.Pipeline, options: { readonly failures?: boolean } = {}) => {
  const outcome = await runInMemory(pipeline)
  const failed = outcome.results.filter((r) => r.status === "failed")
  if (options.failures !== true && failed.length > 0) throw new Error(failed.map((r) => `${r.label}: ${r.error}`).join("\n"))
  return outcome
}

/** A tabular policy's distribution over each prompt's K responses. */
const distributions = (value: unknown, task: TaskView.TaskView): Array<Array<number>> => {
  const loaded = PolicyModel.load(value as ModelValue)
  try {
    PolicyModel.checkFits(loaded, task)
    if (loaded.architecture !== "tabular") throw new Error("expected a tabular policy")
    return task.prompts.map((p) => PolicyModel.distribution(loaded.model, p.id))
  } finally {
    PolicyModel.dispose(loaded)
  }
}

/** Each prompt's gold rewards of its K responses. */
const goldRewards = (task: TaskView.TaskView) => task.prompts.map((p) => Array.from({ length: task.vocab }, (_, k) => task.gold(p.id, [k])))

/** A tabular policy's exact expected gold reward, averaged over prompts. */
const expectedGold = (value: unknown, task: TaskView.TaskView) => {
  const rewards = goldRewards(task)
  return mean(distributions(value, task).map((pi, i) => pi.reduce((s, p, k) => s + p * rewards[i]![k]!, 0)))
}

const totalVariation = (p: ReadonlyArray<number>, q: ReadonlyArray<number>) => 0.5 * p.reduce((s, x, i) => s + Math.abs(x - q[i]!), 0)

const banditOf = (values: Record<string, unknown>) => TaskView.view(values["task"] as ReadonlyArray<never>)

describe("DPO on a tabular bandit", () => {
  it("with Bradley–Terry labels at temperature 1 it converges to the KL-regularised optimum π_ref·exp(r/β)/Z", async () => {
    const beta = 1
    const pairsPerPrompt = 4000
    const { values } = await run(Pipeline.make("dpo-optimum", () => {
      const task = data.banditTask({ prompts: 4, responses: 4, features: 4, heldOut: 0 }, { name: "task" })
      // a reference far from uniform, so that its weight in the optimum shows
      const reference = policy.init({ task, scale: 1 }, { name: "reference" })
      const samples = data.sample({ policy: reference, task, n: 64 })
      const pairs = label.responsePairs({ samples, task, judge: task, pairing: "random", pairs: pairsPerPrompt, temperature: 1 }, { name: "pairs" })
      return dpo({ policy: reference, reference, pairs, task, beta, batch: 4 * pairsPerPrompt, steps: 150, lr: 0.1 }, { name: "dpo" })
    }))
    const task = banditOf(values)
    const rewards = goldRewards(task)
    const references = distributions(values["reference"], task)
    const optimum = (b: number, ref: (i: number) => ReadonlyArray<number>) => rewards.map((r, i) => klRegularizedPolicy(r, ref(i), b))
    const learned = distributions(values["dpo"], task)
    const distance = (targets: ReadonlyArray<ReadonlyArray<number>>, policies = learned) => mean(policies.map((pi, i) => totalVariation(pi, targets[i]!)))
    const targets = optimum(beta, (i) => references[i]!)
    // With full coverage, DPO's optimum is the Bradley–Terry MLE of the labels: β·log π/π_ref − r
    // is then the MLE's error, from ≈ 4000/6 ≈ 667 labels per response pair. Simulating that
    // MLE (K = 4, 4 prompts, rewards of the task's scale, N(0, 1) reference logits, 400
    // datasets) gives a mean TV over prompts of 0.012 from sampling alone, 0.023 at the 99th
    // percentile and 0.027 at most: 0.04 leaves room for the optimiser, while the reference
    // starts 3 bounds away.
    const bound = 0.04
    expect(distance(targets, references)).toBeGreaterThan(3 * bound)
    expect(distance(targets)).toBeLessThan(bound)
    // and it is this optimum, not that of another β or of a uniform reference
    const uniform = new Array<number>(task.vocab).fill(1 / task.vocab)
    expect(distance(optimum(2 * beta, (i) => references[i]!))).toBeGreaterThan(2 * bound)
    expect(distance(optimum(beta, () => uniform))).toBeGreaterThan(2 * bound)
  })

  it("each loss type ends where its loss says: cDPO at log((1−ε)/ε), IPO at ½, hinge at 1, sigmoid, robust and RPO beyond; all raise the gold reward", async () => {
    const beta = 0.5
    const epsilon = 0.2
    const variants = {
      sigmoid: {},
      cdpo: { labelSmoothing: epsilon },
      robust: { lossType: "robust", labelSmoothing: epsilon },
      ipo: { lossType: "ipo" },
      hinge: { lossType: "hinge" },
      rpo: { sftWeight: 1 }
    } as const
    const { values, metrics } = await run(Pipeline.make("dpo-losses", () => {
      const task = data.banditTask({ prompts: 8, responses: 4, features: 4, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      // one pair per prompt, its best response against its worst: nothing ties one pair's margin to another's
      const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 32 }), task, judge: task, pairing: "bestWorst" }, { name: "pairs" })
      return Object.entries(variants).map(([name, options]) =>
        dpo({ policy: reference, reference, pairs, task, beta, batch: 8, steps: 300, lr: 0.05, ...options }, { name }))
    }))
    const task = banditOf(values)
    const pairs = values["pairs"] as ReadonlyArray<ResponsePair>
    expect(pairs).toHaveLength(8)
    // β·log π(chosen)/π(rejected) of the trained policy (the reference is uniform), averaged over the pairs
    const margin = (name: string) => {
      const pi = distributions(values[name], task)
      return mean(pairs.map((p) => beta * Math.log(pi[p.prompt]![p.chosen[0]!]! / pi[p.prompt]![p.rejected[0]!]!)))
    }
    const start = expectedGold(values["reference"], task)
    for (const name of Object.keys(variants)) expect(expectedGold(values[name], task)).toBeGreaterThan(start + 0.1)
    const conservative = Math.log((1 - epsilon) / epsilon)
    expect(margin("cdpo")).toBeCloseTo(conservative, 1)
    expect(margin("ipo")).toBeCloseTo(0.5, 1)
    // the hinge loss has no gradient past a margin of 1: Adam's momentum carries it only a little further
    expect(margin("hinge")).toBeGreaterThanOrEqual(1)
    expect(margin("hinge")).toBeLessThan(2)
    for (const name of ["sigmoid", "robust", "rpo"]) expect(margin(name)).toBeGreaterThan(2 * conservative)
    // RPO's NLL term lifts the chosen response's log-probability beyond DPO's
    const chosenLogp = (name: string) => series(metrics[name], "logps/chosen").at(-1)!
    expect(chosenLogp("rpo")).toBeGreaterThan(chosenLogp("sigmoid"))
    // the recorded margin is the policy's, up to the last step's update
    expect(series(metrics["ipo"], "rewards/margins").at(-1)).toBeCloseTo(margin("ipo"), 1)
  })
})

describe("SFT", () => {
  it("on a teacher's samples, a tabular policy moves to the demonstrations' empirical frequencies (their maximum likelihood)", async () => {
    const { values } = await run(Pipeline.make("sft-bandit", () => {
      const task = data.banditTask({ prompts: 6, responses: 4, features: 4, heldOut: 0 }, { name: "task" })
      const teacher = policy.init({ task, scale: 1.5, seed: 3 }, { name: "teacher" })
      const demonstrations = data.sample({ policy: teacher, task, n: 100 }, { name: "demonstrations" })
      return sft({ policy: policy.init({ task }, { name: "start" }), data: demonstrations, task, batch: 600, steps: 200, lr: 0.05 }, { name: "sft" })
    }))
    const task = banditOf(values)
    const samples = values["demonstrations"] as ReadonlyArray<Sample>
    const frequencies = task.prompts.map((p) => {
      const own = samples.filter((s) => s.prompt === p.id)
      return Array.from({ length: task.vocab }, (_, k) => own.filter((s) => s.response[0] === k).length / own.length)
    })
    const logLikelihood = (name: string) => {
      const pi = distributions(values[name], task)
      return mean(samples.map((s) => Math.log(pi[s.prompt]![s.response[0]!]!)))
    }
    expect(logLikelihood("sft")).toBeGreaterThan(logLikelihood("start") + 0.1)
    const tv = mean(distributions(values["sft"], task).map((pi, i) => totalVariation(pi, frequencies[i]!)))
    expect(tv).toBeLessThan(0.01)
  })

  it("on the chosen responses of pairs, a transformer's samples gain gold reward and its log-likelihood of them rises", async () => {
    const { values, metrics } = await run(Pipeline.make("sft-sequence", () => {
      const task = data.sequenceTask({ gold: "markers", vocab: 6, promptLength: 2, responseLength: 4, prompts: 64 }, { name: "task" })
      const reference = policy.init({ task, width: 16 }, { name: "reference" })
      const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 8 }), task, judge: task, pairing: "bestWorst" })
      const trained = sft({ policy: reference, data: pairs, task, steps: 100, batch: 32, lr: 0.01 }, { name: "sft" })
      return [
        evaluate.goldReward({ samples: data.sample({ policy: reference, task, n: 8 }), task }, { name: "before" }),
        evaluate.goldReward({ samples: data.sample({ policy: trained, task, n: 8 }), task }, { name: "after" })
      ]
    }))
    const all = (name: string) => (values[name] as ReadonlyArray<Row>).find((r) => r["split"] === "all")!
    expect(all("after")["lower"]).toBeGreaterThan(all("before")["upper"] as number)
    const logps = series(metrics["sft"], "logps/chosen")
    expect(mean(logps.slice(-10))).toBeGreaterThan(mean(logps.slice(0, 10)) + 0.5)
  })
})

describe("SimPO, ORPO and KTO", () => {
  it("each raises the preferred responses' probability and the gold reward of a bandit policy (KTO paired and unpaired)", async () => {
    const { values } = await run(Pipeline.make("reference-free", () => {
      const task = data.banditTask({ prompts: 8, responses: 4, features: 4, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 32 }), task, judge: task, pairs: 6 }, { name: "pairs" })
      const common = { policy: reference, pairs, task, steps: 150, lr: 0.05, batch: 48 } as const
      return [
        simpo(common, { name: "simpo" }),
        orpo(common, { name: "orpo" }),
        kto({ ...common, reference }, { name: "kto" }),
        kto({ ...common, reference, unpaired: true }, { name: "ktoUnpaired" })
      ]
    }))
    const task = banditOf(values)
    const best = goldRewards(task).map((r) => r.indexOf(Math.max(...r)))
    const bestProbability = (name: string) => mean(distributions(values[name], task).map((pi, i) => pi[best[i]!]!))
    const start = expectedGold(values["reference"], task)
    for (const name of ["simpo", "orpo", "kto", "ktoUnpaired"]) {
      expect(expectedGold(values[name], task)).toBeGreaterThan(start + 0.1)
      expect(bestProbability(name)).toBeGreaterThan(0.25 + 0.1)
    }
  })
})

describe("KTO on a sequence task", () => {
  it("a transformer's samples gain gold reward; the reference point z is recorded every step, never negative", async () => {
    const { values, metrics } = await run(Pipeline.make("kto-sequence", () => {
      const task = data.sequenceTask({ gold: "markers", vocab: 6, promptLength: 2, responseLength: 4, prompts: 64 }, { name: "task" })
      const reference = policy.init({ task, width: 16 }, { name: "reference" })
      const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 8 }), task, judge: task, pairing: "bestWorst" })
      const trained = kto({ policy: reference, reference, pairs, task, steps: 60, batch: 32, lr: 0.01 }, { name: "kto" })
      return [
        evaluate.goldReward({ samples: data.sample({ policy: reference, task, n: 8 }), task }, { name: "before" }),
        evaluate.goldReward({ samples: data.sample({ policy: trained, task, n: 8 }), task }, { name: "after" })
      ]
    }))
    const all = (name: string) => (values[name] as ReadonlyArray<Row>).find((r) => r["split"] === "all")!
    expect(all("after")["lower"]).toBeGreaterThan(all("before")["upper"] as number)
    const kl = series(metrics["kto"], "kl")
    // z = max(0, mean log π_θ/π_ref over mismatched prompt–response pairs): 0 while the policy is its
    // reference, never negative (here the rejected halves' falling log-ratios keep it at 0, as TRL often logs)
    expect(kl).toHaveLength(60)
    expect(kl[0]).toBe(0)
    expect(kl.every((z) => z >= 0)).toBe(true)
  })
})

describe("metrics, progress and bad input", () => {
  it("every trainer records TRL's metric names at every step and shows its reward margin (and KTO its KL) with a token throughput", async () => {
    const steps = 6
    const { metrics, progress } = await run(Pipeline.make("metrics", () => {
      const task = data.banditTask({ prompts: 4, responses: 4, features: 2, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 16 }), task, judge: task, pairs: 4 }, { name: "pairs" })
      const common = { policy: reference, pairs, task, steps, batch: 8 } as const
      return [
        dpo({ ...common, reference }, { name: "dpo" }),
        dpo({ ...common, reference, sftWeight: 1 }, { name: "rpo" }),
        simpo(common, { name: "simpo" }),
        orpo(common, { name: "orpo" }),
        kto({ ...common, reference, batch: 32 }, { name: "kto" }),
        sft({ policy: reference, data: pairs, task, steps, batch: 8 }, { name: "sft" })
      ]
    }))
    const preference = ["loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"]
    const expected: Record<string, ReadonlyArray<string>> = {
      dpo: preference,
      rpo: [...preference, "nll_loss"],
      simpo: preference,
      orpo: [...preference, "nll_loss", "log_odds_ratio", "log_odds_chosen"],
      kto: [...preference.filter((n) => n !== "rewards/accuracies"), "kl"],
      sft: ["loss", "logps/chosen"]
    }
    for (const [name, names] of Object.entries(expected)) {
      for (let step = 0; step < steps; step++) {
        expect([name, step, metrics[name]!.filter((m) => m.step === step).map((m) => m.name).sort()]).toEqual([name, step, [...names].sort()])
      }
      const last = progress[name]!.at(-1)!
      expect(last).toMatchObject({ step: steps, total: steps, unit: "tok" })
      // tokens per step: 8 pairs of two one-token responses (KTO: 32 examples; SFT: 8 demonstrations)
      expect(last.throughput).toBeGreaterThan(0)
      if (name !== "sft") expect(last.reward).toBeTypeOf("number")
    }
    expect(progress["kto"]!.at(-1)!.kl).toBeTypeOf("number")
    const accuracies = series(metrics["dpo"], "rewards/accuracies")
    expect(accuracies.every((a) => a >= 0 && a <= 1)).toBe(true)
  })

  it("fails naming the problem: no training pairs, pairs of another task's prompts, a policy that does not fit, smoothing an IPO loss", async () => {
    const heldOutPair: ResponsePair = { prompt: 0, chosen: [1], rejected: [0], margin: 1, flipped: false, split: "test" }
    const { byLabel } = await run(Pipeline.make("bad", () => {
      const task = data.banditTask({ prompts: 4, responses: 4, features: 2, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      const sequence = data.sequenceTask({ vocab: 4, promptLength: 2, responseLength: 2, prompts: 8 }, { name: "sequence" })
      const heldOut = fixedNode("test/heldOutPairs", ResponsePairs, [heldOutPair])({})
      const foreign = fixedNode("test/foreignPairs", ResponsePairs, [heldOutPair, { ...heldOutPair, prompt: 9, split: "train" }])({})
      const good = fixedNode("test/goodPairs", ResponsePairs, [{ ...heldOutPair, split: "train" }])({})
      const wrongLength = fixedNode("test/longPairs", ResponsePairs, [{ ...heldOutPair, chosen: [1, 2], split: "train" }])({})
      return [
        dpo({ policy: reference, reference, pairs: heldOut, task }, { name: "noTraining" }),
        dpo({ policy: reference, reference, pairs: foreign, task }, { name: "foreign" }),
        dpo({ policy: reference, reference, pairs: wrongLength, task }, { name: "wrongLength" }),
        dpo({ policy: reference, reference, pairs: good, task: sequence }, { name: "misfit" }),
        dpo({ policy: reference, reference, pairs: good, task, lossType: "ipo", labelSmoothing: 0.1 }, { name: "smoothedIpo" }),
        sft({ policy: reference, data: heldOut, task }, { name: "noDemonstrations" })
      ]
    }), { failures: true })
    const error = (name: string) => {
      expect(byLabel[name]!.status).toBe("failed")
      return byLabel[name]!.error
    }
    expect(error("noTraining")).toContain("no training pairs to learn from: all 1 pairs are held out")
    expect(error("foreign")).toContain(`input "pairs": row 2: field "prompt": 9 is not one of the task's prompts (its 4 prompts have ids 0 to 3)`)
    expect(error("wrongLength")).toContain(`input "pairs": row 1: field "chosen": [1, 2] is not 1 token below 4`)
    expect(error("misfit")).toContain("the policy is tabular but the task is a sequence task")
    expect(error("smoothedIpo")).toContain(`param "labelSmoothing": 0.1 applies to the sigmoid and robust losses only`)
    expect(error("noDemonstrations")).toContain("no training demonstrations to imitate")
  })
})
