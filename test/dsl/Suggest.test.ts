import { describe, expect, it } from "vitest"
import { didYouMean, editDistance, nearest } from "../../dsl/internal/Suggest.ts"

describe("Suggest", () => {
  it("edit distance matches hand-counted edits", () => {
    expect(editDistance("", "")).toBe(0)
    expect(editDistance("", "abc")).toBe(3) // three insertions
    expect(editDistance("kitten", "sitting")).toBe(3) // k→s, e→i, +g
    expect(editDistance("flaw", "lawn")).toBe(2) // -f, +n
    expect(editDistance("rmm", "rm")).toBe(1) // one deletion
    expect(editDistance("factr", "factor")).toBe(1) // one insertion
    expect(editDistance("ab", "ba")).toBe(1) // one swap (plain Levenshtein says 2)
    expect(editDistance("scalde", "scaled")).toBe(1)
    expect(editDistance("ca", "abc")).toBe(3) // optimal string alignment: no edit of a swapped pair
  })

  it("is symmetric", () => {
    for (const [a, b] of [["policy", "polcy"], ["rm", "reward"], ["labels", "lables"]] as const) {
      expect(editDistance(a, b)).toBe(editDistance(b, a))
    }
  })

  it("suggests the nearest names only when they are a slip away", () => {
    const nodes = ["task", "labels", "features", "rm"]
    expect(nearest("rmm", nodes)).toEqual(["rm"])
    expect(nearest("lables", nodes)).toEqual(["labels"])
    expect(nearest("featurs", nodes)).toEqual(["features"])
    expect(nearest("nosuch", nodes)).toEqual([]) // too far from every name
    expect(nearest("x", ["rm"])).toEqual([]) // two edits would turn any short name into any other
    expect(nearest("rm", nodes)).toEqual([]) // an exact match is not a suggestion
    expect(nearest("abc", ["abd", "xbc", "abcde"])).toEqual(["abd", "xbc"]) // every candidate at the smallest distance
  })

  it("phrases the suggestion, or nothing", () => {
    expect(didYouMean("rmm", ["task", "rm", "rm"])).toBe(` — did you mean "rm"?`)
    expect(didYouMean("zzz", ["task", "rm"])).toBe("")
  })
})
