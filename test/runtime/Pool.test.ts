/**
 * The worker pool at the Runner level: a pipeline file run through `Executor.pool` gives the
 * bytes the in-process executor gives, its workers start only when a node needs one and stop
 * with the pool's layer, and a dead worker's node fails saying how it died.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { Executor, runsInPool } from "../../runtime/Executor.ts"
import { isAlive } from "../../runtime/internal/Process.ts"
import { RunLog } from "../../runtime/RunLog.ts"
import * as Runner from "../../runtime/Runner.ts"
import * as Scheduler from "../../runtime/Scheduler.ts"
import * as TensorBackend from "../../runtime/TensorBackend.ts"
import { crashReason, glibcTunables, WorkerPool } from "../../runtime/WorkerPool.ts"
import { corruptObject, repo, tempDir } from "../helpers.ts"

const quickstart = path.join(repo, "pipelines", "quickstart.ts")
const selection: Runner.Selection = { seeds: [0], overrides: [], force: [], env: TensorBackend.env("wasm") }

/**
 * Run the quickstart on the store at `root` with `executor` (given a pool of two workers): its
 * results' output hashes, the `running` events, and the pool's workers alive at its end.
 */
const runWith = (root: string, executor: Layer.Layer<Executor, never, WorkerPool>, force: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const running: Array<Extract<Scheduler.Event, { type: "running" }>> = []
    const prepared = yield* Runner.prepare(quickstart, { ...selection, force })
    const outcome = yield* Runner.execute(prepared, {
      concurrency: 2,
      onEvent: (event) => void (event.type === "running" && running.push(event)),
      argv: "test"
    })
    const workers = yield* (yield* WorkerPool).workers
    // what glibc's malloc was told in each worker (Linux: its environment as it started)
    const tunables = workers.map((pid) =>
      fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((variable) => variable.startsWith("GLIBC_TUNABLES="))
    )
    const hashes = Object.fromEntries(outcome.results.map((r) => [r.label, r.record?.output.hash]))
    const problems = (yield* (yield* ArtifactStore).check({ repair: false })).problems
    return { outcome, running, workers, tunables, hashes, problems }
  }).pipe(
    Effect.provide(Layer.mergeAll(
      ArtifactStore.layer(root),
      RunLog.layer(root),
      Layer.provideMerge(executor, WorkerPool.layer({ size: 2, backend: "wasm" }))
    )),
    Effect.runPromise
  )

const pooled = Executor.pool({ file: quickstart, seeds: selection.seeds, overrides: [], backend: "wasm" })

describe("the worker pool", () => {
  it("computes the bytes the in-process executor computes, runs only tensor nodes in workers, and starts none for a cached run", async () => {
    const inProcess = await runWith(tempDir("pool-reference"), Executor.inProcess("wasm"))
    const root = tempDir("pool")
    expect(inProcess.workers).toEqual([])
    const cold = await runWith(root, pooled)
    expect(cold.hashes).toEqual(inProcess.hashes)
    expect(cold.outcome.results.every((r) => r.status === "ran")).toBe(true)
    // the reward model (tensors) ran in a worker, the cheap nodes in this process
    expect(Object.fromEntries(cold.running.map((e) => [e.label, e.worker !== undefined]))).toEqual({
      task: false,
      labels: false,
      features: false,
      rm: true,
      accuracy: true
    })
    expect(cold.workers.length).toBeGreaterThan(0)
    expect(cold.running.find((e) => e.label === "rm")!.worker).toBeOneOf([...cold.workers])
    // glibc's malloc asks for huge pages in every worker
    expect(cold.tunables).toEqual(cold.workers.map(() => `GLIBC_TUNABLES=${glibcTunables(process.env["GLIBC_TUNABLES"])}`))
    // the layer closed: its workers are gone
    expect(cold.workers.filter(isAlive)).toEqual([])

    const cached = await runWith(root, pooled)
    expect(cached.outcome.results.every((r) => r.status === "cached")).toBe(true)
    expect(cached.workers).toEqual([])
  })

  it("repairs an input a worker finds corrupt, as in process, and sends the job again", async () => {
    const root = tempDir("pool-corrupt")
    const cold = await runWith(root, pooled)
    corruptObject(root, cold.hashes["features"]!)
    const forced = await runWith(root, pooled, ["rm"])
    expect(Object.fromEntries(forced.outcome.results.map((r) => [r.label, r.status]))).toMatchObject({ features: "cached", rm: "ran" })
    // the reward model's worker found its input corrupt: its producer ran again here, then the reward model in a worker
    expect(forced.running.map((e) => [e.label, e.worker === undefined ? "here" : "worker"])).toEqual([["features", "here"], ["rm", "worker"]])
    expect(forced.hashes).toEqual(cold.hashes)
    expect(forced.problems).toEqual([])
  })

  it("sends node kinds with tensors or marked heavy to the pool, and the rest run in process", async () => {
    const pipeline = (await import("../../pipelines/hh-reward-model.ts")).default
    const graph = await Effect.runPromise(Pipeline.build(pipeline))
    expect(Object.fromEntries(graph.nodes.map(({ node }) => [node.kind.kind, runsInPool(node)]))).toEqual({
      "data/loadPreferences": false,
      "data/featurize": true,
      "reward/bradleyTerry": true,
      "evaluate/rmAccuracy": true,
      "evaluate/lengthBaseline": false
    })
  })

  it("has glibc's malloc ask for huge pages in a worker, unless GLIBC_TUNABLES says otherwise", () => {
    expect(glibcTunables(undefined)).toBe("glibc.malloc.hugetlb=1")
    expect(glibcTunables("")).toBe("glibc.malloc.hugetlb=1")
    expect(glibcTunables("glibc.malloc.arena_max=2")).toBe("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1")
    expect(glibcTunables("glibc.malloc.hugetlb=0")).toBe("glibc.malloc.hugetlb=0")
  })

  it("says how a worker died", () => {
    expect(crashReason({ pid: 42, code: null, signal: "SIGKILL", stderr: "" })).toBe(
      "its worker process (pid 42) was killed by SIGKILL (kill -9, or the system's out-of-memory killer) while running it"
    )
    const oom = crashReason({ pid: 7, code: 134, signal: null, stderr: "<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n\n" })
    expect(oom).toContain("its worker process (pid 7) ran out of memory (exit code 134) while running it; ")
    expect(oom).toMatch(/its last output: FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory$/)
    expect(crashReason({ pid: 7, code: 3, signal: null, stderr: "" })).toContain("(pid 7) exited with code 3 while")
    expect(crashReason({ pid: 7, code: null, signal: "SIGTERM", stderr: "" })).toContain("(pid 7) was killed by SIGTERM while")
  })
})
