/**
 * Making directories for the store and the files it writes: a module of its own so that the
 * replayed rerun's path (cli/Replay.ts → RunLogDb.ts) loads nothing else with it.
 */
import * as fs from "node:fs"
import * as path from "node:path"

/**
 * Create directory `dir` and any missing parents (`mkdir -p`), parents first, each once. Not
 * `fs.mkdirSync(dir, { recursive: true })`: where a directory cannot be made inside an existing
 * one and the system says ENOENT (procfs: `--store /proc/x`), Node's recursive mkdir retries
 * forever at full CPU; here that ENOENT is thrown like any other error.
 */
export const makeDirectory = (dir: string): void => {
  const target = path.resolve(dir)
  const existing = nearestExisting(target)
  let at = existing
  for (const name of path.relative(existing, target).split(path.sep).filter((part) => part !== "")) {
    at = path.join(at, name)
    try {
      fs.mkdirSync(at)
    } catch (error) {
      // made meanwhile by another process
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
  }
}

/** `dir` (an absolute path) if it exists, else its nearest ancestor that does (at worst the root). */
export const nearestExisting = (dir: string): string => {
  let at = dir
  while (!fs.existsSync(at) && path.dirname(at) !== at) at = path.dirname(at)
  return at
}
