/**
 * A results table read back from the JSON a run keeps it as (Results.ts), decoded with
 * Schema: apart from Results.ts so that what prints a table (the replay path among it) loads
 * no Effect.
 */
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type { Table } from "./Results.ts"
import type * as Statistics from "./Statistics.ts"

// A results table as JSON: a NaN bound (one seed) is null there.
const MaybeNumber = Schema.NullOr(Schema.Number)
const IntervalJson = Schema.Struct({ mean: MaybeNumber, low: MaybeNumber, high: MaybeNumber, n: Schema.Number })
const TableJson = Schema.Struct({
  factors: Schema.Array(Schema.String),
  metrics: Schema.Array(Schema.String),
  rows: Schema.Array(Schema.Struct({
    output: Schema.String,
    factors: Schema.Record(Schema.String, Schema.Json),
    split: Schema.String,
    baseline: Schema.Boolean,
    seeds: Schema.Number,
    metrics: Schema.Record(Schema.String, Schema.Struct({ ...IntervalJson.fields, delta: Schema.optional(IntervalJson) }))
  }))
})

const interval = (json: typeof IntervalJson.Type): Statistics.Interval => ({
  mean: json.mean ?? Number.NaN,
  low: json.low ?? Number.NaN,
  high: json.high ?? Number.NaN,
  n: json.n
})

/** A results table from its JSON (as a run keeps it), or undefined when the text is not one. */
export const fromJson = (text: string): Table | undefined => {
  const decoded = Schema.decodeUnknownExit(Schema.fromJsonString(TableJson))(text)
  if (Exit.isFailure(decoded)) return undefined
  const table = decoded.value
  return {
    ...table,
    rows: table.rows.map((row) => ({
      ...row,
      metrics: Object.fromEntries(
        Object.entries(row.metrics).map(([name, cell]) => [name, { ...interval(cell), delta: cell.delta === undefined ? undefined : interval(cell.delta) }])
      )
    }))
  }
}
