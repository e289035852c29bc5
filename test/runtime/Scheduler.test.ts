import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import { Executor } from "../../runtime/Executor.ts"
import * as Scheduler from "../../runtime/Scheduler.ts"
import { broken, fit, generate, Numbers, score, sleepy } from "../fixtures/graph.ts"
import { schedule } from "../helpers.ts"

/** Run a pipeline as the CLI plans it against the store's key records, keeping its events. */
const runGraph = (pipeline: Pipeline.Pipeline, concurrency: number) =>
  Effect.gen(function*() {
    const events: Array<Scheduler.Event> = []
    const outcome = yield* schedule(pipeline, { concurrency, onEvent: (e) => events.push(e) })
    return { events, results: Object.fromEntries(outcome.results.map((r) => [r.label, r.status])), outcome }
  })

const maxRunning = (events: ReadonlyArray<Scheduler.Event>) => {
  let running = 0
  let max = 0
  for (const event of events) {
    if (event.type === "running") max = Math.max(max, ++running)
    if (event.type === "done" || event.type === "failed") running--
  }
  return max
}

const fan = Pipeline.make("fan", () => {
  const numbers = generate({}, { name: "numbers" })
  return ["a", "b", "c", "d"].map((tag) => sleepy({ numbers, tag, ms: 40 }, { name: `sleep-${tag}` }))
})

const layer = Layer.mergeAll(ArtifactStore.layerMemory(), Executor.inProcess())

