/**
 * Pairwise accuracy: the fraction of item pairs with different gold rewards that a
 * reward model orders the same way as the gold reward (ties in the model count as wrong).
 */

/** Accuracy over all pairs (i < j) whose gold rewards differ. */
export const pairwiseAccuracy = (
  predicted: ArrayLike<number>,
  gold: ArrayLike<number>
): { readonly accuracy: number; readonly pairs: number } => {
  let correct = 0
  let pairs = 0
  for (let i = 0; i < gold.length; i++) {
    for (let j = i + 1; j < gold.length; j++) {
      const g = gold[i]! - gold[j]!
      if (g === 0) continue
      pairs++
      if (Math.sign(predicted[i]! - predicted[j]!) === Math.sign(g)) correct++
    }
  }
  return { accuracy: pairs === 0 ? Number.NaN : correct / pairs, pairs }
}
