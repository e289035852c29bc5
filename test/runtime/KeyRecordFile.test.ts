import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import type { KeyRecord } from "../../runtime/ArtifactStore.ts"
import * as KeyRecordFile from "../../runtime/internal/KeyRecordFile.ts"
import { tempDir } from "../helpers.ts"

const record: KeyRecord = {
  key: "k1",
  node: { kind: "test/node", label: "scored" },
  output: { hash: "a".repeat(64), format: "table", type: "Scores", bytes: 120 },
  metrics: { hash: "b".repeat(64), format: "table", type: "Metrics", bytes: 40 },
  finalMetrics: { loss: 0.25 },
  components: {
    kind: "test/node",
    version: 2,
    code: { hash: "c", files: { "nodes/score.ts": "f1" }, packages: { effect: "4.1.0" } },
    params: { lr: 0.1, layers: [2, 3], name: "x", extra: null },
    inputs: { model: "d".repeat(64) },
    env: { backend: "wasm" }
  },
  durationMs: 12.5,
  createdAt: "2026-01-01T00:00:00.000Z"
}

const text = (value: unknown) => new TextDecoder().decode(KeyRecordFile.encode(value as KeyRecord))

/** The stored JSON of `record` with the field at `path` replaced by `value` (undefined: removed). */
const edited = (path: ReadonlyArray<string>, value: unknown): string => {
  const copy = JSON.parse(text(record)) as Record<string, unknown>
  let at = copy
  for (const field of path.slice(0, -1)) at = at[field] as Record<string, unknown>
  if (value === undefined) delete at[path.at(-1)!]
  else at[path.at(-1)!] = value
  return JSON.stringify(copy)
}

describe("KeyRecordFile", () => {
  it("reads back the record it wrote", () => {
    expect(KeyRecordFile.decode(text(record))).toEqual(record)
  })

  it("reads a metric that ended as NaN or infinite (null in JSON) as NaN", () => {
    const decoded = KeyRecordFile.decode(text({ ...record, finalMetrics: { loss: Number.NaN, kl: Number.POSITIVE_INFINITY, reward: 1 } }))
    expect(decoded?.finalMetrics).toEqual({ loss: Number.NaN, kl: Number.NaN, reward: 1 })
  })

  it("is no record when the text is not JSON or not an object", () => {
    for (const bad of ["", "{", text(record).slice(0, -10), "null", "[]", "42", '"k1"']) expect(KeyRecordFile.decode(bad)).toBeUndefined()
  })

  it("is no record when a field is missing or has the wrong type", () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, unknown]> = [
      [["key"], undefined],
      [["key"], 1],
      [["node"], "scored"],
      [["node", "label"], undefined],
      [["output"], undefined],
      [["output", "hash"], 7],
      [["output", "format"], "csv"],
      [["output", "bytes"], "120"],
      [["metrics", "type"], null],
      [["finalMetrics"], [1]],
      [["finalMetrics", "loss"], "0.25"],
      [["components"], undefined],
      [["components", "version"], "2"],
      [["components", "code", "files"], { "nodes/score.ts": 1 }],
      [["components", "code", "packages"], undefined],
      [["components", "params"], [0.1]],
      [["components", "inputs", "model"], null],
      [["components", "env"], "wasm"],
      [["durationMs"], null],
      [["createdAt"], 0]
    ]
    for (const [path, value] of cases) {
      expect({ path, value, decoded: KeyRecordFile.decode(edited(path, value)) }).toEqual({ path, value, decoded: undefined })
    }
  })
})

describe("KeyRecordFile.readCached", () => {
  const write = (file: string, value: KeyRecord) => {
    // as a store does: a complete file renamed into place
    fs.writeFileSync(`${file}.tmp`, KeyRecordFile.encode(value))
    fs.renameSync(`${file}.tmp`, file)
  }

  it("serves a record from the cache while its file is the one it was read from, and reads it again once replaced", () => {
    const file = path.join(tempDir("records"), "k1.json")
    write(file, record)
    const cache: KeyRecordFile.ReadCache = new Map()
    const first = KeyRecordFile.readCached(file, cache)
    expect(first?.record).toEqual(record)
    expect(first?.identity).toBe(KeyRecordFile.identityOf(fs.statSync(file)))
    // the same file: the cached entry itself, not a read (a stand-in record proves it)
    const standIn = { record: { ...record, durationMs: 99 }, identity: first!.identity }
    cache.set(file, { identity: first!.identity, value: standIn })
    expect(KeyRecordFile.readCached(file, cache)).toBe(standIn)
    // a new file renamed over it: read again
    write(file, { ...record, durationMs: 1 })
    expect(KeyRecordFile.readCached(file, cache)?.record.durationMs).toBe(1)
    // gone: no record, and nothing kept for it
    fs.rmSync(file)
    expect(KeyRecordFile.readCached(file, cache)).toBeUndefined()
    expect(cache.has(file)).toBe(false)
  })
})
