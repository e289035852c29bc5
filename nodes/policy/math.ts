/**
 * Policy-optimisation math: preference losses, advantages, KL penalties, PPO's
 * clipped objectives and best-of-n sampling, written like their papers.
 *
 * Preference losses (DPO family). With summed response log-probabilities under the
 * policy π and the reference π_ref, the DPO logit is
 *   h = (log π(y_c) − log π(y_r)) − (log π_ref(y_c) − log π_ref(y_r))
 * and the implicit rewards are β·(log π(y) − log π_ref(y)) (Rafailov et al., 2023,
 * https://arxiv.org/abs/2305.18290).
 *
 * Advantages. GAE (Schulman et al., 2016, https://arxiv.org/abs/1506.02438):
 *   δ_t = r_t + γ·V_{t+1} − V_t,  A_t = δ_t + γλ·A_{t+1}.
 * Group baselines: GRPO (Shao et al., 2024, https://arxiv.org/abs/2402.03300), Dr. GRPO
 * (Liu et al., 2025, https://arxiv.org/abs/2503.20783), RLOO (Ahmadian et al., 2024,
 * https://arxiv.org/abs/2402.14740).
 *
 * PPO (Schulman et al., 2017, https://arxiv.org/abs/1707.06347) with the RLHF
 * conventions of Ziegler et al., 2019 (https://arxiv.org/abs/1909.08593) and TRL:
 * token-level clipped surrogate, clipped value loss, per-token KL penalty, an
 * adaptive KL coefficient.
 */
import * as tf from "@tensorflow/tfjs-core"
import { ArgumentError } from "../../dsl/Errors.ts"
import { logSumExp } from "../data/math.ts"
import { sum } from "../evaluate/math.ts"
import { implicitRewards } from "../reward/math.ts"

// log σ(x) = −softplus(−x), stable for large |x|
const logSigmoid = (x: tf.Tensor): tf.Tensor => tf.neg(tf.softplus(tf.neg(x)))

// The argument checks below name the function (`fn`) whose argument is out of its domain.
const positive = (fn: string, name: string, value: number): void => {
  if (!(value > 0) || !Number.isFinite(value)) throw new ArgumentError({ function: fn, argument: name, reason: `must be a positive number, got ${value}` })
}

const nonNegative = (fn: string, name: string, value: number): void => {
  if (!(value >= 0) || !Number.isFinite(value)) throw new ArgumentError({ function: fn, argument: name, reason: `must be ≥ 0, got ${value}` })
}

// Tensors of one batch must agree exactly: broadcasting a [1] or [B, 1] argument would silently change the loss.
const sameShapes = (fn: string, tensors: Readonly<Record<string, tf.Tensor>>): void => {
  const [first, ...rest] = Object.entries(tensors)
  if (first === undefined) return
  for (const [name, t] of rest) {
    if (!tf.util.arraysEqual(t.shape, first[1].shape)) {
      throw new ArgumentError({ function: fn, argument: name, reason: `has shape [${t.shape}] but ${first[0]} has [${first[1].shape}]: they must match` })
    }
  }
}

const smoothing = (fn: string, epsilon: number): void => {
  if (!(epsilon >= 0 && epsilon < 0.5)) throw new ArgumentError({ function: fn, argument: "labelSmoothing", reason: `must be in [0, 0.5), got ${epsilon}` })
}

/**
 * −(1−ε)·log σ(x) − ε·log σ(−x): the logistic loss of a preference logit x with label
 * smoothing ε (the flipped label's weight). x: [B] → [B]
 */
const smoothedLogistic = (x: tf.Tensor1D, epsilon: number): tf.Tensor1D =>
  tf.tidy(() => {
    const chosenWins = tf.neg(logSigmoid(x))
    return (epsilon === 0 ? chosenWins : tf.add(tf.mul(chosenWins, 1 - epsilon), tf.mul(tf.neg(logSigmoid(tf.neg(x))), epsilon))) as tf.Tensor1D
  })

