import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cli, repo, summary } from "../helpers.ts"

describe("every pipeline in pipelines/", () => {
  const files = fs.readdirSync(path.join(repo, "pipelines")).filter((f) => f.endsWith(".ts"))

  it.each(files)("%s builds and plans", async (file) => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-plan-"))
    const result = await cli(["plan", `pipelines/${file}`, "--store", store], repo)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\d+ nodes?/)
  })

  it("overoptimization.ts runs: smaller β moves further from the reference and gains proxy reward", async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-oo-"))
    const result = await cli(["run", "pipelines/overoptimization.ts", "--json", "--store", store], repo)
    expect(result.code).toBe(0)
    const { outputs } = summary<{ kl: number; proxy: number }>(result.stdout)
    const frontier = (labels: number) =>
      [3, 1, 0.3, 0.1, 0.03].map((beta) => outputs.find((o) => o.label === `point[labels=${labels},beta=${beta}]`)!.value![0]!)
    for (const labels of [100, 1000]) {
      const points = frontier(labels)
      for (let i = 1; i < points.length; i++) {
        expect(points[i]!.kl).toBeGreaterThan(points[i - 1]!.kl)
        expect(points[i]!.proxy).toBeGreaterThan(points[i - 1]!.proxy)
      }
    }
  })
})
