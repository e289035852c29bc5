import { describe, expect, it } from "vitest"
import * as Eta from "../../runtime/cli/Eta.ts"

describe("a trainer's ETA", () => {
  it("is its remaining steps at the rate since its first report, less the time since its latest", () => {
    // steps 1 → 11 in 2000 ms: 200 ms a step; 90 steps left
    expect(Eta.trainerEta({ step: 1, at: 1000 }, { step: 11, at: 3000 }, 101, 3000)).toBe(18_000)
    expect(Eta.trainerEta({ step: 1, at: 1000 }, { step: 11, at: 3000 }, 101, 3500)).toBe(17_500)
    expect(Eta.trainerEta({ step: 1, at: 1000 }, { step: 11, at: 3000 }, 101, 60_000)).toBe(0)
    expect(Eta.trainerEta({ step: 1, at: 1000 }, { step: 101, at: 9000 }, 101, 9000)).toBe(0)
  })

  it("of a trainer resumed from a checkpoint counts only the steps done in this run", () => {
    // resumed at step 151 of 300: 10 steps in 1000 ms, 139 left
    expect(Eta.trainerEta({ step: 151, at: 0 }, { step: 161, at: 1000 }, 300, 1000)).toBe(13_900)
  })

  it("is unknown until a few steps are in", () => {
    expect(Eta.trainerEta({ step: 1, at: 0 }, { step: 1, at: 0 }, 100, 0)).toBeUndefined()
    expect(Eta.trainerEta({ step: 1, at: 0 }, { step: 1 + Eta.minSteps - 1, at: 500 }, 100, 500)).toBeUndefined()
    expect(Eta.trainerEta({ step: 1, at: 0 }, { step: 1 + Eta.minSteps, at: 300 }, 100, 300)).toBe((100 - 1 - Eta.minSteps) * 100)
  })
})

describe("the run's ETA", () => {
  const means = Eta.meanDurations([
    { kind: "data", durationMs: 100 },
    { kind: "data", durationMs: 300 },
    { kind: "train", durationMs: 5000 }
  ])

  it("pools the durations of the computed nodes of each kind", () => {
    expect(means).toEqual(new Map([["data", 200], ["train", 5000]]))
  })

  it("takes a running trainer's own ETA, else its kind's mean less what it has run", () => {
    expect(Eta.nodeEta({ state: "running", kind: "train", elapsedMs: 1000, etaMs: 700 }, means)).toBe(700)
    expect(Eta.nodeEta({ state: "running", kind: "train", elapsedMs: 1000, etaMs: undefined }, means)).toBe(4000)
    expect(Eta.nodeEta({ state: "running", kind: "train", elapsedMs: 9000, etaMs: undefined }, means)).toBe(0)
    expect(Eta.nodeEta({ state: "queued", kind: "data" }, means)).toBe(200)
    expect(Eta.nodeEta({ state: "queued", kind: "eval" }, means)).toBeUndefined()
  })

  it("shares the work over the nodes run at once, never ending before the longest node", () => {
    const left: ReadonlyArray<Eta.Unfinished> = [
      { state: "queued", kind: "data" },
      { state: "queued", kind: "data" },
      { state: "running", kind: "train", elapsedMs: 2000, etaMs: 1000 }
    ]
    expect(Eta.runEta(left, means, 1)).toBe(1400)
    // 1400 over 2 slots is 700, but the trainer alone needs 1000
    expect(Eta.runEta(left, means, 2)).toBe(1000)
    const four: ReadonlyArray<Eta.Unfinished> = Array.from({ length: 4 }, () => ({ state: "queued", kind: "data" }))
    expect(Eta.runEta(four, means, 2)).toBe(400)
    // more slots than nodes: each node has its own
    expect(Eta.runEta(four.slice(0, 2), means, 8)).toBe(200)
    expect(Eta.runEta([], means, 2)).toBe(0)
  })

  it("is unknown while a node's kind has never been computed in the run", () => {
    expect(Eta.runEta([{ state: "queued", kind: "data" }, { state: "queued", kind: "eval" }], means, 2)).toBeUndefined()
  })
})

describe("a duration as shown", () => {
  it("reads in the largest units that keep it short", () => {
    const shown = [0, 850, 999.4, 999.6, 4200, 9949, 9950, 42_000, 59_600, 72_000, 3_599_000, 3_600_000, 7_500_000].map(Eta.formatDuration)
    expect(shown).toEqual(["0ms", "850ms", "999ms", "1.0s", "4.2s", "9.9s", "10s", "42s", "1m00s", "1m12s", "59m59s", "1h00m", "2h05m"])
  })
})
