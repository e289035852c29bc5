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
