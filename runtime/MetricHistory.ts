/**
 * A node's per-step metrics as stored: the `Metrics` table (step, name, value) its key
 * record names, read back through its Schema, and grouped into one series per metric.
 * What `pipeline report` draws as training curves and `pipeline show` / `pipeline metrics`
 * print.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Metrics, MetricRow } from "../dsl/Artifact.ts"
import { ArtifactStore } from "./ArtifactStore.ts"
import { CorruptObject, reasonOf } from "./Errors.ts"
import * as Codec from "./internal/Codec.ts"
import { layout } from "./internal/StoreLayout.ts"

/** One recorded measurement. */
export type Row = typeof MetricRow.Type

/** One point of a metric's series. */
export interface Point {
  readonly step: number
  readonly value: number
}

/** Every point of one metric, in step order. */
export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<Point>
}

const decodeRows = Schema.decodeUnknownEffect(Schema.Array(MetricRow))

/**
 * The rows of metrics object `hash`. Bytes that are not a metrics table fail with
 * `CorruptObject`, like bytes that do not hash to their name.
 */
export const read = Effect.fn("MetricHistory.read")(function*(hash: string) {
  const store = yield* ArtifactStore
  const bytes = yield* store.read(hash)
  const corrupt = (error: unknown) =>
    new CorruptObject({ hash, path: layout(store.root).objectPath(hash), reason: `not a metrics table (step, name, value): ${reasonOf(error)}` })
  const rows = yield* Effect.try({ try: () => Codec.decode(Metrics, bytes), catch: corrupt })
  return yield* decodeRows(rows).pipe(Effect.mapError(corrupt))
})

/** The rows as one series per metric name, in the order names first appear, each sorted by step. */
export const series = (rows: ReadonlyArray<Row>): ReadonlyArray<Series> => {
  const byName = new Map<string, Array<Point>>()
  for (const { name, step, value } of rows) {
    const points = byName.get(name)
    if (points === undefined) byName.set(name, [{ step, value }])
    else points.push({ step, value })
  }
  return [...byName].map(([name, points]) => ({ name, points: points.sort((a, b) => a.step - b.step) }))
}
