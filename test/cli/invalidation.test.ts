import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { chainProject } from "../fixtures/nodes.ts"
import { cli, statuses, tempProject } from "../helpers.ts"

// One project, edited step by step: each change must rerun exactly the nodes it affects.
describe("invalidation through real `pipeline run` processes", () => {
  let dir: string
  const run = async (...args: Array<string>) => {
    const result = await cli(["run", "chain.ts", "--json", ...args], dir)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    return statuses(result.stdout)
  }
  const edit = (file: string, from: string, to: string) => {
    const target = path.join(dir, file)
    const text = fs.readFileSync(target, "utf8")
    expect(text).toContain(from)
    fs.writeFileSync(target, text.replace(from, to))
  }

  beforeAll(async () => {
    dir = tempProject(chainProject)
    expect(await run()).toEqual({ source: "ran", scaled: "ran", sum: "ran", lines: "ran" })
  })

  it("a second run is all cache hits", async () => {
    expect(await run()).toEqual({ source: "cached", scaled: "cached", sum: "cached", lines: "cached" })
  })

  it("changing a param reruns that node and its consumers", async () => {
    expect(await run("--set", "scaled.factor=3")).toEqual({ source: "cached", scaled: "ran", sum: "ran", lines: "cached" })
  })

  it("changing the bytes of an input file reruns the node that reads it", async () => {
    fs.writeFileSync(path.join(dir, "input.txt"), "1\n2\n3\n4\n")
    expect(await run()).toEqual({ source: "cached", scaled: "cached", sum: "cached", lines: "ran" })
  })

  it("editing a helper two imports away reruns the nodes whose code imports it", async () => {
    edit("helpers/inner.ts", "a * b", "b * a")
    // only scaled imports the helper; it reproduces its bytes, so sum stays cached
    expect(await run()).toEqual({ source: "cached", scaled: "ran", sum: "cached", lines: "cached" })
  })

  it("a node whose rerun produces different bytes reruns its consumers", async () => {
    edit("helpers/inner.ts", "b * a", "b * a + 1")
    expect(await run()).toEqual({ source: "cached", scaled: "ran", sum: "ran", lines: "cached" })
  })

  it("editing one node's module reruns that node only", async () => {
    edit("nodes/source.ts", "n numbers starting at start", "n numbers from start")
    expect(await run()).toEqual({ source: "ran", scaled: "cached", sum: "cached", lines: "cached" })
  })

  it("editing an unrelated module reruns nothing", async () => {
    fs.writeFileSync(path.join(dir, "unrelated.ts"), "export const x = 1\n")
    expect(await run()).toEqual({ source: "cached", scaled: "cached", sum: "cached", lines: "cached" })
  })

  it("plan --explain names the changed param and marks only that node and its consumers", async () => {
    const result = await cli(["plan", "chain.ts", "--set", "scaled.factor=5", "--explain"], dir)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/✓ source\s+hit/)
    expect(result.stdout).toMatch(/✗ scaled\s+miss.*\(params\)/)
    expect(result.stdout).toContain("params.factor: 2 → 5")
    expect(result.stdout).toMatch(/✗ sum\s+miss.*\(upstream\)/)
    expect(result.stdout).toMatch(/✓ lines\s+hit/)
  })

  it("plan --explain names the edited file for a code change", async () => {
    edit("helpers/inner.ts", "b * a + 1", "b * a + 2")
    const result = await cli(["plan", "chain.ts", "--explain", "--json"], dir)
    const plan = JSON.parse(result.stdout) as { nodes: Array<{ label: string; status: string; changes: Array<{ text: string }> }> }
    const scaled = plan.nodes.find((n) => n.label === "scaled")!
    expect(scaled.status).toBe("miss")
    expect(scaled.changes.map((c) => c.text)).toContain("code: helpers/inner.ts edited")
  })

  it("--force reruns a cached node", async () => {
    await run()
    expect(await run("--force", "source")).toEqual({ source: "ran", scaled: "cached", sum: "cached", lines: "cached" })
  })
})
