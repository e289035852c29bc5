// Pooling a sweep's outputs over seeds into one row per cell, against intervals computed
// independently with SciPy 1.17 (t.ppf for the mean, ttest_ind(equal_var=False) for the Δ).
import { describe, expect, it } from "vitest"
import * as Results from "../../runtime/Results.ts"

const observe = (beta: number, seeds: ReadonlyArray<number>, split = "test"): Array<Results.Observation> =>
  seeds.map((value, seed) => ({ output: "gold", coords: { beta, seed }, split, metrics: { reward: value } }))

describe("Results.aggregate", () => {
  const observations = [
    ...observe(0.1, [0.50, 0.55, 0.53]),
    ...observe(0.3, [0.60, 0.66, 0.61]),
    // a cell that lost a seed
    ...observe(1, [0.70, 0.74]),
    // another split of the same output, compared within its own split
    ...observe(0.1, [0.9, 0.9, 0.9], "train"),
    ...observe(0.3, [0.8, 0.8, 0.8], "train")
  ]
  const table = Results.aggregate(observations, { beta: 0.1 })
  const row = (beta: number, split = "test") => table.rows.find((r) => r.factors["beta"] === beta && r.split === split)!

  it("one row per cell and split, seeds pooled, factors without the seed", () => {
    expect(table.rows).toHaveLength(5)
    expect(table.factors).toEqual(["beta"])
    expect(table.metrics).toEqual(["reward"])
    expect(row(0.3).factors).toEqual({ beta: 0.3 })
    expect(row(0.3).seeds).toBe(3)
    expect(row(1).seeds).toBe(2)
  })

  it("mean ± the Student-t 95% interval", () => {
    const cell = row(0.3).metrics["reward"]!
    expect(cell.n).toBe(3)
    expect(cell.mean).toBeCloseTo(0.6233333333333334, 12)
    expect(cell.low).toBeCloseTo(0.5434794782188921, 10)
    expect(cell.high).toBeCloseTo(0.7031871884477747, 10)
    const short = row(1).metrics["reward"]!
    expect([short.n, short.low, short.high].map((v) => Number(v.toFixed(10)))).toEqual([2, 0.4658759053, 0.9741240947])
  })

  it("Δ vs the baseline cell with Welch's interval, within the same split", () => {
    expect(row(0.1).baseline).toBe(true)
    expect(row(0.1).metrics["reward"]!.delta).toBeUndefined()
    const delta = row(0.3).metrics["reward"]!.delta!
    expect(delta.mean).toBeCloseTo(0.09666666666666668, 12)
    expect(delta.low).toBeCloseTo(0.029711495454282977, 10)
    expect(delta.high).toBeCloseTo(0.16362183787905038, 10)
    const missing = row(1).metrics["reward"]!.delta!
    expect(missing.low).toBeCloseTo(0.08935851204111092, 10)
    expect(missing.high).toBeCloseTo(0.2973081546255556, 10)
    expect(row(0.3, "train").metrics["reward"]!.delta!.mean).toBeCloseTo(-0.1, 12)
    expect(Results.hasBaseline(table)).toBe(true)
  })

  it("a baseline naming one factor of a grid is a baseline per value of the other factors", () => {
    const cell = (structure: string, model: string, values: ReadonlyArray<number>): Array<Results.Observation> =>
      values.map((accuracy, seed) => ({ output: "accuracy", coords: { structure, model, seed }, split: "test", metrics: { accuracy } }))
    const grid = Results.aggregate([
      ...cell("cyclic", "bt", [0.5, 0.52, 0.48]),
      ...cell("cyclic", "gpm", [0.95, 0.97, 0.96]),
      ...cell("transitive", "bt", [0.9, 0.92, 0.94]),
      ...cell("transitive", "gpm", [0.91, 0.9, 0.95])
    ], { model: "bt" })
    const at = (structure: string, model: string) => grid.rows.find((r) => r.factors["structure"] === structure && r.factors["model"] === model)!
    expect(grid.rows.filter((r) => r.baseline).map((r) => r.factors)).toEqual([{ structure: "cyclic", model: "bt" }, { structure: "transitive", model: "bt" }])
    // gpm − bt within each structure: 0.96 − 0.50 and 0.92 − 0.92
    expect(at("cyclic", "gpm").metrics["accuracy"]!.delta!.mean).toBeCloseTo(0.46, 12)
    expect(at("transitive", "gpm").metrics["accuracy"]!.delta!.mean).toBeCloseTo(0, 12)
    expect(at("transitive", "bt").metrics["accuracy"]!.delta).toBeUndefined()
  })

  it("a baseline cell shared by every value of a factor (its coordinates leave it out) is the baseline of each value", () => {
    const cell = (coords: Readonly<Record<string, string | number>>, values: ReadonlyArray<number>): Array<Results.Observation> =>
      values.map((success, seed) => ({ output: "final", coords: { ...coords, seed }, split: "", metrics: { success } }))
    // no demonstrations: one run, whatever the demonstrator's quality
    const grid = Results.aggregate([
      ...cell({ demos: 0 }, [0.2, 0.3, 0.25]),
      ...cell({ demos: 10, quality: "optimal" }, [0.6, 0.7, 0.65]),
      ...cell({ demos: 10, quality: "noisy" }, [0.4, 0.35, 0.3])
    ], { demos: 0 })
    const at = (quality: string) => grid.rows.find((r) => r.factors["quality"] === quality)!.metrics["success"]!.delta!
    expect(grid.rows.filter((r) => r.baseline).map((r) => r.factors)).toEqual([{ demos: 0 }])
    // 0.65 − 0.25 and 0.35 − 0.25
    expect(at("optimal").mean).toBeCloseTo(0.4, 12)
    expect(at("noisy").mean).toBeCloseTo(0.1, 12)
  })

  it("without a baseline, or one that matches no cell, rows have no Δ", () => {
    for (const baseline of [{}, { beta: 5 }, { lr: 0.1 }]) {
      const plain = Results.aggregate(observations, baseline)
      expect(Results.hasBaseline(plain)).toBe(false)
      expect(plain.rows.every((r) => Object.values(r.metrics).every((m) => m.delta === undefined))).toBe(true)
    }
  })
})

