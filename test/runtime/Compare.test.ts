// What changed between two runs (Compare.ts, printed by cli/CompareFormat.ts), from hand-made
// node entries and results tables: which nodes differ and how, and the results deltas against
// Welch's interval computed from the per-seed values the kept tables summarise.
import { describe, expect, it } from "vitest"
import type * as CacheKey from "../../runtime/CacheKey.ts"
import * as CompareFormat from "../../runtime/cli/CompareFormat.ts"
import * as Compare from "../../runtime/Compare.ts"
import type * as Results from "../../runtime/Results.ts"
import type { NodeEntry, RunEntry } from "../../runtime/RunLog.ts"
import * as Statistics from "../../runtime/Statistics.ts"

const components = (kind: string, overrides: Partial<CacheKey.Components> = {}): CacheKey.Components => ({
  kind,
  version: 1,
  code: { hash: `${kind}-code`, files: { [`nodes/${kind}.ts`]: "aa", "nodes/math.ts": "bb" }, packages: {} },
  params: {},
  inputs: {},
  env: {},
  ...overrides
})

// A node entry whose key stands for its components (the test gives equal keys to equal components).
const entry = (label: string, c: CacheKey.Components | undefined, key: string | undefined, inputs: NodeEntry["inputs"] = {}): NodeEntry => ({
  nodeId: label,
  label,
  kind: c?.kind ?? "test/unknown",
  status: "ran",
  key,
  outputHash: undefined,
  metricsHash: undefined,
  durationMs: 1,
  params: c?.params ?? {},
  inputs,
  components: c,
  metrics: {},
  error: undefined
})

const task = components("task", { params: { prompts: 60 } })
const rmA = components("rm", { params: { steps: 40, lr: 0.1 }, inputs: { task: "t1" }, env: { backend: "wasm" } })
const rmB = components("rm", {
  params: { steps: 80, lr: 0.1 },
  inputs: { task: "t1" },
  code: { hash: "rm-code-2", files: { "nodes/rm.ts": "aa", "nodes/math.ts": "cc" }, packages: {} },
  env: { backend: "cpu" }
})
const evalA = components("eval", { inputs: { model: "m1", task: "t1" } })
const evalB = components("eval", { inputs: { model: "m2", task: "t1" } })
const fromTask = { task: { label: "task", hash: "t1" } }

const runA = [
  entry("task", task, "k-task"),
  entry("rm", rmA, "k-rmA", fromTask),
  entry("eval", evalA, "k-evalA", { model: { label: "rm", hash: "m1" }, ...fromTask }),
  entry("old", components("old"), "k-old")
]
const runB = [
  entry("task", task, "k-task"),
  entry("rm", rmB, "k-rmB", fromTask),
  entry("eval", evalB, "k-evalB", { model: { label: "rm", hash: "m2" }, ...fromTask }),
  entry("new", components("new"), "k-new")
]

