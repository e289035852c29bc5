/**
 * PPO on the sequence task, a bandit and the grid worlds, against what a user would check:
 * the gold reward rises (optimising the gold reward itself or a process reward model), the
 * adaptive KL coefficient follows Ziegler et al.'s rule, the metrics carry TRL's names every
 * step, a resumed run is bit-identical, and behaviour cloning on a few demonstrations lets
 * PPO solve sparse-reward worlds that PPO from scratch does not.
 */
import { describe, expect, it } from "vitest"
import type { ModelValue } from "../../../dsl/Artifact.ts"
import * as Pipeline from "../../../dsl/Pipeline.ts"
import * as GridEnvironment from "../../../nodes/data/GridEnvironment.ts"
import * as TaskView from "../../../nodes/data/Task.ts"
import { episodes } from "../../../nodes/evaluate/episodes.ts"
import { data, evaluate, policy, reward } from "../../../nodes/index.ts"
import * as GridPolicy from "../../../nodes/models/GridPolicy.ts"
import * as PolicyModel from "../../../nodes/models/Policy.ts"
import { gridInit } from "../../../nodes/policy/gridInit.ts"
import { imitationPretrain } from "../../../nodes/policy/imitationPretrain.ts"
import { ppo } from "../../../nodes/policy/ppo.ts"
import { ppoGrid } from "../../../nodes/policy/ppoGrid.ts"
import { expectResumesBitIdentically, type Metric, runInMemory, series, type StoreRun } from "../../helpers.ts"

type Row = Record<string, number | string>
const split = (values: Record<string, unknown>, label: string, name: string) => (values[label] as ReadonlyArray<Row>).find((r) => r["split"] === name)!

/** Every step 0..steps−1 records each of `names`. */
const expectEveryStep = (metrics: ReadonlyArray<Metric>, names: ReadonlyArray<string>, steps: number) => {
  for (const name of names) expect(metrics.filter((m) => m.name === name).map((m) => m.step).sort((a, b) => a - b), name).toEqual([...Array(steps).keys()])
}

/** A markers task: the gold reward counts the 2 marker tokens among a response's 4 (uniform policy: 4·2/6 ≈ 1.33). */
const markersTask = () => data.sequenceTask({ gold: "markers", vocab: 6, promptLength: 2, responseLength: 4, prompts: 64 }, { name: "task" })

const trlNames = ["loss", "value_loss", "clipfrac", "policy/approxkl", "entropy", "kl", "reward", "reward_std"]

describe("policy/ppo", () => {
  it("raises the tiny transformer's gold reward on held-out prompts, optimising the gold reward or an implicit process reward model", async () => {
    const { values } = await runInMemory(Pipeline.make("ppo", () => {
      const task = markersTask()
      const reference = policy.init({ task, width: 16 }, { name: "reference" })
      const samples = data.sample({ policy: reference, task, n: 16 }, { name: "samples" })
      // outcome labels: a response with at least one marker is good; the model learns which tokens earn that
      const prm = reward.implicitProcess({ reference, samples, task, beta: 1, steps: 100, lr: 0.01 }, { name: "prm" })
      const gold = (p: typeof reference, name: string) => evaluate.goldReward({ samples: data.sample({ policy: p, task, n: 8 }), task }, { name })
      const common = { policy: reference, reference, task, steps: 60, prompts: 16 } as const
      return [
        gold(reference, "before"),
        gold(ppo({ ...common, reward: task }, { name: "ppoGold" }), "afterGold"),
        gold(ppo({ ...common, reward: prm }, { name: "ppoPrm" }), "afterPrm")
      ]
    }))
    const before = split(values, "before", "test")
    const afterGold = split(values, "afterGold", "test")
    const afterPrm = split(values, "afterPrm", "test")
    console.log("markers gold on held-out prompts", { before, afterGold, afterPrm })
    // intervals over the 16 held-out prompts: the trained policies' lower bounds clear the untrained one's upper bound
    expect(afterGold["lower"]).toBeGreaterThan((before["upper"] as number) + 1.5)
    expect(afterPrm["lower"]).toBeGreaterThan((before["upper"] as number) + 0.5)
  })

  it("on a bandit, where a response is one token, raises the exact expected gold reward", async () => {
    const { values } = await runInMemory(Pipeline.make("ppo-bandit", () => {
      const task = data.banditTask({ prompts: 12, responses: 6, features: 4, heldOut: 0 }, { name: "task" })
      const reference = policy.init({ task }, { name: "reference" })
      return [ppo({ policy: reference, reference, reward: task, task, prompts: 12, steps: 80, lr: 0.1 }, { name: "ppo" })]
    }))
    const task = TaskView.view(values["task"] as ReadonlyArray<never>)
    const expectedGold = (value: unknown) =>
      PolicyModel.withLoaded(value as ModelValue, (pi) => {
        if (pi.architecture !== "tabular") throw new Error("expected a tabular policy")
        const perPrompt = task.prompts.map((p) => PolicyModel.distribution(pi.model, p.id).reduce((s, q, k) => s + q * task.gold(p.id, [k]), 0))
        return perPrompt.reduce((a, b) => a + b, 0) / perPrompt.length
      })
    const best = task.prompts.map((p) => Math.max(...Array.from({ length: 6 }, (_, k) => task.gold(p.id, [k])))).reduce((a, b) => a + b, 0) / task.prompts.length
    const [start, trained] = [expectedGold(values["reference"]), expectedGold(values["ppo"])]
    console.log("bandit expected gold", { start, trained, best })
    expect(trained - start).toBeGreaterThan(0.5 * (best - start))
  })
})

