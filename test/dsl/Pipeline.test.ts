import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { describe, expect, it } from "vitest"
import type { Json } from "../../dsl/Artifact.ts"
import * as Graph from "../../dsl/Graph.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { fit, generate, score } from "../fixtures/graph.ts"

const build = (pipeline: Pipeline.Pipeline, options?: Pipeline.BuildOptions) =>
  Effect.runSync(Pipeline.build(pipeline, options))

const buildError = (pipeline: Pipeline.Pipeline, options?: Pipeline.BuildOptions) => {
  const exit = Effect.runSyncExit(Pipeline.build(pipeline, options))
  if (Exit.isSuccess(exit)) throw new Error("expected the build to fail")
  return Effect.runSync(Effect.flip(Pipeline.build(pipeline, options)))
}

describe("Pipeline.build", () => {
  const chain = Pipeline.make("chain", () => {
    const numbers = generate({ n: 20 }, { name: "numbers" })
    return score({ model: fit({ numbers }, { name: "model" }), numbers }, { name: "scored" })
  })

  it("collects nodes in topological order with defaults filled in", () => {
    const graph = build(chain)
    expect(graph.nodes.map((n) => n.label)).toEqual(["numbers", "model", "scored"])
    expect(graph.nodes[0]!.node.params).toEqual({ n: 20, seed: 0 })
    expect(graph.nodes[1]!.node.params).toEqual({ lr: 0.1 })
    expect(graph.outputs).toEqual([graph.nodes[2]!.node.id])
  })

  it("fails on a bad param with the node, field and reason", () => {
    const error = buildError(Pipeline.make("bad", () => generate({ n: 1000 }, { name: "numbers" })))
    expect(error.message).toBe(`node "numbers": param "n": Expected a value less than or equal to 100 (got 1000)`)
  })

  it("applies --set overrides by node name and rejects unknown names and fields", () => {
    const graph = build(chain, { overrides: [{ node: "model", field: "lr", value: 0.5 }] })
    expect(graph.nodes[1]!.node.params).toEqual({ lr: 0.5 })
    expect(buildError(chain, { overrides: [{ node: "modle", field: "lr", value: 1 }] }).message).toContain(
      `no node named "modle" — did you mean "model"? (its nodes: numbers, model, scored)`
    )
    expect(buildError(chain, { overrides: [{ node: "model", field: "rate", value: 1 }] }).message).toContain(
      `fixture/fit has no param "rate" (its params: lr)`
    )
  })

  it("builds once per seed: seeded nodes differ, identical sub-graphs collapse", () => {
    const pipeline = Pipeline.make("seeds", () => {
      const shared = generate({ n: 5, seed: 42 }, { name: "shared" })
      const numbers = generate({ n: 5 }, { name: "numbers" })
      return score({ model: fit({ numbers: shared }, { name: "model" }), numbers }, { name: "scored" })
    })
    const graph = build(pipeline, { seeds: [0, 1, 2] })
    const labels = graph.nodes.map((n) => n.label).sort()
    expect(labels).toEqual([
      "model",
      "numbers[seed=0]",
      "numbers[seed=1]",
      "numbers[seed=2]",
      "scored[seed=0]",
      "scored[seed=1]",
      "scored[seed=2]",
      "shared"
    ])
    expect(graph.outputs).toHaveLength(3)
  })

  it("grid crosses factors, sweep zips them, and equal cells collapse", () => {
    const gridded = build(Pipeline.make("grid", () => {
      const numbers = generate({}, { name: "numbers" })
      return Pipeline.grid({ lr: [0.1, 0.2], n: [1, 2] }, ({ lr }) => fit({ numbers, lr }, { name: "fit" }))
    }))
    // n is not used by the cell body, so the 4 cells collapse into 2 fits
    expect(gridded.nodes.map((n) => n.label)).toEqual(["numbers", "fit[lr=0.1]", "fit[lr=0.2]"])
    const swept = build(Pipeline.make("sweep", () =>
      Pipeline.sweep({ n: [3, 4], seed: [7, 8] }, () => generate({}, { name: "numbers" }))
    ))
    expect(swept.nodes.map((n) => n.node.params)).toEqual([{ n: 10, seed: 7 }, { n: 10, seed: 8 }])
    expect(swept.nodes.map((n) => n.label)).toEqual(["numbers[n=3,seed=7]", "numbers[n=4,seed=8]"])
  })

  it("a baseline must name a cell of the sweep", () => {
    const swept = (baseline: Readonly<Record<string, Json>>) =>
      Pipeline.make("swept", () => Pipeline.grid({ n: [10, 20], lr: [0.1, 1] }, ({ n, lr }) => fit({ numbers: generate({ n }), lr })), { baseline })
    expect(build(swept({ n: 10, lr: 0.1 })).nodes.length).toBeGreaterThan(0)
    expect(build(swept({ lr: 1 })).nodes.length).toBeGreaterThan(0)
    expect(buildError(swept({ beta: 1 })).message).toBe(
      `pipeline "swept" failed while building its graph: baseline: "beta" is not a factor of its sweep (its factors: n, lr)`
    )
    expect(buildError(swept({ n: 30 })).message).toBe(`pipeline "swept" failed while building its graph: baseline {"n":30} matches no cell of its sweep`)
  })

  it("a node created outside the builder is refused by name", () => {
    const outside = Effect.runSync(Effect.sync(() => generate({}, { name: "stray" })))
    expect(buildError(Pipeline.make("stray-output", () => outside)).message).toContain(`node "stray" was created outside the function given to Pipeline.make`)
    expect(buildError(Pipeline.make("stray-input", () => fit({ numbers: outside }, { name: "fit" }))).message).toContain(`node "stray"`)
  })

  it("a builder that throws or returns no handles fails with the pipeline's name", () => {
    expect(buildError(Pipeline.make("broken", () => {
      throw new Error("boom")
    })).message).toBe(`pipeline "broken" failed while building its graph: boom`)
    expect(buildError(Pipeline.make("empty", () => 42)).message).toContain("returned no node handles")
  })

  it("a sweep over factors of different lengths fails naming the factors, keeping the ArgumentError as cause", () => {
    const error = buildError(Pipeline.make("uneven", () => Pipeline.sweep({ n: [3, 4], lr: [0.1] }, () => generate({}, { name: "numbers" }))))
    expect(error.message).toBe(`pipeline "uneven" failed while building its graph: sweep: factor "lr" has 1 values but "n" has 2`)
    expect(error._tag === "BuildError" && error.cause).toMatchObject({ _tag: "ArgumentError", function: "sweep", argument: `factor "lr"` })
  })

  it("an input wired to a handle of another artifact type fails at run time too (for untyped callers)", () => {
    const error = buildError(Pipeline.make("miswired", () => {
      const numbers = generate({}, { name: "numbers" })
      const model = fit({ numbers }, { name: "model" })
      return fit({ numbers: model as never }, { name: "fit" })
    }))
    expect(error.message).toContain(`input "numbers" expects Numbers but was given Weights`)
  })
})

