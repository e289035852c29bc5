/**
 * Likelihood tracking of the trainers on preference pairs (nodes/policy/Likelihoods.ts, DPO's
 * trackEvery and unseen): what it records is the change of log-probability from the starting
 * policy, checked against the trained policy's exact distribution on a bandit; the mass on
 * unseen responses against hand-computed values; a resumed run tracks the same as an
 * uninterrupted one; asking for unseen responses without tracking fails naming the param.
 */
import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../../dsl/Artifact.ts"
import * as Pipeline from "../../../dsl/Pipeline.ts"
import { type ResponsePair, ResponsePairs } from "../../../nodes/artifacts.ts"
import * as TaskView from "../../../nodes/data/Task.ts"
import { data, label, policy } from "../../../nodes/index.ts"
import * as PolicyModel from "../../../nodes/models/Policy.ts"
import { dpo } from "../../../nodes/policy/dpo.ts"
import { unseenMass } from "../../../nodes/policy/Likelihoods.ts"
import { expectResumesBitIdentically, fixedNode, runInMemory } from "../../helpers.ts"

/** A tabular policy's distribution over the K responses of prompt `prompt`. */
const distribution = (value: unknown, task: TaskView.TaskView, prompt: number): Array<number> => {
  const loaded = PolicyModel.load(value as ModelValue)
  try {
    PolicyModel.checkFits(loaded, task)
    if (loaded.architecture !== "tabular") throw new Error("expected a tabular policy")
    return PolicyModel.distribution(loaded.model, prompt)
  } finally {
    PolicyModel.dispose(loaded)
  }
}

describe("unseenMass", () => {
  it("is the mean over prompts of 1 − the probability of the prompt's distinct chosen and rejected responses", () => {
    const prompt = (id: number) => ({ id, tokens: [], split: "train" as const })
    const pairs = {
      prompts: [prompt(0), prompt(0), prompt(1)],
      chosen: [[1], [1], [0]],
      rejected: [[2], [3], [1]]
    }
    // prompt 0: responses 1, 2, 3 with probabilities 0.2, 0.1, 0.3 (response 1 counted once) → 0.4
    // prompt 1: responses 0, 1 with 0.5, 0.25 → 0.25
    const mass = unseenMass(pairs, [0.2, 0.2, 0.5].map(Math.log), [0.1, 0.3, 0.25].map(Math.log))
    expect(mass).toBeCloseTo((0.4 + 0.25) / 2, 12)
  })
})

describe("DPO's likelihood tracking", () => {
  it("records Δ log-probability from the start and the unseen mass every trackEvery steps and after the last, as the trained policy has them", async () => {
    // one prompt's pairs cover responses 0 (chosen) and 1 (rejected) of 3: its unseen responses can only be response 2
    const pair: ResponsePair = { prompt: 0, chosen: [0], rejected: [1], margin: 1, flipped: false, split: "train" }
    const steps = 20
    const { values, metrics } = await runInMemory(Pipeline.make("tracking", () => {
      const task = data.banditTask({ prompts: 2, responses: 3, features: 2, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      const pairs = fixedNode("test/onePromptPairs", ResponsePairs, [pair, pair, pair, pair])({})
      return dpo({ policy: reference, reference, pairs, task, steps, batch: 4, lr: 0.1, trackEvery: 5, unseen: 8 }, { name: "dpo" })
    }))
    const task = TaskView.view(values["task"] as ReadonlyArray<never>)
    const tracked = (name: string) => (metrics["dpo"] ?? []).filter((m) => m.name === name).sort((a, b) => a.step - b.step)
    for (const name of ["delta/chosen", "delta/rejected", "delta/unseen", "mass/unseen"]) {
      expect([name, tracked(name).map((m) => m.step)]).toEqual([name, [0, 5, 10, 15, 20]])
    }
    // the reference is uniform: log π_0 = log 1/3 for every response
    const pi = distribution(values["dpo"], task, 0)
    const last = (name: string) => tracked(name).at(-1)!.value
    expect(tracked("delta/chosen")[0]!.value).toBe(0)
    expect(tracked("mass/unseen")[0]!.value).toBeCloseTo(1 / 3, 6)
    expect(last("delta/chosen")).toBeCloseTo(Math.log(pi[0]!) - Math.log(1 / 3), 4)
    expect(last("delta/rejected")).toBeCloseTo(Math.log(pi[1]!) - Math.log(1 / 3), 4)
    expect(last("delta/unseen")).toBeCloseTo(Math.log(pi[2]!) - Math.log(1 / 3), 4)
    expect(last("mass/unseen")).toBeCloseTo(pi[2]!, 5)
    // a tabular policy shares nothing between responses: the chosen one rises, the rejected one falls
    expect(last("delta/chosen")).toBeGreaterThan(0.5)
    expect(last("delta/rejected")).toBeLessThan(-0.5)
  })

  it("resumes from a checkpoint tracking exactly what an uninterrupted run tracks", async () => {
    const pipeline = Pipeline.make("tracking-resume", () => {
      const task = data.sequenceTask({ vocab: 4, promptLength: 2, responseLength: 2, prompts: 16, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task, width: 8 }, { name: "reference" })
      const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 4 }), task, judge: task, pairing: "bestWorst" }, { name: "pairs" })
      return dpo({ policy: reference, reference, pairs, task, steps: 60, batch: 8, trackEvery: 10, unseen: 2 }, { name: "dpo" })
    })
    const { resumed } = await expectResumesBitIdentically(pipeline, "dpo")
    const steps = (resumed.metrics["dpo"] ?? []).filter((m) => m.name === "delta/chosen").map((m) => m.step).sort((a, b) => a - b)
    expect(steps).toEqual([0, 10, 20, 30, 40, 50, 60])
  })

  it("fails naming the param when unseen responses are asked for without tracking", async () => {
    const pair: ResponsePair = { prompt: 0, chosen: [0], rejected: [1], margin: 1, flipped: false, split: "train" }
    const { byLabel } = await runInMemory(Pipeline.make("untracked", () => {
      const task = data.banditTask({ prompts: 2, responses: 3, features: 2, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      const pairs = fixedNode("test/onePromptPairs", ResponsePairs, [pair])({})
      return dpo({ policy: reference, reference, pairs, task, unseen: 2 }, { name: "dpo" })
    }))
    expect(byLabel["dpo"]!.status).toBe("failed")
    expect(byLabel["dpo"]!.error).toContain(`param "unseen": 2 unseen responses per prompt are only tracked with trackEvery > 0`)
  })
})
