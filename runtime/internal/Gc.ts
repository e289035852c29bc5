/**
 * What `gc` removes from a store, decided once for both stores (the file store and the
 * in-memory test double list their contents; each removes what `select` picks):
 *
 * - key records of keys only forgotten runs referred to (`pipeline runs rm`, `gc
 *   --keep-last`), with their logs: nothing the run log keeps refers to them any more;
 * - objects nothing refers to any more — no logged run, no key record kept — unless written
 *   within the grace period (a running node may not have committed the record naming them yet);
 * - key records whose objects are gone or short (they can never be hits again);
 * - checkpoints of committed keys (they can never be resumed from), and with
 *   `checkpoints: true` every checkpoint.
 *
 * A record, log or checkpoint whose key a live process holds the lock of is left alone: its
 * node may be computing it right now; so is a record or log written within the grace period.
 * Pure: no clock, no file system.
 */
import type { KeyRecord } from "../ArtifactStore.ts"
import * as Integrity from "./Integrity.ts"

/**
 * How long gc spares an unreferenced object, record or log after it was written (or
 * rewritten): a node commits its record moments after putting its objects, and its run logs
 * the record moments after that, so the references gc was given may predate them.
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

/** What the run log says about the store's contents. */
export interface References {
  /** objects some logged run names (its nodes' outputs and metrics) */
  readonly hashes: ReadonlySet<string>
  /**
   * keys that forgotten runs referred to and no logged run refers to: their records and logs go.
   * Empty while a run is in progress: it may be about to log any key as a cache hit.
   */
  readonly forgotten: ReadonlySet<string>
}

/** What `gc` removed: key records of forgotten runs, unreferenced objects, logs and checkpoints. */
export interface GcReport {
  /** key records removed: those only forgotten runs referred to, and those whose objects are gone */
  readonly keyRecords: number
  readonly objects: number
  readonly bytes: number
  readonly logs: number
  readonly logBytes: number
  readonly checkpoints: number
  readonly checkpointBytes: number
}

/** A stored object as gc sees it: its name, size and when it was last written (ms since the epoch). */
export interface ListedObject {
  readonly hash: string
  readonly size: number
  readonly writtenAt: number
}

/** A checkpoint or a node's log (`logs/<key>.log`) as gc sees it. */
export interface ListedFile {
  readonly key: string
  readonly size: number
}

/** A node's log as gc sees it. */
export interface ListedLog extends ListedFile {
  readonly writtenAt: number
}

/** A key record as gc sees it; `record` is undefined when it is not a valid record. */
export interface ListedRecord {
  readonly key: string
  readonly record: KeyRecord | undefined
  readonly writtenAt: number
}

/** What a store holds, as gc sees it. */
export interface Listing {
  readonly objects: ReadonlyArray<ListedObject>
  /** every key record, by the key it is stored under */
  readonly records: ReadonlyArray<ListedRecord>
  readonly checkpoints: ReadonlyArray<ListedFile>
  readonly logs: ReadonlyArray<ListedLog>
}

/** What gc removes from a listing. */
export interface Selection {
  /** keys whose records are removed because only forgotten runs referred to them */
  readonly forgotten: ReadonlyArray<string>
  readonly objects: ReadonlyArray<ListedObject>
  /** keys whose records are removed because their objects are gone */
  readonly dangling: ReadonlyArray<string>
  readonly logs: ReadonlyArray<ListedLog>
  readonly checkpoints: ReadonlyArray<ListedFile>
}

/** Whether something written at `writtenAt` is still within gc's grace period at `now`. */
export const isYoung = (writtenAt: number, now: number): boolean => writtenAt > now - objectGraceMs

/** The objects `records` name. */
export const namedBy = (records: ReadonlyArray<ListedRecord>): Set<string> =>
  new Set(records.flatMap(({ record }) => (record === undefined ? [] : Integrity.refsOf(record).map((ref) => ref.hash))))

/**
 * What gc removes from `listing` at time `now`, given what the run log still refers to and
 * the keys whose locks a live process `held`.
 */
export const select = (
  listing: Listing,
  references: References,
  now: number,
  held: ReadonlySet<string>,
  options: GcOptions = {}
): Selection => {
  // a key whose record or log gc may remove now: forgotten, not being computed
  const collectable = (key: string, writtenAt: number) => references.forgotten.has(key) && !held.has(key) && !isYoung(writtenAt, now)
  const forgotten = listing.records.filter((r) => collectable(r.key, r.writtenAt)).map((r) => r.key)
  const gone = new Set(forgotten)
  const kept = listing.records.filter((r) => !gone.has(r.key))
  const sizes = new Map(listing.objects.map((o) => [o.hash, o.size]))
  const isIntact = ({ record }: ListedRecord) => record !== undefined && Integrity.isIntact(record, (hash) => sizes.get(hash))
  // what intact records name stays; a record whose objects are gone or short can never be a hit again
  const intact = kept.filter(isIntact)
  const referenced = new Set([...references.hashes, ...namedBy(intact)])
  const objects = listing.objects.filter((o) => !referenced.has(o.hash) && !isYoung(o.writtenAt, now))
  const dangling = kept.filter((r) => r.record !== undefined && !held.has(r.key) && !isIntact(r)).map((r) => r.key)
  const recorded = new Set(kept.map((r) => r.key))
  const logs = listing.logs.filter((log) => !recorded.has(log.key) && collectable(log.key, log.writtenAt))
  const committed = new Set(listing.records.map((r) => r.key))
  const checkpoints = listing.checkpoints.filter((c) => !held.has(c.key) && (options.checkpoints === true || committed.has(c.key)))
  return { forgotten, objects, dangling, logs, checkpoints }
}

const total = (files: ReadonlyArray<{ readonly size: number }>): number => files.reduce((sum, f) => sum + f.size, 0)

/** The report of a gc that removed these. */
export const report = (removed: {
  readonly keyRecords: number
  readonly objects: ReadonlyArray<{ readonly size: number }>
  readonly logs: ReadonlyArray<{ readonly size: number }>
  readonly checkpoints: ReadonlyArray<{ readonly size: number }>
}): GcReport => ({
  keyRecords: removed.keyRecords,
  objects: removed.objects.length,
  bytes: total(removed.objects),
  logs: removed.logs.length,
  logBytes: total(removed.logs),
  checkpoints: removed.checkpoints.length,
  checkpointBytes: total(removed.checkpoints)
})