/** DPO's loss variants. */
export type DpoLossType = "sigmoid" | "robust" | "ipo" | "hinge"

export interface DpoOptions {
  /** β > 0: the KL coefficient of the implicit reward */
  readonly beta: number
  /** "sigmoid" when absent */
  readonly lossType?: DpoLossType
  /** ε ∈ [0, 0.5): weight of the flipped label (sigmoid: conservative DPO; robust: robust DPO); 0 when absent */
  readonly labelSmoothing?: number
}

/** Per-example losses of a preference objective and the implicit rewards of its chosen and rejected responses. */
export interface PreferenceLosses {
  /** [B] */
  readonly losses: tf.Tensor1D
  /** [B] */
  readonly chosenRewards: tf.Tensor1D
  /** [B] */
  readonly rejectedRewards: tf.Tensor1D
}

/**
 * Direct Preference Optimization (Rafailov et al., 2023, arXiv 2305.18290): per-example
 * losses of the DPO logit h = (log π_c − log π_r) − (log π_ref,c − log π_ref,r), from
 * SUMMED response log-probabilities [B] (for "ipo" pass per-token MEAN log-probabilities,
 * as TRL does):
 *   sigmoid: −(1−ε)·log σ(βh) − ε·log σ(−βh)   (ε > 0: conservative DPO, Mitchell, 2023)
 *   robust:  ((1−ε)·(−log σ(βh)) − ε·(−log σ(−βh))) / (1 − 2ε)   (Chowdhury et al., 2024, arXiv 2403.00409)
 *   hinge:   max(0, 1 − βh)   (SLiC, Zhao et al., 2023, arXiv 2305.10425)
 *   ipo:     (h − 1/(2β))²   (IPO, Azar et al., 2023, arXiv 2310.12036)
 * Implicit rewards: β·(log π_c − log π_ref,c) and β·(log π_r − log π_ref,r).
 */
export const dpoLoss = (
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  referenceChosen: tf.Tensor1D,
  referenceRejected: tf.Tensor1D,
  options: DpoOptions
): PreferenceLosses =>
  tf.tidy(() => {
    const { beta } = options
    const epsilon = options.labelSmoothing ?? 0
    positive("dpoLoss", "beta", beta)
    smoothing("dpoLoss", epsilon)
    sameShapes("dpoLoss", { policyChosen, policyRejected, referenceChosen, referenceRejected })
    const h = tf.sub(tf.sub(policyChosen, policyRejected), tf.sub(referenceChosen, referenceRejected)) as tf.Tensor1D // [B]
    const scaled = tf.mul(h, beta) as tf.Tensor1D
    const losses = (() => {
      switch (options.lossType ?? "sigmoid") {
        case "sigmoid":
          return smoothedLogistic(scaled, epsilon)
        case "robust":
          return tf.div(tf.sub(tf.mul(tf.neg(logSigmoid(scaled)), 1 - epsilon), tf.mul(tf.neg(logSigmoid(tf.neg(scaled))), epsilon)), 1 - 2 * epsilon)
        case "hinge":
          return tf.relu(tf.sub(1, scaled))
        case "ipo":
          return tf.square(tf.sub(h, 1 / (2 * beta)))
      }
    })() as tf.Tensor1D
    return {
      losses,
      chosenRewards: implicitRewards(policyChosen, referenceChosen, beta),
      rejectedRewards: implicitRewards(policyRejected, referenceRejected, beta)
    }
  })

/**
 * RPO (Pang et al., 2024, arXiv 2404.19733; as an adversarial regulariser, Liu et al.,
 * 2024, arXiv 2405.16436): DPO's per-example loss plus α times the per-token MEAN
 * negative log-likelihood of the chosen response (TRL's `rpo_alpha`). chosenNll: [B]
 */
