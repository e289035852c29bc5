/**
 * "Did you mean ...?" for a name that matches nothing: the candidates nearest to it by
 * edit distance (Damerau–Levenshtein in its optimal-string-alignment form, so a swapped
 * pair of letters counts as one edit). Used where a user names a node that a pipeline does
 * not have (`--set rmm.lr=1` → "rm").
 */

/** The fewest insertions, deletions, substitutions and swaps of adjacent characters that turn `a` into `b`. */
export const editDistance = (a: string, b: string): number => {
  // d[i][j]: the distance between the first i characters of a and the first j of b
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + substitution)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/**
 * The candidates nearest to `name` (all those at the smallest distance, in their order),
 * if that distance is small enough to be a slip: at most 2, and less than half the length
 * of the longer of the two. Empty when nothing is near.
 */
export const nearest = (name: string, candidates: Iterable<string>): ReadonlyArray<string> => {
  const scored = [...new Set(candidates)]
    .map((candidate) => ({ candidate, distance: editDistance(name, candidate) }))
    .filter(({ candidate, distance }) => distance > 0 && distance <= 2 && 2 * distance < Math.max(name.length, candidate.length))
  const best = Math.min(...scored.map((s) => s.distance))
  return scored.filter((s) => s.distance === best).map((s) => s.candidate)
}

/** ` (did you mean "rm"?)`, or "" when no candidate is near. */
export const didYouMean = (name: string, candidates: Iterable<string>): string => {
  const near = nearest(name, candidates)
  return near.length === 0 ? "" : ` — did you mean ${near.map((c) => `"${c}"`).join(" or ")}?`
}
