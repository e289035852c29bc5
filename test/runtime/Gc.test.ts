import * as Effect from "effect/Effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it, vi } from "vitest"
import { ArtifactStore, type GcOptions, type KeyRecord, objectGraceMs } from "../../runtime/ArtifactStore.ts"
import type * as CacheKey from "../../runtime/CacheKey.ts"
import * as Gc from "../../runtime/internal/Gc.ts"
import { filesUnder, tempDir } from "../helpers.ts"

const encode = (text: string) => new TextEncoder().encode(text)

const components: CacheKey.Components = {
  kind: "test/node",
  version: 1,
  code: { hash: "c", files: {}, packages: {} },
  params: {},
  inputs: {},
  env: {}
}

/** Put an output and a metrics object and commit a record of them under `key`. */
const commitNode = (key: string, output: string, metrics: string) =>
  Effect.gen(function*() {
    const store = yield* ArtifactStore
    const outputRef = yield* store.put(encode(output), { format: "table", type: "T" })
    const metricsRef = yield* store.put(encode(metrics), { format: "table", type: "Metrics" })
    const record: KeyRecord = {
      key,
      node: { kind: "test/node", label: key },
      output: outputRef,
      metrics: metricsRef,
      finalMetrics: {},
      components,
      durationMs: 1,
      createdAt: new Date(0).toISOString()
    }
    yield* store.commit(record)
    return record
  })

/** Run `effect` holding the lock of `key`, as a node computing that key does. */
const holding = <A, E>(key: string, effect: Effect.Effect<A, E, ArtifactStore>) =>
  Effect.gen(function*() {
    return yield* (yield* ArtifactStore).withLock(key, () => {}, effect)
  })

/** What the run log tells gc: the objects runs name, and the keys only forgotten runs referred to. */
const references = (hashes: ReadonlyArray<string> = [], forgotten: ReadonlyArray<string> = []): Gc.References => ({
  hashes: new Set(hashes),
  forgotten: new Set(forgotten)
})

/** `pipeline gc` (with `options`) on a store whose runs name nothing and forgot nothing. */
const gcWith = (options: GcOptions, told: Gc.References = references()) =>
  Effect.gen(function*() {
    return yield* (yield* ArtifactStore).gc(Effect.succeed(told), options)
  })
const gc = gcWith({})

/** What gc reports when it removed no key record, log or checkpoint. */
const nothingElse = { keyRecords: 0, logs: 0, logBytes: 0, checkpoints: 0, checkpointBytes: 0 }

/**
 * Checkpoints under four keys: `done` (its key committed), `resumable` (a killed run's), `dead` (a
 * killed run's, whose lock its dead process left behind) and `live` (not committed either).
 */
const checkpointsOfEveryKind = Effect.gen(function*() {
  const store = yield* ArtifactStore
  yield* store.writeCheckpoint("done", encode("done"))
  yield* commitNode("done", "out", "met")
  yield* store.writeCheckpoint("resumable", encode("resumable"))
  yield* store.writeCheckpoint("dead", encode("dead"))
  yield* store.writeCheckpoint("live", encode("live"))
})

const tempStore = () => tempDir("gc")
const objectFile = (root: string, hash: string) => path.join(root, "objects", hash.slice(0, 2), hash)
const backdate = (file: string) => fs.utimesSync(file, 0, 0)
const withStore = <A, E>(f: (store: ArtifactStore["Service"]) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    return yield* f(yield* ArtifactStore)
  })
const run = <A, E>(root: string, effect: Effect.Effect<A, E, ArtifactStore>) =>
  Effect.runPromise(effect.pipe(Effect.provide(ArtifactStore.layer(root))))

