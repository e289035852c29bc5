import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cli, events, repo, statuses, summary } from "../helpers.ts"

const quickstart = "pipelines/quickstart.ts"

/** Node labels in a summary, in order. */
const labels = (stdout: string) => summary(stdout).nodes.map((n) => n.label)

// The tests of this block share one store, in order: each builds on what the one before left.
describe("pipeline run, plan and verify with target nodes", () => {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-targets-"))
  const pipeline = async (command: string, ...args: Array<string>) => {
    const result = await cli([command, quickstart, ...args, "--store", store], repo)
    expect(result.stderr, result.stdout).toBe("")
    expect(result.code).toBe(0)
    return result.stdout
  }

  it("runs only the target and what it needs, and keeps only them in the run log", async () => {
    const out = await pipeline("run", "features", "--json")
    expect(statuses(out)).toEqual({ task: "ran", labels: "ran", features: "ran" })
    expect(summary(out).outputs.map((o) => o.label)).toEqual(["features"])
    expect(events(out).filter((e) => e["label"] === "rm" || e["label"] === "accuracy")).toEqual([])
    const ls = JSON.parse((await cli(["ls", "--json", "--store", store], repo)).stdout.split("\n")[0]!) as Record<string, unknown>
    expect(ls).toMatchObject({ id: summary(out).runId, nodes: 3, ran: 3, status: "succeeded" })
  })

  it("plans only the target and what it needs", async () => {
    const plan = JSON.parse(await pipeline("plan", "rm", "--json")) as { nodes: Array<{ label: string; status: string }> }
    expect(plan.nodes.map((n) => [n.label, n.status])).toEqual([["task", "hit"], ["labels", "hit"], ["features", "hit"], ["rm", "miss"]])
    expect(await pipeline("plan", "labels")).toMatch(/^quickstart: 2 nodes, 2 cached, 0 to run\n.*task.*\n.*labels/)
  })

  it("a later full run finds the targeted nodes cached", async () => {
    const out = await pipeline("run", "--json")
    expect(statuses(out)).toEqual({ task: "cached", labels: "cached", features: "cached", rm: "ran", accuracy: "ran" })
  })

  it("a targeted and an untargeted run are never answered from each other's replay record", async () => {
    const full = summary(await pipeline("run", "--json"))
    expect(full.nodes).toHaveLength(5)
    expect(full.replayOf).toBeDefined()
    // a target not run before: planned anew, though the full run's record would hold
    const first = await pipeline("run", "labels", "--json")
    expect(summary(first).replayOf).toBeUndefined()
    expect(statuses(first)).toEqual({ task: "cached", labels: "cached" })
    const again = summary(await pipeline("run", "labels", "--json"))
    expect(again.replayOf).toBe(summary(first).runId)
    expect(again.nodes.map((n) => n.label)).toEqual(["task", "labels"])
    const fullAgain = summary(await pipeline("run", "--json"))
    expect(fullAgain.replayOf).toBe(full.replayOf)
    expect(fullAgain.nodes).toHaveLength(5)
  })

  it("verify recomputes only the target and what it needs", async () => {
    const report = JSON.parse(await pipeline("verify", "labels", "--json")) as { checked: Array<string>; mismatches: Array<unknown> }
    expect(report).toEqual({ checked: ["task", "labels"], mismatches: [] })
  })

  it("a target may be a label: that seed's or cell's node only", async () => {
    const out = await pipeline("run", "features[seed=1]", "labels[seed=0]", "--seeds", "0,1", "--json")
    expect(labels(out)).toEqual(["task[seed=0]", "labels[seed=0]", "task[seed=1]", "labels[seed=1]", "features[seed=1]"])
    expect(summary(out).outputs.map((o) => o.label)).toEqual(["labels[seed=0]", "features[seed=1]"])
  })

  it("an unknown target is a usage error naming it and suggesting the nearest node, before anything runs", async () => {
    const runs = (await cli(["ls", "--json", "--store", store], repo)).stdout
    const typo = await cli(["run", quickstart, "rm", "acuracy", "--store", store], repo)
    expect(typo.code).toBe(2)
    expect(typo.stderr).toBe(
      `error: target acuracy: pipeline "quickstart" has no node named "acuracy" — did you mean "accuracy"? (its nodes: task, labels, features, rm, accuracy)\n`
    )
    const label = await cli(["plan", quickstart, "rm[seed=3]", "--seeds", "0,1", "--store", store, "--json"], repo)
    expect(label.code).toBe(2)
    expect(label.stderr).toContain(`has no node named "rm[seed=3]" — did you mean "rm[seed=0]" or "rm[seed=1]"?`)
    expect(events(label.stdout)).toMatchObject([{ type: "error", tag: "ConfigError" }])
    expect((await cli(["verify", quickstart, "nothing", "--store", store], repo)).code).toBe(2)
    expect((await cli(["ls", "--json", "--store", store], repo)).stdout).toBe(runs)
  })
})
