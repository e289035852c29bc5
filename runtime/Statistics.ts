/**
 * Confidence intervals for results tables: a cell's mean over seeds with its Student-t
 * interval, and a cell's difference from the baseline cell with Welch's interval.
 *
 * Mean over n seeds (sample standard deviation s, n − 1 degrees of freedom):
 *     x̄ ± t_{1−α/2, n−1} · s / √n
 * Difference of two cells' means (Welch 1947, unequal variances, no pairing by seed, so a
 * cell that lost a seed still compares):
 *     (x̄_b − x̄_a) ± t_{1−α/2, ν} · √(s_a²/n_a + s_b²/n_b)
 *     ν = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1))
 * The t quantile inverts the Student-t CDF, written with the regularized incomplete beta
 * function: for t ≥ 0, F(t) = 1 − ½ I_{ν/(ν+t²)}(ν/2, ½). I_x(a, b) is evaluated by its
 * continued fraction (Lentz's method) and ln Γ by Lanczos' approximation (g = 7, 9 terms);
 * the quantile is found by bisection to machine precision.
 */

/** Lanczos coefficients for g = 7, n = 9. */
const lanczos = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7
]

/** ln Γ(x) for x > 0. */
export const logGamma = (x: number): number => {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  const z = x - 1
  let sum = lanczos[0]!
  for (let i = 1; i < lanczos.length; i++) sum += lanczos[i]! / (z + i)
  const t = z + 7.5
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum)
}

/** The continued fraction of I_x(a, b), by Lentz's method (converges for x < (a + 1)/(a + b + 2)). */
const betaFraction = (x: number, a: number, b: number): number => {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  d = 1 / (Math.abs(d) < tiny ? tiny : d)
  let result = d
  for (let m = 1; m <= 300; m++) {
    for (const numerator of [
      (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)),
      -((a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1))
    ]) {
      d = 1 + numerator * d
      d = 1 / (Math.abs(d) < tiny ? tiny : d)
      c = 1 + numerator / c
      if (Math.abs(c) < tiny) c = tiny
      result *= c * d
    }
    if (Math.abs(c * d - 1) < 1e-15) break
  }
  return result
}

/** The regularized incomplete beta function I_x(a, b), 0 ≤ x ≤ 1. */
export const incompleteBeta = (x: number, a: number, b: number): number => {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b
}

/** The CDF of Student's t with `df` degrees of freedom (df > 0, not necessarily whole). */
export const tCdf = (t: number, df: number): number => {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

/** The quantile of Student's t: the t with tCdf(t, df) = p, for 0 < p < 1. */
export const tQuantile = (p: number, df: number): number => {
  if (!(p > 0 && p < 1) || !(df > 0)) return Number.NaN
  if (p < 0.5) return -tQuantile(1 - p, df)
  let low = 0
  let high = 1
  while (tCdf(high, df) < p) high *= 2
  for (let i = 0; i < 200 && high - low > 1e-15 * high; i++) {
    const mid = (low + high) / 2
    if (tCdf(mid, df) < p) low = mid
    else high = mid
  }
  return (low + high) / 2
}

/** A mean with its confidence interval; `low`/`high` are NaN when n < 2 (no spread to estimate). */
export interface Interval {
  readonly mean: number
  readonly low: number
  readonly high: number
  readonly n: number
}

/** Sample mean and variance (n − 1 denominator; NaN variance when n < 2). */
const moments = (values: ReadonlyArray<number>) => {
  const n = values.length
  const mean = values.reduce((s, v) => s + v, 0) / n
  const variance = n < 2 ? Number.NaN : values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)
  return { n, mean, variance }
}

/** The mean of `values` with its Student-t interval at `level` (default 95%). */
export const meanInterval = (values: ReadonlyArray<number>, level = 0.95): Interval => {
  const { n, mean, variance } = moments(values)
  const half = tQuantile(1 - (1 - level) / 2, n - 1) * Math.sqrt(variance / n)
  return { mean, low: mean - half, high: mean + half, n }
}

/** A mean over `n` values with its standard error s/√n (NaN when n < 2). */
export interface Estimate {
  readonly mean: number
  readonly standardError: number
  readonly n: number
}

/** The mean of `values` with its standard error. */
const estimate = (values: ReadonlyArray<number>): Estimate => {
  const { n, mean, variance } = moments(values)
  return { mean, standardError: Math.sqrt(variance / n), n }
}

/**
 * The estimate a mean interval at `level` was made from (meanInterval): its half-width is
 * t_{1−α/2, n−1} · s/√n, so the standard error is the half-width over that quantile. For
 * comparing results tables kept without their per-seed values.
 */
export const estimateOf = (interval: Interval, level = 0.95): Estimate => ({
  mean: interval.mean,
  standardError: (interval.high - interval.low) / 2 / tQuantile(1 - (1 - level) / 2, interval.n - 1),
  n: interval.n
})

/**
 * The difference of means `treatment − baseline` with Welch's interval at `level`, from the two
 * estimates. With a zero standard error (both cells constant) the interval is the difference
 * itself; with a cell of one value (no standard error) the bounds are NaN.
 */
export const welchInterval = (treatment: Estimate, baseline: Estimate, level = 0.95): Interval & { readonly df: number } => {
  const mean = treatment.mean - baseline.mean
  const va = baseline.standardError ** 2
  const vb = treatment.standardError ** 2
  const se = Math.sqrt(va + vb)
  const df = (va + vb) ** 2 / (va ** 2 / (baseline.n - 1) + vb ** 2 / (treatment.n - 1))
  const half = se === 0 ? 0 : tQuantile(1 - (1 - level) / 2, df) * se
  return { mean, low: mean - half, high: mean + half, n: Math.min(baseline.n, treatment.n), df }
}

/** The difference of means `treatment − baseline` with Welch's interval at `level` (welchInterval). */
export const differenceInterval = (
  treatment: ReadonlyArray<number>,
  baseline: ReadonlyArray<number>,
  level = 0.95
): Interval & { readonly df: number } => welchInterval(estimate(treatment), estimate(baseline), level)
