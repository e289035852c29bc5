import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import type { KeyRecord } from "../../runtime/ArtifactStore.ts"
import * as CacheKey from "../../runtime/CacheKey.ts"
import * as Plan from "../../runtime/Plan.ts"
import { fit, generate, score, train } from "../fixtures/graph.ts"

// Plans are computed from a graph and a store snapshot; nothing runs in these tests.
const pipeline = Pipeline.make("plan", () => {
  const numbers = generate({ n: 20 }, { name: "numbers" })
  const other = generate({ n: 30 }, { name: "other" })
  const model = fit({ numbers }, { name: "model" })
  return [score({ model, numbers }, { name: "scored" }), score({ model, numbers: other }, { name: "scoredOther" })]
})

// The same shape with a tensor node (`trained`) among plain ones.
const withTensors = Pipeline.make("plan-tensors", () => {
  const numbers = generate({ n: 20 }, { name: "numbers" })
  const model = fit({ numbers }, { name: "model" })
  const trained = train({ numbers }, { name: "trained" })
  return [score({ model, numbers }, { name: "scored" }), score({ model: trained, numbers }, { name: "scoredTrained" })]
})

const code: CacheKey.CodeFingerprint = { hash: "code-v1", files: { "test/fixtures/graph.ts": "v1" }, packages: {} }

const build = (overrides: ReadonlyArray<Pipeline.Override> = [], of = pipeline) =>
  Effect.runSync(Pipeline.build(of, { overrides }))

const emptySnapshot = (graph: ReturnType<typeof build>, fingerprint = code): Plan.Snapshot => ({
  code: new Map(graph.nodes.map(({ node }) => [node.kind.module, fingerprint])),
  env: { backend: "wasm" },
  index: new Map(),
  previous: new Map(),
  forced: new Set(),
  files: new Map()
})

/** Pretend every node ran: a snapshot whose index holds each node's key with a made-up output hash. */
const afterRun = (graph: ReturnType<typeof build>, snapshot: Plan.Snapshot, outputOf = (label: string) => `out:${label}`) => {
  const index = new Map<string, KeyRecord>()
  const previous = new Map<string, CacheKey.Components>()
  const hashes = new Map<string, string>()
  for (const { node, label } of graph.nodes) {
    const inputs = Object.fromEntries(Object.entries(node.inputs).map(([name, input]) => [name, hashes.get(input.id)!]))
    const components = Plan.componentsOf(node, snapshot, inputs)
    const key = CacheKey.make(components)
    const output = { hash: outputOf(label), format: "table" as const, type: "Numbers", bytes: 1 }
    index.set(key, { key, node: { kind: node.kind.kind, label }, output, metrics: output, finalMetrics: {}, components, durationMs: 1, createdAt: "" })
    previous.set(label, components)
    hashes.set(node.id, output.hash)
  }
  return { ...snapshot, index, previous }
}

const statusOf = (plan: Plan.Plan) => Object.fromEntries(plan.nodes.map((n) => [n.label, `${n.status}${n.reasons.length ? `:${n.reasons.join("+")}` : ""}`]))

describe("Plan.make", () => {
  it("marks every node of a fresh store a miss: roots new, the rest upstream", () => {
    const graph = build()
    expect(statusOf(Plan.make(graph, emptySnapshot(graph)))).toEqual({
      numbers: "miss:new",
      other: "miss:new",
      model: "miss:upstream+new",
      scored: "miss:upstream+new",
      scoredOther: "miss:upstream+new"
    })
  })

  it("marks everything a hit after a run", () => {
    const graph = build()
    const plan = Plan.make(graph, afterRun(graph, emptySnapshot(graph)))
    expect(plan.nodes.every((n) => n.status === "hit")).toBe(true)
  })

  it("a changed param misses that node and its downstream only, naming the param", () => {
    const graph = build()
    const snapshot = afterRun(graph, emptySnapshot(graph))
    const changed = build([{ node: "model", field: "lr", value: 0.5 }])
    const plan = Plan.make(changed, { ...snapshot, code: emptySnapshot(changed).code })
    expect(statusOf(plan)).toEqual({
      numbers: "hit",
      other: "hit",
      model: "miss:params",
      scored: "miss:upstream",
      scoredOther: "miss:upstream"
    })
    expect(plan.byId.get(changed.nodes[2]!.node.id)!.changes.map(CacheKey.describe)).toEqual(["params.lr: 0.1 → 0.5"])
  })

  it("changed code misses every node of that kind's module, naming the file", () => {
    const graph = build()
    const snapshot = afterRun(graph, emptySnapshot(graph))
    const edited = { hash: "code-v2", files: { "test/fixtures/graph.ts": "v2" }, packages: {} }
    const plan = Plan.make(graph, { ...snapshot, code: emptySnapshot(graph, edited).code })
    expect(plan.nodes.every((n) => n.status === "miss")).toBe(true)
    expect(plan.nodes[0]!.changes.map(CacheKey.describe)).toEqual(["code: test/fixtures/graph.ts edited"])
  })

  it("a changed upstream artifact misses its consumers with reason inputs", () => {
    const graph = build()
    const ran = afterRun(graph, emptySnapshot(graph))
    // the store now says `other` produces different bytes (e.g. its input file changed and it reran)
    const rerun = afterRun(graph, emptySnapshot(graph), (label) => (label === "other" ? "out:other-v2" : `out:${label}`))
    const plan = Plan.make(graph, { ...rerun, previous: ran.previous })
    expect(statusOf(plan)).toEqual({ numbers: "hit", other: "hit", model: "hit", scored: "hit", scoredOther: "hit" })
    const onlyOtherRerun = { ...ran, index: new Map([...ran.index, ...[...rerun.index].filter(([, r]) => r.node.label === "other")]) }
    const plan2 = Plan.make(graph, onlyOtherRerun)
    expect(statusOf(plan2)).toEqual({ numbers: "hit", other: "hit", model: "hit", scored: "hit", scoredOther: "miss:inputs" })
  })

  it("forced nodes miss even when cached; env changes miss only tensor nodes", () => {
    const graph = build()
    const snapshot = afterRun(graph, emptySnapshot(graph))
    const plan = Plan.make(graph, { ...snapshot, forced: new Set([graph.nodes[0]!.node.id]) })
    expect(statusOf(plan)["numbers"]).toBe("miss:forced")
    expect(statusOf(plan)["model"]).toBe("miss:upstream")
    const cpu = Plan.make(graph, { ...snapshot, env: { backend: "cpu" } })
    expect(cpu.nodes.every((n) => n.status === "hit")).toBe(true)
    const tensorGraph = build([], withTensors)
    const tensorSnapshot = afterRun(tensorGraph, emptySnapshot(tensorGraph))
    const onCpu = Plan.make(tensorGraph, { ...tensorSnapshot, env: { backend: "cpu" } })
    expect(statusOf(onCpu)).toEqual({
      numbers: "hit",
      model: "hit",
      trained: "miss:env",
      scored: "hit",
      scoredTrained: "miss:upstream"
    })
    expect(onCpu.nodes.find((n) => n.label === "trained")!.changes.map(CacheKey.describe)).toEqual(["env.backend: wasm → cpu"])
  })
})
