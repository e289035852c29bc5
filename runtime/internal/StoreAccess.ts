/**
 * Whether a store directory can serve a command, found without writing anything (but for the
 * empty directory `creationProblem` makes and removes): a store on a read-only file system,
 * or one this user may not write, still serves the commands that only read it, and the
 * commands that write it are refused before they do any work.
 */
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { nearestExisting } from "./Directory.ts"
import { layout } from "./StoreLayout.ts"

const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | null)?.code

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
      if (errnoOf(error) !== "ENOTDIR") return undefined
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

/** Why `file` cannot be written by this process, if it cannot (it exists). */
const unwritable = (file: string): string | undefined => {
  try {
    fs.accessSync(file, fs.constants.W_OK)
    return undefined
  } catch (error) {
    const code = errnoOf(error)
    if (code === "ENOENT") return undefined
    if (code === "EROFS") return "is on a read-only file system"
    if (code === "EACCES" || code === "EPERM") {
      return `is not writable by this user${process.getuid === undefined ? "" : ` (uid ${process.getuid()})`}`
    }
    return `cannot be written (${code ?? String(error)})`
  }
}

/**
 * What keeps the store at `root` (an absolute path) from being written, if anything: it is
 * not a directory, or it, a directory or the run log in it, or (when it does not exist yet)
 * the directory it would be made in, is on a read-only file system or not writable by this
 * user. Says where, relative to `root` ("it" for `root` itself).
 */
export const writeProblem = (root: string): string | undefined => {
  const notDirectory = directoryProblem(root)
  if (notDirectory !== undefined) return notDirectory.startsWith("is ") ? `it ${notDirectory}` : notDirectory
  const existing = nearestExisting(root)
  const { dirs, runLog } = layout(root)
  const candidates = existing === root ? [root, ...Object.values(dirs), runLog, `${runLog}-wal`, `${runLog}-shm`] : [existing]
  for (const file of candidates) {
    const why = unwritable(file)
    if (why !== undefined) return `${file === root ? "it" : file} ${why}`
  }
  return undefined
}

/**
 * Why no directory can be made where the store `root` (an absolute path) would be made when it
 * does not exist yet, if none can: found by making an empty directory of its own beside it and
 * removing it (some places, such as procfs, pass every check that writes nothing and still let
 * nothing be made).
 */
export const creationProblem = (root: string): string | undefined => {
  const existing = nearestExisting(root)
  if (existing === root) return undefined
  const probe = path.join(existing, `.ablate-probe-${process.pid}-${randomBytes(4).toString("hex")}`)
  try {
    fs.mkdirSync(probe)
    fs.rmdirSync(probe)
    return undefined
  } catch (error) {
    return `no directory can be made in ${existing} (${(error as Error).message})`
  }
}