describe("gc of the file store", () => {
  it("removes a record whose object is missing, and its surviving object", async () => {
    const root = tempStore()
    const record = await run(root, commitNode("k1", "out", "met"))
    backdate(objectFile(root, record.metrics.hash))
    fs.rmSync(objectFile(root, record.output.hash))
    expect(await run(root, withStore((s) => s.lookup("k1")))).toBeUndefined()
    expect(await run(root, gc)).toEqual({ ...nothingElse, keyRecords: 1, objects: 1, bytes: 3 })
    expect(fs.existsSync(objectFile(root, record.metrics.hash))).toBe(false)
    expect(fs.existsSync(path.join(root, "keys", "k1.json"))).toBe(false)
  })

  it("removes a forgotten key's record and log with the objects only it named; spares one committed within the grace period", async () => {
    const root = tempStore()
    const forgotten = await run(root, commitNode("k1", "shared", "met1"))
    const kept = await run(root, commitNode("k2", "shared", "met2"))
    fs.mkdirSync(path.join(root, "logs"))
    fs.writeFileSync(path.join(root, "logs", "k1.log"), "printed\n")
    fs.writeFileSync(path.join(root, "logs", "run-1.log"), "a run's own\n")
    for (const file of filesUnder(root)) backdate(path.join(root, file))
    const recent = await run(root, commitNode("k3", "recent", "met3"))
    for (const hash of [recent.output.hash, recent.metrics.hash]) backdate(objectFile(root, hash))
    const removed = await run(root, gcWith({}, references([], ["k1", "k3"])))
    expect(removed).toEqual({ ...nothingElse, keyRecords: 1, objects: 1, bytes: 4, logs: 1, logBytes: 8 })
    expect(fs.readdirSync(path.join(root, "keys")).sort()).toEqual(["k2.json", "k3.json"])
    expect(fs.existsSync(objectFile(root, forgotten.metrics.hash))).toBe(false)
    expect(fs.existsSync(objectFile(root, kept.output.hash))).toBe(true)
    expect(fs.readdirSync(path.join(root, "logs"))).toEqual(["run-1.log"])
    expect((await run(root, withStore((s) => s.lookup("k3"))))?.output.hash).toBe(recent.output.hash)
  })

  it("keeps valid records and their objects", async () => {
    const root = tempStore()
    const record = await run(root, commitNode("k1", "out", "met"))
    backdate(objectFile(root, record.output.hash))
    backdate(objectFile(root, record.metrics.hash))
    expect(await run(root, gc)).toEqual({ objects: 0, bytes: 0, ...nothingElse })
    expect((await run(root, withStore((s) => s.lookup("k1"))))?.output.hash).toBe(record.output.hash)
  })

  it("a key record that is not valid JSON is no record: listing, lookups and planning go on", async () => {
    const root = tempStore()
    const record = await run(root, commitNode("k1", "out", "met"))
    fs.writeFileSync(path.join(root, "keys", "k2.json"), "garbage")
    expect([...(await run(root, withStore((s) => s.keys()))).keys()]).toEqual(["k1"])
    expect(await run(root, withStore((s) => s.lookup("k2")))).toBeUndefined()
    const index = await run(root, withStore((s) => s.index()))
    expect(index.get("k1")?.output.hash).toBe(record.output.hash)
    expect(index.get("k2")).toBeUndefined()
    expect(index.get("k3")).toBeUndefined()
    // a commit of the key replaces it
    await run(root, commitNode("k2", "out2", "met2"))
    expect((await run(root, withStore((s) => s.index()))).get("k2")?.node.label).toBe("k2")
  })

  it("a key record of the wrong shape is no record either, and fsck reports it; a NaN metric reads back as NaN", async () => {
    const root = tempStore()
    const record = await run(root, commitNode("k1", "out", "met"))
    const { output: _, ...noOutput } = record
    fs.writeFileSync(path.join(root, "keys", "k2.json"), JSON.stringify(noOutput))
    fs.writeFileSync(path.join(root, "keys", "k3.json"), JSON.stringify({ ...record, key: "k3", durationMs: "1" }))
    expect([...(await run(root, withStore((s) => s.keys()))).keys()]).toEqual(["k1"])
    expect(await run(root, withStore((s) => s.lookup("k2")))).toBeUndefined()
    expect((await run(root, withStore((s) => s.index()))).get("k3")).toBeUndefined()
    const checked = await run(root, withStore((s) => s.check({ repair: false })))
    expect(checked.problems.map((p) => [path.basename(p.path), p.what]).sort()).toEqual([
      ["k2.json", "not a valid key record"],
      ["k3.json", "not a valid key record"]
    ])
    await run(root, withStore((s) => s.commit({ ...record, key: "k4", finalMetrics: { loss: Number.NaN, reward: 2 } })))
    expect((await run(root, withStore((s) => s.lookup("k4"))))?.finalMetrics).toEqual({ loss: Number.NaN, reward: 2 })
  })

  it("spares an unreferenced object younger than the grace period (put, not yet committed)", async () => {
    const root = tempStore()
    const ref = await run(root, withStore((s) => s.put(encode("pending"), { format: "table", type: "T" })))
    expect(await run(root, gc)).toEqual({ objects: 0, bytes: 0, ...nothingElse })
    expect(fs.existsSync(objectFile(root, ref.hash))).toBe(true)
    backdate(objectFile(root, ref.hash))
    expect(await run(root, gc)).toEqual({ objects: 1, bytes: 7, ...nothingElse })
    expect(fs.existsSync(objectFile(root, ref.hash))).toBe(false)
  })

  it("putting an object that is already stored renews its grace period", async () => {
    const root = tempStore()
    const put = withStore((s) => s.put(encode("again"), { format: "table", type: "T" }))
    const ref = await run(root, put)
    backdate(objectFile(root, ref.hash))
    await run(root, put)
    expect(await run(root, gc)).toEqual({ objects: 0, bytes: 0, ...nothingElse })
    expect(fs.existsSync(objectFile(root, ref.hash))).toBe(true)
  })

  it("keeps resumable checkpoints; with checkpoints: true removes every one whose key no live process has locked", async () => {
    const root = tempStore()
    await run(root, checkpointsOfEveryKind)
    // the lock a killed process left: its pid is no longer alive
    const deadPid = spawnSync(process.execPath, ["-e", ""]).pid
    fs.mkdirSync(path.join(root, "locks"), { recursive: true })
    fs.writeFileSync(path.join(root, "locks", "dead.lock"), JSON.stringify({ pid: deadPid, host: os.hostname(), token: "t" }))
    const checkpoints = () => fs.readdirSync(path.join(root, "checkpoints")).sort()

    expect(await run(root, gc)).toEqual({ ...nothingElse, objects: 0, bytes: 0, checkpoints: 1, checkpointBytes: 4 })
    expect(checkpoints()).toEqual(["dead.safetensors", "live.safetensors", "resumable.safetensors"])

    // while a live process (this one) holds the lock of `live`
    const whileLive = await run(root, holding("live", gcWith({ checkpoints: true })))
    expect(whileLive).toEqual({ ...nothingElse, objects: 0, bytes: 0, checkpoints: 2, checkpointBytes: 13 })
    expect(checkpoints()).toEqual(["live.safetensors"])
    expect(fs.existsSync(path.join(root, "locks", "dead.lock"))).toBe(false)

    expect(await run(root, gcWith({ checkpoints: true }))).toEqual({ ...nothingElse, objects: 0, bytes: 0, checkpoints: 1, checkpointBytes: 4 })
    expect(checkpoints()).toEqual([])
    expect(fs.readdirSync(path.join(root, "locks"))).toEqual([])
  })

  it("keeps the checkpoint of a committed key while a live process holds its lock (a forced rerun training it)", async () => {
    const root = tempStore()
    await run(root, checkpointsOfEveryKind)
    const held = await run(root, holding("done", gc))
    expect(held).toEqual({ objects: 0, bytes: 0, ...nothingElse })
    expect(fs.existsSync(path.join(root, "checkpoints", "done.safetensors"))).toBe(true)
  })

  it("leaves a dangling record whose key is locked (its node may be recomputing it)", async () => {
    const root = tempStore()
    const record = await run(root, commitNode("k1", "out", "met"))
    fs.rmSync(objectFile(root, record.output.hash))
    await run(
      root,
      Effect.gen(function*() {
        const store = yield* ArtifactStore
        yield* store.withLock("k1", () => {}, gc)
      })
    )
    expect(fs.existsSync(path.join(root, "keys", "k1.json"))).toBe(true)
    await run(root, gc)
    expect(fs.existsSync(path.join(root, "keys", "k1.json"))).toBe(false)
  })
})

