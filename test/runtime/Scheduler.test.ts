import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import { Executor } from "../../runtime/Executor.ts"
import * as Scheduler from "../../runtime/Scheduler.ts"
import { broken, fit, generate, score, sleepy } from "../fixtures/graph.ts"
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
    const { results, outcome } = await Effect.runPromise(runGraph(pipeline, 2).pipe(Effect.provide(layer)))
    expect(results).toEqual({ numbers: "ran", broken: "failed", after: "failed", fine: "ran" })
    expect(outcome.results.find((r) => r.label === "broken")!.error).toBe("kaboom")
    expect(outcome.results.find((r) => r.label === "after")!.error).toBe(`upstream node "broken" failed`)
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
})
