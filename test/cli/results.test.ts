// The researcher's loop after a run: its results table (printed, kept with the run, and on
// demand from the pipeline file or the run id) and the HTML report, opened in headless Chromium.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sweepPipeline } from "../fixtures/sweep.ts"
import { cli, tempProject } from "../helpers.ts"

const chromium = ["chromium", "chromium-browser"].find((name) => spawnSync("which", [name]).status === 0)

describe("results and report", () => {
  let dir = ""
  let run: Awaited<ReturnType<typeof cli>>
  beforeAll(async () => {
    dir = tempProject({ "sweep.ts": sweepPipeline })
    run = await cli(["run", "sweep.ts", "--seeds", "0,1,2"], dir)
  }, 180_000)
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("a sweep over seeds ends with one row per cell: mean ± CI over the seeds and Δ vs the baseline", () => {
    expect(run.code, run.stderr).toBe(0)
    const lines = run.stdout.split("\n")
    const header = lines.findIndex((line) => line.startsWith("beta  split  n"))
    expect(lines[header - 2]).toBe("results: mean ± 95% CI over seeds (n); Δ: difference from the baseline cell")
    expect(lines[header]).toMatch(/^beta +split +n +gold +Δ gold +proxy +Δ proxy +kl +Δ kl$/)
    expect(lines[header + 1]).toMatch(/^1 +test +3 \(baseline\) +\S+ ± \S+ +— /)
    expect(lines[header + 2]).toMatch(/^0\.1 +test +3 +\S+ ± \S+ +[+-]\S+ ± \S+ /)
    // 33 nodes: too many to list in the summary once the results say what they computed
    expect(run.stdout).not.toMatch(/^node +kind +status/m)
  })

  it("pipeline results reads the same table from the pipeline file, from the run, and in every format", async () => {
    const fromFile = await cli(["results", "sweep.ts", "--seeds", "0,1,2", "--format", "json"], dir)
    const fromRun = await cli(["results", "1", "--json"], dir)
    expect(fromFile.code, fromFile.stderr).toBe(0)
    const table = JSON.parse(fromFile.stdout)
    expect(JSON.parse(fromRun.stdout)).toEqual(table)
    expect(table.rows.map((r: { factors: unknown; seeds: number; baseline: boolean }) => [r.factors, r.seeds, r.baseline])).toEqual([
      [{ beta: 1 }, 3, true],
      [{ beta: 0.1 }, 3, false]
    ])
    const md = await cli(["results", "1", "--format", "md"], dir)
    expect(md.stdout.split("\n").slice(0, 3)).toEqual(["### point", "", "| beta | split | n | gold | Δ gold | proxy | Δ proxy | kl | Δ kl |"])
    const csv = await cli(["results", "sweep.ts", "--seeds", "0,1,2", "--format", "csv"], dir)
    expect(csv.stdout.split("\n")[1]).toMatch(/^point,1,test,3,true,/)
    // fewer seeds than ran: the table of what those seeds computed
    const one = JSON.parse((await cli(["results", "sweep.ts", "--seeds", "1", "--json"], dir)).stdout)
    expect(one.rows.map((r: { seeds: number }) => r.seeds)).toEqual([1, 1])
  })

  it("results of what is not there fail with exit 2 and say why", async () => {
    const never = await cli(["results", "sweep.ts", "--seeds", "7"], dir)
    expect([never.code, never.stderr]).toEqual([2, "error: no results for sweep.ts with these seeds: run it first (pipeline run sweep.ts), or no node of it declares results\n"])
    const noRun = await cli(["results", "42"], dir)
    expect([noRun.code, noRun.stderr]).toEqual([2, "error: no run 42 in this store (pipeline ls lists the runs)\n"])
    const format = await cli(["results", "1", "--format", "xlsx"], dir)
    expect([format.code, format.stderr]).toEqual([2, `error: --format: "xlsx" is not a format of pipeline results (one of: table, md, csv, json)\n`])
  })

  it.skipIf(chromium === undefined && process.env["CI"] === undefined)(
    "pipeline report writes one offline HTML file that Chromium renders: charts with marks, text escaped, no console errors",
    async () => {
      const report = await cli(["report", "1", "-o", "report.html"], dir)
      expect(report.code, report.stderr).toBe(0)
      expect(report.stdout).toMatch(/^wrote report\.html: 2 result rows, \d+ charts \(\d+ bytes\)\n$/)
      const file = path.join(dir, "report.html")
      const html = fs.readFileSync(file, "utf8")
      expect(html).not.toMatch(/<script/i)
      expect(html).toContain("&lt;script&gt;rm&lt;/script&gt;")
      if (chromium === undefined) throw new Error("CI is set but chromium is not installed (.ci/run installs it)")
      const browse = (...flags: Array<string>) =>
        spawnSync(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", ...flags, `file://${file}`], {
          cwd: dir,
          encoding: "utf8",
          timeout: 60_000
        })
      const shot = browse("--window-size=1200,2400", `--screenshot=${path.join(dir, "report.png")}`)
      const png = fs.readFileSync(path.join(dir, "report.png"))
      expect(png.subarray(1, 4).toString()).toBe("PNG")
      expect(png.length).toBeGreaterThan(50_000) // a page of tables and charts, not a blank one
      const dom = browse("--dump-dom").stdout
      const svgs = dom.match(/<svg[\s\S]*?<\/svg>/g) ?? []
      expect(svgs.length).toBeGreaterThanOrEqual(5) // frontier, gold, proxy, kl, training curves
      for (const svg of svgs) expect(svg).toMatch(/<path[^>]* d="M[\d.]/)
      for (const title of ["point: reward–KL frontier", "point: gold by beta", "&lt;script&gt;rm&lt;/script&gt;: loss"]) expect(dom).toContain(title)
      expect(dom).not.toContain("<script>rm")
      for (const log of [shot.stderr, dom]) expect(log).not.toMatch(/CONSOLE\(\d+\)|Uncaught|net::ERR_/)
    },
    120_000
  )
})
