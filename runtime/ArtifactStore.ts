/**
 * The content-addressed artifact store: the only module that reads or writes
 * artifact files. It holds the service's interface and its two implementations, the
 * file store (`layer`) and the in-memory test double (`layerMemory`); the parts they are
 * made of live in internal/:
 *
 *   <root>/objects/ab/abcdef…   artifact bytes, named by their sha256
 *   <root>/keys/<key>.json      cache key → output and metrics objects (+ key components),
 *                               read back with its shape checked (internal/KeyRecordFile.ts)
 *   <root>/locks/<key>.lock     one writer per key across processes (internal/KeyLock.ts)
 *   <root>/checkpoints/<key>.safetensors
 *                               the latest checkpoint of a training node still running (or killed)
 *   <root>/tmp/<pid>~<host>~…   files being written; renamed into place when complete
 *   <root>/quarantine/<hash>    objects found corrupt, moved out of every reader's way
 *
 * Every file is written to tmp/, fsynced, hashed while written, then renamed, so a
 * reader never sees a partial file; objects are made read-only before they are renamed
 * (internal/AtomicFile.ts). An object is served only when its bytes hash to its name, and a
 * key record is a hit only while its objects are stored with the sizes it records
 * (internal/Integrity.ts). What `gc` removes is decided once for both stores
 * (internal/Gc.ts). Temp files and locks left by a killed process (its pid no longer
 * alive) are removed when the store is next written or locked; opening and reading a
 * store writes nothing, so a read-only store serves every command that only reads.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Format } from "../dsl/Artifact.ts"
import type * as CacheKey from "./CacheKey.ts"
import { type CorruptObject, reasonOf, StoreError, StoreUnavailable } from "./Errors.ts"
import * as AtomicFile from "./internal/AtomicFile.ts"
import { makeDirectory } from "./internal/Directory.ts"
import * as Gc from "./internal/Gc.ts"
import type { GcOptions, GcReport, References } from "./internal/Gc.ts"
import * as Integrity from "./internal/Integrity.ts"
import * as KeyLock from "./internal/KeyLock.ts"
import * as KeyRecordFile from "./internal/KeyRecordFile.ts"
import { creationProblem, writeProblem } from "./internal/StoreAccess.ts"
import { layout } from "./internal/StoreLayout.ts"

export type { GcOptions, GcReport, References } from "./internal/Gc.ts"
export { objectGraceMs } from "./internal/Gc.ts"
export { directoryProblem } from "./internal/StoreAccess.ts"

/** A stored object. */
export interface ObjectRef {
  readonly hash: string
  readonly format: Format
  /** artifact type name, e.g. `PreferencePairs` */
  readonly type: string
  readonly bytes: number
}

/** What a cache key maps to. */
export interface KeyRecord {
  readonly key: string
  readonly node: { readonly kind: string; readonly label: string }
  readonly output: ObjectRef
  readonly metrics: ObjectRef
  /** last value of each metric, so listing a cached node needs no Parquet read */
  readonly finalMetrics: { readonly [name: string]: number }
  readonly components: CacheKey.Components
  readonly durationMs: number
  readonly createdAt: string
}

/** Key records looked up by key, as planning asks for them. */
export interface KeyIndex {
  readonly get: (key: string) => KeyRecord | undefined
  /**
   * The identity of the file `get` read the record of `key` from (KeyRecordFile.identityOf);
   * undefined when it has not read one. A store without files has none.
   */
  readonly identity?: (key: string) => string | undefined
}

