/**
 * Finding a file's project root, where a package is found from a file, and its version.
 * These decide parts of the cache key (paths in code fingerprints, package versions),
 * so the answers the key code uses are reported to the run's Observer (Observer.ts), and
 * cli/Replay.ts checks a replay record with the same functions. Pure lookups: no state.
 */
import * as fs from "node:fs"
import * as module from "node:module"
import * as path from "node:path"
import type { Observer } from "../Observer.ts"

/** The version in a package directory's manifest ("" if it has none, null if it cannot be read). */
export const versionIn = (dir: string): string | null => {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: string }).version ?? ""
  } catch {
    return null
  }
}

/** The first thing `found` finds in the directories above `file`, nearest first (the way Node looks for packages and scopes). */
export const nearestAbove = <A>(file: string, found: (dir: string) => A | undefined): A | undefined => {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const result = found(dir)
    if (result !== undefined || path.dirname(dir) === dir) return result
  }
}

/** The path `name` has in `dir` if it exists there. */
export const existing = (dir: string, ...name: Array<string>): string | undefined => {
  const candidate = path.join(dir, ...name)
  return fs.existsSync(candidate) ? candidate : undefined
}

/** Where a bare import of `name` from `file` looks first: the real path of the nearest `node_modules/<name>` ("" when none). */
export const packageDirFor = (name: string, file: string): string => {
  const dir = nearestAbove(file, (above) => existing(above, "node_modules", name))
  return dir === undefined ? "" : fs.realpathSync(dir)
}

/**
 * The package an import specifier names (`@scope/name/sub` → `@scope/name`), or undefined
 * for one that names no package: a relative, absolute, `file:` or `data:` URL, a `#`
 * import map entry, or a Node builtin.
 */
export const bareName = (specifier: string): string | undefined => {
  if (/^(node:|data:|file:|\.{0,2}\/|#)/.test(specifier) || path.isAbsolute(specifier) || module.isBuiltin(specifier)) return undefined
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
}

/** The nearest directory above `file` holding a package.json (cli/Replay.ts checks with it). */
export const findRoot = (file: string): string =>
  nearestAbove(file, (dir) => existing(dir, "package.json") === undefined ? undefined : dir) ?? path.dirname(file)

/** `findRoot`, reported to `observer`: paths in fingerprints are relative to it. */
export const projectRoot = (file: string, observer: Observer): string => {
  const dir = findRoot(file)
  observer.root(file, dir)
  return dir
}

/**
 * The version of package `name` as a module in `fromFile` resolves it (the nearest
 * `node_modules/<name>` above it): `"unknown"` if its manifest has none, undefined if
 * no such package is installed. Where it was found, and its version, are reported to `observer`.
 */
export const packageVersion = (name: string, fromFile: string, observer: Observer): string | undefined => {
  const dir = observer.lookup(name, fromFile)
  const version = dir === "" ? null : versionIn(dir)
  return version === null ? undefined : version === "" ? "unknown" : version
}
