// The report's charts and page from a made-up sweep: what it shows, and that nothing from
// data or params reaches the page as markup.
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as Charts from "../../runtime/report/Charts.ts"
import * as Html from "../../runtime/report/Html.ts"
import * as Report from "../../runtime/report/Report.ts"
import * as Results from "../../runtime/Results.ts"

const hostile = "<script>alert(1)</script>"
const observations: Array<Results.Observation> = [0.03, 0.3, 3].flatMap((beta) =>
  [0, 1, 2].flatMap((seed) =>
    ["100", hostile].map((labels) => ({
      output: "point",
      coords: { labels, beta, seed },
      split: "test",
      metrics: { gold: 0.5 + 0.1 * seed - beta / 10, proxy: 1 + 1 / beta, kl: 3 - beta / 2 }
    }))
  )
)
const results = Results.aggregate(observations, { labels: "100", beta: 0.3 })
const curves: Array<Charts.Curve> = [0, 1].flatMap((seed) =>
  [0.03, 3].map((beta) => ({
    node: "rm",
    factors: { beta },
    seed,
    metric: "loss",
    points: Array.from({ length: 10 }, (_, step) => ({ step, value: 1 / (step + 1 + seed + beta) }))
  }))
)

describe("report charts", () => {
  it("a metric-by-factor chart per result metric, on the factor with the most values, one line per other cell", () => {
    const charts = Charts.metricCharts(results)
    expect(charts.map((c) => c.title)).toEqual(["point: gold by beta", "point: proxy by beta", "point: kl by beta"])
    const values = (charts[0]!.spec["data"] as { values: Array<{ series: string; x: number; n: number }> }).values
    expect(new Set(values.map((v) => v.series))).toEqual(new Set([`labels=100 (test)`, `labels=${hostile} (test)`]))
    expect(values.every((v) => v.n === 3)).toBe(true)
  })

  it("a cell shared by every value of a factor starts each value's line; a factor with 0 and values spanning 100× is on a symlog axis", () => {
    // no demonstrations has no quality: one node, shared by both quality lines
    const shared = Results.aggregate([
      { output: "final", coords: { demos: 0 }, split: "", metrics: { success: 0.3 } },
      ...[2, 10, 100].flatMap((demos) =>
        ["optimal", "noisy"].map((quality) => ({ output: "final", coords: { demos, quality }, split: "", metrics: { success: demos / 200 + (quality === "optimal" ? 0.3 : 0.2) } }))
      )
    ], { demos: 0 })
    const [chart] = Charts.metricCharts(shared)
    expect(chart!.title).toBe("final: success by demos")
    const values = (chart!.spec["data"] as { values: Array<{ series: string; x: number; mean: number }> }).values
    const line = (quality: string) => values.filter((v) => v.series === `quality=${quality}`).map((v) => [v.x, Number(v.mean.toFixed(10))])
    expect(line("optimal")).toEqual([[0, 0.3], [2, 0.31], [10, 0.35], [100, 0.8]])
    expect(line("noisy")).toEqual([[0, 0.3], [2, 0.21], [10, 0.25], [100, 0.7]])
    expect(values).toHaveLength(8)
    const layer = chart!.spec["layer"] as Array<{ encoding: { x: Record<string, unknown> } }>
    expect(layer[0]!.encoding.x).toMatchObject({ scale: { type: "symlog" }, axis: { values: [0, 2, 10, 100] } })
    // the beta sweep of the sweep above (0.03 to 3, no 0) stays on a log axis
    const beta = Charts.metricCharts(results)[0]!.spec["layer"] as typeof layer
    expect(beta[0]!.encoding.x["scale"]).toEqual({ type: "log" })
  })

  it("a frontier where an output has gold, proxy and KL; curves as mean over seeds with a band", () => {
    const [frontier] = Charts.frontierCharts(results)
    expect(frontier!.title).toBe("point: reward–KL frontier")
    // gold with its interval bars above, proxy below on a y scale of its own (a learned reward's offset is arbitrary)
    const panels = frontier!.spec["vconcat"] as Array<{ transform: Array<{ filter: { equal: string } }>; layer: Array<{ encoding: { y: { title: string } } }> }>
    expect(panels.map((p) => p.transform[0]!.filter.equal)).toEqual(["gold", "proxy"])
    expect(panels.map((p) => p.layer.length)).toEqual([2, 1])
    expect(panels.map((p) => p.layer[0]!.encoding.y.title)).toEqual(["gold reward", "proxy reward"])
    const values = (frontier!.spec["data"] as { values: Array<{ which: string; reward: number; kl: number }> }).values
    // beta = 3, labels = 100: gold 0.5 + 0.1·mean(seed) − 0.3 = 0.3, proxy 1 + 1/3, KL 1.5
    expect(values.find((v) => v.which === "gold" && v.kl === 1.5)?.reward).toBeCloseTo(0.3, 12)
    expect(values.filter((v) => v.which === "proxy" && v.kl === 1.5).map((v) => v.reward)).toEqual([4 / 3, 4 / 3])
    const [loss] = Charts.curveCharts(curves)
    const points = (loss!.spec["data"] as { values: Array<{ cell: string; step: number; mean: number; low: number; high: number }> }).values
    const first = points.find((p) => p.cell === "beta=0.03" && p.step === 0)!
    expect(first.mean).toBeCloseTo((1 / 1.03 + 1 / 2.03) / 2, 12)
    expect(first.low).toBeLessThan(first.mean)
    expect(points).toHaveLength(20)
  })
})

describe("report page", () => {
  it("renders every chart to SVG marks and escapes every string from data and params", async () => {
    const html = await Effect.runPromise(Report.make({
      title: `run 3 of ${hostile}`,
      facts: [`pipeline run sweep.ts --set rm.tag=${hostile}`],
      results,
      curves,
      nodes: [{ label: "rm", kind: "reward/bradleyTerry", status: "ran", inputs: { pairs: hostile }, params: { tag: hostile }, durationMs: 1200 }]
    }))
    expect(html).not.toMatch(/<script/i)
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? []
    expect(svgs).toHaveLength(5) // frontier, three metrics, one curve
    for (const svg of svgs) expect(svg).toMatch(/<path[^>]* d="M/)
    expect(html).toContain("<h2>Reward–KL frontier</h2>")
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)/) // nothing to fetch
  })

  it("interval bars on a text axis end in short ticks, not ones as wide as the axis' band", async () => {
    const methods = Results.aggregate(["bt", "gpm"].flatMap((method) =>
      [0, 1, 2].map((seed) => ({ output: "point", coords: { method, seed }, split: "test", metrics: { accuracy: 0.5 + 0.1 * seed + (method === "bt" ? 0 : 0.3) } }))
    ), { method: "bt" })
    const html = await Effect.runPromise(Report.make({ title: "methods", facts: [], results: methods, curves: [], nodes: [] }))
    const svg = Html.chartSvg(html, "point: accuracy by method")!
    const widths = [...svg.matchAll(/<path d="M[\d.-]+,[\d.-]+h([\d.]+)v1h-[\d.]+Z"/g)].map((m) => Number(m[1]))
    expect(widths.length).toBe(4) // a tick at each end of two bars
    for (const width of widths) expect(width).toBeLessThanOrEqual(10)
  })

  it("escape covers the five characters that matter", () => {
    expect(Html.escape(`<a href="x" title='y'>&</a>`)).toBe("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
  })
})