const adaptiveSteps = 80 // 4 steps per rollout: the first checkpoint falls after rollout 13, at step 52
const horizon = 200
const adaptive = (target: number, name: string) =>
  Pipeline.make(name, () => {
    const task = markersTask()
    const reference = policy.init({ task, width: 16 }, { name: "reference" })
    return ppo({ policy: reference, reference, reward: task, task, prompts: 16, steps: adaptiveSteps, klCoef: 0.2, klController: "adaptive", klTarget: target, klHorizon: horizon }, { name: "ppo" })
  })
const aboveTarget = adaptive(0.5, "ppo-adaptive-low")
let lowTarget: Promise<StoreRun> | undefined
/** The run towards a low KL target, shared by the tests that read it. */
const runLowTarget = () => (lowTarget ??= runInMemory(aboveTarget))

describe("PPO's adaptive KL coefficient, metrics and resume", () => {
  it("moves β by Ziegler et al.'s rule: up while the KL is above the target, down while below", async () => {
    const low = await runLowTarget()
    const high = await runInMemory(adaptive(50, "ppo-adaptive-high"))
    for (const [run, target] of [[low, 0.5], [high, 50]] as const) {
      expect(run.byLabel["ppo"]!.status).toBe("ran")
      // one value per rollout (every 4th step): β_{i+1} = β_i·(1 + clip(KL_i/target − 1, ±0.2)·16/horizon)
      const beta = series(run.metrics["ppo"], "kl_coef").filter((_, step) => step % 4 === 0)
      const kl = series(run.metrics["ppo"], "kl").filter((_, step) => step % 4 === 0)
      expect(beta[0]).toBeCloseTo(0.2, 6)
      for (let i = 0; i + 1 < beta.length; i++) {
        const error = Math.min(0.2, Math.max(-0.2, kl[i]! / target - 1))
        expect(beta[i + 1]! / (beta[i]! * (1 + (error * 16) / horizon))).toBeCloseTo(1, 5)
      }
    }
    // the markers reward pulls the policy well past 0.5 nats from its reference and never near 50
    expect(series(low.metrics["ppo"], "kl").at(-1)).toBeGreaterThan(0.5)
    expect(series(low.metrics["ppo"], "kl_coef").at(-1)).toBeGreaterThan(0.2 * 1.1)
    expect(series(high.metrics["ppo"], "kl_coef").at(-1)).toBeLessThan(0.2 * 0.9)
  })

  it("records TRL's metrics every step and shows reward and KL in the progress bar", async () => {
    const run = await runLowTarget()
    const metrics = run.metrics["ppo"]!
    const progress = run.progress["ppo"]!
    expectEveryStep(metrics, [...trlNames, "value_clipfrac", "kl_coef"], adaptiveSteps)
    // the first step on a rollout is on-policy: nothing clipped, ratio 1; later epochs move away
    expect(series(metrics, "clipfrac").filter((_, step) => step % 4 === 0).every((c) => c === 0)).toBe(true)
    expect(series(metrics, "policy/approxkl").some((k) => k > 0)).toBe(true)
    expect(progress.at(-1)).toMatchObject({ step: adaptiveSteps, total: adaptiveSteps, unit: "tok" })
    expect(progress.at(-1)!.reward).toBeTypeOf("number")
    expect(progress.at(-1)!.kl).toBeTypeOf("number")
  })

  it("stopped after a checkpoint, resumes with its critic and β and ends bit-identical to an uninterrupted run", async () => {
    const { resumed, checkpoint } = await expectResumesBitIdentically(aboveTarget, "ppo", { uninterrupted: await runLowTarget() })
    expect(checkpoint.step).toBe(52)
    expect(Object.keys(checkpoint.tensors).some((name) => name.startsWith("var.critic.value."))).toBe(true)
    // β had moved by then: a resume that restarted it from klCoef would train on other rewards
    expect(checkpoint.state["node"]).not.toBe(0.2)
    expect(resumed.progress["ppo"]![0]!.step).toBe(53)
  })
})

