/**
 * Finding a file's project root and the version of a package as a file resolves it.
 * Both decide parts of the cache key (paths in code fingerprints, package versions),
 * so each answer is observed for cli/Replay.ts.
 */
import * as path from "node:path"
import * as Observe from "./Observe.ts"

/** `projectRoot` without being observed (cli/Replay.ts checks with it). */
export const findRoot = (file: string): string =>
  Observe.nearestAbove(file, (dir) => Observe.existing(dir, "package.json") === undefined ? undefined : dir) ?? path.dirname(file)

/** The nearest directory above `file` holding a package.json: paths in fingerprints are relative to it. */
export const projectRoot = (file: string): string => {
  const dir = findRoot(file)
  Observe.root(file, dir)
  return dir
}

/**
 * The version of package `name` as a module in `fromFile` resolves it (the nearest
 * `node_modules/<name>` above it): `"unknown"` if its manifest has none, undefined if
 * no such package is installed. Where it was found, and its version, are observed.
 */
export const packageVersion = (name: string, fromFile: string): string | undefined => {
  const dir = Observe.lookup(name, fromFile)
  const version = dir === "" ? null : Observe.versionIn(dir)
  return version === null ? undefined : version === "" ? "unknown" : version
}
