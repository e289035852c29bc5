import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { nodeModules } from "../fixtures/nodes.ts"
import { cli, events, expectStoreIntact, outputHashes, runAndKill, statuses, summary, tempProject } from "../helpers.ts"

const project = {
  ...nodeModules,
  "crash.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { slow } from "./nodes/slow.ts"
import { sum } from "./nodes/sum.ts"
export default Pipeline.make("crash", () => {
  const numbers = source({ n: 50 }, { name: "source" })
  return sum({ numbers: slow({ numbers, steps: 100, ms: 50 }, { name: "slow" }) }, { name: "sum" })
})
`
}

describe("crash safety", () => {
  it("kill -9 mid-run, then a rerun completes with the same outputs as an uninterrupted run", async () => {
    const reference = tempProject(project)
    const uninterrupted = await cli(["run", "crash.ts", "--json"], reference)
    expect(uninterrupted.code).toBe(0)

    const dir = tempProject(project)
    // kill once the source is stored and the slow node is part-way through
    const { stdout } = await runAndKill(["run", "crash.ts", "--json"], dir, (out) =>
      /"type":"progress","id":"\w+","label":"slow","step":1\d/.test(out))
    expect(events(stdout).some((e) => e["type"] === "done" && e["label"] === "source")).toBe(true)
    expect(events(stdout).some((e) => e["type"] === "done" && e["label"] === "slow")).toBe(false)
    // the run log kept what the killed run did: the run shows as killed, with the node it finished
    const log = JSON.parse((await cli(["ls", "--json"], dir)).stdout.trim()) as { status: string; ran: number }
    expect([log.status, log.ran]).toEqual(["killed", 1])

    // a dead process's half-written temp file, as a kill during a write would leave it
    const store = path.join(dir, ".ablate")
    fs.writeFileSync(path.join(store, "tmp", `999999~${(await import("node:os")).hostname()}~abcdef`), "partial")

    const rerun = await cli(["run", "crash.ts", "--json"], dir)
    expect(rerun.code).toBe(0)
    expect(statuses(rerun.stdout)).toEqual({
      source: "cached",
      slow: "ran",
      sum: "ran"
    })
    expect(outputHashes(rerun.stdout)).toEqual(outputHashes(uninterrupted.stdout))
    expectStoreIntact(store)
  })

  it("Ctrl-C stops the run with status 130, keeps finished nodes cached and leaves no lock or temp file", async () => {
    const dir = tempProject(project)
    // 200 steps of 50 ms: the signal lands long before the slow node could finish, even on a loaded machine
    const { stdout, code } = await runAndKill(
      ["run", "crash.ts", "--json", "--set", "slow.steps=200"],
      dir,
      (out) => /"label":"slow","step":5/.test(out),
      "SIGINT"
    )
    expect(events(stdout).some((e) => e["type"] === "done" && e["label"] === "slow")).toBe(false)
    expect(code).toBe(130)
    expectStoreIntact(path.join(dir, ".ablate"))
    const ls = await cli(["ls", "--json"], dir)
    expect(JSON.parse(ls.stdout.trim()).status).toBe("interrupted")
    const rerun = await cli(["run", "crash.ts", "--json"], dir)
    expect(statuses(rerun.stdout)).toEqual({
      source: "cached",
      slow: "ran",
      sum: "ran"
    })
  })

  it("two runs started together on one store compute each node once and both succeed", async () => {
    const dir = tempProject(project)
    const [a, b] = await Promise.all([cli(["run", "crash.ts", "--json"], dir), cli(["run", "crash.ts", "--json"], dir)])
    expect(a.code).toBe(0)
    expect(b.code).toBe(0)
    const ran = [...summary(a.stdout).nodes, ...summary(b.stdout).nodes].filter((n) => n.status === "ran").map((n) => n.label)
    expect(ran.sort()).toEqual(["slow", "source", "sum"])
    expect(outputHashes(a.stdout)).toEqual(outputHashes(b.stdout))
    expectStoreIntact(path.join(dir, ".ablate"))
  })
})
