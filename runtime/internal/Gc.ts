/**
 * What `gc` removes from a store, decided once for both stores (the file store and the
 * in-memory test double list their contents; each removes what `select` picks):
 *
 * - objects no reference names, unless written within the grace period (a running node
 *   may not have committed the record naming them yet);
 * - key records whose objects are gone, or go with this gc (they can never be hits again);
 * - checkpoints of committed keys (they can never be resumed from), and with
 *   `checkpoints: true` every checkpoint.
 *
 * A record or checkpoint whose key a live process holds the lock of is left alone: its
 * node may be computing it right now. Pure: no clock, no file system.
 */
import type { KeyRecord } from "../ArtifactStore.ts"
import * as Integrity from "./Integrity.ts"

/**
 * How long gc spares an unreferenced object after it was written (or rewritten): a
 * node commits its record moments after putting its objects, and the references gc
 * was given may predate that commit.
 */
export const objectGraceMs = 60_000

/** What `gc` may remove besides what it always removes. */
export interface GcOptions {
  /**
   * Also remove the checkpoints of keys that have not committed (the default keeps them, so a
   * killed run can still resume), except those of keys a live process holds the lock of.
   */
  readonly checkpoints?: boolean
}

/** What `gc` removed: unreferenced objects, and checkpoints. */
export interface GcReport {
  readonly objects: number
  readonly bytes: number
  readonly checkpoints: number
  readonly checkpointBytes: number
}

/** A stored object as gc sees it: its name, size and when it was last written (ms since the epoch). */
export interface ListedObject {
  readonly hash: string
  readonly size: number
  readonly writtenAt: number
}

/** A checkpoint as gc sees it. */
export interface ListedCheckpoint {
  readonly key: string
  readonly size: number
}

/** What a store holds, as gc sees it. */
export interface Listing {
  readonly objects: ReadonlyArray<ListedObject>
  /** every key record, by the key it is stored under; `record` is undefined when it is not a valid record */
  readonly records: ReadonlyArray<{ readonly key: string; readonly record: KeyRecord | undefined }>
  readonly checkpoints: ReadonlyArray<ListedCheckpoint>
}

/** What gc removes from a listing. */
export interface Selection {
  readonly objects: ReadonlyArray<ListedObject>
  /** keys whose records are removed */
  readonly records: ReadonlyArray<string>
  readonly checkpoints: ReadonlyArray<ListedCheckpoint>
}

/** Whether an object written at `writtenAt` is still within gc's grace period at `now`. */
export const isYoung = (writtenAt: number, now: number): boolean => writtenAt > now - objectGraceMs

/**
 * What gc removes from `listing` at time `now`, given the object hashes still `referenced`
 * and the keys whose locks a live process `held`.
 */
export const select = (
  listing: Listing,
  referenced: ReadonlySet<string>,
  now: number,
  held: ReadonlySet<string>,
  options: GcOptions = {}
): Selection => {
  const committed = new Set(listing.records.map((r) => r.key))
  const checkpoints = listing.checkpoints.filter((c) => !held.has(c.key) && (options.checkpoints === true || committed.has(c.key)))
  const objects = listing.objects.filter((o) => !referenced.has(o.hash) && !isYoung(o.writtenAt, now))
  const removed = new Set(objects.map((o) => o.hash))
  const sizes = new Map(listing.objects.filter((o) => !removed.has(o.hash)).map((o) => [o.hash, o.size]))
  const records = listing.records
    .filter(({ key, record }) => record !== undefined && !held.has(key) && !Integrity.isIntact(record, (hash) => sizes.get(hash)))
    .map(({ key }) => key)
  return { objects, records, checkpoints }
}

/** The report of a gc that removed `objects` and `checkpoints`. */
export const report = (objects: ReadonlyArray<{ readonly size: number }>, checkpoints: ReadonlyArray<{ readonly size: number }>): GcReport => ({
  objects: objects.length,
  bytes: objects.reduce((sum, o) => sum + o.size, 0),
  checkpoints: checkpoints.length,
  checkpointBytes: checkpoints.reduce((sum, c) => sum + c.size, 0)
})
