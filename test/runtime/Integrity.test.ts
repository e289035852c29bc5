import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { root, unary } from "../../bench/fixtures/trivial.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { ArtifactStore, type KeyRecord } from "../../runtime/ArtifactStore.ts"
import type * as CacheKey from "../../runtime/CacheKey.ts"
import { CorruptObject, NodeFailed, type StoreError } from "../../runtime/Errors.ts"
import { Executor, type Ran, type Task } from "../../runtime/Executor.ts"
import * as OutputCommit from "../../runtime/internal/OutputCommit.ts"
import { corruptObject, schedule } from "../helpers.ts"

const temps: Array<string> = []
afterAll(() => {
  for (const dir of temps) fs.rmSync(dir, { recursive: true, force: true })
})
const tempStore = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-integrity-"))
  temps.push(dir)
  return dir
}

const encode = (text: string) => new TextEncoder().encode(text)
const components: CacheKey.Components = { kind: "test/node", version: 1, code: { hash: "c", files: {}, packages: {} }, params: {}, inputs: {}, env: {} }

/** Put an output and a metrics object and commit a record of them under `key`. */
const commitNode = (key: string, output: string) =>
  Effect.gen(function*() {
    const store = yield* ArtifactStore
    const record: KeyRecord = {
      key,
      node: { kind: "test/node", label: `node-${key}` },
      output: yield* store.put(encode(output), { format: "table", type: "T" }),
      metrics: yield* store.put(encode(`metrics of ${key}`), { format: "table", type: "Metrics" }),
      finalMetrics: {},
      components,
      durationMs: 1,
      createdAt: new Date(0).toISOString()
    }
    yield* store.commit(record)
    return record
  })

/**
 * Each store, with a way to damage a stored object as a disk would: the file store's file
 * on disk, the memory store's bytes in place (it serves them as stored).
 */
const stores = [
  {
    name: "file store",
    layer: () => ArtifactStore.layer(tempStore()),
    corrupt: (store: ArtifactStore["Service"], hash: string) => Effect.sync(() => corruptObject(store.root, hash))
  },
  {
    name: "memory store",
    layer: () => ArtifactStore.layerMemory(),
    corrupt: (store: ArtifactStore["Service"], hash: string) =>
      store.read(hash).pipe(Effect.map((bytes) => void (bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff)), Effect.orDie)
  }
]

describe.each(stores)("$name", ({ corrupt, layer }) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ArtifactStore>) => Effect.runPromise(Effect.provide(effect, layer()))

  it("serves an object only while its bytes hash to its name, and quarantines it with the records naming it", () =>
    run(Effect.gen(function*() {
      const store = yield* ArtifactStore
      const a = yield* commitNode("a", "shared output")
      const b = yield* commitNode("b", "shared output")
      yield* commitNode("c", "another output")
      expect(new TextDecoder().decode(yield* store.read(a.output.hash))).toBe("shared output")
      yield* corrupt(store, a.output.hash)
      const error = yield* Effect.flip(store.read(a.output.hash))
      expect(error).toBeInstanceOf(CorruptObject)
      expect(error).toMatchObject({ hash: a.output.hash })
      expect(error.message).toMatch(/is corrupt: its 13 bytes hash to [0-9a-f]{12}…, not to its name/)

      const done = yield* store.quarantine(a.output.hash)
      expect(done.movedTo).toContain(`quarantine/${a.output.hash}`)
      expect([...done.keys].sort()).toEqual(["a", "b"])
      expect(yield* store.lookup(a.key)).toBeUndefined()
      expect(yield* store.lookup(b.key)).toBeUndefined()
      expect(yield* store.lookup("c")).toBeDefined()
      expect((yield* Effect.flip(store.read(a.output.hash))).reason).toBe("it is missing")
      // putting the same bytes again stores them whole: the key is a hit once recommitted
      yield* commitNode("a", "shared output")
      expect((yield* store.lookup("a"))?.output.hash).toBe(a.output.hash)
      expect((yield* store.check({ repair: false })).problems).toEqual([])
    })))

  it("fsck reports a corrupt object and the records naming it; repair quarantines and removes them", () =>
    run(Effect.gen(function*() {
      const store = yield* ArtifactStore
      const a = yield* commitNode("a", "output a")
      yield* commitNode("b", "output b")
      yield* corrupt(store, a.output.hash)
      const found = yield* store.check({ repair: false })
      expect(found).toMatchObject({ objects: 4, records: 2 })
      expect(found.problems.map((p) => [p.what.replace(/[0-9a-f]{12}…/g, "…"), p.node, p.repaired])).toEqual([
        ["its 8 bytes hash to …, not to its name", "node-a (test/node)", undefined],
        ["its output object … is corrupt", "node-a (test/node)", undefined]
      ])
      expect(found.keys).toEqual(new Set(["b"]))
      expect(yield* store.lookup("a")).toBeDefined() // reported, not yet repaired

      const repaired = yield* store.check({ repair: true })
      expect(repaired.problems.map((p) => p.repaired)).toEqual([expect.stringContaining("moved to"), expect.stringContaining("removed")])
      expect(yield* store.lookup("a")).toBeUndefined()
      const after = yield* store.check({ repair: false })
      expect([after.objects, after.records, after.problems]).toEqual([3, 1, []])
    })))
})

