/**
 * The content-addressed artifact store: the only module that reads or writes
 * artifact files.
 *
 *   <root>/objects/ab/abcdef…   artifact bytes, named by their sha256
 *   <root>/keys/<key>.json      cache key → output and metrics objects (+ key components)
 *   <root>/locks/<key>.lock     one writer per key across processes
 *   <root>/checkpoints/<key>.safetensors
 *                               the latest checkpoint of a training node still running (or killed)
 *   <root>/tmp/<pid>-…          files being written; renamed into place when complete
 *   <root>/quarantine/<hash>    objects found corrupt, moved out of every reader's way
 *
 * Every file is written to tmp/, fsynced, hashed while written, then renamed, so a
 * reader never sees a partial file; objects are made read-only before they are renamed.
 * An object is served only when its bytes hash to its name, and a key record is a hit
 * only while its objects are stored with the sizes it records (internal/Integrity.ts).
 * Temp files and locks left by a killed process (its pid no longer alive) are removed
 * when the store is next opened or locked.
 */
import { Context, Effect, Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Format } from "../dsl/Artifact.ts"
import type * as CacheKey from "./CacheKey.ts"
import { type CorruptObject, reasonOf, StoreError } from "./Errors.ts"
import * as Integrity from "./internal/Integrity.ts"
import { host, isAlive } from "./internal/Process.ts"
import { layout } from "./internal/StoreLayout.ts"

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
}

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
   * Remove objects whose hash is not in `referenced` (sparing those written in the last
   * `objectGraceMs`: a running node may not have committed them yet), key records whose
   * objects are missing, checkpoints of committed keys (all checkpoints with
   * `options.checkpoints`), and temp files of dead processes. A record or checkpoint whose
   * key a live process has locked is left alone: its node may be computing it right now.
   */
  readonly gc: (referenced: ReadonlySet<string>, options?: GcOptions) => Effect.Effect<GcReport, StoreError>
}>()("ablate/runtime/ArtifactStore") {
  /** The store in directory `root` (created on first write). */
  static readonly layer = (root: string) => Layer.succeed(ArtifactStore, makeFileStore(path.resolve(root)))
  /** An in-memory store for tests of the planner and scheduler. */
  static readonly layerMemory = () => Layer.sync(ArtifactStore, makeMemoryStore)
}

/**
 * How long gc spares an unreferenced object after it was written (or rewritten): a
 * node commits its record moments after putting its objects, and the references gc
 * was given may predate that commit.
 */
export const objectGraceMs = 60_000

/**
 * What keeps `dir` (an absolute path) from being a store's directory, if anything: it, or an
 * ancestor, exists and is not a directory (say, `is a file, not a directory`). Commands check
 * their store with it before they read or write anything.
 */
export const directoryProblem = (dir: string): string | undefined => {
  for (let at = dir; ; at = path.dirname(at)) {
    let stat: fs.Stats | undefined
    try {
      stat = fs.lstatSync(at, { throwIfNoEntry: false })
      if (stat?.isSymbolicLink() === true) stat = fs.statSync(at, { throwIfNoEntry: false }) ?? stat
    } catch (error) {
      // ENOTDIR: an ancestor is not a directory, found further up; anything else (say,
      // no permission) is for the store to report when it reads or writes
      if ((error as NodeJS.ErrnoException).code !== "ENOTDIR") return undefined
    }
    if (stat !== undefined && !stat.isDirectory()) {
      const what = stat.isFile()
        ? "is a file, not a directory"
        : stat.isSymbolicLink()
        ? "is a symbolic link to nothing"
        : "is not a directory"
      return `${at === dir ? "" : `${at} `}${what}`
    }
    if (stat !== undefined || path.dirname(at) === at) return undefined
  }
}

const attempt = <A>(file: string, f: () => A): Effect.Effect<A, StoreError> =>
  Effect.try({ try: f, catch: (error) => new StoreError({ path: file, reason: reasonOf(error) }) })

