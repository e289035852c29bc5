/**
 * The trainers that learn from groups of their own samples (GRPO, Dr. GRPO, RLOO, best-of-n
 * behaviour cloning) and best-of-n sampling, against what a user would check: the gold
 * reward rises, best-of-n's KL is the exact value the theory gives, the metrics carry TRL's
 * names every step, and a resumed run is bit-identical.
 */
import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../../dsl/Artifact.ts"
import * as Pipeline from "../../../dsl/Pipeline.ts"
import type { Sample } from "../../../nodes/artifacts.ts"
import * as TaskView from "../../../nodes/data/Task.ts"
import * as PolicyModel from "../../../nodes/models/Policy.ts"
import { data, evaluate, policy } from "../../../nodes/index.ts"
import { bestOfN } from "../../../nodes/policy/bestOfN.ts"
import { bonBehaviorCloning } from "../../../nodes/policy/bonBehaviorCloning.ts"
import { grpo } from "../../../nodes/policy/grpo.ts"
import { bestOfNDistribution } from "../../../nodes/policy/math.ts"
import { rloo } from "../../../nodes/policy/rloo.ts"
import { expectResumesBitIdentically, runInMemory, series } from "../../helpers.ts"

type Row = Record<string, number | string>
const all = (values: Record<string, unknown>, label: string) => (values[label] as ReadonlyArray<Row>).find((r) => r["split"] === "all")!

/** A markers task: the gold reward counts the 2 marker tokens among a response's 4 (uniform policy: 4·2/6 ≈ 1.33). */
const markersTask = () => data.sequenceTask({ gold: "markers", vocab: 6, promptLength: 2, responseLength: 4, prompts: 64 }, { name: "task" })

