// Interval arithmetic for results tables, against values computed independently with SciPy 1.17
// (scipy.stats.t.ppf / t.cdf, and ttest_ind(equal_var=False).confidence_interval).
import { describe, expect, it } from "vitest"
import * as Statistics from "../../runtime/Statistics.ts"

describe("Student t", () => {
  it("quantiles match scipy.stats.t.ppf(0.975, df), whole and fractional df", () => {
    const expected: ReadonlyArray<readonly [number, number]> = [
      [1, 12.706204736174694],
      [2, 4.302652729749462],
      [3, 3.1824463052837078],
      [4, 2.7764451051977934],
      [9, 2.262157162798205],
      [30, 2.0422724563012378],
      [100, 1.9839715185235518],
      [2.5, 3.5746548420036817],
      [7.3, 2.345066736547703]
    ]
    for (const [df, t] of expected) expect(Statistics.tQuantile(0.975, df)).toBeCloseTo(t, 10)
    expect(Statistics.tQuantile(0.025, 4)).toBeCloseTo(-2.7764451051977934, 10)
    expect(Statistics.tQuantile(0.5, 4)).toBeCloseTo(0, 12)
  })

  it("the CDF matches scipy.stats.t.cdf", () => {
    expect(Statistics.tCdf(1.5, 3)).toBeCloseTo(0.8847080673775886, 12)
    expect(Statistics.tCdf(-0.7, 12)).toBeCloseTo(0.24863707689535378, 12)
  })

  it("ln Γ matches known values", () => {
    expect(Statistics.logGamma(1)).toBeCloseTo(0, 13)
    expect(Statistics.logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13)
    expect(Statistics.logGamma(10)).toBeCloseTo(Math.log(362880), 11)
  })

  it("rejects what has no quantile", () => {
    expect(Statistics.tQuantile(1, 3)).toBeNaN()
    expect(Statistics.tQuantile(0.9, 0)).toBeNaN()
  })
})

describe("intervals", () => {
  const baseline = [0.61, 0.64, 0.58]
  const treatment = [0.70, 0.74, 0.69, 0.72]

  it("mean ± t·s/√n over seeds", () => {
    const ci = Statistics.meanInterval(baseline)
    expect(ci.n).toBe(3)
    expect(ci.mean).toBeCloseTo(0.61, 14)
    expect(ci.low).toBeCloseTo(0.53547586864749, 12)
    expect(ci.high).toBeCloseTo(0.68452413135251, 12)
  })

  it("Welch's interval for the difference from the baseline, cells of unequal size", () => {
    const d = Statistics.differenceInterval(treatment, baseline)
    expect(d.mean).toBeCloseTo(0.1025, 14)
    expect(d.df).toBeCloseTo(3.5745843573803677, 10)
    expect(d.low).toBeCloseTo(0.04262018875071098, 10)
    expect(d.high).toBeCloseTo(0.16237981124928885, 10)
  })

  it("a kept interval gives back its standard error, and Welch's interval from it is the one from the values", () => {
    const kept = Statistics.estimateOf(Statistics.meanInterval([1, 2, 3])) // sd 1, SE 1/√3
    expect(kept.mean).toBe(2)
    expect(kept.standardError).toBeCloseTo(1 / Math.sqrt(3), 12)
    expect(Statistics.estimateOf(Statistics.meanInterval([5])).standardError).toBeNaN()
    const d = Statistics.welchInterval(Statistics.estimateOf(Statistics.meanInterval(treatment)), Statistics.estimateOf(Statistics.meanInterval(baseline)))
    expect(d.low).toBeCloseTo(0.04262018875071098, 10)
    expect(d.high).toBeCloseTo(0.16237981124928885, 10)
  })

  it("one seed has a mean but no interval; constant cells have a zero-width difference", () => {
    const one = Statistics.meanInterval([0.5])
    expect(one.mean).toBe(0.5)
    expect(one.low).toBeNaN()
    const d = Statistics.differenceInterval([2, 2], [1, 1])
    expect([d.mean, d.low, d.high]).toEqual([1, 1, 1])
  })
})