const makeFileStore = (root: string): ArtifactStore["Service"] => {
  const { dirs, checkpointKey, checkpointPath, objectPath, keyPath, lockPath, quarantinePath } = layout(root)

  const fsyncDir = (dir: string) => {
    const fd = fs.openSync(dir, "r")
    try {
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  }

  // Temp files are named `<pid>~<host>~<suffix>`, so the files of a dead process can be told apart.
  const tempPath = (suffix: string): string => path.join(dirs.tmp, `${process.pid}~${host}~${suffix}`)

  const removeDeadTemps = () => {
    if (!fs.existsSync(dirs.tmp)) return
    for (const name of fs.readdirSync(dirs.tmp)) {
      const [pid, owner] = name.split("~")
      if (owner === host && !isAlive(Number(pid))) fs.rmSync(path.join(dirs.tmp, name), { force: true })
    }
  }
  let cleaned = false

  /**
   * Write bytes to a new temp file (fsynced; read-only when `readOnly`), returning its path and
   * the sha256 computed while writing.
   */
  const writeTemp = (bytes: Uint8Array, readOnly = false): { readonly file: string; readonly hash: string } => {
    fs.mkdirSync(dirs.tmp, { recursive: true })
    if (!cleaned) {
      removeDeadTemps()
      cleaned = true
    }
    const file = tempPath(randomBytes(6).toString("hex"))
    const hash = createHash("sha256")
    const fd = fs.openSync(file, "wx")
    try {
      const chunk = 1 << 20
      for (let at = 0; at < bytes.length; at += chunk) {
        const part = bytes.subarray(at, Math.min(at + chunk, bytes.length))
        hash.update(part)
        let written = 0
        while (written < part.length) written += fs.writeSync(fd, part, written)
      }
      if (readOnly) fs.fchmodSync(fd, 0o444)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    return { file, hash: hash.digest("hex") }
  }

  const moveIntoPlace = (temp: string, dest: string) => {
    const dir = path.dirname(dest)
    fs.mkdirSync(dir, { recursive: true })
    fs.renameSync(temp, dest)
    fsyncDir(dir)
  }

  // A key record that is not valid JSON was not written by a store (which renames complete
  // files into place): it is no record, and the next commit of its key replaces it.
  const readRawRecord = (file: string): KeyRecord | undefined => {
    try {
      return JSON.parse(fs.readFileSync(file, "utf8")) as KeyRecord
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || error instanceof SyntaxError) return undefined
      throw error
    }
  }
  const sizeOf = (hash: string) => fs.statSync(objectPath(hash), { throwIfNoEntry: false })?.size
  const hasObjects = (record: KeyRecord) => Integrity.isIntact(record, sizeOf)

  // A record whose objects are gone (removed by a `gc` that raced a run, or by hand) or
  // short is not a hit: the node is recomputed rather than served from nothing. `gc`
  // removes such records.
  const readRecord = (file: string): KeyRecord | undefined => {
    const record = readRawRecord(file)
    return record !== undefined && hasObjects(record) ? record : undefined
  }

  const token = `${process.pid}~${randomBytes(6).toString("hex")}`

  // An empty lock is one being written, or one whose writer died between creating and
  // writing it: held for a few seconds, stale after that.
  const emptyLockGraceMs = 5_000

  const isStale = (file: string): boolean => {
    let owner: { pid?: number; host?: string }
    try {
      const text = fs.readFileSync(file, "utf8")
      if (text === "") return Date.now() - fs.statSync(file).mtimeMs > emptyLockGraceMs
      owner = JSON.parse(text) as typeof owner
    } catch {
      return false
    }
    return owner.host === host && typeof owner.pid === "number" && !isAlive(owner.pid)
  }

  // Take the lock of `key` if it is free, or held by a dead process; false when a live one holds it.
  const tryLock = (key: string): boolean => {
    fs.mkdirSync(dirs.locks, { recursive: true })
    const file = lockPath(key)
    const create = (): boolean => {
      try {
        fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host, token }), { flag: "wx" })
        return true
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
        return false
      }
    }
    if (create()) return true
    if (!isStale(file)) return false
    // Break a stale lock by moving it aside (atomic: of several waiters, one moves it), then
    // compete for the lock like everyone else. Between our check and our move another waiter
    // may have broken it and taken the lock itself: what we moved is checked again, and a
    // live lock goes back (unless a newer one is already in its place).
    // (into tmp/ under this process's name, so it is cleaned up if this process dies here)
    fs.mkdirSync(dirs.tmp, { recursive: true })
    const aside = tempPath(`lock-${key}`)
    try {
      fs.renameSync(file, aside)
    } catch {
      return false // another waiter moved it first
    }
    if (!isStale(aside)) {
      try {
        fs.linkSync(aside, file)
      } catch {
        // a newer lock is in place
      }
      fs.rmSync(aside, { force: true })
      return false
    }
    fs.rmSync(aside, { force: true })
    return create()
  }

  // Release only our own lock: after a takeover the file may belong to another process.
  const unlock = (key: string) => {
    const file = lockPath(key)
    try {
      if ((JSON.parse(fs.readFileSync(file, "utf8")) as { token?: string }).token === token) fs.rmSync(file, { force: true })
    } catch {
      // already gone
    }
  }

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

  const integrity: Integrity.Access = {
    *objects() {
      if (!fs.existsSync(dirs.objects)) return
      for (const prefix of fs.readdirSync(dirs.objects)) {
        for (const hash of fs.readdirSync(path.join(dirs.objects, prefix))) {
          const file = path.join(dirs.objects, prefix, hash)
          const stat = fs.statSync(file, { throwIfNoEntry: false })
          if (stat?.isFile() === true) yield { hash, path: file, size: stat.size }
        }
      }
    },
    hashOf: (hash) => hashFile(objectPath(hash)),
    *records() {
      if (!fs.existsSync(dirs.keys)) return
      for (const name of fs.readdirSync(dirs.keys)) {
        if (!name.endsWith(".json")) continue
        const file = path.join(dirs.keys, name)
        yield { key: name.slice(0, -".json".length), path: file, record: readRawRecord(file) }
      }
    },
    moveToQuarantine: (hash) => {
      fs.mkdirSync(dirs.quarantine, { recursive: true })
      try {
        fs.renameSync(objectPath(hash), quarantinePath(hash))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
        throw error
      }
      return quarantinePath(hash)
    },
    removeRecord: (key) => {
      if (!tryLock(key)) return false
      try {
        fs.rmSync(keyPath(key), { force: true })
        return true
      } finally {
        unlock(key)
      }
    }
  }

  return ArtifactStore.of({
    root,
    keys: () =>
      attempt(dirs.keys, () => {
        const records = new Map<string, KeyRecord>()
        if (!fs.existsSync(dirs.keys)) return records
        for (const name of fs.readdirSync(dirs.keys)) {
          if (!name.endsWith(".json")) continue
          const record = readRecord(path.join(dirs.keys, name))
          if (record !== undefined) records.set(record.key, record)
        }
        return records
      }),
    lookup: (key) => attempt(keyPath(key), () => readRecord(keyPath(key))),
    index: () =>
      Effect.sync(() => {
        const read = new Map<string, KeyRecord | undefined>()
        const readOrMiss = (key: string) => {
          try {
            return readRecord(keyPath(key))
          } catch {
            return undefined
          }
        }
        return {
          get: (key) => {
            if (!read.has(key)) read.set(key, readOrMiss(key))
            return read.get(key)
          }
        }
      }),
    // A copy already stored with the right size is kept (replacing it would change its inode,
    // and with it every replay record naming it); a missing or short one is replaced.
    put: (bytes, meta) =>
      attempt(dirs.objects, () => {
        const { file, hash } = writeTemp(bytes, true)
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
        } else moveIntoPlace(file, dest)
        return { ...meta, hash, bytes: bytes.length }
      }),
    read: (hash) =>
      Effect.flatMap(
        attempt(objectPath(hash), () => {
          try {
            return new Uint8Array(fs.readFileSync(objectPath(hash)))
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
            throw error
          }
        }),
        (bytes) => {
          const corrupt = bytes === undefined ? Integrity.missing(hash, objectPath(hash)) : Integrity.verify(hash, objectPath(hash), bytes)
          return corrupt === undefined ? Effect.succeed(bytes!) : Effect.fail(corrupt)
        }
      ),
    quarantine: (hash) => attempt(objectPath(hash), () => Integrity.quarantine(integrity, hash)),
    check: ({ repair }) => attempt(root, () => Integrity.check(integrity, repair)),
    commit: (record) =>
      attempt(keyPath(record.key), () => {
        const { file } = writeTemp(new TextEncoder().encode(JSON.stringify(record)))
        moveIntoPlace(file, keyPath(record.key))
      }),
    // Polling happens with interruption allowed (Ctrl-C while waiting works); taking the
    // lock and registering its release happen without a gap.
    withLock: (key, onWait, effect) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          let waited = false
          while (!(yield* attempt(lockPath(key), () => tryLock(key)))) {
            if (!waited) onWait()
            waited = true
            yield* restore(Effect.sleep("50 millis"))
          }
          return yield* restore(effect).pipe(Effect.ensuring(Effect.sync(() => unlock(key))))
        })
      ),
    readCheckpoint: (key) =>
      attempt(checkpointPath(key), () => {
        try {
          return new Uint8Array(fs.readFileSync(checkpointPath(key)))
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
          throw error
        }
      }),
    writeCheckpoint: (key, bytes) =>
      attempt(checkpointPath(key), () => moveIntoPlace(writeTemp(bytes).file, checkpointPath(key))),
    removeCheckpoint: (key) => attempt(checkpointPath(key), () => fs.rmSync(checkpointPath(key), { force: true })),
    gc: (referenced, options = {}) =>
      attempt(dirs.objects, () => {
        removeDeadTemps()
        let checkpoints = 0
        let checkpointBytes = 0
        if (fs.existsSync(dirs.checkpoints)) {
          for (const name of fs.readdirSync(dirs.checkpoints)) {
            const key = checkpointKey(name)
            // A checkpoint of a committed key can never be resumed from; any other is kept
            // for the run that resumes it unless asked for.
            if (key === undefined || !(options.checkpoints === true || fs.existsSync(keyPath(key))) || !tryLock(key)) continue
            try {
              const size = fs.statSync(checkpointPath(key), { throwIfNoEntry: false })?.size
              if (size === undefined) continue
              fs.rmSync(checkpointPath(key), { force: true })
              checkpoints++
              checkpointBytes += size
            } finally {
              unlock(key)
            }
          }
        }
        let objects = 0
        let bytes = 0
        if (fs.existsSync(dirs.objects)) {
          const spareAfter = Date.now() - objectGraceMs
          for (const prefix of fs.readdirSync(dirs.objects)) {
            for (const hash of fs.readdirSync(path.join(dirs.objects, prefix))) {
              if (referenced.has(hash)) continue
              const file = path.join(dirs.objects, prefix, hash)
              const stat = fs.statSync(file)
              if (stat.mtimeMs > spareAfter) continue
              fs.rmSync(file)
              bytes += stat.size
              objects++
            }
          }
        }
        // Records whose objects are missing can never be hits again. One whose key is
        // locked is left alone: its node may be recomputing it right now.
        if (fs.existsSync(dirs.keys)) {
          for (const name of fs.readdirSync(dirs.keys)) {
            if (!name.endsWith(".json")) continue
            const file = path.join(dirs.keys, name)
            const record = readRawRecord(file)
            if (record === undefined || hasObjects(record) || !tryLock(record.key)) continue
            try {
              const current = readRawRecord(file)
              if (current !== undefined && !hasObjects(current)) fs.rmSync(file, { force: true })
            } finally {
              unlock(record.key)
            }
          }
        }
        return { objects, bytes, checkpoints, checkpointBytes }
      })
  })
}