describe("nodes", () => {
  it("matches nodes by label: only in one run, same key, own changes, and changed only by an upstream", () => {
    const nodes = Compare.nodeDifferences(runA, runB)
    expect(nodes.map((n) => [n.label, n.change])).toEqual([
      ["task", "unchanged"],
      ["rm", "changed"],
      ["eval", "upstream"],
      ["old", "onlyA"],
      ["new", "onlyB"]
    ])
    expect(nodes[1]!.changes).toEqual([
      { component: "params", field: "steps", before: 40, after: 80 },
      { component: "code", file: "nodes/math.ts", change: "edited" },
      { component: "env", field: "backend", before: "wasm", after: "cpu" }
    ])
    expect(nodes[2]!.upstream).toEqual(["rm"])
    expect(Compare.countsOf(nodes)).toEqual({
      onlyA: 1,
      onlyB: 1,
      unchanged: 1,
      changed: 2,
      upstreamOnly: 1,
      byComponent: { kind: 0, version: 0, params: 1, code: 1, inputs: 1, env: 1 }
    })
  })

  it("matches a one-seed run's nodes to a sweep's by name and coordinates: of its seed first, else of no seed", () => {
    const at = (label: string, coords: Record<string, number> | undefined, key: string): NodeEntry => ({ ...entry(label, task, key), coords })
    const single = [at("task", {}, "k-task"), at("rm", {}, "k-rm1"), at("shared", {}, "k-shared")]
    const sweep = [
      at("task[seed=0]", { seed: 0 }, "k-task0"),
      at("task[seed=1]", { seed: 1 }, "k-task"),
      at("rm[seed=1]", { seed: 1 }, "k-rm1"),
      at("shared", {}, "k-shared")
    ]
    const matched = Compare.nodeDifferences(single, sweep, { a: [1], b: [0, 1] })
    expect(matched.map((n) => [n.label, n.change])).toEqual([
      ["task[seed=1]", "unchanged"],
      ["rm[seed=1]", "unchanged"],
      ["shared", "unchanged"],
      ["task[seed=0]", "onlyB"]
    ])
    // without knowing the seeds, or from entries logged without coordinates, labels decide
    expect(Compare.nodeDifferences(single, sweep).map((n) => n.change)).toEqual(["onlyA", "onlyA", "unchanged", "onlyB", "onlyB", "onlyB"])
    expect(Compare.identitiesOf(entry("rm[seed=1]", task, "k"), 1)).toEqual(["rm[seed=1]"])
  })

  it("a node whose key differs but whose components a run did not record is changed, with nothing to describe", () => {
    const difference = Compare.nodeDifference(entry("rm", undefined, "k1"), entry("rm", rmB, "k2"))
    expect([difference.change, difference.changes]).toEqual(["changed", []])
    expect(CompareFormat.nodeItems([difference])[0]!.details).toEqual(["its key components were not recorded"])
  })

  it("prints each change with CacheKey.describe, an upstream change by its label, and the unchanged as a count", () => {
    const items = CompareFormat.nodeItems(Compare.nodeDifferences(runA, [...runB.slice(0, 3), { ...runB[3]!, status: "failed" }]))
    expect(items.map((i) => [i.mark, i.head, i.details])).toEqual([
      ["-", "old  (old)  only in A", []],
      ["+", "new  (new)  only in B  (failed in B)", []],
      ["~", "rm  (rm)", ["params.steps: 40 → 80", "code: nodes/math.ts edited", "env.backend: wasm → cpu"]],
      ["~", "eval  (eval)  upstream changed: rm", []],
      ["=", "1 node unchanged (same key)", []]
    ])
  })
})

// A kept results cell from per-seed values, as Results.aggregate makes it.
const cell = (values: ReadonlyArray<number>): Results.Cell => Statistics.meanInterval(values)

const table = (rows: ReadonlyArray<{ beta: number; metrics: Record<string, ReadonlyArray<number>> }>): Results.Table => ({
  factors: ["beta"],
  metrics: [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))],
  rows: rows.map((r) => ({
    output: "point",
    factors: { beta: r.beta },
    split: "test",
    baseline: false,
    seeds: Math.max(...Object.values(r.metrics).map((v) => v.length)),
    metrics: Object.fromEntries(Object.entries(r.metrics).map(([name, values]) => [name, cell(values)]))
  }))
})

