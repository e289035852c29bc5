import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type * as CacheKey from "../../runtime/CacheKey.ts"
import * as RunLogDb from "../../runtime/internal/RunLogDb.ts"
import { type NodeEntry, RunLog } from "../../runtime/RunLog.ts"

const components = (factor: number): CacheKey.Components => ({
  kind: "test/scaled",
  version: 1,
  code: { hash: "c", files: { "nodes/scaled.ts": "f" }, packages: {} },
  params: { factor },
  inputs: {},
  env: {}
})

const entry = (key: string, factor: number, status: NodeEntry["status"] = "ran"): NodeEntry => ({
  nodeId: "n1",
  label: "scaled",
  kind: "test/scaled",
  status,
  key,
  outputHash: `out-${key}`,
  metricsHash: `metrics-${key}`,
  durationMs: 1,
  params: { factor },
  inputs: {},
  components: components(factor),
  metrics: {},
  error: undefined
})

const withLog = <A>(root: string, f: (log: RunLog["Service"]) => Effect.Effect<A, unknown>) =>
  RunLog.pipe(Effect.flatMap(f), Effect.provide(RunLog.layer(root)), Effect.runPromise)

const logRun = (log: RunLog["Service"], entries: ReadonlyArray<NodeEntry>) =>
  Effect.gen(function*() {
    const runId = yield* log.start({ pipeline: "p", file: "p.ts", argv: "run p.ts" })
    yield* log.record(runId, entries)
    yield* log.finish(runId, "succeeded")
    return runId
  })

describe("run log", () => {
  it("keeps key components once per key and gives them back for every entry with that key", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-runlog-"))
    await withLog(root, (log) =>
      Effect.gen(function*() {
        yield* logRun(log, [entry("k2", 2)])
        yield* logRun(log, [entry("k2", 2, "cached")])
        expect((yield* log.previous("p")).get("scaled")?.params).toEqual({ factor: 2 })
        const found = yield* log.find("scaled")
        expect(found.map((e) => [e.status, e.components?.params])).toEqual([["cached", { factor: 2 }], ["ran", { factor: 2 }]])
      }))
    const db = RunLogDb.open(path.join(root, "runs.db"))
    expect(db.prepare("SELECT count(*) AS n FROM key_components").get()).toEqual({ n: 1 })
    expect(db.prepare("SELECT count(*) AS n FROM node_runs WHERE components IS NOT NULL").get()).toEqual({ n: 0 })
    db.close()
  })

  it("previous() is the latest entry's, including a replay's, and reads logs written with components in each entry", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-runlog-"))
    // a run logged before components were kept per key: they are in its own entry
    const db = RunLogDb.open(path.join(root, "runs.db"))
    const legacy = RunLogDb.startRun(db, { pipeline: "p", file: "p.ts", argv: "run p.ts" })
    db.prepare(
      `INSERT INTO node_runs (run_id, node_id, label, kind, status, key, output_hash, metrics_hash, duration_ms, params, inputs,
         components, metrics, error) VALUES (?, 'n1', 'scaled', 'test/scaled', 'ran', 'k1', 'o', 'm', 1, '{}', '{}', ?, '{}', NULL)`
    ).run(legacy, JSON.stringify(components(1)))
    RunLogDb.finishRun(db, legacy, "succeeded")
    await withLog(root, (log) =>
      Effect.gen(function*() {
        expect((yield* log.previous("p")).get("scaled")?.params).toEqual({ factor: 1 })
        const second = yield* logRun(log, [entry("k3", 3)])
        expect((yield* log.previous("p")).get("scaled")?.params).toEqual({ factor: 3 })
        // a replay of the legacy run is the latest: its components are the legacy run's
        const replay = RunLogDb.startRun(db, { pipeline: "p", file: "p.ts", argv: "run p.ts", replayOf: legacy })
        RunLogDb.copyNodesAsCached(db, legacy, replay)
        RunLogDb.finishRun(db, replay, "succeeded")
        expect((yield* log.previous("p")).get("scaled")?.params).toEqual({ factor: 1 })
        expect(second).toBeLessThan(replay)
      }))
    db.close()
  })
})
