/**
 * Every test file's temporary files in one directory, removed when the file's tests end: the
 * file's own `os.tmpdir()` (TMPDIR) points there while it runs, and so does that of every process
 * it starts, so no test leaves a directory behind in the system's temporary directory, whether
 * or not it removes its own. Node's compile cache stays where it was (warm across files).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"

// Set before the test file is imported (a setup file runs first), for what it makes at its top level.
const saved = { TMPDIR: process.env["TMPDIR"], NODE_COMPILE_CACHE: process.env["NODE_COMPILE_CACHE"] }
const system = os.tmpdir()
process.env["NODE_COMPILE_CACHE"] ??= path.join(system, "node-compile-cache")
const root = fs.mkdtempSync(path.join(system, "ablate-vitest-"))
// other users run the CLI in some tests (test/cli/readOnlyStore.test.ts): they must enter it
fs.chmodSync(root, 0o755)
process.env["TMPDIR"] = root

afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  fs.rmSync(root, { recursive: true, force: true })
})
