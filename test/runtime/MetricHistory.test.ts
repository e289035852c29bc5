// A node's per-step metrics read back from the store through their Schema, and grouped per metric.
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { describe, expect, it } from "vitest"
import * as Artifact from "../../dsl/Artifact.ts"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import * as MetricHistory from "../../runtime/MetricHistory.ts"
import * as TableCodec from "../../runtime/TableCodec.ts"

const rows = [
  { step: 2, name: "loss", value: 0.25 },
  { step: 1, name: "loss", value: 0.5 },
  { step: 1, name: "reward/chosen", value: -1 },
  { step: 2, name: "loss", value: 0.125 }
]

const stored = (type: Artifact.Table, values: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const store = yield* ArtifactStore
    const ref = yield* store.put(TableCodec.encode(type, values), { format: "table", type: type.name })
    return yield* MetricHistory.read(ref.hash)
  }).pipe(Effect.provide(ArtifactStore.layerMemory()))

describe("MetricHistory", () => {
  it("reads the rows a node recorded", async () => {
    expect(await Effect.runPromise(stored(Artifact.Metrics, rows))).toEqual(rows)
  })

  it("a table that is not (step, name, value) metrics is a corrupt object naming what is wrong", async () => {
    const Other = Artifact.table("Other", Schema.Struct({ step: Schema.Number, label: Schema.String }))
    const error = await Effect.runPromise(Effect.flip(stored(Other, [{ step: 1, label: "x" }])))
    expect(error._tag).toBe("CorruptObject")
    expect(error.message).toMatch(/not a metrics table \(step, name, value\): .*"name"/)
  })

  it("one series per metric in the order names first appear, points in step order (ties as recorded)", () => {
    expect(MetricHistory.series(rows)).toEqual([
      { name: "loss", points: [{ step: 1, value: 0.5 }, { step: 2, value: 0.25 }, { step: 2, value: 0.125 }] },
      { name: "reward/chosen", points: [{ step: 1, value: -1 }] }
    ])
    expect(MetricHistory.series([])).toEqual([])
  })
})
