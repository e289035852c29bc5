import * as Effect from "effect/Effect"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type * as CacheKey from "../../runtime/CacheKey.ts"
import * as RunLogDb from "../../runtime/internal/RunLogDb.ts"
import { type NodeEntry, RunLog } from "../../runtime/RunLog.ts"
import { tempDir } from "../helpers.ts"

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
    const root = tempDir("runlog")
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

  it("labels: those of the latest run first, in its order, then earlier runs'; none before any run", async () => {
    const root = tempDir("runlog")
    await withLog(root, (log) =>
      Effect.gen(function*() {
        expect(yield* log.labels()).toEqual([])
        const labelled = (label: string, key: string) => ({ ...entry(key, 1), label })
        yield* logRun(log, [labelled("a", "k1"), labelled("b", "k2")])
        yield* logRun(log, [labelled("c", "k3"), labelled("a", "k1")])
        expect(yield* log.labels()).toEqual(["c", "a", "b"])
      }))
  })

  it("previous() is the latest entry's, including a replay's, and reads logs written with components in each entry", async () => {
    const root = tempDir("runlog")
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
        RunLogDb.shareNodes(db, legacy, replay)
        RunLogDb.finishRun(db, replay, "succeeded")
        expect((yield* log.previous("p")).get("scaled")?.params).toEqual({ factor: 1 })
        expect(second).toBeLessThan(replay)
      }))
    db.close()
  })

  it("a replay shares the entries of the run it replayed, read as its own and cached, until that run is forgotten", async () => {
    const root = tempDir("runlog")
    const db = RunLogDb.open(path.join(root, "runs.db"))
    const rows = () => db.prepare("SELECT count(*) AS n FROM node_runs").get()
    /** Log a replay of run `source` as cli/Replay.ts does. */
    const replay = (source: number) =>
      RunLogDb.transaction(db, () => {
        const id = RunLogDb.startRun(db, { pipeline: "p", file: "p.ts", argv: "run p.ts", replayOf: source })
        RunLogDb.shareNodes(db, source, id)
        RunLogDb.finishRun(db, id, "succeeded")
        return id
      })
    await withLog(root, (log) =>
      Effect.gen(function*() {
        const source = yield* logRun(log, [entry("k1", 1), { ...entry("k2", 2), nodeId: "n2", label: "other", log: "logs/k2.log" }])
        yield* log.saveResults(source, "{\"rows\":[]}")
        const other = yield* logRun(log, [{ ...entry("k3", 3), label: "third" }])
        const first = replay(source)
        const second = replay(source)
        expect(rows()).toEqual({ n: 3 })

        const [latest, earlier] = yield* log.runs(10)
        expect([latest?.id, latest?.replayOf, latest?.nodes, latest?.cached, latest?.ran]).toEqual([second, source, 2, 2, 0])
        expect([earlier?.id, earlier?.nodes, earlier?.cached]).toEqual([first, 2, 2])
        const replayed = yield* log.nodesOf(second)
        expect(replayed.map((e) => [e.runId, e.label, e.status, e.durationMs, e.log, e.outputHash])).toEqual([
          [second, "scaled", "cached", 0, undefined, "out-k1"],
          [second, "other", "cached", 0, undefined, "out-k2"]
        ])
        expect(yield* log.resultsOf(second)).toBe("{\"rows\":[]}")
        // the latest entry of a label is the latest replay's; the run that computed it is found too
        expect((yield* log.find("other")).map((e) => [e.runId, e.status, e.log])).toEqual([
          [second, "cached", undefined],
          [source, "ran", "logs/k2.log"]
        ])
        expect(yield* log.labels()).toEqual(["scaled", "other", "third"])
        expect((yield* log.previous("p")).get("scaled")?.params).toEqual({ factor: 1 })

        // forgetting the run they replayed leaves the replays their entries
        yield* log.forget([source, first])
        expect((yield* log.nodesOf(second)).map((e) => [e.runId, e.label, e.status])).toEqual([
          [second, "scaled", "cached"],
          [second, "other", "cached"]
        ])
        expect((yield* log.runs(10)).map((run) => [run.id, run.nodes])).toEqual([[second, 2], [other, 1]])
        expect(rows()).toEqual({ n: 3 })
      }))
    db.close()
  })

  it("keeps a node's log and what it failed with, and adds their columns to a log written before them", async () => {
    const root = tempDir("runlog")
    // a log from before node entries kept their log and failure
    const old = new (process.getBuiltinModule("node:sqlite").DatabaseSync)(path.join(root, "runs.db"))
    old.exec(`CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, file TEXT NOT NULL, argv TEXT NOT NULL,
      started_at TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, host TEXT, pid INTEGER, replay_of INTEGER);
    CREATE TABLE node_runs (run_id INTEGER NOT NULL, node_id TEXT NOT NULL, label TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL,
      key TEXT, output_hash TEXT, metrics_hash TEXT, duration_ms REAL NOT NULL, params TEXT NOT NULL, inputs TEXT NOT NULL,
      components TEXT, metrics TEXT NOT NULL, error TEXT);
    INSERT INTO runs (pipeline, file, argv, started_at, status) VALUES ('p', 'p.ts', 'run p.ts', '2026-01-01T00:00:00Z', 'succeeded');
    INSERT INTO node_runs VALUES (1, 'n1', 'scaled', 'test/scaled', 'ran', 'k0', 'o', 'm', 1, '{}', '{}', NULL, '{}', NULL);`)
    old.close()
    const failure = { tag: "TypeError", message: "bad", stack: "TypeError: bad\n    at scale (nodes/scaled.ts:3:9)", fields: { step: 3 } }
    const found = await withLog(root, (log) =>
      Effect.gen(function*() {
        yield* logRun(log, [{ ...entry("k1", 1, "failed"), error: "bad", log: "logs/k1.log", failure, metrics: { loss: Number.NaN } }])
        return yield* log.find("scaled")
      }))
    expect(found.map((e) => [e.key, e.log, e.failure])).toEqual([["k1", "logs/k1.log", failure], ["k0", undefined, undefined]])
    // a metric that diverged (NaN is null in JSON) reads back as NaN, not as a corrupt row
    expect(found[0]!.metrics).toEqual({ loss: Number.NaN })
  })

  it("a row whose value does not decode is reported naming its table, row and column, and fsck finds it", async () => {
    const root = tempDir("runlog")
    await withLog(root, (log) => logRun(log, [entry("k1", 1), entry("k2", 2)]))
    const db = RunLogDb.open(path.join(root, "runs.db"))
    db.exec("UPDATE node_runs SET status = 'bogus' WHERE key = 'k2'")
    const error = await withLog(root, (log) => Effect.flip(log.find("scaled")))
    expect(error._tag).toBe("RunLogCorrupt")
    expect(error.message).toMatch(/table node_runs, row 2: column status holds "bogus"/)
    expect(error.message).toMatch(/cached|ran|failed/)
    db.exec("UPDATE node_runs SET status = 'ran', metrics = 'not json' WHERE key = 'k2'")
    expect((await withLog(root, (log) => Effect.flip(log.runs(10).pipe(Effect.andThen(log.find("k2")))))).message)
      .toMatch(/table node_runs, row 2: column metrics holds "not json"/)
    const checked = await withLog(root, (log) => log.check({ repair: false, stored: () => true, recorded: () => true }))
    expect(checked.state).toBe("corrupt")
    expect(checked.reason).toMatch(/table node_runs, row 2: column metrics/)
    db.close()
  })
})
