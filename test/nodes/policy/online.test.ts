/**
 * The online policy optimisers: genetic (gradient-free neuroevolution) and iterative DPO
 * (rounds of sampling, judging and DPO). Improvements are measured exactly on bandit tasks:
 * a tabular policy's expected gold reward is Σ_y π(y | x)·r(x, y), averaged over prompts.
 */
import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../../dsl/Artifact.ts"
import * as Pipeline from "../../../dsl/Pipeline.ts"
import { data, policy } from "../../../nodes/index.ts"
import * as TaskView from "../../../nodes/data/Task.ts"
import * as PolicyModel from "../../../nodes/models/Policy.ts"
import { Policy } from "../../../nodes/artifacts.ts"
import * as TabularPolicy from "../../../nodes/models/TabularPolicy.ts"
import { genetic } from "../../../nodes/policy/genetic.ts"
import { iterativeDpo } from "../../../nodes/policy/iterativeDpo.ts"
import { expectResumesBitIdentically, fixedNode, runInMemory, series } from "../../helpers.ts"

/** The exact expected gold reward of a tabular policy on a bandit task, averaged over its prompts. */
const expectedGold = (taskValue: unknown, policyValue: unknown): number => {
  const task = TaskView.view(taskValue as ReadonlyArray<never>)
  return PolicyModel.withLoaded(policyValue as ModelValue, (pi) => {
    if (pi.architecture !== "tabular") throw new Error("expected a tabular policy")
    const perPrompt = task.prompts.map((p) =>
      PolicyModel.distribution(pi.model, p.id).reduce((s, q, k) => s + q * task.gold(p.id, [k]), 0))
    return perPrompt.reduce((a, b) => a + b, 0) / perPrompt.length
  })
}

/** The best expected gold reward any policy reaches on a bandit task: each prompt's best response. */
const optimalGold = (taskValue: unknown): number => {
  const task = TaskView.view(taskValue as ReadonlyArray<never>)
  const best = task.prompts.map((p) => Math.max(...Array.from({ length: task.vocab }, (_, k) => task.gold(p.id, [k]))))
  return best.reduce((a, b) => a + b, 0) / best.length
}

const bandit = () => {
  const task = data.banditTask({ prompts: 12, responses: 6, features: 4, heldOut: 0 }, { name: "task" })
  return { task, start: policy.init({ task }, { name: "start" }) }
}

describe("policy/genetic", () => {
  it("evolves a bandit policy towards the gold reward without gradients", async () => {
    const { values } = await runInMemory(Pipeline.make("genetic", () => {
      const { task, start } = bandit()
      return [
        genetic({ policy: start, reward: task, task, fitness: "exact", generations: 40, population: 16, parents: 4, sigma: 0.3 }, { name: "exact" }),
        genetic({ policy: start, reward: task, task, generations: 60, population: 16, parents: 4, sigma: 0.3, prompts: 12, samples: 8 }, { name: "sampled" })
      ]
    }))
    const start = expectedGold(values["task"], values["start"])
    const optimum = optimalGold(values["task"])
    const exact = expectedGold(values["task"], values["exact"])
    const sampled = expectedGold(values["task"], values["sampled"])
    expect(exact - start).toBeGreaterThan(0.5 * (optimum - start))
    expect(sampled - start).toBeGreaterThan(0.4 * (optimum - start))
  })

  it("stopped after a generation's checkpoint, resumes from it and ends bit-identical to an uninterrupted run", async () => {
    // sampled fitness draws prompts, responses and mutations from one generator every
    // generation: the resumed run matches only if the checkpoint restored its state
    const pipeline = Pipeline.make("genetic-resume", () => {
      const { task, start } = bandit()
      return genetic({ policy: start, reward: task, task, generations: 5, population: 8, parents: 2, sigma: 0.3, prompts: 6, samples: 2, beta: 0.1 }, { name: "genetic" })
    })
    const { resumed, checkpoint } = await expectResumesBitIdentically(pipeline, "genetic")
    expect(checkpoint.step).toBe(1)
    expect(Object.keys(checkpoint.tensors)).toEqual(["parent.0", "parent.1"])
    expect(resumed.progress["genetic"]![0]!.step).toBe(2)
    for (const name of ["reward", "reward_mean", "reward_std", "kl"]) expect(series(resumed.metrics["genetic"], name)).toHaveLength(5)
  })

  it("evolves all of a transformer's weights on a sequence task", async () => {
    const { values } = await runInMemory(Pipeline.make("genetic-lm", () => {
      const task = data.sequenceTask({ gold: "markers", vocab: 4, markers: 1, promptLength: 2, responseLength: 3, prompts: 8, heldOut: 0 }, { name: "task" })
      const start = policy.init({ task, width: 8, heads: 1 }, { name: "start" })
      return genetic({ policy: start, reward: task, task, generations: 12, population: 12, parents: 3, sigma: 0.5, prompts: 8, samples: 2 }, { name: "genetic" })
    }))
    const task = TaskView.view(values["task"] as ModelValue)
    // the exact expected gold of a policy: every response of 3 tokens over 4, weighted by its probability
    const responses = Array.from({ length: 64 }, (_, i) => [Math.floor(i / 16), Math.floor(i / 4) % 4, i % 4])
    const expected = (value: unknown) =>
      PolicyModel.withLoaded(value as ModelValue, (pi) => {
        const prompts = task.prompts.flatMap((p) => responses.map(() => p))
        const logp = PolicyModel.tokenLogProbs(pi, prompts, task.prompts.flatMap(() => responses))
        return prompts.reduce((s, p, i) => s + Math.exp(logp[i]!.reduce((a, b) => a + b, 0)) * task.gold(p.id, responses[i % 64]!), 0) / task.prompts.length
      })
    const [start, evolved] = [expected(values["start"]), expected(values["genetic"])]
    const before = values["start"] as ModelValue
    const after = values["genetic"] as ModelValue
    expect(Object.keys(after.tensors).sort()).toEqual(Object.keys(before.tensors).sort())
    for (const name of Object.keys(before.tensors)) expect(after.tensors[name]!.data).not.toEqual(before.tensors[name]!.data)
    expect(evolved).toBeGreaterThan(start + 0.3)
  })
})

