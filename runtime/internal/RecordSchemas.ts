/**
 * Schemas of the runtime's records where they come back as data from outside this process: a
 * run-log row (RunLogQueries.ts) and a pool worker's messages (Job.ts). Each decodes to the
 * runtime's own type, so a reader neither casts nor converts what it decoded.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

const Hashes = Schema.Record(Schema.String, Schema.String)

/** A node's cache-key components (CacheKey.Components). */
export const Components = Schema.Struct({
  kind: Schema.String,
  version: Schema.Number,
  code: Schema.Struct({ hash: Schema.String, files: Hashes, packages: Hashes }),
  params: Schema.Record(Schema.String, Schema.Json),
  inputs: Hashes,
  env: Schema.Record(Schema.String, Schema.Json)
})

// JSON drops a field that is undefined: absent, it decodes as undefined
const MaybeText = Schema.UndefinedOr(Schema.String).pipe(Schema.withDecodingDefaultKey(Effect.succeed(undefined)))

/** What a node failed with, as data (internal/ErrorDetail.ts). */
export const ErrorDetail = Schema.Struct({
  tag: MaybeText,
  message: Schema.String,
  stack: MaybeText,
  fields: Schema.Record(Schema.String, Schema.Json)
})

/**
 * The last value of each metric a node recorded. JSON has no NaN or infinity: a metric that
 * ended as one is null there, and read back as NaN.
 */
export const FinalMetrics = Schema.Record(
  Schema.String,
  Schema.Union([
    Schema.Number,
    Schema.Null.pipe(Schema.decodeTo(Schema.Number, SchemaTransformation.transform({ decode: () => Number.NaN, encode: () => null })))
  ])
)
