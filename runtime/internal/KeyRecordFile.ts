/**
 * A key record as the file store keeps it: `keys/<key>.json`, the record as JSON. Read back
 * through a Schema, so a file that is not a complete, well-formed record (a stray edit, a
 * damaged disk) is no record rather than a value of the wrong shape.
 */
import { Option, Schema, SchemaTransformation } from "effect"
import * as fs from "node:fs"
import type { KeyRecord } from "../ArtifactStore.ts"

// JSON has no NaN or infinities: a metric that ended as one was written as null
const Metric = Schema.Union([
  Schema.Number,
  Schema.Null.pipe(Schema.decodeTo(Schema.Number, SchemaTransformation.transform({ decode: () => Number.NaN, encode: () => null })))
])

/** The last value of each metric of a node, as its record keeps them. */
export const FinalMetrics = Schema.Record(Schema.String, Metric)

const Hashes = Schema.Record(Schema.String, Schema.String)

/** A stored object's reference (ArtifactStore's `ObjectRef`). */
export const ObjectRef = Schema.Struct({
  hash: Schema.String,
  format: Schema.Literals(["table", "model"]),
  type: Schema.String,
  bytes: Schema.Number
})

/** The components of a cache key (CacheKey's `Components`). */
export const Components = Schema.Struct({
  kind: Schema.String,
  version: Schema.Number,
  code: Schema.Struct({ hash: Schema.String, files: Hashes, packages: Hashes }),
  params: Schema.JsonObject,
  inputs: Hashes,
  env: Schema.JsonObject
})

const Record = Schema.Struct({
  key: Schema.String,
  node: Schema.Struct({ kind: Schema.String, label: Schema.String }),
  output: ObjectRef,
  metrics: ObjectRef,
  finalMetrics: FinalMetrics,
  components: Components,
  durationMs: Schema.Number,
  createdAt: Schema.String
})

const decodeText: (text: string) => Option.Option<KeyRecord> = Schema.decodeUnknownOption(Schema.fromJsonString(Record))

/** The record in `text`, or undefined when it is not one (not JSON, or not a record's shape). */
export const decode = (text: string): KeyRecord | undefined => Option.getOrUndefined(decodeText(text))

/** The bytes of `record`'s file. */
export const encode = (record: KeyRecord): Uint8Array => new TextEncoder().encode(JSON.stringify(record))

/**
 * The record in `file`; undefined when there is none or the file is not a valid record. A store
 * renames only complete records into place, so an invalid one was not written by a store: it
 * is no record, and the next commit of its key replaces it.
 */
export const read = (file: string): KeyRecord | undefined => {
  try {
    return decode(fs.readFileSync(file, "utf8"))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}
