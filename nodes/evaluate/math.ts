/**
 * Evaluation math.
 *
 * Pairwise accuracy: the fraction of pairs with different gold rewards that a reward
 * model orders as the gold reward does (model ties count as wrong), optionally only
 * pairs within one group (responses to the same prompt).
 *
 * Expected calibration error (Guo et al., 2017, https://arxiv.org/abs/1706.04599),
 * binary form: predictions p of an event's probability fall into M equal-width bins
 * on [0, 1]; ECE = Σ_b (n_b / N) · |mean outcome in b − mean p in b|.
 *
 * KL estimators (Schulman, 2020, "Approximating KL Divergence",
 * http://joschu.net/blog/kl-approx.html). For samples x ~ π and the log-ratio
 * log r = log π_ref(x) − log π(x), each estimates KL(π ‖ π_ref):
 *   k1 = −log r                  (unbiased, high variance, can be negative)
 *   k2 = ½ (log r)²              (biased, low variance)
 *   k3 = (r − 1) − log r         (unbiased, low variance, always ≥ 0)
 *
 * The likelihood a policy gives a preference dataset, against its reference (what Liu et al.,
 * 2024, https://arxiv.org/abs/2405.16436, Figure 1, tracks under DPO and RPO): over pairs
 * (x, y_c, y_r), the mean log-ratios log π(y_c | x)/π_ref(y_c | x) and log π(y_r | x)/π_ref(y_r | x),
 * and the mass on the responses the pairs cover, the mean over prompts x of Σ_{y ∈ Y(x)} π(y | x)
 * with Y(x) the distinct responses of x's pairs.
 */

/** Σ xs, left to right (0 for none). */
export const sum = (xs: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]!
  return s
}

/** The mean of xs (NaN for none). */
export const mean = (xs: ArrayLike<number>): number => sum(xs) / xs.length

/** The population standard deviation √(mean (x − x̄)²) of xs: 0 for one value, NaN for none. */
export const standardDeviation = (xs: ReadonlyArray<number>): number => {
  const m = mean(xs)
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)))
}

/**
 * Each item's mean across an ensemble's members and their spread (population standard
 * deviation: 0 for one member). members: number[k][B] → B of { mean, spread }
 */
export const acrossMembers = (members: ReadonlyArray<ReadonlyArray<number>>): Array<{ readonly mean: number; readonly spread: number }> =>
  (members[0] ?? []).map((_, j) => {
    const values = members.map((member) => member[j]!)
    return { mean: mean(values), spread: standardDeviation(values) }
  })

/** The fraction of pairs a model ranks right: of their margins r(chosen) − r(rejected) (or preference scores), those above 0. */
export const rankedRight = (margins: ArrayLike<number>): number => {
  let right = 0
  for (let i = 0; i < margins.length; i++) if (margins[i]! > 0) right++
  return right / margins.length
}

/** Accuracy over all pairs (i < j) whose gold rewards differ (and, given `groups`, that share a group). */
export const pairwiseAccuracy = (
  predicted: ArrayLike<number>,
  gold: ArrayLike<number>,
  groups?: ArrayLike<number>
): { readonly accuracy: number; readonly pairs: number } => {
  let correct = 0
  let pairs = 0
  for (let i = 0; i < gold.length; i++) {
    for (let j = i + 1; j < gold.length; j++) {
      if (groups !== undefined && groups[i] !== groups[j]) continue
      const g = gold[i]! - gold[j]!
      if (g === 0) continue
      pairs++
      if (Math.sign(predicted[i]! - predicted[j]!) === Math.sign(g)) correct++
    }
  }
  return { accuracy: pairs === 0 ? Number.NaN : correct / pairs, pairs }
}

/** Binary expected calibration error of probabilities against 0/1 outcomes, with `bins` equal-width bins. */
export const expectedCalibrationError = (probabilities: ArrayLike<number>, outcomes: ArrayLike<number>, bins = 10): number => {
  const count = new Array<number>(bins).fill(0)
  const sumP = new Array<number>(bins).fill(0)
  const sumY = new Array<number>(bins).fill(0)
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i]!
    const b = Math.min(bins - 1, Math.floor(p * bins))
    count[b]!++
    sumP[b]! += p
    sumY[b]! += outcomes[i]!
  }
  let ece = 0
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue
    ece += (count[b]! / probabilities.length) * Math.abs(sumY[b]! / count[b]! - sumP[b]! / count[b]!)
  }
  return ece
}

