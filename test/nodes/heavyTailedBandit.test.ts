/**
 * data/heavyTailedBandit and its math (ablate/math's data namespace): Student-t feature
 * scales, the gold reward's atypicality penalty, and the task a user gets — a few atypical
 * responses per prompt, worse by the penalty — against values computed by hand or drawn
 * independently, not by the code under test.
 */
import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import * as Random from "../../dsl/Random.ts"
import type { Items } from "../../nodes/artifacts.ts"
import type { ValueOf } from "../../dsl/Artifact.ts"
import { data } from "../../nodes/index.ts"
import * as math from "../../nodes/math.ts"
import { runInMemory } from "../helpers.ts"

describe("data math: heavy tails and atypicality", () => {
  it("a Student-t scale is 1/√(χ²_ν/ν) from ν squared normals; ν = 0 is 1 and draws nothing", () => {
    const [a, b] = [Random.make("scale"), Random.make("scale")]
    const z = [b.normal(), b.normal(), b.normal()]
    expect(math.data.studentScale(a, 3)).toBeCloseTo(1 / Math.sqrt((z[0]! ** 2 + z[1]! ** 2 + z[2]! ** 2) / 3), 12)
    const [c, d] = [Random.make("gauss"), Random.make("gauss")]
    expect(math.data.studentScale(c, 0)).toBe(1)
    expect(c.normal()).toBe(d.normal())
  })

  it("the atypicality penalty lowers the gold reward by λ·‖x‖²/d and nothing else", () => {
    const x = [1, 2, 2] // ‖x‖² = 9, d = 3
    for (const form of ["linear", "mlp"] as const) {
      const plain = math.data.goldReward(form, 3, Random.make("gold"))
      const penalised = math.data.goldReward(form, 3, Random.make("gold"), 0.5)
      expect(penalised(x)).toBeCloseTo(plain(x) - 1.5, 12)
      expect(math.data.goldReward(form, 3, Random.make("gold"), 0)(x)).toBe(plain(x))
    }
  })
})

describe("data/heavyTailedBandit", () => {
  it("a few responses per prompt lie far out, and the gold reward holds them lower by λ·‖x‖²/d", async () => {
    const { values } = await runInMemory(Pipeline.make("tails", () => [
      data.heavyTailedBandit({ prompts: 50, responses: 64, features: 8, gold: "linear", tails: 3, atypicality: 2 }, { name: "heavy" }),
      data.banditTask({ prompts: 50, responses: 64, features: 8, gold: "linear" }, { name: "gaussian" })
    ]))
    const items = (label: string) => values[label] as ValueOf<typeof Items>
    const norm = (x: ReadonlyArray<number>) => x.reduce((s, v) => s + v * v, 0) / x.length
    const far = (label: string) => items(label).filter((i) => norm(i.features) > 4).length / items(label).length
    expect(items("heavy")).toHaveLength(50 * 64)
    // ‖x‖²/d > 4: for Gaussian features P(χ²₈ > 32) ≈ 1e-4; with ν = 3, P(F(8, 3) > 4) ≈ 0.14
    expect(far("gaussian")).toBeLessThan(0.002)
    expect(far("heavy")).toBeGreaterThan(0.08)
    expect(far("heavy")).toBeLessThan(0.2)
    // a linear gold w·x is symmetric in x, so the far responses' mean gold is about −λ·E[‖x‖²/d | far] < −8
    const farGold = items("heavy").filter((i) => norm(i.features) > 4).map((i) => i.gold)
    expect(farGold.reduce((s, g) => s + g, 0) / farGold.length).toBeLessThan(-8)
  })
})
