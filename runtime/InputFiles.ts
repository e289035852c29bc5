/**
 * The input files a pipeline's params name (`Param.file`): hashed before planning, so
 * the cache key covers their bytes, and again after a node ran, so an output computed
 * from a file that changed meanwhile is not stored under the old key.
 */
import * as Effect from "effect/Effect"
import * as SchemaAST from "effect/SchemaAST"
import * as path from "node:path"
import type * as Graph from "../dsl/Graph.ts"
import type { NodeInstance } from "../dsl/Node.ts"
import * as Param from "../dsl/Param.ts"
import { ConfigError, reasonOf } from "./Errors.ts"
import { Observer } from "./Observer.ts"

/** Hash the input files a node's params name (reported to the Observer): param field → sha256 of the file. */
export const hashFilesOf = (node: NodeInstance, label: string): Effect.Effect<Record<string, string>, ConfigError> =>
  Effect.gen(function*() {
    const observer = yield* Observer
    const hashes: Record<string, string> = {}
    for (const [field, schema] of Object.entries(node.kind.params.fields)) {
      if (SchemaAST.resolveAt<boolean>(Param.fileAnnotation)(schema.ast) !== true) continue
      const file = String(node.params[field])
      hashes[field] = yield* Effect.try({
        try: () => observer.hashFile(path.resolve(file)),
        catch: (error) =>
          new ConfigError({
            reason: `node "${label}": param "${field}": cannot read input file ${file}: ${
              (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : reasonOf(error)
            }`
          })
      })
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
