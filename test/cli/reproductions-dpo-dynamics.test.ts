// The reproduction of docs/reproductions/dpo-dynamics.md in a reduced configuration (the same
// pipeline file, a shorter SFT and DPO through --set, one seed), asserting what the page
// reports from the run's own results table: DPO drives the rejected responses' likelihood down
// far faster than the chosen ones', and the chosen and unseen ones' down too; on-policy pairs
// do not soften this (unseen responses fall further); an SFT term keeps the chosen likelihood up.
// Bounds checked on seeds 0, 1 and 2 of this configuration.
import { describe, expect, it } from "vitest"
import { runResults } from "../helpers.ts"

describe("reproductions (reduced)", () => {
  it("dpo-dynamics: rejected likelihood falls fast, chosen and unseen fall too, on-policy pairs do not help, an SFT term keeps the chosen up", async () => {
    const mean = await runResults("pipelines/dpo-dynamics.ts", ["reference.steps=150", "dpo.steps=80", "dpo.trackEvery=20"])
    const delta = (pairs: string, sft: number, responses: "chosen" | "rejected" | "unseen") => mean("dpo", { pairs, sft }, `delta/${responses}`)
    for (const pairs of ["offPolicy", "onPolicy"]) {
      // drastic drop of the rejected likelihood, at least twice as far as the chosen one falls
      expect(delta(pairs, 0, "rejected")).toBeLessThan(-12)
      expect(delta(pairs, 0, "rejected")).toBeLessThan(2 * delta(pairs, 0, "chosen"))
      // degradation: the chosen likelihood falls as well, and so do the reference's other responses
      expect(delta(pairs, 0, "chosen")).toBeLessThan(-1)
      expect(delta(pairs, 0, "unseen")).toBeLessThan(-3)
      // the SFT term on the chosen responses keeps them up and slows the rejected ones' fall
      expect(delta(pairs, 1, "chosen")).toBeGreaterThan(0.5)
      expect(delta(pairs, 1, "chosen") - delta(pairs, 0, "chosen")).toBeGreaterThan(3)
      expect(delta(pairs, 1, "rejected") - delta(pairs, 0, "rejected")).toBeGreaterThan(10)
    }
    // on-policy pairs do not soften the degradation here: unseen responses fall further, the chosen ones no less
    expect(delta("onPolicy", 0, "unseen")).toBeLessThan(delta("offPolicy", 0, "unseen") - 2)
    expect(delta("onPolicy", 0, "chosen")).toBeLessThan(delta("offPolicy", 0, "chosen") + 0.5)
  })
})
