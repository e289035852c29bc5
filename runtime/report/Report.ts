/**
 * `pipeline report`: a run's results, charts and graph as one self-contained HTML file.
 * Charts.ts makes the Vega-Lite specs, `vega-lite` compiles them to Vega, and `vega`
 * renders each to SVG in this process (no browser, no CDN); Html.ts lays out the page.
 */
import * as Effect from "effect/Effect"
import type * as Results from "../Results.ts"
import * as Charts from "./Charts.ts"
import * as Html from "./Html.ts"

/** What a report shows. */
export interface Input {
  readonly title: string
  readonly facts: ReadonlyArray<string>
  readonly results: Results.Table
  readonly curves: ReadonlyArray<Charts.Curve>
  readonly nodes: ReadonlyArray<Html.NodeRow>
}

/** Render one Vega-Lite spec to SVG. */
const toSvg = (spec: Charts.Spec) =>
  Effect.promise(async () => {
    // loaded only here: the rest of the CLI does not pay for them
    const [vega, vegaLite] = await Promise.all([import("vega"), import("vega-lite")])
    const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec
    const view = new vega.View(vega.parse(compiled), { renderer: "none" })
    try {
      return await view.toSVG()
    } finally {
      view.finalize()
    }
  })

const render = (charts: ReadonlyArray<Charts.Chart>) =>
  Effect.forEach(charts, (chart) => toSvg(chart.spec).pipe(Effect.map((svg) => ({ title: chart.title, svg }))))

/** The report's HTML. */
export const make = (input: Input): Effect.Effect<string> =>
  Effect.gen(function*() {
    const sections = [
      { heading: "Reward–KL frontier", charts: yield* render(Charts.frontierCharts(input.results)) },
      { heading: "Results by factor", charts: yield* render(Charts.metricCharts(input.results)) },
      { heading: "Training curves", charts: yield* render(Charts.curveCharts(input.curves)) }
    ]
    return Html.page({ title: input.title, facts: input.facts, results: input.results, sections, nodes: input.nodes })
  })