describe("Results.observe", () => {
  it("takes a node's declared results from its final metrics, one observation per split", () => {
    const observations = Results.observe({
      name: "point",
      coords: { beta: 0.1, seed: 2 },
      results: ["<split>/gold", "<split>/kl", "accuracy"],
      finalMetrics: { "test/gold": 0.8, "train/gold": 0.9, "test/kl": 2.1, "test/proxy": 4, accuracy: 0.7, loss: 0.3, kl: 5 }
    })
    expect(observations).toEqual([
      { output: "point", coords: { beta: 0.1, seed: 2 }, split: "test", metrics: { gold: 0.8, kl: 2.1 } },
      { output: "point", coords: { beta: 0.1, seed: 2 }, split: "train", metrics: { gold: 0.9 } },
      { output: "point", coords: { beta: 0.1, seed: 2 }, split: "", metrics: { accuracy: 0.7 } }
    ])
  })
})

describe("Results.fromGraph", () => {
  it("reads the declared results of a sweep's nodes, each in its cell, and compares with the pipeline's baseline", async () => {
    const { Effect } = await import("effect")
    const Pipeline = await import("../../dsl/Pipeline.ts")
    const overoptimization = (await import("../../pipelines/overoptimization.ts")).default
    const graph = await Effect.runPromise(Pipeline.build(overoptimization, { seeds: [0, 1] }))
    const finals = (id: string) => {
      const { node, coords } = graph.byId.get(id)!
      // made-up final metrics: every node records some; only evaluate/rewardKl declares results
      return node.kind.kind === "evaluate/rewardKl"
        ? { "test/gold": Number(coords["beta"]) + Number(coords["seed"]), "test/kl": 1, "test/proxy": 2, loss: 9 }
        : { loss: 1, accuracy: 0.5 }
    }
    // the exact optimum's β sweep: 3 label counts × 5 β, its baseline the 1,000-label cell at each β
    const observations = Results.fromGraph(graph, finals).filter((o) => o.output === "optimum")
    const table = Results.aggregate(observations, overoptimization.baseline)
    expect(table.rows).toHaveLength(15)
    expect(table.factors).toEqual(["labels", "beta"])
    expect(table.metrics).toEqual(["gold", "proxy", "kl"]) // in the order the node kind declares them
    const baseline = table.rows.filter((r) => r.baseline)
    expect(baseline.map((r) => r.factors)).toEqual([10, 3, 1, 0.3, 0.1].map((beta) => ({ labels: 1000, beta })))
    const cell = table.rows.find((r) => r.factors["labels"] === 100 && r.factors["beta"] === 3)!
    expect([cell.output, cell.split, cell.seeds, cell.metrics["gold"]!.mean]).toEqual(["optimum", "test", 2, 3.5])
    // the made-up gold depends on β and the seed only: the same as its baseline's
    expect(cell.metrics["gold"]!.delta!.mean).toBeCloseTo(0, 12)
  })
})