const makeMemoryStore = (): ArtifactStore["Service"] => {
  const objects = new Map<string, Uint8Array>()
  const records = new Map<string, KeyRecord>()
  // when each object was last put, for gc's grace period
  const written = new Map<string, number>()
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
  return ArtifactStore.of({
    root: ":memory:",
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
    read: (hash) =>
      Effect.suspend(() => {
        const bytes = objects.get(hash)
        const corrupt = bytes === undefined ? Integrity.missing(hash, hash) : Integrity.verify(hash, hash, bytes)
        return corrupt === undefined ? Effect.succeed(bytes!) : Effect.fail(corrupt)
      }),
    quarantine: (hash) => Effect.sync(() => Integrity.quarantine(integrity, hash)),
    check: ({ repair }) => Effect.sync(() => Integrity.check(integrity, repair)),
    commit: (record) => Effect.sync(() => void records.set(record.key, record)),
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
    gc: (referenced, options = {}) =>
      Effect.sync(() => {
        let count = 0
        let bytes = 0
        let checkpointCount = 0
        let checkpointBytes = 0
        for (const [key, data] of checkpoints) {
          if (held.has(key) || !(options.checkpoints === true || records.has(key))) continue
          checkpoints.delete(key)
          checkpointCount++
          checkpointBytes += data.length
        }
        const spareAfter = Date.now() - objectGraceMs
        for (const [hash, data] of objects) {
          if (referenced.has(hash) || written.get(hash)! > spareAfter) continue
          objects.delete(hash)
          written.delete(hash)
          count++
          bytes += data.length
        }
        for (const [key, record] of records) {
          if (!hasObjects(record) && !held.has(key)) records.delete(key)
        }
        return { objects: count, bytes, checkpoints: checkpointCount, checkpointBytes }
      })
  })
}
