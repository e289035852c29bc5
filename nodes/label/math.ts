/**
 * Bradley–Terry preference probability (Bradley & Terry, 1952):
 *   P(a ≻ b) = σ((r_a − r_b) / T)
 * T → 0 gives the deterministic oracle (the higher gold reward always wins).
 */

/** Logistic sigmoid, stable for large |x|. */
export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))

/** Probability that `a` is preferred to `b` under Bradley–Terry with temperature `T`. */
export const preferenceProbability = (rewardA: number, rewardB: number, temperature: number): number =>
  temperature === 0 ? (rewardA > rewardB ? 1 : rewardA < rewardB ? 0 : 0.5) : sigmoid((rewardA - rewardB) / temperature)
