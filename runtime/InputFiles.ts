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

/** The params of a node kind that name input files (`Param.file`). */
const fileFields = (kind: NodeInstance["kind"]): Array<string> =>
  Object.entries(kind.params.fields).flatMap(([field, schema]) =>
    SchemaAST.resolveAt<boolean>(Param.fileAnnotation)(schema.ast) === true ? [field] : []
  )

/** Hash the input files a node's params name (reported to the Observer): param field → sha256 of the file. */
export const hashFilesOf = (node: NodeInstance, label: string, fields = fileFields(node.kind)): Effect.Effect<Record<string, string>, ConfigError> =>
  Effect.gen(function*() {
    const observer = yield* Observer
    const hashes: Record<string, string> = {}
    for (const field of fields) {
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
    // a pipeline has many nodes of few kinds: each kind's schema is looked at once
    const fieldsOf = new Map<NodeInstance["kind"], Array<string>>()
    for (const { node, label } of graph.nodes) {
      const fields = fieldsOf.get(node.kind) ?? fileFields(node.kind)
      fieldsOf.set(node.kind, fields)
      if (fields.length > 0) hashes.set(node.id, yield* hashFilesOf(node, label, fields))
    }
    return hashes
  })
