/**
 * The integrity policy both artifact stores share (the file store and the in-memory test
 * double give it the same few primitives): an object is served only when its bytes hash
 * to its name; a key record is a hit only while every object it names is stored with the
 * size it records; a corrupt object is moved to quarantine and every key record naming it
 * dropped; and `fsck` checks every object against its name and every record against its
 * objects.
 */
import { createHash } from "node:crypto"
import type { KeyRecord, ObjectRef } from "../ArtifactStore.ts"
import { CorruptObject } from "../Errors.ts"

/** A hash shortened for a message. */
export const short = (hash: string) => `${hash.slice(0, 12)}…`

/** The sha256 of `bytes`, hex. */
export const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** The error for an object at `path` whose `size` bytes hash to `actual` instead of its name. */
export const mismatch = (hash: string, path: string, actual: string, size: number): CorruptObject =>
  new CorruptObject({ hash, path, reason: `its ${size} bytes hash to ${short(actual)}, not to its name` })

/** The error for an object that should be stored at `path` and is not. */
export const missing = (hash: string, path: string): CorruptObject => new CorruptObject({ hash, path, reason: "it is missing" })

/** `bytes` if they are the object named `hash`, else the error that says they are not. */
export const verify = (hash: string, path: string, bytes: Uint8Array): CorruptObject | undefined => {
  const actual = sha256(bytes)
  return actual === hash ? undefined : mismatch(hash, path, actual, bytes.length)
}

/** The objects a key record names, with the sizes it records. */
export const refsOf = (record: KeyRecord): ReadonlyArray<ObjectRef> => [record.output, record.metrics]

/**
 * Whether a key record can be a hit: each object it names is stored (`sizeOf` gives its size,
 * undefined when absent) with the size the record says. A truncated object is a miss.
 */
export const isIntact = (record: KeyRecord, sizeOf: (hash: string) => number | undefined): boolean =>
  refsOf(record).every((ref) => sizeOf(ref.hash) === ref.bytes)

/** What a store gives the shared checks: its objects and key records, and the few changes a repair makes. */
export interface Access {
  /** every stored object: its name, where it is, its size */
  readonly objects: () => Iterable<{ readonly hash: string; readonly path: string; readonly size: number }>
  /** the sha256 of the stored object `hash` */
  readonly hashOf: (hash: string) => string
  /** every key record file; `record` is undefined when the file is not a valid record */
  readonly records: () => Iterable<{ readonly key: string; readonly path: string; readonly record: KeyRecord | undefined }>
  /** Move object `hash` to quarantine; where it went, or undefined when it was not stored. */
  readonly moveToQuarantine: (hash: string) => string | undefined
  /** Remove the key record of `key`; false when a live process holds its lock (it may be recomputing it). */
  readonly removeRecord: (key: string) => boolean
}

/** What `quarantine` did. */
export interface Quarantined {
  /** where the object now is; undefined when it was not stored */
  readonly movedTo: string | undefined
  /** keys whose records named it and were dropped */
  readonly keys: ReadonlyArray<string>
}

/** Move a corrupt object to quarantine and drop every key record naming it, so its producer is recomputed. */
export const quarantine = (access: Access, hash: string): Quarantined => {
  const movedTo = access.moveToQuarantine(hash)
  const keys: Array<string> = []
  for (const { key, record } of access.records()) {
    if (record !== undefined && refsOf(record).some((ref) => ref.hash === hash) && access.removeRecord(key)) keys.push(key)
  }
  return { movedTo, keys }
}

/** What a quarantine did, as a message reads it. */
export const describeQuarantine = (done: Quarantined): string =>
  `${done.movedTo === undefined ? "" : `moved it to ${done.movedTo} and `}dropped ${done.keys.length} key record${
    done.keys.length === 1 ? "" : "s"
  } naming it`

/** One thing `fsck` found wrong in the store. */
export interface Problem {
  /** the object or key record file */
  readonly path: string
  readonly what: string
  /** `label (kind)` of the node a key record says made it, when one does */
  readonly node: string | undefined
  readonly key: string | undefined
  /** what `--repair` did about it; undefined when not repaired */
  readonly repaired: string | undefined
}

/** What `fsck` found in the store's objects and key records. */
export interface StoreCheck {
  readonly objects: number
  readonly records: number
  readonly problems: ReadonlyArray<Problem>
  /** the objects that are stored and intact after the check (and repair) */
  readonly intact: ReadonlySet<string>
  /** the keys whose records are sound */
  readonly keys: ReadonlySet<string>
}

/**
 * Check every object against its name and every key record against its objects; with
 * `repair`, quarantine corrupt objects and remove records that are invalid or whose objects
 * are gone, short or corrupt.
 */
export const check = (access: Access, repair: boolean): StoreCheck => {
  const records = [...access.records()]
  const makers = new Map<string, { readonly node: string; readonly key: string }>()
  for (const { key, record } of records) {
    if (record === undefined) continue
    for (const ref of refsOf(record)) makers.set(ref.hash, { node: `${record.node.label} (${record.node.kind})`, key })
  }
  const problems: Array<Problem> = []
  const sizes = new Map<string, number>()
  const corrupt = new Set<string>()
  let objects = 0
  for (const object of access.objects()) {
    objects++
    const actual = access.hashOf(object.hash)
    if (actual === object.hash) {
      sizes.set(object.hash, object.size)
      continue
    }
    corrupt.add(object.hash)
    const maker = makers.get(object.hash)
    const movedTo = repair ? access.moveToQuarantine(object.hash) : undefined
    problems.push({
      path: object.path,
      what: mismatch(object.hash, object.path, actual, object.size).reason,
      node: maker?.node,
      key: maker?.key,
      repaired: movedTo === undefined ? undefined : `moved to ${movedTo}`
    })
  }
  const keys = new Set<string>()
  for (const { key, path, record } of records) {
    const what = record === undefined
      ? "not a valid key record"
      : record.key !== key
      ? `records key ${short(record.key)}, not the key of its file name`
      : refsOf(record).flatMap((ref) => {
        const which = ref === record.output ? "output" : "metrics"
        const size = sizes.get(ref.hash)
        return corrupt.has(ref.hash)
          ? [`its ${which} object ${short(ref.hash)} is corrupt`]
          : size === undefined
          ? [`its ${which} object ${short(ref.hash)} is missing`]
          : size !== ref.bytes
          ? [`its ${which} object ${short(ref.hash)} has ${size} bytes, the record says ${ref.bytes}`]
          : []
      }).join("; ")
    if (what === "") {
      keys.add(key)
      continue
    }
    problems.push({
      path,
      what,
      node: record === undefined ? undefined : `${record.node.label} (${record.node.kind})`,
      key,
      repaired: repair && access.removeRecord(key) ? "removed (its node is recomputed by the next run)" : undefined
    })
  }
  return { objects, records: records.length, problems, intact: new Set(sizes.keys()), keys }
}
