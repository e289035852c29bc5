/**
 * Atomic file writing for the artifact store: a reader never sees a partial file.
 *
 * Bytes go to a new file in the store's `tmp/` directory, named `<pid>~<host>~<suffix>`
 * so the files of a dead process can be told apart; they are hashed (sha256) while written,
 * fsynced, optionally made read-only, then renamed into place and the directory fsynced.
 * The temp files a killed process left behind are removed before the first write (and by
 * `gc`), never while the store is only read. `replaceFile` does the same for a file outside
 * the store (`-o FILE`), through a temp file beside it.
 */
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { makeDirectory } from "./Directory.ts"
import { host, isAlive } from "./Process.ts"

/** Writes files atomically through one store's temp directory. */
export interface AtomicWriter {
  /** The path of this process's temp file with `suffix` (removed with this process's temps if it dies). */
  readonly tempPath: (suffix: string) => string
  /**
   * Write bytes to a new temp file (fsynced; read-only when `readOnly`), returning its path
   * and the sha256 computed while writing.
   */
  readonly writeTemp: (bytes: Uint8Array, readOnly?: boolean) => { readonly file: string; readonly hash: string }
  /** Rename a complete temp file to `dest` (creating its directory) and fsync the directory. */
  readonly moveIntoPlace: (temp: string, dest: string) => void
  /** Write `bytes` to `dest` atomically: `writeTemp`, then `moveIntoPlace`. */
  readonly write: (dest: string, bytes: Uint8Array) => void
  /** Remove the temp files of this host's processes that are no longer alive. */
  readonly removeDeadTemps: () => void
}

const chunkBytes = 1 << 20

const fsyncDir = (dir: string) => {
  const fd = fs.openSync(dir, "r")
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/**
 * Create `file` (it must not exist yet) holding `bytes`, fsynced and read-only when `readOnly`,
 * feeding the bytes to `hash` (when given) as they are written.
 */
const writeNew = (file: string, bytes: Uint8Array, readOnly: boolean, hash?: ReturnType<typeof createHash>) => {
  const fd = fs.openSync(file, "wx")
  try {
    for (let at = 0; at < bytes.length; at += chunkBytes) {
      const part = bytes.subarray(at, Math.min(at + chunkBytes, bytes.length))
      hash?.update(part)
      let written = 0
      while (written < part.length) written += fs.writeSync(fd, part, written)
    }
    if (readOnly) fs.fchmodSync(fd, 0o444)
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** An atomic writer whose temp files live in `tmpDir`. */
export const make = (tmpDir: string): AtomicWriter => {
  const tempPath = (suffix: string): string => path.join(tmpDir, `${process.pid}~${host}~${suffix}`)

  const removeDeadTemps = () => {
    if (!fs.existsSync(tmpDir)) return
    for (const name of fs.readdirSync(tmpDir)) {
      const [pid, owner] = name.split("~")
      if (owner === host && !isAlive(Number(pid))) fs.rmSync(path.join(tmpDir, name), { force: true })
    }
  }
  // the first write of this store value cleans up after dead processes, once
  let cleaned = false

  const writeTemp = (bytes: Uint8Array, readOnly = false) => {
    makeDirectory(tmpDir)
    if (!cleaned) {
      removeDeadTemps()
      cleaned = true
    }
    const file = tempPath(randomBytes(6).toString("hex"))
    const hash = createHash("sha256")
    writeNew(file, bytes, readOnly, hash)
    return { file, hash: hash.digest("hex") }
  }

  const moveIntoPlace = (temp: string, dest: string) => {
    const dir = path.dirname(dest)
    makeDirectory(dir)
    fs.renameSync(temp, dest)
    fsyncDir(dir)
  }

  return {
    tempPath,
    writeTemp,
    moveIntoPlace,
    write: (dest, bytes) => moveIntoPlace(writeTemp(bytes).file, dest),
    removeDeadTemps
  }
}

/**
 * Write `bytes` to `dest`, a file outside the store (one the user named with `-o`), through a
 * temp file beside it that is fsynced and renamed over it: `dest` holds its old contents
 * until the new ones are complete, and the temp file is removed when anything fails.
 */
export const replaceFile = (dest: string, bytes: Uint8Array): void => {
  const dir = path.dirname(dest)
  const temp = path.join(dir, `.${path.basename(dest)}.${process.pid}~${randomBytes(6).toString("hex")}.tmp`)
  try {
    writeNew(temp, bytes, false)
    fs.renameSync(temp, dest)
  } catch (error) {
    fs.rmSync(temp, { force: true })
    throw error
  }
  fsyncDir(dir)
}