export const rpoLoss = (
  policyChosen: tf.Tensor1D,
  policyRejected: tf.Tensor1D,
  referenceChosen: tf.Tensor1D,
  referenceRejected: tf.Tensor1D,
  chosenNll: tf.Tensor1D,
  options: DpoOptions & { readonly alpha: number }
): PreferenceLosses =>
  tf.tidy(() => {
    nonNegative("rpoLoss", "alpha", options.alpha)
    sameShapes("rpoLoss", { policyChosen, chosenNll })
    const dpo = dpoLoss(policyChosen, policyRejected, referenceChosen, referenceRejected, options)
    return { ...dpo, losses: tf.add(dpo.losses, tf.mul(chosenNll, options.alpha)) as tf.Tensor1D }
  })

/**
 * SimPO (Meng et al., 2024, arXiv 2405.14734), reference-free: from per-token MEAN
 * log-probabilities ā (length-normalised),
 *   loss = −(1−ε)·log σ(β(ā_c − ā_r) − γ) − ε·log σ(−(β(ā_c − ā_r) − γ));
 * rewards β·ā_c and β·ā_r.
 */
export const simpoLoss = (
  policyChosenMean: tf.Tensor1D,
  policyRejectedMean: tf.Tensor1D,
  options: { readonly beta: number; readonly gamma: number; readonly labelSmoothing?: number }
): PreferenceLosses =>
  tf.tidy(() => {
    positive("simpoLoss", "beta", options.beta)
    const epsilon = options.labelSmoothing ?? 0
    smoothing("simpoLoss", epsilon)
    sameShapes("simpoLoss", { policyChosenMean, policyRejectedMean })
    const logits = tf.sub(tf.mul(tf.sub(policyChosenMean, policyRejectedMean), options.beta), options.gamma) as tf.Tensor1D
    return {
      losses: smoothedLogistic(logits, epsilon),
      chosenRewards: tf.mul(policyChosenMean, options.beta) as tf.Tensor1D,
      rejectedRewards: tf.mul(policyRejectedMean, options.beta) as tf.Tensor1D
    }
  })

/** log(p/(1 − p)) of p = exp(ā) < 1: ā − log(−expm1(ā)), with expm1 taken stably near 0. */
const logOdds = (meanLogProb: tf.Tensor): tf.Tensor =>
  tf.tidy(() => {
    // −expm1(ā) = 1 − exp(ā); for |ā| small use its series −ā(1 + ā/2 + ā²/6) to keep precision
    const a = tf.minimum(meanLogProb, -1e-6)
    const series = tf.mul(tf.neg(a), tf.add(1, tf.add(tf.div(a, 2), tf.div(tf.mul(a, a), 6))))
    const direct = tf.sub(1, tf.exp(a))
    // which branch is a constant of the step: chosen off the gradient tape (Greater has no gradient)
    const near = tf.tensor(Array.from(a.dataSync(), (x) => (x > -1e-3 ? 1 : 0)), a.shape)
    const oneMinusP = tf.add(tf.mul(series, near), tf.mul(direct, tf.sub(1, near)))
    return tf.sub(a, tf.log(oneMinusP))
  })

/**
 * ORPO (Hong et al., 2024, arXiv 2403.07691), reference-free: from per-token MEAN
 * log-probabilities ā (so p = exp(ā) < 1) and the chosen responses' NLL,
 *   odds(y) = p/(1 − p),  logOdds = log odds(y_c) − log odds(y_r),
 *   loss = NLL_c − λ·log σ(logOdds);
 * rewards λ·ā (TRL's names, with its `beta` as λ).
 */