/** The store's interface; `layer` is the file-system implementation, `layerMemory` the test double. */
export class ArtifactStore extends Context.Service<ArtifactStore, {
  readonly root: string
  /** Every key record in the store. */
  readonly keys: () => Effect.Effect<ReadonlyMap<string, KeyRecord>, StoreError>
  readonly lookup: (key: string) => Effect.Effect<KeyRecord | undefined, StoreError>
  /**
   * The key records, each read when first asked for: what planning needs, so a plan reads
   * the records of its own nodes, not the whole store. A record that cannot be read is not
   * a hit (its node is recomputed and the record replaced).
   */
  readonly index: () => Effect.Effect<KeyIndex>
  /** Store bytes under their hash, read-only (a copy already stored is kept unless its size is wrong). */
  readonly put: (bytes: Uint8Array, meta: Omit<ObjectRef, "hash" | "bytes">) => Effect.Effect<ObjectRef, StoreError>
  /**
   * Whether object `ref.hash` is stored with its `ref.bytes` bytes (without reading them: a read
   * checks them), as a result another process computed must be before it is committed.
   */
  readonly has: (ref: ObjectRef) => Effect.Effect<boolean, StoreError>
  /**
   * The bytes of object `hash`, checked against it: fails with `CorruptObject` when they do
   * not hash to it or the object is missing (the caller decides whether to `quarantine` it).
   */
  readonly read: (hash: string) => Effect.Effect<Uint8Array, StoreError | CorruptObject>
  /**
   * Move a corrupt object to `quarantine/` and drop every key record that names it, so the
   * node that made it is recomputed by the next plan.
   */
  readonly quarantine: (hash: string) => Effect.Effect<Integrity.Quarantined, StoreError>
  /**
   * Check every object against its name and every key record against its objects
   * (`pipeline fsck`); with `repair`, quarantine corrupt objects and remove the records that
   * are invalid or whose objects are gone, short or corrupt.
   */
  readonly check: (options: { readonly repair: boolean }) => Effect.Effect<Integrity.StoreCheck, StoreError>
  /** Record that `record.key` produced `record.output`: from then on the key is a cache hit. */
  readonly commit: (record: KeyRecord) => Effect.Effect<void, StoreError>
  /**
   * Run `effect` holding the lock of `key`. While another live process holds it,
   * calls `onWait` once and polls; a lock whose owner died is taken over.
   */
  readonly withLock: <A, E, R>(
    key: string,
    onWait: () => void,
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | StoreError, R>
  /** The checkpoint saved under `key`, if any. */
  readonly readCheckpoint: (key: string) => Effect.Effect<Uint8Array | undefined, StoreError>
  /** Atomically replace the checkpoint saved under `key`. */
  readonly writeCheckpoint: (key: string, bytes: Uint8Array) => Effect.Effect<void, StoreError>
  readonly removeCheckpoint: (key: string) => Effect.Effect<void, StoreError>
  /**
   * Remove the key records and logs of `references.forgotten` keys, objects that neither the
   * run log (`references.hashes`) nor a remaining intact record names (sparing those written in
   * the last `objectGraceMs`: a running node may not have committed them yet), key records
   * whose objects are missing, checkpoints of committed keys (all checkpoints with
   * `options.checkpoints`), and temp files of dead processes (internal/Gc.ts decides). A
   * record, log or checkpoint whose key a live process has locked is left alone: its node may
   * be computing it right now. `references` is read after the store is listed, so what a run
   * logs meanwhile is kept.
   */
  readonly gc: <E>(references: Effect.Effect<References, E>, options?: GcOptions) => Effect.Effect<GcReport, StoreError | E>
}>()("ablate/runtime/ArtifactStore") {
  /** The store in directory `root` (created on first write); its plans read key records through `KeyRecordReads`. */
  static readonly layer = (root: string) =>
    Layer.effect(
      ArtifactStore,
      Effect.gen(function*() {
        return makeFileStore(path.resolve(root), yield* KeyRecordReads)
      })
    )
  /** An in-memory store for tests of the planner and scheduler. */
  static readonly layerMemory = () => Layer.sync(ArtifactStore, makeMemoryStore)
  /** The `root` of an in-memory store: no other process can reach it. */
  static readonly memoryRoot = ":memory:"
}

/**
 * Fail with `StoreUnavailable` unless the store at `root` (an absolute path) can be written:
 * what `pipeline <command>` checks first when it writes the store. Leaves nothing behind. A
 * store yet to be made is also tried: an empty directory made and removed beside where it
 * would go, since some places pass every check that writes nothing yet let no directory be
 * made (procfs: `--store /proc/x`).
 */
export const ensureWritable = (root: string, command: string): Effect.Effect<void, StoreUnavailable> =>
  Effect.suspend(() => {
    const reason = writeProblem(root) ?? creationProblem(root)
    return reason === undefined ? Effect.void : Effect.fail(new StoreUnavailable({ path: root, reason, command }))
  })

const attempt = <A>(file: string, f: () => A): Effect.Effect<A, StoreError> =>
  Effect.try({ try: f, catch: (error) => new StoreError({ path: file, reason: reasonOf(error) }) })

const hashFile = (file: string): string => {
  const hash = createHash("sha256")
  const fd = fs.openSync(file, "r")
  try {
    const chunk = Buffer.allocUnsafe(1 << 20)
    for (let n; (n = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0;) hash.update(chunk.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
  return hash.digest("hex")
}

/** The bytes of `file`, or undefined when it does not exist. */
const readIfExists = (file: string): Uint8Array | undefined => {
  try {
    return new Uint8Array(fs.readFileSync(file))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

/** The bytes read as object `hash` (undefined: missing), or the error saying they are not it. */
const checked = (hash: string, where: string, bytes: Uint8Array | undefined): Effect.Effect<Uint8Array, CorruptObject> => {
  const corrupt = bytes === undefined ? Integrity.missing(hash, where) : Integrity.verify(hash, where, bytes)
  return corrupt === undefined ? Effect.succeed(bytes!) : Effect.fail(corrupt)
}

/**
 * The key records a process has read already, kept across the stores it opens: a resident
 * process's (cli/ResidentServer.ts), where a plan's records cost a stat each instead of a read.
 * None by default: every plan reads every record.
 */
export const KeyRecordReads: Context.Reference<KeyRecordFile.ReadCache | undefined> = Context.Reference<KeyRecordFile.ReadCache | undefined>(
  "ablate/runtime/KeyRecordReads",
  { defaultValue: () => undefined }
)

const makeFileStore = (root: string, reads?: KeyRecordFile.ReadCache): ArtifactStore["Service"] => {
  const { dirs, checkpointKey, checkpointPath, objectPath, keyPath, lockPath, logKey, logPath, quarantinePath } = layout(root)
  const files = AtomicFile.make(dirs.tmp)
  const locks = KeyLock.make(dirs.locks, lockPath, (key) => files.tempPath(`lock-${key}`))

  const sizeOf = (hash: string) => fs.statSync(objectPath(hash), { throwIfNoEntry: false })?.size
  const hasObjects = (record: KeyRecord, sizes: (hash: string) => number | undefined = sizeOf) => Integrity.isIntact(record, sizes)

  // A record whose objects are gone (removed by a `gc` that raced a run, or by hand) or
  // short is not a hit: the node is recomputed rather than served from nothing. `gc`
  // removes such records. Read through the process's `KeyRecordReads` when it keeps one.
  const readRecord = (file: string, sizes?: (hash: string) => number | undefined) => {
    const found = reads === undefined ? KeyRecordFile.readIdentified(file) : KeyRecordFile.readCached(file, reads)
    return found !== undefined && hasObjects(found.record, sizes) ? found : undefined
  }

  /** What `f` returns, run holding the lock of `key`; undefined when a live process holds it. */
  const locked = <A>(key: string, f: () => A): A | undefined => {
    if (!locks.tryLock(key)) return undefined
    try {
      return f()
    } finally {
      locks.unlock(key)
    }
  }

  function* listObjects() {
    if (!fs.existsSync(dirs.objects)) return
    for (const prefix of fs.readdirSync(dirs.objects)) {
      for (const hash of fs.readdirSync(path.join(dirs.objects, prefix))) {
        const file = path.join(dirs.objects, prefix, hash)
        const stat = fs.statSync(file, { throwIfNoEntry: false })
        if (stat?.isFile() === true) yield { hash, path: file, size: stat.size, writtenAt: stat.mtimeMs }
      }
    }
  }

  function* listRecords() {
    if (!fs.existsSync(dirs.keys)) return
    for (const name of fs.readdirSync(dirs.keys)) {
      if (!name.endsWith(".json")) continue
      const file = path.join(dirs.keys, name)
      const writtenAt = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs
      if (writtenAt !== undefined) yield { key: name.slice(0, -".json".length), path: file, record: KeyRecordFile.read(file), writtenAt }
    }
  }

  function* listLogs() {
    if (!fs.existsSync(dirs.logs)) return
    for (const name of fs.readdirSync(dirs.logs)) {
      const key = logKey(name)
      const stat = key === undefined ? undefined : fs.statSync(logPath(key), { throwIfNoEntry: false })
      if (key !== undefined && stat?.isFile() === true) yield { key, size: stat.size, writtenAt: stat.mtimeMs }
    }
  }

  function* listCheckpoints() {
    if (!fs.existsSync(dirs.checkpoints)) return
    for (const name of fs.readdirSync(dirs.checkpoints)) {
      const key = checkpointKey(name)
      const size = key === undefined ? undefined : fs.statSync(checkpointPath(key), { throwIfNoEntry: false })?.size
      if (key !== undefined && size !== undefined) yield { key, size }
    }
  }

  const integrity: Integrity.Access = {
    objects: listObjects,
    hashOf: (hash) => hashFile(objectPath(hash)),
    records: listRecords,
    moveToQuarantine: (hash) => {
      makeDirectory(dirs.quarantine)
      try {
        fs.renameSync(objectPath(hash), quarantinePath(hash))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
        throw error
      }
      return quarantinePath(hash)
    },
    removeRecord: (key) =>
      locked(key, () => {
        fs.rmSync(keyPath(key), { force: true })
        return true
      }) === true
  }

  // Remove `file` unless it is gone or (given `now`) was written within the grace period since
  // gc listed the store: its size, or undefined when it stays.
  const removeFile = (file: string, now?: number): number | undefined => {
    const stat = fs.statSync(file, { throwIfNoEntry: false })
    if (stat === undefined || (now !== undefined && Gc.isYoung(stat.mtimeMs, now))) return undefined
    fs.rmSync(file, { force: true })
    return stat.size
  }
  const removedFrom = (key: string, size: number | undefined) => (size === undefined ? [] : [{ key, size }])

  // What gc picked is removed under each key's lock, checked again there: a node may have
  // committed or taken its key since the listing.
  const remove = (listing: Gc.Listing, references: References, options: GcOptions): GcReport => {
    const now = Date.now()
    const held = new Set([...listing.records, ...listing.checkpoints, ...listing.logs].map(({ key }) => key).filter(locks.isHeld))
    const selected = Gc.select(listing, references, now, held, options)
    const checkpoints = selected.checkpoints.flatMap(({ key }) => removedFrom(key, locked(key, () => removeFile(checkpointPath(key)))))
    const forgotten = new Set(selected.forgotten.filter((key) => locked(key, () => removeFile(keyPath(key), now)) !== undefined))
    // a forgotten record that stays after all (its key taken, or committed again) keeps its objects
    const chosen = new Set(selected.forgotten)
    const spared = Gc.namedBy(listing.records.filter(({ key }) => chosen.has(key) && !forgotten.has(key)))
    const objects = selected.objects.filter(({ hash }) => !spared.has(hash) && removeFile(objectPath(hash), now) !== undefined)
    const dangling = selected.dangling.filter((key) =>
      locked(key, () => {
        const current = KeyRecordFile.read(keyPath(key))
        return current !== undefined && !hasObjects(current) ? removeFile(keyPath(key)) : undefined
      }) !== undefined
    )
    const logs = selected.logs.flatMap(({ key }) =>
      removedFrom(key, locked(key, () => (fs.existsSync(keyPath(key)) ? undefined : removeFile(logPath(key), now))))
    )
    return Gc.report({ keyRecords: forgotten.size + dangling.length, objects, logs, checkpoints })
  }

  const collect = <E>(references: Effect.Effect<References, E>, options: GcOptions) =>
    Effect.gen(function*() {
      const listing = yield* attempt(root, (): Gc.Listing => {
        files.removeDeadTemps()
        return { objects: [...listObjects()], records: [...listRecords()], checkpoints: [...listCheckpoints()], logs: [...listLogs()] }
      })
      const referenced = yield* references
      return yield* attempt(dirs.objects, () => remove(listing, referenced, options))
    })

  return ArtifactStore.of({
    root,
    keys: () =>
      attempt(dirs.keys, () => {
        const records = new Map<string, KeyRecord>()
        for (const { record } of listRecords()) {
          if (record !== undefined && hasObjects(record)) records.set(record.key, record)
        }
        return records
      }),
    lookup: (key) => attempt(keyPath(key), () => readRecord(keyPath(key))?.record),
    index: () =>
      Effect.sync(() => {
        const read = new Map<string, { readonly record: KeyRecord; readonly identity: string } | undefined>()
        // records share objects (the same empty metrics, say): a plan looks at each file once
        const sizes = new Map<string, number | undefined>()
        const sizeOnce = (hash: string) => {
          if (!sizes.has(hash)) sizes.set(hash, sizeOf(hash))
          return sizes.get(hash)
        }
        const readOrMiss = (key: string) => {
          try {
            return readRecord(keyPath(key), sizeOnce)
          } catch {
            return undefined
          }
        }
        const entry = (key: string) => {
          if (!read.has(key)) read.set(key, readOrMiss(key))
          return read.get(key)
        }
        return { get: (key) => entry(key)?.record, identity: (key) => read.get(key)?.identity }
      }),
    // A copy already stored with the right size is kept (replacing it would change its inode,
    // and with it every replay record naming it); a missing or short one is replaced.
    put: (bytes, meta) =>
      attempt(dirs.objects, () => {
        const { file, hash } = files.writeTemp(bytes, true)
        const dest = objectPath(hash)
        if (sizeOf(hash) === bytes.length) {
          fs.rmSync(file)
          // rewritten now, as far as gc's grace period is concerned (best effort: in a
          // shared store the object may belong to another user)
          try {
            const now = new Date()
            fs.utimesSync(dest, now, now)
          } catch {
            // left as it was
          }
        } else files.moveIntoPlace(file, dest)
        return { ...meta, hash, bytes: bytes.length }
      }),
    has: (ref) => attempt(objectPath(ref.hash), () => sizeOf(ref.hash) === ref.bytes),
    read: (hash) => Effect.flatMap(attempt(objectPath(hash), () => readIfExists(objectPath(hash))), (bytes) => checked(hash, objectPath(hash), bytes)),
    quarantine: (hash) => attempt(objectPath(hash), () => Integrity.quarantine(integrity, hash)),
    check: ({ repair }) => attempt(root, () => Integrity.check(integrity, repair)),
    commit: (record) => attempt(keyPath(record.key), () => files.write(keyPath(record.key), KeyRecordFile.encode(record))),
    // Polling happens with interruption allowed (Ctrl-C while waiting works); taking the
    // lock and registering its release happen without a gap.
    withLock: (key, onWait, effect) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          let waited = false
          while (!(yield* attempt(lockPath(key), () => locks.tryLock(key)))) {
            if (!waited) onWait()
            waited = true
            yield* restore(Effect.sleep("50 millis"))
          }
          return yield* restore(effect).pipe(Effect.ensuring(Effect.sync(() => locks.unlock(key))))
        })
      ),
    readCheckpoint: (key) => attempt(checkpointPath(key), () => readIfExists(checkpointPath(key))),
    writeCheckpoint: (key, bytes) => attempt(checkpointPath(key), () => files.write(checkpointPath(key), bytes)),
    removeCheckpoint: (key) => attempt(checkpointPath(key), () => fs.rmSync(checkpointPath(key), { force: true })),
    gc: (references, options = {}) => collect(references, options)
  })
}

const makeMemoryStore = (): ArtifactStore["Service"] => {
  const objects = new Map<string, Uint8Array>()
  const records = new Map<string, KeyRecord>()
  // when each object was last put, and each record committed, for gc's grace period
  const written = new Map<string, number>()
  const committed = new Map<string, number>()
  const checkpoints = new Map<string, Uint8Array>()
  const held = new Set<string>()
  const quarantined = new Map<string, Uint8Array>()
  // the file store's rule: a record whose objects are missing or short is not a hit
  const hasObjects = (record: KeyRecord) => Integrity.isIntact(record, (hash) => objects.get(hash)?.length)
  const integrity: Integrity.Access = {
    objects: () => [...objects].map(([hash, bytes]) => ({ hash, path: hash, size: bytes.length })),
    hashOf: (hash) => Integrity.sha256(objects.get(hash)!),
    records: () => [...records].map(([key, record]) => ({ key, path: key, record })),
    moveToQuarantine: (hash) => {
      const bytes = objects.get(hash)
      if (bytes === undefined) return undefined
      quarantined.set(hash, bytes)
      objects.delete(hash)
      return `quarantine/${hash}`
    },
    removeRecord: (key) => !held.has(key) && records.delete(key)
  }
  const hit = (key: string) => {
    const record = records.get(key)
    return record !== undefined && hasObjects(record) ? record : undefined
  }
  const collect = (references: References, options: GcOptions): GcReport => {
    const selected = Gc.select(
      {
        objects: [...objects].map(([hash, bytes]) => ({ hash, size: bytes.length, writtenAt: written.get(hash)! })),
        records: [...records].map(([key, record]) => ({ key, record, writtenAt: committed.get(key)! })),
        checkpoints: [...checkpoints].map(([key, bytes]) => ({ key, size: bytes.length })),
        logs: []
      },
      references,
      Date.now(),
      held,
      options
    )
    for (const { key } of selected.checkpoints) checkpoints.delete(key)
    for (const { hash } of selected.objects) {
      objects.delete(hash)
      written.delete(hash)
    }
    for (const key of [...selected.forgotten, ...selected.dangling]) records.delete(key)
    return Gc.report({ keyRecords: selected.forgotten.length + selected.dangling.length, objects: selected.objects, logs: [], checkpoints: selected.checkpoints })
  }
  return ArtifactStore.of({
    root: ArtifactStore.memoryRoot,
    keys: () => Effect.sync(() => new Map([...records].filter(([, record]) => hasObjects(record)))),
    lookup: (key) => Effect.sync(() => hit(key)),
    index: () => Effect.succeed({ get: hit }),
    put: (bytes, meta) =>
      Effect.sync(() => {
        const hash = Integrity.sha256(bytes)
        objects.set(hash, bytes.slice())
        written.set(hash, Date.now())
        return { ...meta, hash, bytes: bytes.length }
      }),
    // Served as stored, not copied (a test may damage them in place to play a corrupt disk),
    // and checked on every read like the file store's.
    has: (ref) => Effect.sync(() => objects.get(ref.hash)?.length === ref.bytes),
    read: (hash) => Effect.suspend(() => checked(hash, hash, objects.get(hash))),
    quarantine: (hash) => Effect.sync(() => Integrity.quarantine(integrity, hash)),
    check: ({ repair }) => Effect.sync(() => Integrity.check(integrity, repair)),
    commit: (record) =>
      Effect.sync(() => {
        records.set(record.key, record)
        committed.set(record.key, Date.now())
      }),
    withLock: (key, onWait, effect) =>
      Effect.acquireUseRelease(
        Effect.gen(function*() {
          if (held.has(key)) onWait()
          while (held.has(key)) yield* Effect.sleep("5 millis")
          held.add(key)
        }),
        () => effect,
        () => Effect.sync(() => void held.delete(key))
      ),
    readCheckpoint: (key) => Effect.sync(() => checkpoints.get(key)),
    writeCheckpoint: (key, bytes) => Effect.sync(() => void checkpoints.set(key, bytes.slice())),
    removeCheckpoint: (key) => Effect.sync(() => void checkpoints.delete(key)),
    gc: (references, options = {}) => Effect.flatMap(references, (referenced) => Effect.sync(() => collect(referenced, options)))
  })
}
