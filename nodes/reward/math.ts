/**
 * Reward-model losses and scores.
 *
 * Bradley–Terry (Bradley & Terry, 1952; for RLHF reward models Ouyang et al., 2022,
 * https://arxiv.org/abs/2203.02155). With margins Δ = r(x, y_c) − r(x, y_r), a
 * required margin m, label smoothing ε and reward centering coefficient c:
 *
 *   L = E[ −(1−ε)·log σ(Δ − m) − ε·log σ(−(Δ − m)) ] + c·E[ (r_c + r_r)² ]
 *
 * (margin as in Llama 2, https://arxiv.org/abs/2307.09288, where m is per pair; the
 * adaptive margin of Wang et al., 2024, https://arxiv.org/abs/2401.06080, takes each
 * pair's m = λ·û, û its mean margin across an ensemble; label smoothing as in
 * conservative DPO; centering as TRL's `center_rewards_coefficient`, after
 * Eisenstein et al., 2023, https://arxiv.org/abs/2312.09244.)
 *
 * General Preference Model (Zhang et al., 2024, https://arxiv.org/abs/2410.02197):
 * each response has an embedding v ∈ ℝ^{2k}; the preference score
 *
 *   s(i ≻ j) = ⟨R v_i, v_j⟩,  R = diag of k blocks [[0, −1], [1, 0]]
 *
 * is skew-symmetric (s(i ≻ j) = −s(j ≻ i)), so it can represent cyclic preferences
 * that no scalar reward can; P(i ≻ j) = σ(s(i ≻ j)).
 */
import * as tf from "@tensorflow/tfjs-core"
import { ArgumentError } from "../../dsl/Errors.ts"

export interface BradleyTerryOptions {
  /** required reward margin m (0: plain Bradley–Terry), one for all pairs or one per pair: [B] */
  readonly margin?: number | tf.Tensor1D
  /** label smoothing ε ∈ [0, 0.5) */
  readonly labelSmoothing?: number
  /** per-pair probability y that the first response is preferred (1 when absent; ½ for ties) */
  readonly targets?: tf.Tensor1D
}

/**
 * Mean Bradley–Terry loss of margins Δ = r_c − r_r. margins: [B] → scalar
 *
 * With soft targets y (ties: ½) the loss is the cross-entropy
 * −ỹ·log σ(Δ − m) − (1 − ỹ)·log σ(−(Δ − m)), ỹ = y(1 − ε) + (1 − y)ε;
 * log σ(x) = −softplus(−x), computed stably.
 */
export const bradleyTerryLoss = (margins: tf.Tensor1D, options: BradleyTerryOptions = {}): tf.Scalar =>
  tf.tidy(() => {
    const eps = options.labelSmoothing ?? 0
    const shifted = tf.sub(margins, options.margin ?? 0)
    const chosenWins = tf.softplus(tf.neg(shifted)) // −log σ(Δ − m)
    if (eps === 0 && options.targets === undefined) return tf.mean(chosenWins) as tf.Scalar
    const y = options.targets === undefined ? tf.scalar(1 - eps) : tf.add(tf.mul(options.targets, 1 - 2 * eps), eps) // ỹ
    return tf.mean(tf.add(tf.mul(chosenWins, y), tf.mul(tf.softplus(shifted), tf.sub(1, y)))) as tf.Scalar
  })

/** Reward-centering penalty E[(r_c + r_r)²], which pins the mean reward near zero. chosen, rejected: [B] → scalar */
export const centeringPenalty = (chosen: tf.Tensor1D, rejected: tf.Tensor1D): tf.Scalar =>
  tf.tidy(() => tf.mean(tf.square(tf.add(chosen, rejected))) as tf.Scalar)

/**
 * GPM preference scores s(i ≻ j) = ⟨R v_i, v_j⟩ for rows of two embedding batches.
 * vi, vj: [B, 2k] → [B]
 *
 * Per 2-D block (a₀, a₁) of v_i and (b₀, b₁) of v_j: R(a₀, a₁) = (−a₁, a₀), so the block
 * contributes a₀·b₁ − a₁·b₀.
 */
export const generalPreferenceScore = (vi: tf.Tensor2D, vj: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const [B, D] = vi.shape
    if (D % 2 !== 0) throw new ArgumentError({ function: "generalPreferenceScore", argument: "vi", reason: `must have an even embedding dimension (pairs of coordinates), got ${D}` })
    const a = tf.reshape(vi, [B, D / 2, 2]) // [B, k, 2]
    const b = tf.reshape(vj, [B, D / 2, 2]) // [B, k, 2]
    const [a0, a1] = tf.split(a, 2, -1) // each [B, k, 1]
    const [b0, b1] = tf.split(b, 2, -1)
    return tf.reshape(tf.sum(tf.sub(tf.mul(a0!, b1!), tf.mul(a1!, b0!)), [1, 2]), [B]) as tf.Tensor1D
  })

/** Scalar form of `generalPreferenceScore` for one pair, for tests and evaluation. */
export const generalPreferenceScoreOf = (vi: ReadonlyArray<number>, vj: ReadonlyArray<number>): number => {
  let s = 0
  for (let i = 0; i < vi.length; i += 2) s += vi[i]! * vj[i + 1]! - vi[i + 1]! * vj[i]!
  return s
}

/**
 * Implicit process rewards (Yuan et al., 2024, https://arxiv.org/abs/2412.01981): with
 * the outcome reward parameterised as r_θ(y) = β·log π_θ(y)/π_ref(y) and trained with
 * cross-entropy on outcome labels only, the reward of step t is its share of the
 * log-ratio, r_t = β·(log π_θ(y_t | y_<t) − log π_ref(y_t | y_<t)), and Σ_t r_t = r_θ(y).
 * policy, reference: per-token log-probabilities of one response → per-token rewards
 */
export const implicitProcessRewards = (policy: ReadonlyArray<number>, reference: ReadonlyArray<number>, beta: number): Array<number> =>
  policy.map((lp, t) => beta * (lp - reference[t]!))

/**
 * Tensor form of the implicit reward β·(log π_θ − log π_ref), elementwise: of summed
 * log-probabilities [B] the outcome rewards r_θ(y), of per-token ones [B, L] the
 * process rewards r_t. policy, reference: same shape → that shape
 */
export const implicitRewards = <T extends tf.Tensor>(policy: T, reference: T, beta: number): T =>
  tf.tidy(() => tf.mul(tf.sub(policy, reference), beta))
