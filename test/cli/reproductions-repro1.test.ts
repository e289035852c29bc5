// The reproductions of docs/reproductions/cyclic-preferences.md and label-noise.md in reduced
// configurations (the same pipeline files, smaller through --set, one seed): each asserts the
// page's qualitative finding from the run's own results table.
import { describe, expect, it } from "vitest"
import { runResults } from "../helpers.ts"

describe("reproductions (reduced)", () => {
  it("cyclic-preferences: GPM beats Bradley–Terry on cyclic preferences and matches it on transitive ones", async () => {
    const mean = await runResults("pipelines/cyclic-preferences.ts", ["task.items=200", "labels.pairs=500", "labels.testPairs=200", "rm.steps=200"])
    const accuracy = (preferences: string, model: string) => mean("accuracy", { preferences, model }, "accuracy", "test")
    expect(accuracy("cyclic", "gpm")).toBeGreaterThan(0.85)
    // no scalar reward gets more than 2 of the 3 class relations right
    expect(accuracy("cyclic", "bt")).toBeLessThan(2 / 3)
    for (const model of ["bt", "gpm"]) expect(accuracy("transitive", model)).toBeGreaterThan(0.9)
    expect(Math.abs(accuracy("transitive", "gpm") - accuracy("transitive", "bt"))).toBeLessThan(0.03)
  })

  it("label-noise: noise costs accuracy, preference strength finds the flipped pairs, and relabelling them wins it back", async () => {
    const mean = await runResults("pipelines/label-noise.ts", [
      "task.items=300", "labels.pairs=600", "ensemble.members=3", "ensemble.steps=150", "rm.steps=150"
    ])
    const accuracy = (noise: number, method: string) => mean("accuracy", { noise, method }, "accuracy")
    expect(accuracy(0, "none") - accuracy(0.4, "none")).toBeGreaterThan(0.2)
    for (const noise of [0.1, 0.2]) {
      expect(mean("detection", { noise }, "auc")).toBeGreaterThan(0.9)
      for (const method of ["drop", "flip"]) expect(accuracy(noise, method) - accuracy(noise, "none")).toBeGreaterThan(0.05)
    }
    for (const noise of [0.3, 0.4]) expect(mean("detection", { noise }, "auc")).toBeGreaterThan(0.6)
    expect(accuracy(0.1, "margin") - accuracy(0.1, "none")).toBeGreaterThan(0.05)
  })
})
