/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no script, nothing
 * fetched) with the run's header, its results tables, its charts, and the pipeline's
 * graph as a table of nodes with their inputs, params and cache status. Every string
 * that comes from data, params or labels goes through `escape`.
 */
import type { Json } from "../../dsl/Artifact.ts"
import * as ResultsFormat from "../cli/ResultsFormat.ts"
import type * as Results from "../Results.ts"

/** Text as HTML: `&`, `<`, `>`, `"` and `'` as entities. */
export const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

/** A node of the pipeline as the report lists it. */
export interface NodeRow {
  readonly label: string
  readonly kind: string
  readonly status: string
  /** input name → the label of the node it comes from */
  readonly inputs: Readonly<Record<string, string>>
  readonly params: Readonly<Record<string, Json>>
  readonly durationMs: number | undefined
}

/** A chart rendered to SVG. */
export interface RenderedChart {
  readonly title: string
  readonly svg: string
}

export interface Page {
  readonly title: string
  /** lines under the title: command, store, when */
  readonly facts: ReadonlyArray<string>
  readonly results: Results.Table
  readonly sections: ReadonlyArray<{ readonly heading: string; readonly charts: ReadonlyArray<RenderedChart> }>
  readonly nodes: ReadonlyArray<NodeRow>
}

const style = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #1d2330; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #d8dce4; }
.facts { color: #5a6272; margin: 0; padding: 0; list-style: none; }
table { border-collapse: collapse; margin: .75rem 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #e3e6ec; padding: .25rem .6rem; text-align: left; vertical-align: top; }
th { background: #f3f5f8; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .25rem; }
code { font-size: 12px; word-break: break-all; }
.failed { color: #b3261e; } .cached { color: #5a6272; }`

const htmlTable = (rows: ReadonlyArray<ReadonlyArray<string>>, header = true): string => {
  const [head, ...body] = rows
  const cells = (row: ReadonlyArray<string>, tag: "th" | "td") => row.map((cell) => `<${tag}>${escape(cell)}</${tag}>`).join("")
  return `<table>${header && head !== undefined ? `<thead><tr>${cells(head, "th")}</tr></thead>` : ""}<tbody>${
    (header ? body : rows).map((row) => `<tr>${cells(row, "td")}</tr>`).join("")
  }</tbody></table>`
}

const resultsSection = (results: Results.Table): string => {
  if (results.rows.length === 0) return `<p>No node of this pipeline declares results.</p>`
  return ResultsFormat.outputsOf(results)
    .map((output) => `<h3>${escape(output)}</h3>${htmlTable(ResultsFormat.textRows(results, output))}`)
    .join("")
}

/** HTML text as text: the entities `escape` writes, back. */
export const unescape = (html: string): string =>
  html.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => ({ amp: "&", lt: "<", gt: ">", quot: "\"", "#39": "'" })[name]!)

const figureStart = (title: string): string => `<figure><figcaption>${escape(title)}</figcaption>`

const chartSection = (charts: ReadonlyArray<RenderedChart>): string =>
  `<div class="charts">${charts.map((chart) => `${figureStart(chart.title)}${chart.svg}</figure>`).join("")}</div>`

/** The titles of the charts of a page `page` made, in order. */
export const chartTitles = (html: string): Array<string> =>
  [...html.matchAll(/<figure><figcaption>(.*?)<\/figcaption>/g)].map((match) => unescape(match[1]!))

/** The SVG of the chart titled `title` in a page `page` made, if it has one (for a figure of its own). */
export const chartSvg = (html: string, title: string): string | undefined => {
  const start = figureStart(title)
  const at = html.indexOf(start)
  return at < 0 ? undefined : html.slice(at + start.length, html.indexOf("</figure>", at))
}

const nodesSection = (nodes: ReadonlyArray<NodeRow>): string => {
  const rows = nodes.map((node) => {
    const inputs = Object.entries(node.inputs).map(([name, from]) => `${name} ← ${from}`)
    const params = Object.entries(node.params).map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    const time = node.durationMs === undefined || node.status !== "ran" ? "" : ` in ${(node.durationMs / 1000).toFixed(2)}s`
    return `<tr><td>${escape(node.label)}</td><td>${escape(node.kind)}</td><td class="${escape(node.status)}">${escape(node.status)}${time}</td><td>${inputs.map(escape).join("<br>")}</td><td><code>${params.map(escape).join("<br>")}</code></td></tr>`
  })
  return `<table><thead><tr><th>node</th><th>kind</th><th>status</th><th>inputs</th><th>params</th></tr></thead><tbody>${rows.join("")}</tbody></table>`
}

/** The whole page. */
export const page = (content: Page): string =>
  `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(content.title)}</title><style>${style}</style></head>
<body>
<h1>${escape(content.title)}</h1>
<ul class="facts">${content.facts.map((fact) => `<li>${escape(fact)}</li>`).join("")}</ul>
<h2>Results</h2>
${resultsSection(content.results)}
${content.sections.filter((s) => s.charts.length > 0).map((s) => `<h2>${escape(s.heading)}</h2>\n${chartSection(s.charts)}`).join("\n")}
<h2>Graph</h2>
${nodesSection(content.nodes)}
</body></html>
`
