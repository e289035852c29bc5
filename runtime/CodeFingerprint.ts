/**
 * The `code` component of the cache key: a node kind's module, every local module
 * it imports transitively, and the resolved version of each package they import.
 * The import graph comes from esbuild's metafile (packages left external), so
 * editing a helper two imports away changes the fingerprint and editing an
 * unrelated module does not.
 */
import * as Effect from "effect/Effect"
import type * as esbuild from "esbuild"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as CacheKey from "./CacheKey.ts"
import { ConfigError } from "./Errors.ts"
import { bareName, packageVersion, projectRoot } from "./internal/Packages.ts"
import { none, Observer } from "./Observer.ts"

// Modules whose code decides a node's output without being imported by it at run
// time: the generator behind ctx.random (nodes import only its type) and the
// canonical hashing its seed derivation (`Random.forComponents`) uses.
const implicitModules = [
  fileURLToPath(new URL("../dsl/Random.ts", import.meta.url)),
  fileURLToPath(new URL("../dsl/internal/Canonical.ts", import.meta.url))
]

const readName = (root: string): string | undefined => {
  try {
    return (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { name?: string }).name
  } catch {
    return undefined
  }
}

/**
 * Imports of the project's own package name (`import … from "ablate"` inside the
 * ablate repository, through package.json self-reference) are followed into its
 * files rather than recorded as a package version, so editing them invalidates.
 */
const selfReference = (root: string): esbuild.Plugin => {
  const name = readName(root)
  return {
    name: "self-reference",
    setup(build) {
      if (name === undefined) return
      const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
      build.onResolve({ filter: new RegExp(`^${escaped}(/.*)?$`) }, (args) => ({
        path: createRequire(path.join(root, "package.json")).resolve(args.path)
      }))
    }
  }
}

/**
 * Fingerprint one module: esbuild's metafile for the import graph, plus file hashes, each
 * file, package and root reported to `observer`. esbuild loads with the first fingerprint.
 */
export const fingerprint = async (module: string, observer: Observer = none): Promise<CacheKey.CodeFingerprint> => {
  const root = projectRoot(module, observer)
  const esbuild = await import("esbuild")
  const result = await esbuild.build({
    entryPoints: [module],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    packages: "external",
    plugins: [selfReference(root)],
    logLevel: "silent"
  })
  const files: Record<string, string> = {}
  const packages: Record<string, string> = {}
  for (const [file, input] of Object.entries(result.metafile.inputs)) {
    const absolute = path.resolve(root, file)
    files[path.relative(root, absolute)] = observer.hashFile(absolute)
    for (const imported of input.imports) {
      const name = imported.external ? bareName(imported.path) : undefined
      if (name !== undefined && packages[name] === undefined) packages[name] = packageVersion(name, absolute, observer) ?? "builtin"
    }
  }
  for (const implicit of implicitModules) files[path.relative(root, implicit)] = observer.hashFile(implicit)
  return { hash: CacheKey.codeHash(files, packages), files, packages }
}

/** Fingerprint the modules of a set of node kinds; a module that cannot be read or parsed is a configuration error. */
export const fingerprintAll = (modules: Iterable<string>): Effect.Effect<Map<string, CacheKey.CodeFingerprint>, ConfigError> =>
  Observer.use((observer) =>
    Effect.tryPromise({
      try: async () =>
        new Map(await Promise.all([...new Set(modules)].map(async (module) => [module, await fingerprint(module, observer)] as const))),
      catch: (error) =>
        new ConfigError({ reason: `cannot fingerprint node code: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}` })
    }))