describe("Scheduler", () => {
  it("runs independent nodes in parallel up to the concurrency bound", async () => {
    const two = await Effect.runPromise(runGraph(fan, 2).pipe(Effect.provide(layer)))
    expect(maxRunning(two.events)).toBe(2)
    const one = await Effect.runPromise(runGraph(fan, 1).pipe(Effect.provide(layer)))
    expect(maxRunning(one.events)).toBe(1)
  })

  it("reuses stored results: a second run on the same store is all cached", async () => {
    const statuses = await Effect.runPromise(
      Effect.gen(function*() {
        yield* runGraph(fan, 4)
        return (yield* runGraph(fan, 4)).results
      }).pipe(Effect.provide(layer))
    )
    expect(Object.values(statuses)).toEqual(["cached", "cached", "cached", "cached", "cached"])
  })

  it("a failing node fails its downstream nodes and leaves independent ones running", async () => {
    const pipeline = Pipeline.make("failing", () => {
      const numbers = generate({}, { name: "numbers" })
      return [sleepy({ numbers: broken({ numbers }, { name: "broken" }) }, { name: "after" }), sleepy({ numbers, tag: "ok" }, { name: "fine" })]
    })
    const { events, results, outcome } = await Effect.runPromise(runGraph(pipeline, 2).pipe(Effect.provide(layer)))
    expect(results).toEqual({ numbers: "ran", broken: "failed", after: "failed", fine: "ran" })
    expect(outcome.results.find((r) => r.label === "broken")!.error).toBe("kaboom")
    expect(outcome.results.find((r) => r.label === "after")!.error).toBe(`upstream node "broken" failed`)
    // every node ends with one event saying how: the one not run is reported as skipped
    const last = Object.fromEntries(events.filter((e) => e.type !== "progress" && e.type !== "output").map((e) => [e.label, e.type]))
    expect(last).toEqual({ numbers: "done", broken: "failed", after: "skipped", fine: "done" })
    expect(events.find((e) => e.type === "skipped")).toMatchObject({ label: "after", upstream: "broken" })
  })

  it("gives every node the same random stream on every run", async () => {
    const pipeline = Pipeline.make("random", () => generate({ n: 5 }, { name: "numbers" }))
    const values = await Effect.runPromise(
      Effect.gen(function*() {
        const first = yield* runGraph(pipeline, 1).pipe(Effect.provide(ArtifactStore.layerMemory()))
        const second = yield* runGraph(pipeline, 1).pipe(Effect.provide(ArtifactStore.layerMemory()))
        const id = first.outcome.results[0]!.id
        return [yield* first.outcome.value(id), yield* second.outcome.value(id)]
      }).pipe(Effect.provide(ArtifactStore.layerMemory()), Effect.provide(Executor.inProcess()))
    )
    expect(values[0]).toEqual(values[1])
    expect(new Set((values[0] as Array<{ x: number }>).map((r) => r.x)).size).toBe(5)
  })

  it("keeps a decoded value only while a node that reads it has not finished", async () => {
    const reads: Array<string> = []
    const counting = Layer.effect(
      ArtifactStore,
      Effect.gen(function*() {
        const store = yield* ArtifactStore
        return ArtifactStore.of({ ...store, read: (hash) => Effect.suspend(() => (reads.push(hash), store.read(hash))) })
      })
    ).pipe(Layer.provide(ArtifactStore.layerMemory()))
    const chain = Pipeline.make("chain", () => {
      const numbers = generate({}, { name: "numbers" })
      // "copy" repeats its input's bytes: three nodes, one hash
      const copy = sleepy({ numbers: sleepy({ numbers, ms: 0, tag: "a" }, { name: "a" }), ms: 0, tag: "b" }, { name: "copy" })
      return score({ model: fit({ numbers: copy }, { name: "fit" }), numbers: copy }, { name: "score" })
    })
    const { outcome } = await Effect.runPromise(runGraph(chain, 1).pipe(Effect.provide(Layer.mergeAll(counting, Executor.inProcess()))))
    expect(reads).toEqual([]) // during the run, every input came from memory
    const byLabel = Object.fromEntries(outcome.results.map((r) => [r.label, r]))
    const numbers = await Effect.runPromise(outcome.value(byLabel["numbers"]!.id))
    expect(reads).toEqual([byLabel["numbers"]!.record!.output.hash]) // all its readers are done: read back from the store
    await Effect.runPromise(outcome.value(byLabel["score"]!.id))
    expect(reads).toHaveLength(1) // a graph output stays in memory
    expect(numbers).toHaveLength(10)
  })

  it("stores nothing for a node whose output its type cannot encode, and fails it naming the column and row", async () => {
    const unencodable = Node.make({
      kind: "test/unencodable",
      version: 1,
      description: "a row whose x is a string",
      params: Schema.Struct({}),
      inputs: {},
      output: Numbers,
      run: () => Effect.sync(() => JSON.parse(`[{ "x": 1 }, { "x": "seven" }]`))
    })
    const pipeline = Pipeline.make("unencodable", () => unencodable({}, { name: "bad" }))
    const { keys, outcome } = await Effect.runPromise(
      Effect.gen(function*() {
        const { outcome } = yield* runGraph(pipeline, 1)
        return { outcome, keys: yield* (yield* ArtifactStore).keys() }
      }).pipe(Effect.provide(layer))
    )
    expect(outcome.results[0]).toMatchObject({ status: "failed", record: undefined })
    expect(outcome.results[0]!.error).toMatch(/^output cannot be stored: .*"x".*row 1.*"seven"/)
    expect(keys.size).toBe(0)
  })

  it("stores nothing for a node whose input file changed while it ran", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-scheduler-"))
    const file = path.join(dir, "numbers.txt")
    fs.writeFileSync(file, "1\n2\n")
    const appending = Node.make({
      kind: "test/appending",
      version: 1,
      description: "reads its file, and appends to it as it goes",
      params: Schema.Struct({ path: Param.file({ default: "numbers.txt", description: "numbers, one a line" }) }),
      inputs: {},
      output: Numbers,
      run: ({ params }) =>
        Effect.sync(() => {
          const rows = fs.readFileSync(params.path, "utf8").trim().split("\n").map((line) => ({ x: Number(line) }))
          fs.appendFileSync(params.path, "3\n")
          return rows
        })
    })
    const pipeline = Pipeline.make("appending", () => appending({ path: file }, { name: "reader" }))
    try {
      const { keys, outcome } = await Effect.runPromise(
        Effect.gen(function*() {
          const { outcome } = yield* runGraph(pipeline, 1)
          return { outcome, keys: yield* (yield* ArtifactStore).keys() }
        }).pipe(Effect.provide(layer))
      )
      expect(outcome.results[0]).toMatchObject({
        status: "failed",
        record: undefined,
        error: `input file of param "path" changed while the node ran; run again`
      })
      expect(keys.size).toBe(0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
