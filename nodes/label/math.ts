/**
 * Bradley–Terry preference probability (Bradley & Terry, 1952):
 *   P(a ≻ b) = σ((r_a − r_b) / T)
 * T → 0 gives the deterministic oracle (the higher gold reward always wins).
 *
 * Correlated reward weights for annotator types: w = ρ·w₀ + √(1 − ρ²)·z, which has
 * correlation ρ with w₀ when w₀ and z are independent with equal variance.
 */

/** Logistic sigmoid, stable for large |x|. */
export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))

/** Probability that `a` is preferred to `b` under Bradley–Terry with temperature `T`. */
export const preferenceProbability = (rewardA: number, rewardB: number, temperature: number): number =>
  temperature === 0 ? (rewardA > rewardB ? 1 : rewardA < rewardB ? 0 : 0.5) : sigmoid((rewardA - rewardB) / temperature)

/** Weights correlated ρ with `base`: ρ·w₀ + √(1 − ρ²)·z for an independent draw z (`fresh`) of the same size. */
export const correlatedWeights = (base: ReadonlyArray<number>, fresh: ReadonlyArray<number>, correlation: number): Array<number> =>
  base.map((w, i) => correlation * w + Math.sqrt(1 - correlation ** 2) * fresh[i]!)

/**
 * The type of a member of a population drawn by one uniform u ∈ [0, 1): the first index
 * whose cumulative share exceeds u (the last, if rounding leaves u above them all).
 *
 * @example
 * typeAt([0.8, 0.2], 0.85) // 1
 */
export const typeAt = (shares: ReadonlyArray<number>, u: number): number => {
  let cumulative = 0
  for (let t = 0; t < shares.length; t++) {
    cumulative += shares[t]!
    if (u < cumulative) return t
  }
  return shares.length - 1
}