describe("the memory store", () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it("removes checkpoints as the file store does", async () => {
    const removed = await Effect.runPromise(
      Effect.gen(function*() {
        const store = yield* ArtifactStore
        yield* checkpointsOfEveryKind
        const plain = yield* gc
        const afterPlain = [yield* store.readCheckpoint("done"), yield* store.readCheckpoint("resumable")]
        const whileLive = yield* holding("live", gcWith({ checkpoints: true }))
        const live = yield* store.readCheckpoint("live")
        const all = yield* gcWith({ checkpoints: true })
        return { plain, afterPlain, whileLive, live, all, left: yield* store.readCheckpoint("live") }
      }).pipe(Effect.provide(ArtifactStore.layerMemory()))
    )
    expect(removed.plain).toMatchObject({ checkpoints: 1, checkpointBytes: 4 })
    expect(removed.afterPlain.map((bytes) => bytes === undefined)).toEqual([true, false])
    expect(removed.whileLive).toMatchObject({ checkpoints: 2, checkpointBytes: 13 })
    expect(removed.live).toBeDefined()
    expect(removed.all).toMatchObject({ checkpoints: 1, checkpointBytes: 4 })
    expect(removed.left).toBeUndefined()
  })

  it("treats a record whose object is missing as absent, and gc removes it with the object it alone named", async () => {
    vi.useFakeTimers({ toFake: ["Date"] })
    const outcome = await Effect.runPromise(
      Effect.gen(function*() {
        const store = yield* ArtifactStore
        const record = yield* commitNode("k1", "out", "met")
        const metrics = yield* store.put(encode("met2"), { format: "table", type: "Metrics" })
        yield* store.commit({ ...record, key: "k2", output: { ...record.output, hash: "0".repeat(64) }, metrics })
        const absent = yield* store.lookup("k2")
        vi.setSystemTime(Date.now() + objectGraceMs + 1)
        const removed = yield* gc
        return { absent, removed, k1: yield* store.lookup("k1"), keys: [...(yield* store.keys()).keys()] }
      }).pipe(Effect.provide(ArtifactStore.layerMemory()))
    )
    expect(outcome.absent).toBeUndefined()
    expect(outcome.removed).toEqual({ ...nothingElse, keyRecords: 1, objects: 1, bytes: 4 })
    expect(outcome.k1?.key).toBe("k1")
    expect(outcome.keys).toEqual(["k1"])
  })

  it("removes a forgotten key's record once past the grace period, with the objects no kept record names", async () => {
    vi.useFakeTimers({ toFake: ["Date"] })
    const outcome = await Effect.runPromise(
      Effect.gen(function*() {
        const store = yield* ArtifactStore
        yield* commitNode("forgotten", "shared", "metrics of forgotten")
        yield* commitNode("kept", "shared", "metrics of kept")
        const told = references([], ["forgotten"])
        const young = yield* gcWith({}, told)
        vi.setSystemTime(Date.now() + objectGraceMs + 1)
        const old = yield* gcWith({}, told)
        return { young, old, keys: [...(yield* store.keys()).keys()] }
      }).pipe(Effect.provide(ArtifactStore.layerMemory()))
    )
    expect(outcome.young).toEqual({ ...nothingElse, objects: 0, bytes: 0 })
    expect(outcome.old).toEqual({ ...nothingElse, keyRecords: 1, objects: 1, bytes: "metrics of forgotten".length })
    expect(outcome.keys).toEqual(["kept"])
  })
})

