// The reproduction of docs/reproductions/offline-data.md in a reduced configuration (the same
// pipeline file, with 160 PPO steps instead of 400 and fewer levels, one seed), asserting the
// findings the page reports from the run's own results table. The bounds held on seeds 0, 1
// and 2 of this configuration with room to spare (see the page).
import { describe, expect, it } from "vitest"
import { runResults } from "../helpers.ts"

describe("reproductions (reduced)", () => {
  it("offline-data: cloning 10 or 100 demonstrations before PPO beats PPO from scratch, optimal ones more than noisy ones; 2 change little", async () => {
    const mean = await runResults("pipelines/offline-data.ts", ["ppo.steps=160", "levels.envs=200", "heldOut.envs=50"])
    const success = (output: string, demos: number, quality?: string) =>
      mean(output, quality === undefined ? { demos } : { demos, quality }, "success")
    const scratch = success("final", 0)
    for (const quality of ["optimal", "noisy"]) {
      // more demonstrations, higher held-out success after the same PPO budget
      expect(success("final", 100, quality)).toBeGreaterThan(success("final", 10, quality) + 0.05)
      expect(success("final", 10, quality)).toBeGreaterThan(success("final", 2, quality))
      expect(success("final", 10, quality) - scratch).toBeGreaterThan(0.08)
      expect(success("final", 100, quality) - scratch).toBeGreaterThan(0.3)
      // two demonstrations: no clear gain (and no clear loss)
      expect(Math.abs(success("final", 2, quality) - scratch)).toBeLessThan(0.2)
    }
    // PPO improves on the cloned policies it starts from, on average (at this budget not on each)
    const cells = [2, 10, 100].flatMap((demos) => ["optimal", "noisy"].map((quality) => [demos, quality] as const))
    const gain = cells.reduce((total, [demos, quality]) => total + success("final", demos, quality) - success("start", demos, quality), 0)
    expect(gain / cells.length).toBeGreaterThan(0.03)
    // the optimal demonstrator's help exceeds the noisy one's, before PPO and after
    for (const demos of [10, 100]) {
      for (const output of ["start", "final"]) expect(success(output, demos, "optimal")).toBeGreaterThan(success(output, demos, "noisy") + 0.05)
    }
  })
})