export const orpoLoss = (
  policyChosenMean: tf.Tensor1D,
  policyRejectedMean: tf.Tensor1D,
  chosenNll: tf.Tensor1D,
  options: { readonly lambda: number }
): PreferenceLosses & { readonly logOdds: tf.Tensor1D } =>
  tf.tidy(() => {
    nonNegative("orpoLoss", "lambda", options.lambda)
    sameShapes("orpoLoss", { policyChosenMean, policyRejectedMean, chosenNll })
    const ratio = tf.sub(logOdds(policyChosenMean), logOdds(policyRejectedMean)) as tf.Tensor1D // [B]
    return {
      losses: tf.sub(chosenNll, tf.mul(logSigmoid(ratio), options.lambda)) as tf.Tensor1D,
      chosenRewards: tf.mul(policyChosenMean, options.lambda) as tf.Tensor1D,
      rejectedRewards: tf.mul(policyRejectedMean, options.lambda) as tf.Tensor1D,
      logOdds: ratio
    }
  })

/**
 * KTO (Ethayarajh et al., 2024, arXiv 2402.01306): with the implied reward r = log π − log π_ref
 * of a whole response (SUMMED log-probabilities) and the reference point z,
 *   desirable:   λ_D·(1 − σ(β(r − z)))      undesirable: λ_U·(1 − σ(β(z − r)));
 * rewards β·r. desirable: [B] of 1 (desirable) or 0.
 */
export const ktoLoss = (
  policyLogProbs: tf.Tensor1D,
  referenceLogProbs: tf.Tensor1D,
  desirable: tf.Tensor1D,
  options: {
    readonly beta: number
    readonly desirableWeight?: number
    readonly undesirableWeight?: number
    readonly referencePoint: number
  }
): { readonly losses: tf.Tensor1D; readonly rewards: tf.Tensor1D } =>
  tf.tidy(() => {
    positive("ktoLoss", "beta", options.beta)
    nonNegative("ktoLoss", "referencePoint", options.referencePoint)
    nonNegative("ktoLoss", "desirableWeight", options.desirableWeight ?? 1)
    nonNegative("ktoLoss", "undesirableWeight", options.undesirableWeight ?? 1)
    sameShapes("ktoLoss", { policyLogProbs, referenceLogProbs, desirable })
    const r = tf.sub(policyLogProbs, referenceLogProbs) // [B]
    const shifted = tf.mul(tf.sub(r, options.referencePoint), options.beta) // β(r − z)
    const good = tf.mul(tf.sub(1, tf.sigmoid(shifted)), options.desirableWeight ?? 1)
    const bad = tf.mul(tf.sub(1, tf.sigmoid(tf.neg(shifted))), options.undesirableWeight ?? 1)
    return {
      losses: tf.add(tf.mul(good, desirable), tf.mul(bad, tf.sub(1, desirable))) as tf.Tensor1D,
      rewards: tf.mul(r, options.beta) as tf.Tensor1D
    }
  })

/**
 * KTO's reference point z = max(0, mean(log π − log π_ref)), estimated as TRL does from
 * MISMATCHED (prompt, completion) pairs, summed log-probabilities; a number, off the tape
 * (0 for no pairs).
 */
export const ktoReferencePoint = (policyLogProbs: ReadonlyArray<number>, referenceLogProbs: ReadonlyArray<number>): number => {
  if (policyLogProbs.length !== referenceLogProbs.length) {
    throw new ArgumentError({
      function: "ktoReferencePoint",
      argument: "policyLogProbs",
      reason: `(${policyLogProbs.length}) and referenceLogProbs (${referenceLogProbs.length}) differ in length`
    })
  }
  if (policyLogProbs.length === 0) return 0
  let s = 0
  for (let i = 0; i < policyLogProbs.length; i++) s += policyLogProbs[i]! - referenceLogProbs[i]!
  return Math.max(0, s / policyLogProbs.length)
}

/**
 * Generalised advantage estimation (Schulman et al., 2016, arXiv 1506.02438) for one
 * episode or sequence of T steps: δ_t = r_t + γ·V_{t+1} − V_t with V_T = lastValue (0:
 * the episode ended), A_t = δ_t + γλ·A_{t+1}, returns R_t = A_t + V_t. λ = 1 gives the
 * Monte-Carlo return minus V; λ = 0 the one-step TD error.
 */
