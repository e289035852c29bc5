/**
 * The store's per-key locks across machines: a process on another host cannot be asked whether
 * it is alive, so a holder touches its locks and another host's lock left untouched is stale.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as KeyLock from "../../runtime/internal/KeyLock.ts"
import { host } from "../../runtime/internal/Process.ts"
import { tempDir } from "../helpers.ts"

const timing: KeyLock.Timing = { refreshMs: 50, foreignStaleMs: 1_000 }

const locksIn = (dir: string) =>
  KeyLock.make(path.join(dir, "locks"), (key) => path.join(dir, "locks", `${key}.lock`), (key) => path.join(dir, "aside", `${key}.lock`), timing)

/** A lock file written by process `pid` on host `owner` (with another store value's token), last touched `ageMs` ago. */
const lockBy = (dir: string, key: string, owner: string, pid: number, ageMs: number) => {
  const file = path.join(dir, "locks", `${key}.lock`)
  fs.mkdirSync(path.dirname(file), { recursive: true })
  fs.writeFileSync(file, JSON.stringify({ pid, host: owner, token: "theirs" }))
  const then = new Date(Date.now() - ageMs)
  fs.utimesSync(file, then, then)
  return file
}

/** A lock file written on another machine, last touched `ageMs` ago. */
const foreignLock = (dir: string, key: string, owner: string, ageMs: number) => lockBy(dir, key, owner, 1, ageMs)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("a key lock held on another machine", () => {
  it("is held while its holder touches it, and stale once untouched for foreignStaleMs (its holder died): then it is taken over", () => {
    const dir = tempDir("keylock")
    const locks = locksIn(dir)
    foreignLock(dir, "fresh", "other-machine", 0)
    expect(locks.isHeld("fresh")).toBe(true)
    expect(locks.tryLock("fresh")).toBe(false)
    const file = foreignLock(dir, "dead", "other-machine", 5_000)
    expect(locks.isHeld("dead")).toBe(false)
    expect(locks.tryLock("dead")).toBe(true)
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toMatchObject({ host, pid: process.pid })
    locks.unlock("dead")
    expect(fs.existsSync(file)).toBe(false)
  })

  it("a holder touches what it holds, so a long computation's lock stays fresh for other machines", async () => {
    const dir = tempDir("keylock")
    const locks = locksIn(dir)
    expect(locks.tryLock("long")).toBe(true)
    const file = path.join(dir, "locks", "long.lock")
    const then = new Date(Date.now() - 5_000)
    fs.utimesSync(file, then, then)
    await sleep(200)
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeLessThan(1_000)
    locks.unlock("long")
    // released, it is touched no more: another machine's lock at that path ages as it should
    foreignLock(dir, "long", "other-machine", 5_000)
    await sleep(200)
    expect(Date.now() - fs.statSync(file).mtimeMs).toBeGreaterThan(4_000)
  })

  it("a lock of this host whose process is alive is never stale, however old", () => {
    const dir = tempDir("keylock")
    lockBy(dir, "mine", host, process.pid, 3_600_000)
    expect(locksIn(dir).isHeld("mine")).toBe(true)
  })
})
