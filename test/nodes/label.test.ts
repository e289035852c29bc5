import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import type { Random } from "../../dsl/Random.ts"
import { data, label } from "../../nodes/index.ts"
import { bradleyTerryVerdict } from "../../nodes/label/pairs.ts"
import * as math from "../../nodes/math.ts"
import { runInMemory } from "../helpers.ts"

/** A generator that returns the given uniforms in turn and counts its draws. */
const uniforms = (values: ReadonlyArray<number>) => {
  let drawn = 0
  const rng = { uniform: () => values[drawn++]! } as unknown as Random
  return { rng, drawn: () => drawn }
}

describe("label math", () => {
  it("correlated weights: ρ·w₀ + √(1 − ρ²)·z, by hand", () => {
    // ρ = 0.6: √(1 − 0.36) = 0.8; [0.6·1 + 0.8·3, 0.6·2 + 0.8·(−1)] = [3, 0.4]
    const w = math.label.correlatedWeights([1, 2], [3, -1], 0.6)
    expect(w[0]).toBeCloseTo(3, 12)
    expect(w[1]).toBeCloseTo(0.4, 12)
    expect(math.label.correlatedWeights([1, -2], [5, 7], -1)).toEqual([-1, 2])
    expect(math.label.correlatedWeights([1, -2], [5, 7], 1)).toEqual([1, -2])
    expect(math.label.correlatedWeights([1, -2], [5, 7], 0)).toEqual([5, 7])
  })

  it("a Bradley–Terry verdict draws one uniform and says a when it is below P(a ≻ b)", () => {
    // P(a ≻ b) = σ((1 − 0) / 1) ≈ 0.7311
    const draws = uniforms([0.73, 0.74, 0.999, 0.5])
    expect(bradleyTerryVerdict(draws.rng, 1, 0, 1)).toBe("a")
    expect(bradleyTerryVerdict(draws.rng, 1, 0, 1)).toBe("b")
    expect(draws.drawn()).toBe(2)
    // temperature 0: the higher reward always wins; equal rewards are a fair coin
    expect(bradleyTerryVerdict(draws.rng, 2, 1, 0)).toBe("a")
    expect(bradleyTerryVerdict(draws.rng, 1, 1, 0)).toBe("b")
    expect(draws.drawn()).toBe(4)
  })
})

describe("label/bradleyTerry", () => {
  it("at a temperature, the better item is chosen with probability σ(|Δ gold| / T)", async () => {
    const { values } = await runInMemory(Pipeline.make("temperature", () => {
      const task = data.preferenceTask({ items: 300, features: 4 }, { name: "task" })
      return label.bradleyTerry({ task, pairs: 4000, temperature: 0.5 }, { name: "labels" })
    }))
    const gold = new Map((values["task"] as ReadonlyArray<{ item: number; gold: number }>).map((i) => [i.item, i.gold]))
    const pairs = values["labels"] as ReadonlyArray<{ chosen: number; rejected: number }>
    const margins = pairs.map((p) => gold.get(p.chosen)! - gold.get(p.rejected)!)
    const better = margins.filter((m) => m > 0).length / pairs.length
    const expected = math.evaluate.mean(margins.map((m) => math.label.sigmoid(Math.abs(m) / 0.5)))
    // 4,000 Bernoulli draws: a standard error under 0.008
    expect(Math.abs(better - expected)).toBeLessThan(0.03)
    expect(better).toBeLessThan(0.95) // the temperature matters: not every label follows the gold reward
  })
})