export const gae = (
  rewards: ReadonlyArray<number>,
  values: ReadonlyArray<number>,
  options: { readonly gamma: number; readonly lambda: number; readonly lastValue?: number }
): { readonly advantages: Array<number>; readonly returns: Array<number> } => {
  if (rewards.length !== values.length) {
    throw new ArgumentError({ function: "gae", argument: "rewards", reason: `(${rewards.length}) and values (${values.length}) differ in length` })
  }
  const { gamma, lambda } = options
  if (!(gamma >= 0 && gamma <= 1)) throw new ArgumentError({ function: "gae", argument: "gamma", reason: `must be in [0, 1], got ${gamma}` })
  if (!(lambda >= 0 && lambda <= 1)) throw new ArgumentError({ function: "gae", argument: "lambda", reason: `must be in [0, 1], got ${lambda}` })
  const T = rewards.length
  const advantages = new Array<number>(T)
  let next = 0
  for (let t = T - 1; t >= 0; t--) {
    const following = t === T - 1 ? options.lastValue ?? 0 : values[t + 1]!
    const delta = rewards[t]! + gamma * following - values[t]!
    next = delta + gamma * lambda * next
    advantages[t] = next
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]!) }
}

/**
 * Whitening (TRL's masked_whiten): (x − mean)/√(var + 1e-8) with the SAMPLE variance
 * (n − 1); `shiftMean: false` adds the mean back. One value has no variance: it
 * whitens to 0 (or stays itself without the shift).
 */
export const whiten = (xs: ReadonlyArray<number>, options: { readonly shiftMean?: boolean } = {}): Array<number> => {
  const n = xs.length
  if (n === 0) return []
  const m = xs.reduce((a, b) => a + b, 0) / n
  const shift = options.shiftMean === false
  if (n === 1) return [shift ? xs[0]! : 0]
  const variance = xs.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1)
  const scale = 1 / Math.sqrt(variance + 1e-8)
  return xs.map((x) => (x - m) * scale + (shift ? m : 0))
}

const groups = (fn: string, rewards: ReadonlyArray<number>, groupSize: number): Array<ReadonlyArray<number>> => {
  if (!Number.isInteger(groupSize) || groupSize < 2) throw new ArgumentError({ function: fn, argument: "groupSize", reason: `must be an integer ≥ 2, got ${groupSize}` })
  if (rewards.length % groupSize !== 0) throw new ArgumentError({ function: fn, argument: "groupSize", reason: `${groupSize} does not divide the ${rewards.length} rewards` })
  return Array.from({ length: rewards.length / groupSize }, (_, g) => rewards.slice(g * groupSize, (g + 1) * groupSize))
}

/**
 * GRPO's group-relative advantages (Shao et al., 2024, arXiv 2402.03300): rewards in
 * consecutive groups of `groupSize` responses to one prompt; A_i = (r_i − mean_g)/(std_g + ε)
 * with the SAMPLE standard deviation (n − 1), as TRL and verl compute it (ε = 1e-4, TRL's).
 * `scale: "none"` is Dr. GRPO (Liu et al., 2025, arXiv 2503.20783): A_i = r_i − mean_g.
 * A group whose rewards are all equal has zero advantages (also with ε = 0, and under
 * either scale).
 */
export const grpoAdvantages = (
  rewards: ReadonlyArray<number>,
  groupSize: number,
  options: { readonly scale?: "std" | "none"; readonly epsilon?: number } = {}
): Array<number> => {
  const epsilon = options.epsilon ?? 1e-4
  nonNegative("grpoAdvantages", "epsilon", epsilon)
  return groups("grpoAdvantages", rewards, groupSize).flatMap((group) => {
    // equal rewards carry no signal; tested exactly, since their floating-point mean can miss them by an ulp
    if (group.every((r) => r === group[0])) return group.map(() => 0)
    const m = group.reduce((a, b) => a + b, 0) / group.length
    if (options.scale === "none") return group.map((r) => r - m)
    const std = Math.sqrt(group.reduce((a, r) => a + (r - m) ** 2, 0) / (group.length - 1))
    return group.map((r) => (r - m) / (std + epsilon))
  })
}

