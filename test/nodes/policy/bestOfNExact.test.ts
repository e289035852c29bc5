/**
 * policy/bestOfNExact and the log-space best-of-n distribution it stores: hand values, finite
 * log-probabilities where F(y)^n underflows, and the node's policy equal to the distribution
 * of the best of n draws from its base policy (itself checked by brute force in ./math.test.ts).
 */
import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../../dsl/Artifact.ts"
import * as Pipeline from "../../../dsl/Pipeline.ts"
import * as TaskView from "../../../nodes/data/Task.ts"
import { data, policy } from "../../../nodes/index.ts"
import * as math from "../../../nodes/math.ts"
import * as PolicyModel from "../../../nodes/models/Policy.ts"
import { runInMemory } from "../../helpers.ts"

describe("best-of-n in log space", () => {
  it("log P(y) = log(F(y)ⁿ − F(y⁻)ⁿ): hand values, ties shared in proportion to π, π(y) = 0 gives −∞", () => {
    const half = Math.log(0.5)
    const picked = math.policy.bestOfNLogDistribution([half, half], [0, 1], 2)
    expect(picked[0]).toBeCloseTo(Math.log(0.25), 14)
    expect(picked[1]).toBeCloseTo(Math.log(0.75), 14)
    // ranks 0 < {1, 2} (tied) with π = ½, ¼, ¼: the tie's block gets 1 − ¼ = ¾, shared equally
    const tied = math.policy.bestOfNLogDistribution([half, Math.log(0.25), Math.log(0.25)], [0, 1, 1], 2)
    expect(tied.map(Math.exp)).toEqual([expect.closeTo(0.25, 14), expect.closeTo(0.375, 14), expect.closeTo(0.375, 14)])
    expect(math.policy.bestOfNLogDistribution([0, -Infinity], [0, 1], 3)).toEqual([0, -Infinity])
  })

  it("stays finite where F(y)ⁿ underflows: the worst of 4 uniform responses, n = 1000, has log P = 1000·log ¼", () => {
    const quarter = Math.log(0.25)
    const picked = math.policy.bestOfNLogDistribution([quarter, quarter, quarter, quarter], [3, 0, 2, 1], 1000)
    expect(picked[1]).toBeCloseTo(1000 * quarter, 9) // −1386.29…, where 0.25¹⁰⁰⁰ is 0 in floating point
    // the second worst: log((½)¹⁰⁰⁰ − (¼)¹⁰⁰⁰) = 1000·log ½ + log(1 − 2⁻¹⁰⁰⁰)
    expect(picked[3]).toBeCloseTo(1000 * Math.log(0.5), 9)
    expect(picked[0]).toBeCloseTo(0, 12) // 1 − (¾)¹⁰⁰⁰
    expect(math.policy.bestOfNDistribution([0.25, 0.25, 0.25, 0.25], [3, 0, 2, 1], 1000)[1]).toBe(0)
  })
})

describe("policy/bestOfNExact", () => {
  it("is, prompt by prompt, the distribution of the best of n draws from its base policy, and records log n − (n − 1)/n", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("bonExact", () => {
      const task = data.banditTask({ prompts: 4, responses: 6, features: 2 }, { name: "task" })
      const base = policy.init({ task, scale: 1 }, { name: "base" })
      return [base, policy.bestOfNExact({ policy: base, reward: task, task, n: 5 }, { name: "bon" })]
    }))
    expect(byLabel["bon"]!.record!.finalMetrics["kl/analytic"]).toBeCloseTo(Math.log(5) - 0.8, 12)
    const task = TaskView.view(values["task"] as ReadonlyArray<never>)
    const [base, bon] = [PolicyModel.load(values["base"] as ModelValue), PolicyModel.load(values["bon"] as ModelValue)]
    try {
      PolicyModel.checkFits(base, task)
      PolicyModel.checkFits(bon, task)
      for (const prompt of task.prompts) {
        const rewards = Array.from({ length: 6 }, (_, k) => task.gold(prompt.id, [k]))
        const expected = math.policy.bestOfNDistribution(PolicyModel.distribution(base.model, prompt.id), rewards, 5)
        PolicyModel.distribution(bon.model, prompt.id).forEach((p, k) => expect(p).toBeCloseTo(expected[k]!, 6))
      }
    } finally {
      PolicyModel.dispose(base)
      PolicyModel.dispose(bon)
    }
  })
})