describe("grid worlds", () => {
  it("a grid policy sees the layout centred on itself, walls beyond the edge, and whether it holds the key", () => {
    const grid = GridEnvironment.parse("#####/#SKD#/#..G#/#####")
    const out = new Float32Array(GridPolicy.observationSize(1))
    GridPolicy.observe(grid, { position: 6, hasKey: false, done: false }, 1, out)
    // the 3×3 view around S (x 1, y 1), 4 channels per cell: wall, goal, key, door
    const view = [
      [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0],
      [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0],
      [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]
    ]
    expect(Array.from(out)).toEqual([...view.flat(), 0])
    GridPolicy.observe(grid, { position: 7, hasKey: true, done: false }, 1, out)
    // on the key's cell holding it: the key is gone, the door is to the right, the goal below the door
    const moved = [
      [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0],
      [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1],
      [0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0]
    ]
    expect(Array.from(out)).toEqual([...moved.flat(), 1])
  })

  it("behaviour cloning on a few noisy demonstrations lets PPO solve key-and-door worlds that PPO from scratch does not, with the same budget", async () => {
    const steps = 400 // 50 rollouts of 32 episodes
    const maxSteps = 40
    const { values, metrics } = await runInMemory(Pipeline.make("grid", () => {
      // 16 worlds of 10×10, two demonstrations each, whose steps are optimal only 3 times in 4
      const worlds = data.gridWorld({ envs: 16, size: 10, keyAndDoor: true, demonstrations: 2, optimality: 0.75, maxSteps }, { name: "worlds" })
      const view = { radius: 6 } as const
      const cloned = imitationPretrain({ demonstrations: worlds, steps: 200, ...view }, { name: "cloned" })
      const common = { environments: worlds, steps, maxSteps } as const
      const finetuned = ppoGrid({ ...common, policy: cloned }, { name: "finetuned" })
      const scratch = ppoGrid({ ...common, policy: gridInit({ environments: worlds, ...view }, { name: "fresh" }) }, { name: "scratch" })
      return [cloned, finetuned, scratch].flatMap((p) => [
        episodes({ policy: p, environments: worlds, maxSteps }, { name: `${p.node.name}Greedy` }),
        episodes({ policy: p, environments: worlds, maxSteps, actions: "sampled", episodes: 8 }, { name: `${p.node.name}Sampled` })
      ])
    }))
    const success = (label: string) => (values[label] as ReadonlyArray<Row>)[0]!["success"] as number
    const measured = Object.fromEntries(["cloned", "finetuned", "scratch"].flatMap((p) => [`${p}Greedy`, `${p}Sampled`].map((l) => [l, success(l)])))
    console.log("grid success", measured)
    expect(success("finetunedGreedy")).toBeGreaterThanOrEqual(0.8)
    expect(success("finetunedSampled")).toBeGreaterThanOrEqual(0.8)
    expect(success("scratchGreedy")).toBeLessThanOrEqual(0.3)
    expect(success("scratchSampled")).toBeLessThanOrEqual(0.3)
    // PPO improves on the cloned policy it starts from
    expect(success("finetunedSampled")).toBeGreaterThan(success("clonedSampled"))
    expectEveryStep(metrics["finetuned"]!, [...trlNames, "success"], steps)
  })

  it("fails naming the problem: a table with no rows names no environments; a grid node refuses a transformer policy", async () => {
    const { byLabel } = await runInMemory(Pipeline.make("grid-errors", () => {
      const empty = data.gridWorld({ envs: 2, size: 5, demonstrations: 0 }, { name: "empty" })
      const worlds = data.gridWorld({ envs: 2, size: 5, demonstrations: 1 }, { name: "worlds" })
      const task = markersTask()
      return [
        gridInit({ environments: empty }, { name: "noEnvironments" }),
        episodes({ policy: policy.init({ task, width: 8 }), environments: worlds }, { name: "transformer" })
      ]
    }))
    expect(byLabel["noEnvironments"]!.status).toBe("failed")
    expect(byLabel["noEnvironments"]!.error).toContain("names no environments")
    expect(byLabel["transformer"]!.status).toBe("failed")
    expect(byLabel["transformer"]!.error).toContain(`architecture "grid", not "transformer"`)
  })
})
