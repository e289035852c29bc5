import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cli, events, filesUnder, runAndKill, summary, tempProject } from "../helpers.ts"

const project = {
  "train.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { data, label, reward } from "@ablate/nodes/index.ts"
export default Pipeline.make("train", () => {
  const task = data.preferenceTask({ items: 400, features: 8 }, { name: "task" })
  const pairs = label.bradleyTerry({ task, pairs: 2000 }, { name: "labels" })
  return reward.bradleyTerry({ pairs: data.pairFeatures({ pairs, task }), hidden: 32, steps: 2000 }, { name: "rm" })
})
`
}

const rmOf = (stdout: string) => summary(stdout).nodes.find((n) => n.label === "rm")!
const metricsHash = (dir: string, key: string) =>
  (JSON.parse(fs.readFileSync(path.join(dir, ".ablate", "keys", `${key}.json`), "utf8")) as { metrics: { hash: string } }).metrics.hash

describe("resumable training", () => {
  it("a training node killed with kill -9 continues from its checkpoint and ends bit-identical to an uninterrupted run", async () => {
    const reference = tempProject(project)
    const uninterrupted = await cli(["run", "train.ts", "--json"], reference)
    expect(uninterrupted.code).toBe(0)

    const dir = tempProject(project)
    const checkpoints = path.join(dir, ".ablate", "checkpoints")
    await runAndKill(["run", "train.ts", "--json"], dir, (out) => {
      const steps = events(out).filter((e) => e["type"] === "progress").map((e) => Number(e["step"]))
      return (steps.at(-1) ?? 0) >= 420 && filesUnder(checkpoints).length > 0
    })
    expect(filesUnder(checkpoints)).toHaveLength(1)

    const resumed = await cli(["run", "--json", "train.ts"], dir)
    expect(resumed.code).toBe(0)
    const firstStep = Number(events(resumed.stdout).find((e) => e["type"] === "progress" && e["label"] === "rm")!["step"])
    expect(firstStep).toBeGreaterThan(400)
    expect(firstStep % 50).toBe(1)
    expect(rmOf(resumed.stdout).status).toBe("ran")
    expect(rmOf(resumed.stdout).hash).toBe(rmOf(uninterrupted.stdout).hash)
    expect(metricsHash(dir, rmOf(resumed.stdout).key)).toBe(metricsHash(reference, rmOf(uninterrupted.stdout).key))
    expect(filesUnder(checkpoints)).toEqual([])
  })

  it("a checkpoint left under another key is ignored, kept by gc, and removed by gc --checkpoints", async () => {
    const dir = tempProject(project)
    const checkpoints = path.join(dir, ".ablate", "checkpoints")
    await runAndKill(["run", "train.ts", "--json"], dir, () => filesUnder(checkpoints).length > 0)
    const changed = await cli(["run", "train.ts", "--json", "--set", "rm.lr=0.03"], dir)
    expect(changed.code).toBe(0)
    const firstStep = Number(events(changed.stdout).find((e) => e["type"] === "progress" && e["label"] === "rm")!["step"])
    expect(firstStep).toBe(1)
    // the old key's checkpoint stays (a run of the old params would resume from it); the new key left none
    const left = filesUnder(checkpoints)
    expect(left).toHaveLength(1)
    const bytes = fs.statSync(path.join(checkpoints, left[0]!)).size
    const gc = await cli(["gc", "--json"], dir)
    expect(JSON.parse(gc.stdout)).toMatchObject({ checkpoints: 0, checkpointBytes: 0 })
    expect(filesUnder(checkpoints)).toEqual(left)
    // only gc --checkpoints removes it
    const all = await cli(["gc", "--checkpoints"], dir)
    expect(all.code).toBe(0)
    expect(all.stdout).toMatch(new RegExp(`and 1 checkpoint \\(${bytes} bytes\\) from `))
    expect(filesUnder(checkpoints)).toEqual([])
  })
})