describe("policy/iterativeDpo", () => {
  it("judged by the gold reward, raises the gold reward over rounds, against a fixed anchor and against the previous round's policy", async () => {
    const anchors = ["fixed", "previous"] as const
    const { values, metrics } = await runInMemory(Pipeline.make("iterative-dpo", () => {
      const { task, start } = bandit()
      return anchors.map((anchor) =>
        iterativeDpo({ policy: start, reference: start, judge: task, task, rounds: 5, promptsPerRound: 12, samplesPerPrompt: 4, stepsPerRound: 20, batch: 8, lr: 0.1, anchor }, { name: anchor }))
    }))
    const start = expectedGold(values["task"], values["start"])
    const optimum = optimalGold(values["task"])
    for (const anchor of anchors) {
      const gold = series(metrics[anchor], "round/gold")
      const trained = expectedGold(values["task"], values[anchor])
      expect(series(metrics[anchor], "round/pairs")[0]).toBe(12)
      expect(gold).toHaveLength(5)
      expect(gold.at(-1)!).toBeGreaterThan(gold[0]! + 0.2)
      expect(trained - start).toBeGreaterThan(0.5 * (optimum - start))
      expect(series(metrics[anchor], "rewards/accuracies")).toHaveLength(100)
    }
    // at a round's first step the implicit reward β·log π_θ/π_ref is 0 against the policy the
    // previous round ended with, and away from 0 against the fixed reference
    const atRoundStarts = (anchor: string, name: string) => metrics[anchor]!.filter((m) => m.name === name && m.step % 20 === 0).map((m) => m.value)
    for (const value of [...atRoundStarts("previous", "rewards/chosen"), ...atRoundStarts("previous", "rewards/rejected")]) expect(Math.abs(value)).toBeLessThan(1e-5)
    expect(atRoundStarts("fixed", "rewards/margins").slice(1).every((margin) => margin > 0.05)).toBe(true)
  })

  it("a round whose samples are all alike gives no pairs and leaves the policy where it was", async () => {
    const { values, metrics, byLabel } = await runInMemory(Pipeline.make("converged", () => {
      const { task } = bandit()
      // every prompt's first response at logit 100: the policy samples nothing else
      const logits = Float32Array.from({ length: 12 * 6 }, (_, i) => (i % 6 === 0 ? 100 : 0))
      const peaked = fixedNode("test/peaked", Policy, TabularPolicy.modelOf({ prompts: 12, responses: 6 }, logits), { tensors: true })({}, { name: "peaked" })
      return iterativeDpo({ policy: peaked, reference: peaked, judge: task, task, rounds: 2, promptsPerRound: 12, stepsPerRound: 3, lr: 0.05 }, { name: "dpo" })
    }))
    expect(byLabel["dpo"]!.status).toBe("ran")
    expect(series(metrics["dpo"], "round/pairs")).toEqual([0, 0])
    expect((values["dpo"] as ModelValue).tensors["logits"]!.data).toEqual((values["peaked"] as ModelValue).tensors["logits"]!.data)
  })

  it("stopped after a round's checkpoint, resumes from it and ends bit-identical to an uninterrupted run", async () => {
    // with the previous round's policy as the anchor, a resumed run matches only if the
    // round boundary restores the policy's weights, the generator and Adam's state
    const pipeline = Pipeline.make("iterative-dpo-resume", () => {
      const { task, start } = bandit()
      return iterativeDpo({ policy: start, reference: start, judge: task, task, rounds: 3, promptsPerRound: 8, samplesPerPrompt: 3, stepsPerRound: 4, batch: 4, lr: 0.05, anchor: "previous" }, { name: "dpo" })
    })
    const { resumed, checkpoint } = await expectResumesBitIdentically(pipeline, "dpo")
    expect(checkpoint.step).toBe(4)
    expect(resumed.progress["dpo"]![0]!.step).toBe(5)
    expect(series(resumed.metrics["dpo"], "round/gold")).toHaveLength(3)
  })
})
