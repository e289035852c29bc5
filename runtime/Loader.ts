/**
 * Loading a pipeline file and preparing everything a plan needs: the graph (built
 * with seeds and `--set` overrides), the code fingerprints of its node kinds, and
 * the hashes of the input files its params name. Nothing here writes anything, so a
 * bad pipeline fails before the store is touched.
 */
import { Effect, SchemaAST } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { BuildError } from "../dsl/Errors.ts"
import type * as Graph from "../dsl/Graph.ts"
import type { NodeInstance } from "../dsl/Node.ts"
import { sha256 } from "../dsl/internal/Canonical.ts"
import * as Param from "../dsl/Param.ts"
import * as Pipeline from "../dsl/Pipeline.ts"
import { ConfigError, reasonOf } from "./Errors.ts"

// Errors of Node's built-in type stripping that tsx's full TypeScript transform does not have:
// syntax that needs a transform (enums, parameter properties) and .ts files under node_modules.
const needsTsx = new Set([
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX",
  "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING",
  "ERR_UNKNOWN_FILE_EXTENSION"
])

/** Import a TypeScript module, falling back to tsx when Node's type stripping cannot load it. */
const importTypeScript = async (url: string): Promise<{ readonly default?: unknown }> => {
  try {
    return await import(url)
  } catch (error) {
    if (!needsTsx.has((error as NodeJS.ErrnoException).code ?? "")) throw error
    const tsx = await import("tsx/esm/api")
    tsx.register()
    return await import(`${url}?tsx`)
  }
}

/** Import a pipeline file and return its default export. */
export const load = (file: string): Effect.Effect<Pipeline.Pipeline, ConfigError | BuildError> =>
  Effect.gen(function*() {
    const absolute = path.resolve(file)
    if (!fs.existsSync(absolute)) return yield* new ConfigError({ reason: `pipeline file ${file} does not exist` })
    if (!fs.statSync(absolute).isFile()) return yield* new ConfigError({ reason: `pipeline file ${file} is not a file` })
    const module = yield* Effect.tryPromise({
      try: () => importTypeScript(pathToFileURL(absolute).href),
      catch: (error) => new BuildError({ pipeline: file, reason: `loading ${file} threw: ${reasonOf(error)}` })
    })
    if (!Pipeline.isPipeline(module.default)) {
      return yield* new ConfigError({
        reason: `${file} must \`export default Pipeline.make(...)\`; its default export is ${module.default === undefined ? "missing" : typeof module.default}`
      })
    }
    return module.default
  })

/** Hash the input files a node's params name: param field → sha256 of the file. */
export const hashFilesOf = (node: NodeInstance, label: string): Effect.Effect<Record<string, string>, ConfigError> =>
  Effect.gen(function*() {
    const hashes: Record<string, string> = {}
    for (const [field, schema] of Object.entries(node.kind.params.fields)) {
      if (SchemaAST.resolveAt<boolean>(Param.fileAnnotation)(schema.ast) !== true) continue
      const file = String(node.params[field])
      const bytes = yield* Effect.try({
        try: () => fs.readFileSync(path.resolve(file)),
        catch: (error) =>
          new ConfigError({
            reason: `node "${label}": param "${field}": cannot read input file ${file}: ${
              (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : reasonOf(error)
            }`
          })
      })
      hashes[field] = sha256(bytes)
    }
    return hashes
  })

/** node id → param field → sha256 of the file that param names; a missing file is a configuration error. */
export const hashInputFiles = (graph: Graph.Graph): Effect.Effect<ReadonlyMap<string, Readonly<Record<string, string>>>, ConfigError> =>
  Effect.gen(function*() {
    const hashes = new Map<string, Record<string, string>>()
    for (const { node, label } of graph.nodes) {
      const files = yield* hashFilesOf(node, label)
      if (Object.keys(files).length > 0) hashes.set(node.id, files)
    }
    return hashes
  })