/**
 * RLOO's leave-one-out advantages (Ahmadian et al., 2024, arXiv 2402.14740; Kool et al.,
 * 2019): within each group of `groupSize` (≥ 2), A_i = r_i − mean_{j≠i} r_j.
 */
export const rlooAdvantages = (rewards: ReadonlyArray<number>, groupSize: number): Array<number> =>
  groups("rlooAdvantages", rewards, groupSize).flatMap((group) => {
    const total = group.reduce((a, b) => a + b, 0)
    return group.map((r) => r - (total - r) / (group.length - 1))
  })

/**
 * Rewards with a sequence-level KL penalty, as RLOO uses them (Ahmadian et al., 2024, arXiv
 * 2402.14740): r̃_i = r_i − β·(log π(y_i) − log π_ref(y_i)), the log-probabilities summed over
 * the response's tokens (the k1 estimate of the KL, one sample per response).
 * logProbs, referenceLogProbs: per-token log-probabilities, one array per response.
 */
export const klPenalisedRewards = (
  rewards: ReadonlyArray<number>,
  logProbs: ReadonlyArray<ReadonlyArray<number>>,
  referenceLogProbs: ReadonlyArray<ReadonlyArray<number>>,
  beta: number
): Array<number> => {
  nonNegative("klPenalisedRewards", "beta", beta)
  if (logProbs.length !== rewards.length || referenceLogProbs.length !== rewards.length) {
    throw new ArgumentError({
      function: "klPenalisedRewards",
      argument: "logProbs",
      reason: `must have one array per reward (${rewards.length}), got ${logProbs.length} and ${referenceLogProbs.length}`
    })
  }
  return rewards.map((r, i) => r - beta * (sum(logProbs[i]!) - sum(referenceLogProbs[i]!)))
}

/** The estimators of KL(π ‖ π_ref) from samples of π (Schulman, 2020). */
export type KlEstimator = "k1" | "k2" | "k3"

/**
 * Per-token KL penalty of samples from π against π_ref, elementwise (Schulman, 2020,
 * "Approximating KL Divergence"; the definitions of ablate/math's evaluate.klEstimators,
 * whose values are the means of these): with log r = log π_ref − log π,
 *   k1 = −log r,  k2 = ½(log r)²,  k3 = (r − 1) − log r.
 */
export const klPenalty = <T extends tf.Tensor>(logProbs: T, referenceLogProbs: T, estimator: KlEstimator): T =>
  tf.tidy(() => {
    sameShapes("klPenalty", { logProbs, referenceLogProbs })
    const logR = tf.sub(referenceLogProbs, logProbs)
    switch (estimator) {
      case "k1":
        return tf.neg(logR) as T
      case "k2":
        return tf.mul(tf.square(logR), 0.5) as T
      case "k3":
        return tf.sub(tf.sub(tf.exp(logR), 1), logR) as T
    }
  })