describe("gc's selection", () => {
  const now = 1_000_000_000
  const old = now - objectGraceMs
  /** A record of `key` naming objects `output` and `metrics`, with the sizes it says they have. */
  const recordOf = (key: string, output: [string, number], metrics: [string, number]): KeyRecord => ({
    key,
    node: { kind: "test/node", label: key },
    output: { hash: output[0], bytes: output[1], format: "table", type: "T" },
    metrics: { hash: metrics[0], bytes: metrics[1], format: "table", type: "Metrics" },
    finalMetrics: {},
    components,
    durationMs: 1,
    createdAt: new Date(0).toISOString()
  })
  const object = (hash: string, size: number, writtenAt = old) => ({ hash, size, writtenAt })
  const listed = (key: string, record: KeyRecord | undefined, writtenAt = old): Gc.ListedRecord => ({ key, record, writtenAt })
  const log = (key: string, size: number, writtenAt = old): Gc.ListedLog => ({ key, size, writtenAt })
  const none: ReadonlySet<string> = new Set()
  const empty: Gc.Listing = { objects: [], records: [], checkpoints: [], logs: [] }
  const removesNothing = { forgotten: [], objects: [], dangling: [], logs: [], checkpoints: [] }

  it("removes unreferenced objects written before the grace period, and keeps the rest", () => {
    const listing: Gc.Listing = {
      ...empty,
      objects: [object("referenced", 1), object("old", 2), object("oldest", 3, 0), object("young", 4, old + 1), object("edge", 5, old)]
    }
    const selected = Gc.select(listing, references(["referenced"]), now, none)
    expect(selected.objects.map((o) => o.hash)).toEqual(["old", "oldest", "edge"])
    expect(Gc.report({ ...selected, keyRecords: 0 })).toEqual({ ...nothingElse, objects: 3, bytes: 10 })
  })

  it("keeps what intact records name; removes records whose objects are missing or short, with what only they name; keeps invalid and held ones", () => {
    const listing: Gc.Listing = {
      ...empty,
      objects: [object("o1", 10), object("m1", 5), object("m3", 5), object("short", 3), object("m4", 5), object("m6", 5), object("stray", 1)],
      records: [
        listed("intact", recordOf("intact", ["o1", 10], ["m1", 5])),
        listed("missing", recordOf("missing", ["absent", 10], ["m3", 5])),
        listed("truncated", recordOf("truncated", ["short", 10], ["m4", 5])),
        listed("invalid", undefined),
        listed("held", recordOf("held", ["absent", 10], ["m6", 5]))
      ]
    }
    // a run names m4
    const selected = Gc.select(listing, references(["m4"]), now, new Set(["held"]))
    expect(selected.objects.map((o) => o.hash)).toEqual(["m3", "short", "m6", "stray"])
    expect(selected.dangling).toEqual(["missing", "truncated"])
    expect(selected.forgotten).toEqual([])
  })

  describe("after runs were forgotten", () => {
    const listing: Gc.Listing = {
      ...empty,
      objects: [
        object("f-out", 100), object("run-named", 10), object("shared", 1000), object("f2-met", 20), object("k-met", 30),
        object("y-out", 1), object("y-met", 1), object("h-out", 1), object("h-met", 1)
      ],
      records: [
        listed("forgotten", recordOf("forgotten", ["f-out", 100], ["run-named", 10])),
        listed("forgotten-shares", recordOf("forgotten-shares", ["shared", 1000], ["f2-met", 20])),
        listed("kept", recordOf("kept", ["shared", 1000], ["k-met", 30])),
        listed("recommitted", recordOf("recommitted", ["y-out", 1], ["y-met", 1]), old + 1),
        listed("computing", recordOf("computing", ["h-out", 1], ["h-met", 1]))
      ],
      logs: [log("forgotten", 7), log("recommitted", 1), log("computing", 1), log("kept", 1), log("failed-node", 3), log("just-printed", 1, old + 1)]
    }
    const forgotten = ["forgotten", "forgotten-shares", "recommitted", "computing", "failed-node", "just-printed"]

    it("removes the records and logs of forgotten keys, and the objects nothing kept names", () => {
      const selected = Gc.select(listing, references(["run-named"], forgotten), now, new Set(["computing"]))
      expect(selected.forgotten).toEqual(["forgotten", "forgotten-shares"])
      // shared stays with `kept`, run-named with the run naming it
      expect(selected.objects.map((o) => o.hash)).toEqual(["f-out", "f2-met"])
      expect(selected.logs.map((l) => l.key)).toEqual(["forgotten", "failed-node"])
      expect(selected.dangling).toEqual([])
      expect(Gc.report({ ...selected, keyRecords: selected.forgotten.length })).toEqual({
        ...nothingElse,
        keyRecords: 2,
        objects: 2,
        bytes: 120,
        logs: 2,
        logBytes: 10
      })
    })

    it("removes no record or log while nothing is forgotten (a run is in progress)", () => {
      const selected = Gc.select(listing, references(["run-named"]), now, none)
      expect(selected).toEqual(removesNothing)
    })
  })

  it("removes checkpoints of committed keys (all with checkpoints: true), never those of held keys", () => {
    const listing: Gc.Listing = {
      ...empty,
      records: [
        listed("done", recordOf("done", ["x", 1], ["y", 1])),
        listed("done-held", recordOf("done-held", ["x", 1], ["y", 1])),
        listed("done-invalid", undefined)
      ],
      objects: [object("x", 1), object("y", 1)],
      checkpoints: [
        { key: "done", size: 1 },
        { key: "done-held", size: 2 },
        { key: "done-invalid", size: 4 },
        { key: "resumable", size: 8 },
        { key: "live", size: 16 }
      ]
    }
    const held = new Set(["done-held", "live"])
    const plain = Gc.select(listing, references(), now, held)
    expect(plain.checkpoints.map((c) => c.key)).toEqual(["done", "done-invalid"])
    const all = Gc.select(listing, references(), now, held, { checkpoints: true })
    expect(all).toEqual({ ...removesNothing, checkpoints: all.checkpoints })
    expect(all.checkpoints.map((c) => c.key)).toEqual(["done", "done-invalid", "resumable"])
    expect(Gc.report({ ...all, keyRecords: 0 })).toEqual({ ...nothingElse, objects: 0, bytes: 0, checkpoints: 3, checkpointBytes: 13 })
  })

  it("selects nothing from an empty store", () => {
    expect(Gc.select(empty, references([], ["k"]), now, none, { checkpoints: true })).toEqual(removesNothing)
  })
})
