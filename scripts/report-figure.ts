/**
 * A chart of a `pipeline report` page as an SVG file of its own, for a figure in the docs:
 *
 *   npx node scripts/report-figure.ts <report.html> "<chart title>" <figure.svg>
 *
 * The title is the chart's caption in the report (`accuracy: accuracy by noise`); an unknown
 * title lists the report's charts. The SVG is written whole or not at all.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import * as Html from "../runtime/report/Html.ts"

const usage = `usage: node scripts/report-figure.ts <report.html> "<chart title>" <figure.svg>`

const fail = (message: string): never => {
  console.error(`report-figure: ${message}`)
  process.exit(2)
}

const args = process.argv.slice(2)
if (args.length !== 3) fail(`expected 3 arguments, got ${args.length}\n${usage}`)
const [report, title, out] = args as [string, string, string]

let html = ""
try {
  html = fs.readFileSync(report, "utf8")
} catch (cause) {
  fail(`cannot read the report ${report}: ${cause instanceof Error ? cause.message : String(cause)}`)
}
const svg = Html.chartSvg(html, title)
if (svg === undefined) {
  const titles = Html.chartTitles(html)
  fail(titles.length === 0
    ? `${report} has no charts (is it a page \`pipeline report\` wrote?)`
    : `${report} has no chart titled "${title}"; its charts:\n${titles.map((t) => `  ${t}`).join("\n")}`)
} else {
  // a temp file beside the target, renamed over it: a reader never sees half a figure
  const temp = path.join(path.dirname(out), `.${path.basename(out)}.${process.pid}.tmp`)
  try {
    fs.writeFileSync(temp, `${svg}\n`)
    fs.renameSync(temp, out)
  } catch (cause) {
    fs.rmSync(temp, { force: true })
    fail(`cannot write ${out}: ${cause instanceof Error ? cause.message : String(cause)}`)
  }
  console.log(`wrote ${out} (${svg.length} bytes)`)
}