// Σ x·mask / Σ mask; an all-zero mask gives 0 rather than NaN, so an empty minibatch adds nothing to the loss
const maskedMean = (x: tf.Tensor, mask: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar

// PPO's pessimistic bound on a token loss: the masked mean of the larger of its unclipped and
// clipped values, and the fraction of tokens where the clipped one is the larger
const pessimistic = (unclipped: tf.Tensor, clipped: tf.Tensor, mask: tf.Tensor): { readonly loss: tf.Scalar; readonly clipFraction: tf.Scalar } => ({
  loss: maskedMean(tf.maximum(unclipped, clipped), mask),
  clipFraction: maskedMean(tf.cast(tf.greater(clipped, unclipped), "float32"), mask)
})

/**
 * PPO's clipped surrogate (Schulman et al., 2017, arXiv 1707.06347), token-level as in TRL:
 * ratio = exp(log π − log π_old),
 *   loss = masked mean of max(−A·ratio, −A·clip(ratio, 1 − ε, 1 + ε)),
 *   clipFraction = masked mean of [−A·clip(ratio) > −A·ratio],
 *   approxKl = ½·masked mean of (log π − log π_old)²  (TRL's policy/approxkl).
 * All [B, T]; mask is 1 on the tokens that count. → scalars (loss on the tape)
 */
export const ppoPolicyLoss = (
  logProbs: tf.Tensor2D,
  oldLogProbs: tf.Tensor2D,
  advantages: tf.Tensor2D,
  mask: tf.Tensor2D,
  options: { readonly clipRange: number }
): { readonly loss: tf.Scalar; readonly clipFraction: tf.Scalar; readonly approxKl: tf.Scalar } =>
  tf.tidy(() => {
    positive("ppoPolicyLoss", "clipRange", options.clipRange)
    sameShapes("ppoPolicyLoss", { logProbs, oldLogProbs, advantages, mask })
    const logRatio = tf.sub(logProbs, oldLogProbs)
    const ratio = tf.exp(logRatio)
    const unclipped = tf.mul(tf.neg(advantages), ratio)
    const clipped = tf.mul(tf.neg(advantages), tf.clipByValue(ratio, 1 - options.clipRange, 1 + options.clipRange))
    return {
      ...pessimistic(unclipped, clipped, mask),
      approxKl: tf.mul(maskedMean(tf.square(logRatio), mask), 0.5) as tf.Scalar
    }
  })

/**
 * PPO's value loss with value clipping (TRL): v_clip = V_old + clip(V − V_old, −ε, ε),
 *   loss = ½·masked mean of max((V − R)², (v_clip − R)²),
 *   clipFraction = masked mean of [(v_clip − R)² > (V − R)²].
 * All [B, T]. → scalars (loss on the tape)
 */
export const ppoValueLoss = (
  values: tf.Tensor2D,
  oldValues: tf.Tensor2D,
  returns: tf.Tensor2D,
  mask: tf.Tensor2D,
  options: { readonly clipRange: number }
): { readonly loss: tf.Scalar; readonly clipFraction: tf.Scalar } =>
  tf.tidy(() => {
    positive("ppoValueLoss", "clipRange", options.clipRange)
    sameShapes("ppoValueLoss", { values, oldValues, returns, mask })
    const clippedValues = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -options.clipRange, options.clipRange))
    const unclipped = tf.square(tf.sub(values, returns))
    const clipped = tf.square(tf.sub(clippedValues, returns))
    const { loss, clipFraction } = pessimistic(unclipped, clipped, mask)
    return { loss: tf.mul(loss, 0.5) as tf.Scalar, clipFraction }
  })

/** The adaptive KL coefficient of Ziegler et al. (2019): immutable, `update` returns the next one. */
export interface AdaptiveKlController {
  readonly value: number
  readonly target: number
  readonly horizon: number
  /** the controller after `steps` more steps that observed KL `kl` */
  readonly update: (kl: number, steps: number) => AdaptiveKlController
}

/**
 * Adaptive KL controller (Ziegler et al., 2019, arXiv 1909.08593): with
 * e = clip(KL/target − 1, −0.2, 0.2), the coefficient becomes β·(1 + e·steps/horizon).
 */
