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
  const missing: Array<string> = []
  for (let current = path.resolve(dir); !fs.existsSync(current); current = path.dirname(current)) {
    missing.push(current)
    if (path.dirname(current) === current) break
  }
  for (const directory of missing.reverse()) {
    try {
      fs.mkdirSync(directory)
    } catch (error) {
      // made meanwhile by another process
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    }
  }
}