describe("results", () => {
  const a = table([{ beta: 1, metrics: { gold: [0.61, 0.64, 0.58] } }, { beta: 0.3, metrics: { gold: [0.5] } }, { beta: 0.1, metrics: { gold: [0.2, 0.3] } }])
  const b = table([{ beta: 1, metrics: { gold: [0.70, 0.74, 0.69, 0.72], kl: [1, 2] } }, { beta: 0.3, metrics: { gold: [0.6, 0.8] } }, { beta: 3, metrics: { gold: [0.9, 1.0] } }])
  const results = Compare.resultsDifference(a, b)

  it("Δ = B − A with Welch's interval, recovered from the kept intervals, equal to the one from the per-seed values", () => {
    const gold = results.rows[0]!.metrics["gold"]!
    expect([gold.a!.mean, gold.b!.mean]).toEqual([cell([0.61, 0.64, 0.58]).mean, cell([0.70, 0.74, 0.69, 0.72]).mean])
    // mean 0.7125 − 0.61 = 0.1025; Welch from the values (SciPy: 0.04262018875071098, 0.16237981124928885)
    expect(gold.delta!.mean).toBeCloseTo(0.1025, 14)
    expect(gold.delta!.low).toBeCloseTo(0.04262018875071098, 10)
    expect(gold.delta!.high).toBeCloseTo(0.16237981124928885, 10)
    expect(gold.delta!.n).toBe(3)
  })

  it("a side with one seed gives the difference without an interval; a row or metric of one run has no Δ", () => {
    const [, one, onlyA, onlyB] = results.rows
    expect(one!.metrics["gold"]!.delta!.mean).toBeCloseTo(0.2, 14)
    expect(one!.metrics["gold"]!.delta!.low).toBeNaN()
    expect([onlyA!.factors, onlyA!.seeds, onlyA!.metrics["gold"]!.b, onlyA!.metrics["gold"]!.delta]).toEqual([{ beta: 0.1 }, { a: 2, b: undefined }, undefined, undefined])
    expect([onlyB!.factors, onlyB!.seeds]).toEqual([{ beta: 3 }, { a: undefined, b: 2 }])
    expect(results.rows[0]!.metrics["kl"]).toEqual({ a: undefined, b: cell([1, 2]), delta: undefined })
    expect(results.metrics).toEqual(["gold", "kl"])
  })

  it("prints both runs' cells and Δ side by side, marking the rows one run lacks", () => {
    expect(CompareFormat.resultRows(results, "point")).toEqual([
      ["beta", "split", "n A", "n B", "gold A", "gold B", "Δ gold", "kl A", "kl B", "Δ kl"],
      ["1", "test", "3", "4", "0.610 ± 0.075", "0.712 ± 0.035", "+0.102 ± 0.060", "—", "1.5 ± 6.4", ""],
      ["0.3", "test", "1", "2", "0.5000", "0.7 ± 1.3", "+0.2000", "—", "—", ""],
      ["0.1", "test", "2", "—", "0.25 ± 0.64", "—", "only in A", "—", "—", "only in A"],
      ["3", "test", "—", "2", "—", "0.95 ± 0.64", "only in B", "—", "—", "only in B"]
    ])
  })
})

describe("compare", () => {
  const run: RunEntry = {
    id: 7,
    pipeline: "sweep",
    file: "sweep.ts",
    argv: "run sweep.ts --seeds 0,1",
    startedAt: "2025-01-01T00:00:00.000Z",
    finishedAt: null,
    status: "succeeded",
    nodes: 4,
    ran: 4,
    cached: 0,
    failed: 0,
    replayOf: null,
    host: null,
    pid: null
  }
  const results = table([{ beta: 1, metrics: { gold: [0.61, 0.64] } }])

  it("a run compared with itself is identical; another seed or param is not", () => {
    expect(Compare.compare({ run, nodes: runA, results }, { run, nodes: runA, results }).identical).toBe(true)
    expect(Compare.compare({ run, nodes: runA, results }, { run, nodes: runB, results }).identical).toBe(false)
    const moreSeeds = table([{ beta: 1, metrics: { gold: [0.61, 0.64, 0.7] } }])
    expect(Compare.compare({ run, nodes: runA, results }, { run, nodes: runA, results: moreSeeds }).identical).toBe(false)
  })

  it("says which run is which: id, pipeline, file, start, status and command line", () => {
    expect(CompareFormat.runText(run)).toBe("run 7 of sweep (sweep.ts), started 2025-01-01T00:00:00.000Z, succeeded: pipeline run sweep.ts --seeds 0,1")
  })
})