/** The k1, k2, k3 estimates of KL(π ‖ π_ref) from log-probabilities of samples drawn from π. */
export const klEstimators = (
  logProbs: ArrayLike<number>,
  refLogProbs: ArrayLike<number>
): { readonly k1: number; readonly k2: number; readonly k3: number } => {
  let k1 = 0
  let k2 = 0
  let k3 = 0
  const n = logProbs.length
  for (let i = 0; i < n; i++) {
    const logR = refLogProbs[i]! - logProbs[i]!
    k1 += -logR
    k2 += 0.5 * logR * logR
    k3 += Math.expm1(logR) - logR
  }
  return { k1: k1 / n, k2: k2 / n, k3: k3 / n }
}

/**
 * The mass Σ_{y ∈ Y(x)} π(y | x) a policy puts on each prompt's responses, given the prompt and
 * log π(y | x) of each distinct response: one sum per prompt, in the order prompts first appear.
 * The mass on the responses a preference dataset covers, and 1 − it the mass on the unseen ones.
 */
export const massPerPrompt = (responses: ReadonlyArray<{ readonly prompt: number; readonly logProb: number }>): Array<number> => {
  const mass = new Map<number, number>()
  for (const r of responses) mass.set(r.prompt, (mass.get(r.prompt) ?? 0) + Math.exp(r.logProb))
  return [...mass.values()]
}

/** A distinct response of a preference dataset: its prompt and its summed log-probability under a policy and its reference. */
export interface CoveredResponse {
  readonly prompt: number
  readonly logProb: number
  readonly referenceLogProb: number
}

/**
 * The likelihood of a preference dataset under a policy against its reference (see the
 * header): `responses` are the dataset's distinct responses, `pairs` index them. `covered`
 * and `referenceCovered` are the mean over prompts of the mass π and π_ref put on them.
 */
export const pairLikelihood = (
  responses: ReadonlyArray<CoveredResponse>,
  pairs: ReadonlyArray<{ readonly chosen: number; readonly rejected: number }>
): { readonly chosen: number; readonly rejected: number; readonly covered: number; readonly referenceCovered: number } => {
  const logRatio = (i: number) => responses[i]!.logProb - responses[i]!.referenceLogProb
  return {
    chosen: mean(pairs.map((p) => logRatio(p.chosen))),
    rejected: mean(pairs.map((p) => logRatio(p.rejected))),
    covered: mean(massPerPrompt(responses)),
    referenceCovered: mean(massPerPrompt(responses.map((r) => ({ prompt: r.prompt, logProb: r.referenceLogProb }))))
  }
}

/** Exact KL(p ‖ q) of two categorical distributions given as probabilities. */
export const categoricalKl = (p: ArrayLike<number>, q: ArrayLike<number>): number =>
  categoricalKlOfLogProbs(Array.from(p, Math.log), Array.from(q, Math.log))

/**
 * Exact KL(p ‖ q) of two categorical distributions given as log-probabilities:
 * Σ_i p_i·(log p_i − log q_i), over the i with p_i > 0.
 */
export const categoricalKlOfLogProbs = (logP: ArrayLike<number>, logQ: ArrayLike<number>): number => {
  let kl = 0
  for (let i = 0; i < logP.length; i++) if (logP[i]! > -Infinity) kl += Math.exp(logP[i]!) * (logP[i]! - logQ[i]!)
  return kl
}

/**
 * Exact KL(π ‖ π_ref) over responses of L tokens from a vocabulary of V, by the chain rule
 * over every prefix u of L − 1 tokens: Σ_u π(u)·[log π(u)/π_ref(u) + KL(π(· | u) ‖ π_ref(· | u))].
 * For each prefix, `logP[i]` and `logQ[i]` hold the log-probabilities of every token at each of
 * the L positions given the tokens before it (L·V values, position-major): log π(u_t | u_<t)
 * at positions t < L − 1, and the last token's distribution at position L − 1.
 */