export const adaptiveKlController = (options: { readonly initial: number; readonly target: number; readonly horizon: number }): AdaptiveKlController => {
  positive("adaptiveKlController", "target", options.target)
  positive("adaptiveKlController", "horizon", options.horizon)
  if (!(options.initial >= 0)) throw new ArgumentError({ function: "adaptiveKlController", argument: "initial", reason: `must be ≥ 0, got ${options.initial}` })
  const make = (value: number): AdaptiveKlController => ({
    value,
    target: options.target,
    horizon: options.horizon,
    update: (kl, steps) => {
      const error = Math.min(0.2, Math.max(-0.2, kl / options.target - 1))
      return make(value * (1 + (error * steps) / options.horizon))
    }
  })
  return make(options.initial)
}

/**
 * The KL of the best-of-n policy to its base policy, log n − (n − 1)/n (Stiennon et al.,
 * 2020; an upper bound, exact for continuous rewards without ties: Beirami et al., 2024,
 * arXiv 2401.01879).
 */
export const bestOfNKl = (n: number): number => {
  if (!Number.isInteger(n) || n < 1) throw new ArgumentError({ function: "bestOfNKl", argument: "n", reason: `must be an integer ≥ 1, got ${n}` })
  return Math.log(n) - (n - 1) / n
}

/**
 * The distribution of the best of n draws from a policy over finitely many responses, the
 * first drawn kept among equals (Beirami et al., 2024, arXiv 2401.01879). With the responses
 * ranked by reward and F the policy's CDF in that order, the pick is y with probability
 *
 *   P(y) = F(y)^n − F(y⁻)^n
 *
 * where F(y⁻) is the mass of the responses below y. Responses of equal reward form one
 * block whose mass F(top)^n − F(below)^n they share in proportion to π(y), since the first
 * draw to land in the block is the pick. See `bestOfNLogDistribution` for log P.
 *
 * @example
 * bestOfNDistribution([0.5, 0.5], [0, 1], 2) // [0.25, 0.75]
 */
export const bestOfNDistribution = (probabilities: ReadonlyArray<number>, rewards: ReadonlyArray<number>, n: number): Array<number> =>
  bestOfNLogDistribution(probabilities.map(Math.log), rewards, n).map(Math.exp)

/**
 * log P(y) of `bestOfNDistribution`, from the policy's log-probabilities, computed in log
 * space so that responses ranked low keep a finite log-probability for large n (F(y)^n
 * underflows long before n·log F(y) does): for a block of equal reward with log F(below) = b
 * and log F(top) = t,
 *
 *   log(F(top)^n − F(below)^n) = n·t + log(1 − e^{n·(b − t)})
 *
 * shared by its responses in proportion to π(y). A response of probability 0 gets −∞.
 *
 * @example
 * bestOfNLogDistribution([Math.log(0.5), Math.log(0.5)], [0, 1], 2) // [log 0.25, log 0.75]
 */
export const bestOfNLogDistribution = (logProbabilities: ReadonlyArray<number>, rewards: ReadonlyArray<number>, n: number): Array<number> => {
  const order = [...logProbabilities.keys()].sort((a, b) => rewards[a]! - rewards[b]!)
  const picked = new Array<number>(logProbabilities.length).fill(-Infinity)
  let below = -Infinity
  for (let start = 0; start < order.length;) {
    let end = start
    while (end < order.length && rewards[order[end]!] === rewards[order[start]!]) end++
    const block = order.slice(start, end)
    const possible = block.filter((y) => logProbabilities[y]! > -Infinity)
    if (possible.length > 0) {
      const mass = logSumExp(possible.map((y) => logProbabilities[y]!))
      // t − b = log(1 + e^{mass − b}), kept apart from t so that a tiny block is not lost to rounding
      const gap = below === -Infinity ? Infinity : Math.log1p(Math.exp(mass - below))
      const top = below === -Infinity ? mass : below + gap
      const blockPick = n * top + Math.log(-Math.expm1(-n * gap))
      for (const y of block) picked[y] = blockPick + logProbabilities[y]! - mass
      below = top
    }
    start = end
  }
  return picked
}
