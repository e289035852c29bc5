/**
 * Drawing labelled pairs of distinct items: `pairs` among the training items and
 * `testPairs` among the held-out ones, each labelled by `winner(a, b)` (true when
 * `a` is preferred). Shared by the label nodes, which differ only in the oracle.
 */
import type { Random } from "../../dsl/Random.ts"

interface Item {
  readonly item: number
  readonly split: "train" | "test"
}

export const drawPairs = <A extends Item>(
  items: ReadonlyArray<A>,
  counts: { readonly pairs: number; readonly testPairs: number },
  rng: Random,
  winner: (a: A, b: A) => boolean,
  /** pairs the oracle has no opinion on are redrawn */
  comparable: (a: A, b: A) => boolean = () => true
): Array<{ chosen: number; rejected: number; split: "train" | "test" }> =>
  (["train", "test"] as const).flatMap((split) => {
    const count = split === "train" ? counts.pairs : counts.testPairs
    if (count === 0) return []
    const pool = items.filter((item) => item.split === split)
    if (pool.length < 2) throw new Error(`needs at least 2 ${split} items to draw ${split} pairs, the task has ${pool.length}`)
    return Array.from({ length: count }, () => {
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const a = pool[rng.int(pool.length)]!
        const b = pool[rng.int(pool.length)]!
        if (a.item === b.item || !comparable(a, b)) continue
        return winner(a, b) ? { chosen: a.item, rejected: b.item, split } : { chosen: b.item, rejected: a.item, split }
      }
      throw new Error(`could not draw a comparable ${split} pair in 10000 tries`)
    })
  })
