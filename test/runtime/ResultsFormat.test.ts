// How a results table reads in the terminal, in Markdown and in CSV.
import { describe, expect, it } from "vitest"
import * as Results from "../../runtime/Results.ts"
import * as ResultsFormat from "../../runtime/cli/ResultsFormat.ts"

const observe = (beta: number, values: ReadonlyArray<number>): Array<Results.Observation> =>
  values.map((gold, seed) => ({ output: "point", coords: { beta, seed }, split: "test", metrics: { gold, kl: 2 + beta } }))

const results = Results.aggregate([...observe(0.1, [0.50, 0.55, 0.53]), ...observe(0.3, [0.60, 0.66, 0.61]), ...observe(1, [0.7])], { beta: 0.1 })

describe("ResultsFormat", () => {
  it("intervals show their half-width to two significant digits, the mean to the same decimals", () => {
    expect(ResultsFormat.formatInterval({ mean: 0.6233333, low: 0.5434795, high: 0.7031872, n: 3 })).toBe("0.623 ± 0.080")
    expect(ResultsFormat.formatInterval({ mean: 0.0966667, low: 0.0297115, high: 0.1636218, n: 3 }, true)).toBe("+0.097 ± 0.067")
    expect(ResultsFormat.formatInterval({ mean: -12.5, low: -14, high: -11, n: 3 }, true)).toBe("-12.5 ± 1.5")
    expect(ResultsFormat.formatInterval({ mean: 0.7, low: Number.NaN, high: Number.NaN, n: 1 })).toBe("0.7000")
    // equal values whose mean and bounds differ in the last bits
    expect(ResultsFormat.formatInterval({ mean: 2.886792452830189, low: 2.8867924528301887, high: 2.886792452830189, n: 3 })).toBe("2.887 ± 0")
    // equal up to float32's precision (an analytic KL computed in tensors), and their difference from an equal baseline
    expect(ResultsFormat.formatInterval({ mean: 0.19314448, low: 0.193144475, high: 0.193144485, n: 3 })).toBe("0.1931 ± 0")
    expect(ResultsFormat.formatInterval({ mean: -3e-9, low: -5e-9, high: -1e-9, n: 3 }, true, 0.19314448)).toBe("0 ± 0")
    // a small difference that is more than noise stays
    expect(ResultsFormat.formatInterval({ mean: 0.001, low: 0.0005, high: 0.0015, n: 3 }, true, 0.19314448)).toBe("+0.00100 ± 0.00050")
  })

  it("the terminal table: factors, split, seeds, metrics with intervals and Δ vs the baseline", () => {
    expect(ResultsFormat.render(results, "table")).toBe([
      "beta  split  n             gold           Δ gold          kl         Δ kl",
      "0.1   test   3 (baseline)  0.527 ± 0.063  —               2.100 ± 0  —",
      "0.3   test   3             0.623 ± 0.080  +0.097 ± 0.067  2.300 ± 0  +0.2000 ± 0",
      "1     test   1             0.7000         +0.1733         3.000      +0.9000"
    ].join("\n"))
  })

  it("Markdown for docs, one table per output", () => {
    const md = ResultsFormat.render(results, "md").split("\n")
    expect(md[0]).toBe("### point")
    expect(md[2]).toBe("| beta | split | n | gold | Δ gold | kl | Δ kl |")
    expect(md[3]).toBe("| --- | --- | --- | --- | --- | --- | --- |")
    expect(md[5]).toBe("| 0.3 | test | 3 | 0.623 ± 0.080 | +0.097 ± 0.067 | 2.300 ± 0 | +0.2000 ± 0 |")
  })

  it("CSV with every bound in a column, and JSON of the table", () => {
    const [header, baseline] = ResultsFormat.render(results, "csv").split("\n")
    expect(header).toBe(
      "output,beta,split,seeds,baseline,gold_mean,gold_low,gold_high,gold_n,gold_delta_mean,gold_delta_low,gold_delta_high,kl_mean,kl_low,kl_high,kl_n,kl_delta_mean,kl_delta_low,kl_delta_high"
    )
    expect(baseline!.startsWith("point,0.1,test,3,true,0.5266666666666667,")).toBe(true)
    expect(JSON.parse(ResultsFormat.render(results, "json"))).toEqual(JSON.parse(JSON.stringify(results)))
    expect(ResultsFormat.render(Results.aggregate([]), "table")).toBe("")
  })
})