describe("file store", () => {
  it("writes objects read-only; a truncated object is a miss, and putting its bytes again restores it", () =>
    Effect.gen(function*() {
      const store = yield* ArtifactStore
      const a = yield* commitNode("a", "a longer output that will be cut short")
      const file = path.join(store.root, "objects", a.output.hash.slice(0, 2), a.output.hash)
      expect(fs.statSync(file).mode & 0o777).toBe(0o444)
      fs.chmodSync(file, 0o644)
      fs.truncateSync(file, 10)
      expect(yield* store.lookup("a")).toBeUndefined()
      expect((yield* store.index()).get("a")).toBeUndefined()
      yield* store.put(encode("a longer output that will be cut short"), { format: "table", type: "T" })
      expect(fs.statSync(file).size).toBe(a.output.bytes)
      expect(fs.statSync(file).mode & 0o777).toBe(0o444)
      expect(yield* store.lookup("a")).toBeDefined()
      // gc and rm still remove read-only objects
      yield* store.gc(Effect.succeed({ hashes: new Set(), forgotten: new Set() }), {})
      fs.rmSync(store.root, { recursive: true })
    }).pipe(Effect.provide(ArtifactStore.layer(tempStore())), Effect.runPromise))
})

describe("scheduler", () => {
  const producer = () => root({ i: 1 }, { name: "producer" })
  const first = Pipeline.make("first", () => unary({ a: producer(), i: 2 }, { name: "consumer" }))
  // the same producer, consumers that are not cached yet: they read the producer's stored output
  const second = Pipeline.make("second", () => unary({ a: producer(), i: 3 }, { name: "consumer" }))
  const two = Pipeline.make("two", () => [unary({ a: producer(), i: 3 }, { name: "left" }), unary({ a: producer(), i: 4 }, { name: "right" })])

  /** Run `pipeline`, keeping "label type" of each event but progress. */
  const traced = (pipeline: Pipeline.Pipeline) =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const outcome = yield* schedule(pipeline, { onEvent: (e) => void (e.type !== "progress" && events.push(`${e.label} ${e.type}`)) })
      return { ...outcome, events, byLabel: Object.fromEntries(outcome.results.map((r) => [r.label, r])) }
    })

  /** Run `first` on the store, then damage the producer's output: the record it made. */
  const damagedProducer = Effect.gen(function*() {
    const store = yield* ArtifactStore
    const made = (yield* schedule(first)).results.find((r) => r.label === "producer")!.record!
    yield* stores[1]!.corrupt(store, made.output.hash)
    return made
  })

  /** The in-process executor, with the producer's second run replaced by `rerun`: a recomputation that cannot succeed. */
  type Run = Effect.Effect<Ran, NodeFailed | StoreError, ArtifactStore>
  const rerunning = (rerun: (run: Run, task: Task) => Run) =>
    Layer.effect(
      Executor,
      Effect.gen(function*() {
        const executor = yield* Executor
        let runs = 0
        return Executor.of({
          ...executor,
          run: (task, hooks) => {
            const run = executor.run(task, hooks)
            return task.label === "producer" && ++runs > 1 ? rerun(run, task) : run
          }
        })
      })
    ).pipe(Layer.provide(Executor.inProcess("wasm")))

  const inMemory = (executor: Layer.Layer<Executor> = Executor.inProcess("wasm")) => <A, E>(effect: Effect.Effect<A, E, ArtifactStore | Executor>) =>
    effect.pipe(Effect.provide(Layer.mergeAll(ArtifactStore.layerMemory(), executor)), Effect.runPromise)

  it("a consumer whose input is corrupt gets it recomputed in the same run: the producer runs again, the store is whole", () =>
    Effect.gen(function*() {
      const store = yield* ArtifactStore
      const made = yield* damagedProducer
      const repaired = yield* traced(second)
      expect(repaired.events).toEqual(["consumer queued", "producer cached", "producer running", "producer done", "consumer running", "consumer done"])
      expect(repaired.events).toEqual(["consumer queued", "producer cached", "producer running", "producer done", "consumer running", "consumer done"])
      expect(yield* repaired.value(repaired.byLabel["consumer"]!.id)).toEqual([{ x: 4 }])
      // the producer's result in this run is what it was planned as: the same key and bytes
      expect(repaired.byLabel["producer"]).toMatchObject({ status: "cached", key: made.key, record: { output: { hash: made.output.hash } } })
      expect((yield* store.lookup(made.key))?.output.hash).toBe(made.output.hash)
      expect((yield* store.check({ repair: false })).problems).toEqual([])
      expect((yield* traced(second)).events).toEqual(["producer cached", "consumer cached"])
    }).pipe(inMemory()))

  it("readers that find the same object corrupt share one recomputation of its producer", () =>
    Effect.gen(function*() {
      yield* damagedProducer
      const repaired = yield* traced(two)
      expect(repaired.events.filter((e) => e.startsWith("producer "))).toEqual(["producer cached", "producer running", "producer done"])
      expect([yield* repaired.value(repaired.byLabel["left"]!.id), yield* repaired.value(repaired.byLabel["right"]!.id)]).toEqual([[{ x: 4 }], [{ x: 5 }]])
    }).pipe(inMemory()))

  it("a chain of corrupt objects is repaired upstream first", () =>
    Effect.gen(function*() {
      const store = yield* ArtifactStore
      const chain = (i: number) => Pipeline.make("chain", () => unary({ a: unary({ a: producer(), i: 2 }, { name: "middle" }), i }, { name: "last" }))
      const once = yield* traced(chain(5))
      for (const label of ["producer", "middle"]) yield* stores[1]!.corrupt(store, once.byLabel[label]!.record!.output.hash)
      const repaired = yield* traced(chain(6))
      expect(repaired.events).toEqual([
        "last queued", "producer cached", "middle cached", "producer running", "producer done", "middle running", "middle done", "last running", "last done"
      ])
      expect(yield* repaired.value(repaired.byLabel["last"]!.id)).toEqual([{ x: 9 }])
      expect((yield* store.check({ repair: false })).problems).toEqual([])
    }).pipe(inMemory()))

  const cannot = [
    {
      what: "its recomputation fails",
      rerun: (run: Run) => run.pipe(Effect.andThen(Effect.fail(new NodeFailed({ node: "producer", reason: "the disk is on fire" })))),
      producer: "failed",
      says: `recomputing node "producer" failed (the disk is on fire); the next \`pipeline run\` tries again`
    },
    {
      what: "it is not deterministic",
      // the run stores other bytes than the first did
      rerun: (run: Run, task: Task) =>
        run.pipe(Effect.andThen((ran) =>
          ArtifactStore.use((store) => OutputCommit.store(store, task.node, task.label, [{ x: 100 }], [])).pipe(
            Effect.map((stored) => ({ ...ran, ...stored, value: [{ x: 100 }] }))
          )
        )),
      producer: "done",
      says: `recomputing node "producer" gave other bytes`
    }
  ]
  for (const { producer: outcome, rerun, says, what } of cannot) {
    it(`a consumer fails naming the object, its producer and what to do when ${what}: no wrong result`, () =>
      Effect.gen(function*() {
        const made = yield* damagedProducer
        const damaged = yield* traced(second)
        const consumer = damaged.byLabel["consumer"]!
        expect(consumer.status).toBe("failed")
        expect(consumer.error).toContain(`input "a": object ${made.output.hash} (output of node "producer") is corrupt`)
        expect(consumer.error).toContain(`dropped 1 key record naming it; ${says}`)
        expect(damaged.events).toEqual(["consumer queued", "producer cached", "producer running", `producer ${outcome}`, "consumer failed"])
      }).pipe(inMemory(rerunning(rerun))))
  }

  it("an object found corrupt again after its producer was recomputed fails its reader", () => {
    const bad = { hash: "" }
    // a disk that fails every read of one object
    const badDisk = Layer.effect(
      ArtifactStore,
      Effect.gen(function*() {
        const store = yield* ArtifactStore
        return ArtifactStore.of({
          ...store,
          read: (hash) => hash === bad.hash ? Effect.fail(new CorruptObject({ hash, path: hash, reason: "a bad sector" })) : store.read(hash)
        })
      })
    ).pipe(Layer.provide(ArtifactStore.layerMemory()))
    return Effect.gen(function*() {
      bad.hash = (yield* schedule(first)).results.find((r) => r.label === "producer")!.record!.output.hash
      const repaired = yield* traced(second)
      // the consumer got the recomputed value in memory; read back from the store, it is corrupt again
      expect(repaired.events).toEqual(["consumer queued", "producer cached", "producer running", "producer done", "consumer running", "consumer done"])
      const again = yield* Effect.flip(repaired.value(repaired.byLabel["producer"]!.id))
      expect(again.message).toContain(`(output of node "producer") is corrupt: a bad sector; found again after node "producer" was recomputed in this run`)
      expect(again.message).toContain("check the disk the store is on (`pipeline fsck`)")
    }).pipe(Effect.provide(Layer.mergeAll(badDisk, Executor.inProcess("wasm"))), Effect.runPromise)
  })
})