export const chainRuleKl = (
  prefixes: ReadonlyArray<ReadonlyArray<number>>,
  logP: ReadonlyArray<Float32Array | Float64Array>,
  logQ: ReadonlyArray<Float32Array | Float64Array>,
  V: number
): number => {
  let kl = 0
  prefixes.forEach((u, i) => {
    const p = logP[i]!
    const q = logQ[i]!
    const L = u.length + 1
    let logPrefix = 0
    let logRatio = 0
    u.forEach((token, t) => {
      logPrefix += p[t * V + token]!
      logRatio += p[t * V + token]! - q[t * V + token]!
    })
    kl += Math.exp(logPrefix) * (logRatio + categoricalKlOfLogProbs(p.subarray((L - 1) * V, L * V), q.subarray((L - 1) * V, L * V)))
  })
  return kl
}

/**
 * Area under the ROC curve of `scores` for telling `positives` (true) from the rest:
 * the probability that a random positive scores higher than a random negative, ties
 * counting half (the Mann–Whitney U statistic over the product of the class sizes).
 */
export const auc = (scores: ReadonlyArray<number>, positives: ReadonlyArray<boolean>): number => {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0])
  // average ranks (1-based) with ties sharing their mean rank
  const ranks = new Array<number>(scores.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = (i + j) / 2 + 1
    i = j + 1
  }
  const nPos = positives.filter(Boolean).length
  const nNeg = positives.length - nPos
  if (nPos === 0 || nNeg === 0) return Number.NaN
  const rankSum = positives.reduce((s, p, i) => (p ? s + ranks[i]! : s), 0)
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg)
}

/**
 * Precision and recall of `flagged` as a detector of `positives`: the share of flagged
 * items that are positive, and the share of positives that are flagged (NaN when there
 * are no flagged items, resp. no positives).
 */
export const precisionRecall = (
  flagged: ReadonlyArray<boolean>,
  positives: ReadonlyArray<boolean>
): { readonly precision: number; readonly recall: number } => {
  const hits = flagged.filter((f, i) => f && positives[i]!).length
  const nFlagged = flagged.filter(Boolean).length
  const nPositive = positives.filter(Boolean).length
  return { precision: nFlagged === 0 ? Number.NaN : hits / nFlagged, recall: nPositive === 0 ? Number.NaN : hits / nPositive }
}

/** The 97.5% quantile of the standard normal: a two-sided 95% interval is mean ± 1.96·SE. */
export const z95 = 1.959963984540054

/**
 * The mean of `values` with a normal-approximation 95% confidence interval. Given
 * `clusters` (e.g. the prompt of each sample), values are averaged per cluster first
 * and the interval is over clusters, since samples of one prompt are not independent
 * draws from the prompt distribution; with a single cluster it is over the values.
 * The standard error uses the n − 1 sample variance; with one value the bounds are NaN.
 */
export const meanInterval = (
  values: ReadonlyArray<number>,
  clusters?: ReadonlyArray<number>
): { readonly mean: number; readonly lower: number; readonly upper: number } => {
  let units: ReadonlyArray<number> = values
  if (clusters !== undefined) {
    const sums = new Map<number, { sum: number; n: number }>()
    values.forEach((v, i) => {
      const c = sums.get(clusters[i]!) ?? { sum: 0, n: 0 }
      sums.set(clusters[i]!, { sum: c.sum + v, n: c.n + 1 })
    })
    if (sums.size > 1) units = [...sums.values()].map((c) => c.sum / c.n)
  }
  const n = units.length
  const m = mean(units)
  if (n < 2) return { mean: m, lower: Number.NaN, upper: Number.NaN }
  const se = Math.sqrt(sum(units.map((v) => (v - m) ** 2)) / (n - 1) / n)
  return { mean: m, lower: m - z95 * se, upper: m + z95 * se }
}

/**
 * Rows grouped by split, in the order train, test (each when it has rows), then "all"
 * when both are present, unless `all` is false.
 */
export const bySplit = <A extends { readonly split: string }>(
  rows: ReadonlyArray<A>,
  options: { readonly all?: boolean } = {}
): Array<[string, ReadonlyArray<A>]> => {
  const groups: Array<[string, ReadonlyArray<A>]> = (["train", "test"] as const)
    .map((split): [string, ReadonlyArray<A>] => [split, rows.filter((r) => r.split === split)])
    .filter(([, group]) => group.length > 0)
  return groups.length > 1 && options.all !== false ? [...groups, ["all", rows]] : groups
}