describe("GRPO, Dr. GRPO and RLOO", () => {
  it("each raises the gold reward of the tiny transformer on the markers task well beyond its interval", async () => {
    const { values } = await runInMemory(Pipeline.make("group", () => {
      const task = markersTask()
      const reference = policy.init({ task, width: 16 }, { name: "reference" })
      const gold = (p: typeof reference, name: string) =>
        evaluate.goldReward({ samples: data.sample({ policy: p, task, n: 8 }), task }, { name })
      const common = { policy: reference, reference, reward: task, task, steps: 30, prompts: 8 } as const
      return [
        gold(reference, "before"),
        gold(grpo({ ...common, groupSize: 8 }, { name: "grpo" }), "afterGrpo"),
        gold(grpo({ ...common, groupSize: 8, loss: "drGrpo" }, { name: "drGrpo" }), "afterDrGrpo"),
        gold(rloo({ ...common, groupSize: 8 }, { name: "rloo" }), "afterRloo")
      ]
    }))
    const before = all(values, "before")
    // intervals over the 64 prompts: the trained policies' lower bounds clear the untrained one's upper bound by a marker
    for (const after of ["afterGrpo", "afterDrGrpo", "afterRloo"]) expect(all(values, after)["lower"]).toBeGreaterThan((before["upper"] as number) + 1)
  })

  it("a larger β holds GRPO (KL in the loss) and RLOO (KL in the reward) nearer their reference", async () => {
    const { values } = await runInMemory(Pipeline.make("beta", () => {
      const task = data.banditTask({ prompts: 12, responses: 6, features: 4 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      const common = { policy: reference, reference, reward: task, task, groupSize: 6, prompts: 12, steps: 60, lr: 0.1 } as const
      const kl = (trained: typeof reference, name: string) =>
        evaluate.kl({ policy: trained, reference, samples: data.sample({ policy: trained, task, n: 2 }), task }, { name })
      return [
        ...[0, 1].map((beta) => kl(grpo({ ...common, beta }), `grpo${beta}`)),
        ...[0, 1].map((beta) => kl(rloo({ ...common, beta }), `rloo${beta}`))
      ]
    }))
    const exact = (label: string) => (values[label] as ReadonlyArray<Row>).find((r) => r["split"] === "all" && r["level"] === "sequence")!["exact"] as number
    for (const trainer of ["grpo", "rloo"]) expect(exact(`${trainer}1`)).toBeLessThan(0.5 * exact(`${trainer}0`))
  })
})

describe("best-of-n", () => {
  it("on 256 responses its exact KL is log n − (n − 1)/n; its picks follow that distribution and beat plain samples", async () => {
    const ns = [2, 4, 8]
    const { values, byLabel } = await runInMemory(Pipeline.make("bon", () => {
      const task = data.banditTask({ prompts: 20, responses: 256, features: 4 }, { name: "task" })
      const base = policy.init({ task }, { name: "base" })
      const small = data.banditTask({ prompts: 3, responses: 6, features: 2, seed: 1 }, { name: "small" })
      return [
        ...ns.map((n) => bestOfN({ policy: base, reward: task, task, n }, { name: `bon${n}` })),
        evaluate.goldReward({ samples: data.sample({ policy: base, task, n: 4 }), task }, { name: "plain" }),
        evaluate.goldReward({ samples: bestOfN({ policy: base, reward: task, task, n: 4, samples: 4 }), task }, { name: "picked" }),
        bestOfN({ policy: policy.init({ task: small, scale: 1 }, { name: "skewed" }), reward: small, task: small, n: 3, samples: 4000 }, { name: "frequencies" })
      ]
    }))
    for (const n of ns) {
      const metrics = byLabel[`bon${n}`]!.record!.finalMetrics
      const analytic = Math.log(n) - (n - 1) / n
      expect(metrics["kl/analytic"]).toBeCloseTo(analytic, 12)
      // K = 256 uniform responses of distinct rewards: Σ_i P_i log(K·P_i) with P_i = (i/K)ⁿ − ((i−1)/K)ⁿ
      // falls short of the continuum's value by 1.0e-5, 1.1e-5, 4.2e-5 for n = 2, 4, 8 (and never exceeds it)
      expect(metrics["kl/exact"]).toBeLessThanOrEqual(analytic)
      expect(metrics["kl/exact"]).toBeGreaterThan(analytic - 1e-4)
      expect(values[`bon${n}`]).toHaveLength(20)
    }
    expect(all(values, "picked")["lower"]).toBeGreaterThan(all(values, "plain")["upper"] as number)
    // the node's picks from a non-uniform policy over 6 responses: each frequency within 4 standard errors of P,
    // each pick's log-probability the base policy's
    const task = TaskView.view(values["small"] as ReadonlyArray<never>)
    const picks = values["frequencies"] as ReadonlyArray<Sample>
    const skewed = PolicyModel.load(values["skewed"] as ModelValue)
    try {
      PolicyModel.checkFits(skewed, task)
      for (const prompt of task.prompts) {
        const own = picks.filter((s) => s.prompt === prompt.id)
        const base = PolicyModel.distribution(skewed.model, prompt.id)
        for (const s of own) expect(s.logProb).toBeCloseTo(Math.log(base[s.response[0]!]!), 5)
        const rewards = Array.from({ length: 6 }, (_, k) => task.gold(prompt.id, [k]))
        bestOfNDistribution(base, rewards, 3).forEach((p, k) => {
          const frequency = own.filter((s) => s.response[0] === k).length / own.length
          expect(Math.abs(frequency - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / own.length) + 1e-9)
        })
      }
    } finally {
      PolicyModel.dispose(skewed)
    }
  })
})

describe("best-of-n behaviour cloning", () => {
  it("raises the rate of positive samples (3 or more markers of 4)", async () => {
    const threshold = 3
    const { values } = await runInMemory(Pipeline.make("bonbc", () => {
      const task = markersTask()
      const reference = policy.init({ task, width: 16 }, { name: "reference" })
      const trained = bonBehaviorCloning({ policy: reference, reward: task, task, threshold, n: 8, prompts: 8, steps: 30 }, { name: "bc" })
      return [
        data.sample({ policy: reference, task, n: 8 }, { name: "before" }),
        data.sample({ policy: trained, task, n: 8 }, { name: "after" })
      ]
    }))
    const task = TaskView.view(values["task"] as ModelValue)
    const rate = (label: string) => {
      const samples = values[label] as ReadonlyArray<Sample>
      return samples.filter((s) => task.gold(s.prompt, s.response) >= threshold).length / samples.length
    }
    // 512 samples each: the uniform policy's rate is 1/9 (standard error 0.014 here), the margin 20 of those
    expect(rate("before")).toBeLessThan(0.15)
    expect(rate("after")).toBeGreaterThan(rate("before") + 0.3)
  })
})

const resumeSteps = 60 // with 2 steps per rollout, the first checkpoint falls after rollout 25, at step 50

const resumePipeline = Pipeline.make("grpo-resume", () => {
  const task = data.banditTask({ prompts: 12, responses: 6, features: 4 }, { name: "task" })
  const reference = policy.init({ task }, { name: "reference" })
  return grpo({ policy: reference, reference, reward: task, task, groupSize: 4, prompts: 6, iterations: 2, epsilon: 0.05, steps: resumeSteps, lr: 0.1 }, { name: "grpo" })
})

describe("GRPO's metrics and resume", () => {
  it("records TRL's metrics every step, shows reward and KL, and a run stopped after a checkpoint resumes bit-identical", async () => {
    const { uninterrupted, resumed, checkpoint } = await expectResumesBitIdentically(resumePipeline, "grpo")
    const metrics = uninterrupted.metrics["grpo"]!
    const names = ["loss", "reward", "reward_std", "kl", "entropy", "clipfrac"]
    for (let step = 0; step < resumeSteps; step++) {
      const recorded = metrics.filter((m) => m.step === step).map((m) => m.name)
      expect(recorded.sort()).toEqual([...names].sort())
    }
    // the first step on a rollout is on-policy (ratio 1, nothing clipped); the second can clip
    expect(series(metrics, "clipfrac").filter((_, step) => step % 2 === 0).every((c) => c === 0)).toBe(true)
    expect(series(metrics, "clipfrac").some((c) => c > 0)).toBe(true)
    expect(series(metrics, "kl").at(-1)).toBeGreaterThan(0)
    const progress = uninterrupted.progress["grpo"]!
    expect(progress.at(-1)).toMatchObject({ step: resumeSteps, total: resumeSteps, unit: "tok" })
    expect(progress.at(-1)!.reward).toBeTypeOf("number")
    expect(progress.at(-1)!.kl).toBeTypeOf("number")
    expect(checkpoint.step).toBe(50)
    expect(resumed.progress["grpo"]![0]!.step).toBe(51)
  })
})
