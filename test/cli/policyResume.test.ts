import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { cli, events, filesUnder, runAndKill, summary, tempProject } from "../helpers.ts"

const project = {
  "dpo.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { data, label, policy } from "@ablate/nodes/index.ts"
import { dpo } from "@ablate/nodes/policy/dpo.ts"
export default Pipeline.make("dpo", () => {
  const task = data.sequenceTask({ gold: "markers", vocab: 6, promptLength: 2, responseLength: 4, prompts: 64 }, { name: "task" })
  const reference = policy.init({ task, width: 16 }, { name: "reference" })
  const pairs = label.responsePairs({ samples: data.sample({ policy: reference, task, n: 8 }), task, judge: task, pairing: "bestWorst" }, { name: "pairs" })
  return dpo({ policy: reference, reference, pairs, task, steps: 150, batch: 16, lr: 0.01 }, { name: "dpo" })
})
`
}

const dirs: Array<string> = []
const freshProject = () => {
  const dir = tempProject(project)
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

const dpoOf = (stdout: string) => summary(stdout).nodes.find((n) => n.label === "dpo")!
const metricsHash = (dir: string, key: string) =>
  (JSON.parse(fs.readFileSync(path.join(dir, ".ablate", "keys", `${key}.json`), "utf8")) as { metrics: { hash: string } }).metrics.hash
const dpoSteps = (stdout: string) => events(stdout).filter((e) => e["type"] === "progress" && e["label"] === "dpo").map((e) => Number(e["step"]))

describe("resumable policy training", () => {
  it("a DPO trainer killed with kill -9 after its first checkpoint resumes to the bytes and metrics of an uninterrupted run", async () => {
    const reference = freshProject()
    const uninterrupted = await cli(["run", "dpo.ts", "--json"], reference)
    expect(uninterrupted.code).toBe(0)

    const dir = freshProject()
    const checkpoints = path.join(dir, ".ablate", "checkpoints")
    await runAndKill(["run", "dpo.ts", "--json"], dir, (out) => (dpoSteps(out).at(-1) ?? 0) >= 60 && filesUnder(checkpoints).length > 0)
    expect(filesUnder(checkpoints)).toHaveLength(1)

    const resumed = await cli(["run", "dpo.ts", "--json"], dir)
    expect(resumed.code).toBe(0)
    const firstStep = dpoSteps(resumed.stdout)[0]!
    expect(firstStep).toBeGreaterThan(50)
    expect(firstStep % 50).toBe(1)
    expect(dpoOf(resumed.stdout).status).toBe("ran")
    expect(dpoOf(resumed.stdout).hash).toBe(dpoOf(uninterrupted.stdout).hash)
    expect(metricsHash(dir, dpoOf(resumed.stdout).key)).toBe(metricsHash(reference, dpoOf(uninterrupted.stdout).key))
    expect(filesUnder(checkpoints)).toEqual([])
  })
})
