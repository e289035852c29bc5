import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { root, unary } from "../../bench/fixtures/trivial.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { ArtifactStore, type KeyRecord } from "../../runtime/ArtifactStore.ts"
import type * as CacheKey from "../../runtime/CacheKey.ts"
import { CorruptObject } from "../../runtime/Errors.ts"
import { Executor } from "../../runtime/Executor.ts"
import { schedule } from "../helpers.ts"

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
    corrupt: (store: ArtifactStore["Service"], hash: string) =>
      Effect.sync(() => {
        const file = path.join(store.root, "objects", hash.slice(0, 2), hash)
        fs.chmodSync(file, 0o644)
        const bytes = fs.readFileSync(file)
        bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff
        fs.writeFileSync(file, bytes)
      })
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
      yield* store.gc(new Set(), {})
      fs.rmSync(store.root, { recursive: true })
    }).pipe(Effect.provide(ArtifactStore.layer(tempStore())), Effect.runPromise))
})

describe("scheduler", () => {
  const producer = () => root({ i: 1 }, { name: "producer" })
  const first = Pipeline.make("first", () => unary({ a: producer(), i: 2 }, { name: "consumer" }))
  // the same producer, a consumer that is not cached yet: it reads the producer's stored output
  const second = Pipeline.make("second", () => unary({ a: producer(), i: 3 }, { name: "consumer" }))

  it("a consumer whose input is corrupt fails naming it, and the next run recomputes the producer: no wrong result", () =>
    Effect.gen(function*() {
      const store = yield* ArtifactStore
      const once = yield* schedule(first)
      const made = once.results.find((r) => r.label === "producer")!.record!
      yield* stores[1]!.corrupt(store, made.output.hash)

      const damaged = yield* schedule(second)
      const consumer = damaged.results.find((r) => r.label === "consumer")!
      expect(consumer.status).toBe("failed")
      expect(consumer.error).toContain(`input "a": object ${made.output.hash} (output of node "producer") is corrupt`)
      expect(consumer.error).toContain(`dropped 1 key record naming it; the next \`pipeline run\` recomputes node "producer"`)
      expect(yield* store.lookup(made.key)).toBeUndefined()

      const rerun = yield* schedule(second)
      expect(rerun.results.map((r) => [r.label, r.status])).toEqual([["producer", "ran"], ["consumer", "ran"]])
      expect(rerun.results[0]!.record!.output.hash).toBe(made.output.hash)
      expect(yield* rerun.value(rerun.results[1]!.id)).toEqual([{ x: 4 }])
    }).pipe(Effect.provide(Layer.mergeAll(ArtifactStore.layerMemory(), Executor.inProcess("wasm"))), Effect.runPromise))
})
