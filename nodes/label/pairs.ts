/**
 * Drawing labelled pairs of distinct items of the same prompt: `pairs` among the
 * training items and `testPairs` among the held-out ones. An oracle gives each pair a verdict; label
 * noise then reverses a fraction `noise` of the preferences (not the ties), and the
 * pair records that it did. Shared by the label nodes, which differ only in the oracle.
 */
import { InputError } from "../../dsl/Errors.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import { preferenceProbability } from "./math.ts"

interface Item {
  readonly item: number
  readonly prompt: number
  readonly split: "train" | "test"
}

/** An oracle's verdict on a pair (a, b). */
export type Verdict = "a" | "b" | "tie"

/** A Bradley–Terry draw: "a" with probability P(a ≻ b) = σ((r_a − r_b) / T), else "b" (one uniform from `rng`). */
export const bradleyTerryVerdict = (rng: Random, rewardA: number, rewardB: number, temperature: number): "a" | "b" =>
  rng.uniform() < preferenceProbability(rewardA, rewardB, temperature) ? "a" : "b"

export interface PairCounts {
  readonly pairs: number
  readonly testPairs: number
  /** probability of reversing a preference */
  readonly noise?: number
}

/** The pair-count params of a label node, with its defaults; `per` names who labels each count ("each annotator"). */
export const pairCountParams = (defaults: { readonly pairs: number; readonly testPairs: number }, per?: string) => ({
  pairs: Param.int({ default: defaults.pairs, min: 1, description: per === undefined ? "Number of labelled training pairs" : `Training pairs labelled by ${per}` }),
  testPairs: Param.int({ default: defaults.testPairs, min: 0, description: per === undefined ? "Number of labelled pairs among held-out items" : `Held-out pairs labelled by ${per}` })
})

export const drawPairs = <A extends Item>(
  items: ReadonlyArray<A>,
  counts: PairCounts,
  rng: Random,
  verdict: (a: A, b: A) => Verdict,
  /** pairs the oracle has no opinion on are redrawn */
  comparable: (a: A, b: A) => boolean = () => true
): Array<
  { chosen: number; rejected: number; tie: boolean; flipped: boolean; user: string; source: string; components: Array<number>; split: "train" | "test" }
> =>
  (["train", "test"] as const).flatMap((split) => {
    const count = split === "train" ? counts.pairs : counts.testPairs
    if (count === 0) return []
    const pool = items.filter((item) => item.split === split)
    if (pool.length < 2) throw new InputError({ input: "task", reason: `needs at least 2 ${split} items to draw ${split} pairs, the task has ${pool.length}` })
    return Array.from({ length: count }, () => {
      for (let attempt = 0; attempt < 10_000; attempt++) {
        const a = pool[rng.int(pool.length)]!
        const b = pool[rng.int(pool.length)]!
        if (a.item === b.item || a.prompt !== b.prompt || !comparable(a, b)) continue
        const said = verdict(a, b)
        if (said === "tie") return { chosen: a.item, rejected: b.item, tie: true, flipped: false, user: "", source: "", components: [], split }
        const flipped = (counts.noise ?? 0) > 0 && rng.uniform() < counts.noise!
        const aWins = (said === "a") !== flipped
        return { chosen: aWins ? a.item : b.item, rejected: aWins ? b.item : a.item, tie: false, flipped, user: "", source: "", components: [], split }
      }
      throw new InputError({ input: "task", reason: `could not draw a comparable ${split} pair in 10000 tries` })
    })
  })
