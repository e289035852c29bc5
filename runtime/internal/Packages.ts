/**
 * Finding a file's project root and the version of a package as a file resolves it.
 * Both decide parts of the cache key (paths in code fingerprints, package versions),
 * so each answer is observed for cli/Replay.ts.
 */
import { readFileSync } from "node:fs"
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

/** `packageVersion` without being observed (cli/Replay.ts checks with it). */
export const findVersion = (name: string, fromFile: string): string | undefined => {
  const manifest = Observe.nearestAbove(fromFile, (dir) => Observe.existing(dir, "node_modules", name, "package.json"))
  return manifest === undefined ? undefined : (JSON.parse(readFileSync(manifest, "utf8")) as { version?: string }).version ?? "unknown"
}

/**
 * The version of package `name` as a module in `fromFile` resolves it (the nearest
 * `node_modules/<name>` above it): `"unknown"` if its manifest has none, undefined if
 * no such package is installed.
 */
export const packageVersion = (name: string, fromFile: string): string | undefined => {
  const version = findVersion(name, fromFile)
  Observe.lookup(name, fromFile, version)
  return version
}
