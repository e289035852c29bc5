// A report's chart as an SVG file of its own (scripts/report-figure.ts over Html.chartSvg):
// found by its caption, whatever the caption's characters, and nothing written for a title
// the report lacks.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Html from "../../runtime/report/Html.ts"
import * as Results from "../../runtime/Results.ts"
import { node, repo } from "../helpers.ts"

const svg = (label: string) => `<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><text>${label}</text></svg>`
const titles = ["accuracy: accuracy by noise", `odd <b>&"'</b> title`]
const page = Html.page({
  title: "run 1",
  facts: [],
  results: Results.aggregate([]),
  sections: [{ heading: "Results by factor", charts: titles.map((title, i) => ({ title, svg: svg(`chart ${i}`) })) }],
  nodes: []
})

describe("a report's charts by title", () => {
  it("lists the titles as written and gives each chart's SVG", () => {
    expect(Html.chartTitles(page)).toEqual(titles)
    expect(Html.chartSvg(page, titles[0]!)).toBe(svg("chart 0"))
    expect(Html.chartSvg(page, titles[1]!)).toBe(svg("chart 1"))
    expect(Html.chartSvg(page, "accuracy")).toBeUndefined()
    expect(Html.unescape(Html.escape(titles[1]!))).toBe(titles[1])
  })

  it("scripts/report-figure.ts writes the chart, or exits 2 naming the charts there are", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "report-figure-"))
    const report = path.join(dir, "report.html")
    fs.writeFileSync(report, page)
    const run = (...args: Array<string>) => spawnSync(node, [path.join(repo, "scripts", "report-figure.ts"), ...args], { encoding: "utf8" })
    const out = path.join(dir, "figure.svg")
    const good = run(report, titles[1]!, out)
    expect(good.status).toBe(0)
    expect(fs.readFileSync(out, "utf8")).toBe(`${svg("chart 1")}\n`)
    const missing = path.join(dir, "missing.svg")
    const bad = run(report, "accuracy: ece by noise", missing)
    expect(bad.status).toBe(2)
    expect(bad.stderr).toContain(`has no chart titled "accuracy: ece by noise"; its charts:\n  ${titles[0]}`)
    expect(fs.existsSync(missing)).toBe(false)
    expect(run(report).status).toBe(2)
    expect(fs.readdirSync(dir).sort()).toEqual(["figure.svg", "report.html"])
  })
})
