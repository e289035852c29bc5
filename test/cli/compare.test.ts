// `pipeline compare`: two runs of a small pipeline, the second with another param of one node
// and one more seed. The param change shows on that node, its consumers as changed by their
// upstream, and the results side by side with deltas equal to hand-computed means.
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Statistics from "../../runtime/Statistics.ts"
import { helperInner, helperOuter, nodeModules } from "../fixtures/nodes.ts"
import { cli, tempProject } from "../helpers.ts"

// source(start = seed) → x = seed … seed + 4; scaled × factor; score (fixtures/nodes.ts) records total = factor · (5·seed + 10).
const project = {
  ...nodeModules,
  "helpers/outer.ts": helperOuter,
  "helpers/inner.ts": helperInner,
  "input.txt": "1\n2\n",
  "compare.ts": `import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { scaled } from "./nodes/scaled.ts"
import { score } from "./nodes/score.ts"
import { lines } from "./nodes/lines.ts"
export default Pipeline.make("compare", ({ seed }) => {
  const numbers = source({ n: 5, start: seed }, { name: "source" })
  return [score({ numbers: scaled({ numbers }, { name: "scaled" }) }, { name: "score" }), lines({}, { name: "lines" })]
})
`
}

describe("pipeline compare", () => {
  let dir = ""
  beforeAll(async () => {
    dir = tempProject(project)
    for (const args of [["--seeds", "0,1"], ["--seeds", "0,1,2", "--set", "scaled.factor=3"]]) {
      const run = await cli(["run", "compare.ts", ...args], dir)
      expect(run.code, run.stderr).toBe(0)
    }
  }, 120_000)
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("shows the param change on its node, its consumers as changed by upstream, and the results deltas", async () => {
    const compared = await cli(["compare", "1", "2"], dir)
    expect(compared.code, compared.stderr).toBe(0)
    const out = compared.stdout
    expect(out).toMatch(/^A  run 1 of compare \(.*compare\.ts\), started \S+, succeeded: pipeline run compare\.ts --seeds 0,1\n/)
    expect(out).toContain("B  run 2 of compare")
    expect(out).toContain(": pipeline run compare.ts --seeds 0,1,2 --set scaled.factor=3\n")
    const section = (title: string) => out.split("\n\n").find((block) => block.startsWith(`${title}\n`))!.split("\n").slice(1)
    expect(section("differences")).toEqual([
      "  only in B  3 nodes",
      "  params     2 nodes",
      "  upstream   2 nodes (2 with no other change)",
      "  unchanged  3 nodes (same key)"
    ])
    expect(section("nodes")).toEqual([
      "  + source[seed=2]  (test/source)  only in B",
      "  + scaled[seed=2]  (test/scaled)  only in B",
      "  + score[seed=2]  (test/score)  only in B",
      "  ~ scaled[seed=0]  (test/scaled)",
      "      params.factor: 2 → 3",
      "  ~ scaled[seed=1]  (test/scaled)",
      "      params.factor: 2 → 3",
      "  ~ score[seed=0]  (test/score)  upstream changed: scaled[seed=0]",
      "  ~ score[seed=1]  (test/score)  upstream changed: scaled[seed=1]",
      "  = 3 nodes unchanged (same key)"
    ])
    // totals: A (factor 2, seeds 0, 1) 20, 30; B (factor 3, seeds 0, 1, 2) 30, 45, 60
    const lines = out.split("\n")
    const header = lines.findIndex((line) => line.startsWith("n A"))
    expect(lines[header - 2]).toBe("results: mean ± 95% CI over seeds (n) in each run; Δ: B − A ± Welch's 95% interval")
    expect(lines[header]).toMatch(/^n A +n B +total A +total B +Δ total$/)
    expect(lines[header + 1]).toMatch(/^2 +3 +25 ± \S+ +45 ± \S+ +\+20 ± \S+$/)
  })

  it("--json gives the same as data: deltas are the hand-computed means with Welch's interval", async () => {
    const compared = await cli(["compare", "previous", "latest", "--json"], dir)
    expect(compared.code, compared.stderr).toBe(0)
    const data = JSON.parse(compared.stdout)
    expect([data.a.id, data.b.id, data.identical]).toEqual([1, 2, false])
    expect(data.counts).toEqual({
      onlyA: 0,
      onlyB: 3,
      unchanged: 3,
      changed: 4,
      upstreamOnly: 2,
      byComponent: { kind: 0, version: 0, params: 2, code: 0, inputs: 2, env: 0 }
    })
    const scaled = data.nodes.find((n: { label: string }) => n.label === "scaled[seed=1]")
    expect(scaled.change).toBe("changed")
    expect(scaled.changes).toEqual([{ component: "params", field: "factor", before: 2, after: 3, text: "params.factor: 2 → 3" }])
    expect(data.nodes.find((n: { label: string }) => n.label === "score[seed=1]")).toMatchObject({ change: "upstream", upstream: ["scaled[seed=1]"] })
    expect(data.nodes.find((n: { label: string }) => n.label === "score[seed=2]")).toMatchObject({ change: "onlyB", status: { a: null, b: "ran" } })
    const [row] = data.results.rows
    expect(row.seeds).toEqual({ a: 2, b: 3 })
    const total = row.metrics.total
    expect([total.a.mean, total.b.mean, total.delta.mean]).toEqual([25, 45, 20])
    const welch = Statistics.differenceInterval([30, 45, 60], [20, 30])
    expect(total.delta.low).toBeCloseTo(welch.low, 9)
    expect(total.delta.high).toBeCloseTo(welch.high, 9)
  })

  it("a run compared with itself has no differences; --format md writes Markdown", async () => {
    const same = await cli(["compare", "2", "2"], dir)
    expect(same.code, same.stderr).toBe(0)
    expect(same.stdout.split("\n").slice(2)).toEqual(["", "no differences", ""])
    const md = await cli(["compare", "1", "2", "--format", "md"], dir)
    expect(md.code, md.stderr).toBe(0)
    expect(md.stdout).toContain("## differences\n\n| difference | nodes |\n| --- | --- |\n| only in B | 3 nodes |")
    expect(md.stdout).toContain("- scaled[seed=0]  (test/scaled)\n  - params.factor: 2 → 3\n")
    expect(md.stdout).toMatch(/### score\n\n\| n A \| n B \| total A \| total B \| Δ total \|\n\| --- .*\n\| 2 \| 3 \| 25 ± \S+ \| 45 ± \S+ \| \+20 ± \S+ \|/)
  })

  it("an unknown run, a word that is not a run and a format compare has not fail with exit 2 and say why", async () => {
    const unknown = await cli(["compare", "1", "42"], dir)
    expect([unknown.code, unknown.stderr]).toEqual([2, "error: compare: no run 42 in this store (the latest are 2, 1; pipeline ls lists them)\n"])
    const word = await cli(["compare", "first", "2"], dir)
    expect([word.code, word.stderr]).toEqual([2, `error: compare: "first" is not a run id: a run's number, latest or previous (the latest are 2, 1; pipeline ls lists them)\n`])
    const csv = await cli(["compare", "1", "2", "--format", "csv"], dir)
    expect([csv.code, csv.stderr]).toEqual([2, `error: --format: "csv" is not a format of pipeline compare (one of: table, md, json)\n`])
    expect(unknown.stdout + word.stdout + csv.stdout).toBe("")
  })

  // (last: it adds run 3, which the error messages above would list)
  it("matches a one-seed run's nodes to a sweep's cells of that seed by their coordinates, not their labels", async () => {
    const run = await cli(["run", "compare.ts", "--seeds", "1"], dir)
    expect(run.code, run.stderr).toBe(0)
    const compared = await cli(["compare", "3", "2", "--json"], dir)
    expect(compared.code, compared.stderr).toBe(0)
    const { nodes } = JSON.parse(compared.stdout) as { nodes: Array<{ label: string; change: string }> }
    const changes = Object.fromEntries(nodes.map((n) => [n.label, n.change]))
    // run 3's source, scaled and score are run 2's [seed=1] ones: factor 2 → 3 changed scaled, and score through it
    expect(changes).toMatchObject({ "source[seed=1]": "unchanged", "scaled[seed=1]": "changed", "score[seed=1]": "upstream" })
    expect(nodes.filter((n) => n.change === "onlyA")).toEqual([])
    expect(nodes.filter((n) => n.label.includes("seed=1") && n.change === "onlyB")).toEqual([])
  })
})
