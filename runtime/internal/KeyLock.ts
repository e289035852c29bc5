/**
 * The per-key lock of the artifact store: one writer per cache key across processes.
 *
 * A lock is the file `locks/<key>.lock`, created exclusively and holding its owner's pid,
 * host and a token unique to this store value. A lock whose owner (on this host) is no
 * longer alive is stale and is taken over; so is an empty one older than a few seconds
 * (its writer died between creating and writing it). Only the owner's token releases a lock.
 *
 * A process on another machine sharing the store cannot be asked whether it is alive: its
 * holder touches each lock it holds every `refreshMs`, and a lock of another host untouched
 * for `foreignStaleMs` is its dead holder's (a coordinator killed, a machine gone) and stale.
 * Machines sharing a store must keep their clocks within that of each other (NTP does).
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeDirectory } from "./Directory.ts"
import { host, isAlive } from "./Process.ts"

/** Locks of one store. */
export interface KeyLock {
  /** Take the lock of `key` if it is free, or held by a dead process; false when a live one holds it. */
  readonly tryLock: (key: string) => boolean
  /** Release the lock of `key` if this store value holds it (after a takeover it may be another's). */
  readonly unlock: (key: string) => void
  /** Whether a live process holds the lock of `key` now. */
  readonly isHeld: (key: string) => boolean
}

/** What a lock file says about its owner. */
const Owner = Schema.fromJsonString(Schema.Struct({
  pid: Schema.optionalKey(Schema.Number),
  host: Schema.optionalKey(Schema.String),
  token: Schema.optionalKey(Schema.String)
}))
const decodeOwner = Schema.decodeUnknownOption(Owner)

// An empty lock is one being written, or one whose writer died between creating and
// writing it: held for a few seconds, stale after that.
const emptyLockGraceMs = 5_000

/** How often a holder touches its locks, and how long another host's lock may go untouched before it is stale. */
export interface Timing {
  readonly refreshMs: number
  readonly foreignStaleMs: number
}

const defaultTiming: Timing = { refreshMs: 10_000, foreignStaleMs: 60_000 }

const staleness = (timing: Timing) => (file: string): boolean => {
  let text: string
  let ageMs: number
  try {
    text = fs.readFileSync(file, "utf8")
    ageMs = Date.now() - fs.statSync(file).mtimeMs
  } catch {
    return false
  }
  if (text === "") return ageMs > emptyLockGraceMs
  return Option.match(decodeOwner(text), {
    onNone: () => false,
    onSome: (owner) =>
      owner.host === host
        ? owner.pid !== undefined && !isAlive(owner.pid)
        : owner.host !== undefined && ageMs > timing.foreignStaleMs
  })
}

/**
 * The locks at `lockPath(key)`, in `locksDir`. A stale lock being broken is moved aside to
 * `aside(key)` (a temp file of this process, so it is cleaned up if this process dies there).
 */
export const make = (
  locksDir: string,
  lockPath: (key: string) => string,
  aside: (key: string) => string,
  timing: Timing = defaultTiming
): KeyLock => {
  const token = `${process.pid}~${randomBytes(6).toString("hex")}`
  const isStale = staleness(timing)

  // the locks this store value holds, touched every refreshMs while there are any
  const held = new Set<string>()
  let refresher: NodeJS.Timeout | undefined
  const touchHeld = () => {
    const now = new Date()
    for (const file of held) {
      try {
        fs.utimesSync(file, now, now)
      } catch {
        // released or taken over meanwhile
      }
    }
  }
  const hold = (file: string) => {
    held.add(file)
    refresher ??= setInterval(touchHeld, timing.refreshMs).unref()
  }
  const release = (file: string) => {
    held.delete(file)
    if (held.size > 0 || refresher === undefined) return
    clearInterval(refresher)
    refresher = undefined
  }

  const tryLock = (key: string): boolean => {
    makeDirectory(locksDir)
    const file = lockPath(key)
    const create = (): boolean => {
      try {
        fs.writeFileSync(file, JSON.stringify({ pid: process.pid, host, token }), { flag: "wx" })
        hold(file)
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
    const moved = aside(key)
    makeDirectory(path.dirname(moved))
    try {
      fs.renameSync(file, moved)
    } catch {
      return false // another waiter moved it first
    }
    if (!isStale(moved)) {
      try {
        fs.linkSync(moved, file)
      } catch {
        // a newer lock is in place
      }
      fs.rmSync(moved, { force: true })
      return false
    }
    fs.rmSync(moved, { force: true })
    return create()
  }

  const unlock = (key: string) => {
    const file = lockPath(key)
    release(file)
    try {
      if (Option.getOrUndefined(decodeOwner(fs.readFileSync(file, "utf8")))?.token === token) fs.rmSync(file, { force: true })
    } catch {
      // already gone
    }
  }

  const isHeld = (key: string): boolean => fs.existsSync(lockPath(key)) && !isStale(lockPath(key))

  return { tryLock, unlock, isHeld }
}
