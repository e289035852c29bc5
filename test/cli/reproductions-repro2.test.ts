/**
 * The reproductions of docs/reproductions/overoptimization.md and personalization.md in a
 * reduced configuration (the same pipeline files, smaller through --set, one seed), asserting
 * the findings the pages report.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cli, repo, summary } from "../helpers.ts"

/** Run a pipeline with `--set`s on a fresh store; → each output's rows by its label. */
const run = async <Row>(file: string, sets: ReadonlyArray<string>) => {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-repro-"))
  const result = await cli(["run", file, "--json", "--store", store, ...sets.flatMap((s) => ["--set", s])], repo)
  expect(result.stderr).toBe("")
  expect(result.code).toBe(0)
  const { outputs } = summary<Row>(result.stdout)
  return (label: string): ReadonlyArray<Row> => {
    const output = outputs.find((o) => o.label === label)
    expect(output, label).toBeDefined()
    return output!.value!
  }
}

const increasing = (values: ReadonlyArray<number>) => values.every((v, i) => i === 0 || v > values[i - 1]!)

describe("reproductions (reduced)", () => {
  it("overoptimization: proxy reward rises with KL; gold peaks and falls with 30 labels, rises to the end with 100 and 1,000", async () => {
    const rows = await run<{ gold: number; proxy: number; kl: number }>("pipelines/overoptimization.ts", [
      "optimumSamples.n=4",
      "bestOfNSamples.n=4",
      "ppoSamples.n=4",
      "ppoPolicy.steps=40"
    ])
    const point = (label: string) => rows(label)[0]!
    const frontiers = (labels: number) => ({
      optimum: [10, 3, 1, 0.3, 0.1].map((beta) => point(`optimum[labels=${labels},beta=${beta}]`)),
      bestOfN: [2, 4, 16, 64, 256, 1024].map((n) => point(`bestOfN[labels=${labels},bestOf=${n}]`))
    })
    const end = (points: ReadonlyArray<{ gold: number }>) => points.at(-1)!.gold
    const peak = (points: ReadonlyArray<{ gold: number }>) => Math.max(...points.map((p) => p.gold))
    for (const labels of [30, 100, 1000]) {
      for (const points of Object.values(frontiers(labels))) {
        expect(increasing(points.map((p) => p.kl))).toBe(true)
        expect(increasing(points.map((p) => p.proxy))).toBe(true)
      }
    }
    for (const points of Object.values(frontiers(30))) expect(end(points)).toBeLessThan(peak(points) - 0.3)
    for (const labels of [100, 1000]) {
      for (const points of Object.values(frontiers(labels))) expect(end(points)).toBeGreaterThan(peak(points) - 0.05)
    }
    expect(end(frontiers(1000).optimum)).toBeGreaterThan(end(frontiers(30).optimum) + 0.5)
    // PPO runs 40 steps here, too few to move it far: only that its points are there
    for (const beta of [3, 1, 0.3]) expect(point(`ppo[labels=30,beta=${beta}]`).kl).toBeGreaterThan(0)
  })

  it("personalization: the latent-user model ranks both types' pairs and serves both; Bradley–Terry serves only a majority", async () => {
    const rows = await run<{ split: string; accuracy: number; mean: number }>("pipelines/personalization.ts", [
      "samples.n=8",
      "latentUserModel.steps=200",
      "bradleyTerryModel.steps=200"
    ])
    const accuracy = (majority: number, model: string, split: string) =>
      rows(`accuracy[majority=${majority},model=${model}]`).find((r) => r.split === split)!.accuracy
    const reward = (majority: number, model: string, user: number) => rows(`reward[majority=${majority},model=${model},user=${user}]`)[0]!.mean
    for (const majority of [0.5, 0.8]) {
      for (const user of [0, 1]) {
        expect(accuracy(majority, "VPL", `test:type${user}`)).toBeGreaterThan(0.85)
        expect(reward(majority, "VPL", user)).toBeGreaterThan(0.8)
      }
    }
    // 50/50: Bradley–Terry is at chance for both types, and its policy serves neither
    expect(Math.abs(accuracy(0.5, "BT", "test") - 0.5)).toBeLessThan(0.1)
    for (const user of [0, 1]) expect(Math.abs(reward(0.5, "BT", user))).toBeLessThan(0.3)
    // 80/20: it sides with the majority, against the minority
    expect(accuracy(0.8, "BT", "test:type0")).toBeGreaterThan(0.65)
    expect(accuracy(0.8, "BT", "test:type1")).toBeLessThan(0.35)
    expect(reward(0.8, "BT", 0)).toBeGreaterThan(0.5)
    expect(reward(0.8, "BT", 1)).toBeLessThan(-0.5)
  })
})