describe("Graph.restrict", () => {
  const sweep = Pipeline.make("targets", () => {
    const numbers = generate({ n: 20 }, { name: "numbers" })
    const other = generate({ n: 5 }, { name: "other" })
    return [
      ...Pipeline.sweep({ lr: [0.1, 1] }, ({ lr }) => score({ model: fit({ numbers, lr }, { name: "model" }), numbers }, { name: "scored" })),
      score({ model: fit({ numbers: other }, { name: "lone" }), numbers: other }, { name: "loneScore" })
    ]
  })
  const graph = build(sweep)

  it("keeps the named nodes (every cell of a name, or one label) and what they need, in order", () => {
    const byName = Graph.restrict(graph, ["model"])
    if ("unknown" in byName) throw new Error(byName.unknown)
    expect(byName.nodes.map((n) => n.label)).toEqual(["numbers", "model[lr=0.1]", "model[lr=1]"])
    expect(byName.outputs.map((id) => byName.byId.get(id)!.label)).toEqual(["model[lr=0.1]", "model[lr=1]"])
    const byLabel = Graph.restrict(graph, ["scored[lr=1]", "lone"])
    if ("unknown" in byLabel) throw new Error(byLabel.unknown)
    expect(byLabel.nodes.map((n) => n.label)).toEqual(["numbers", "other", "model[lr=1]", "scored[lr=1]", "lone"])
  })

  it("names the first target that is no node", () => {
    expect(Graph.restrict(graph, ["model", "modle"])).toEqual({ unknown: "modle" })
  })
})
