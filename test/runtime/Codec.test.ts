import { DuckDBInstance } from "@duckdb/node-api"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Artifact from "../../dsl/Artifact.ts"
import * as ModelCodec from "../../runtime/internal/ModelCodec.ts"
import * as TableCodec from "../../runtime/TableCodec.ts"

const Rows = Artifact.table("Rows", Schema.Struct({
  id: Schema.Int,
  score: Schema.Number,
  name: Schema.String,
  ok: Schema.Boolean,
  split: Schema.Literals(["train", "test"]),
  features: Schema.Array(Schema.Number)
}))

const rows = Array.from({ length: 1000 }, (_, i) => ({
  id: i,
  score: Math.sin(i) * 1e6 + 1 / 3,
  name: `item ${i} ✓`,
  ok: i % 3 === 0,
  split: i % 4 === 0 ? "test" as const : "train" as const,
  features: i % 10 === 0 ? [] : [i, -0.5, Math.PI * i]
}))

describe("table artifacts", () => {
  it("round-trip exactly through Parquet, and identical rows give identical bytes", () => {
    const bytes = TableCodec.encode(Rows, rows)
    expect(TableCodec.decode(Rows, bytes)).toEqual(rows)
    expect(Buffer.from(TableCodec.encode(Rows, rows)).equals(Buffer.from(bytes))).toBe(true)
  })

  it("read back without their type give every column, in schema order, with the same rows", () => {
    const stored = TableCodec.decodeStored(TableCodec.encode(Rows, rows))
    expect(stored.columns).toEqual(["id", "score", "name", "ok", "split", "features"])
    expect(stored.rows).toEqual(rows)
  })

  it("are zstd Parquet files that DuckDB reads", async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ablate-parquet-")), "rows.parquet")
    fs.writeFileSync(file, TableCodec.encode(Rows, rows))
    const db = await DuckDBInstance.create(":memory:")
    const connection = await db.connect()
    const reader = await connection.runAndReadAll(
      `SELECT count(*)::INTEGER AS n, sum(id)::INTEGER AS ids, sum(len(features))::INTEGER AS f,
              count(*) FILTER (WHERE split = 'test')::INTEGER AS test
       FROM read_parquet('${file}')`
    )
    expect(reader.getRowObjects()[0]).toEqual({ n: 1000, ids: 499500, f: 2700, test: 250 })
    const meta = await connection.runAndReadAll(
      `SELECT DISTINCT compression FROM parquet_metadata('${file}')`
    )
    expect(meta.getRowObjects().map((r) => r["compression"])).toEqual(["ZSTD"])
    connection.closeSync()
  })

  it("read lists from each chunk of a column, a null list as an empty one (files other tools wrote)", () => {
    const require = createRequire(import.meta.url)
    const arrow = require("apache-arrow") as typeof import("apache-arrow")
    const parquet = require("parquet-wasm") as typeof import("parquet-wasm")
    const listType = () => new arrow.List(new arrow.Field("item", new arrow.Float64(), true))
    const tableOf = (lists: ReadonlyArray<ReadonlyArray<number> | null>) => new arrow.Table({ features: arrow.vectorFromArray(lists, listType()) })
    const ipc = arrow.tableToIPC(tableOf([[1, 2], null, [], [3.5]]), "stream")
    const bytes = parquet.writeParquet(parquet.Table.fromIPCStream(ipc), new parquet.WriterPropertiesBuilder().build())
    expect(TableCodec.decodeStored(bytes).rows.map((row) => row["features"])).toEqual([[1, 2], [], [], [3.5]])
    // a column in two chunks, the second sliced (its offsets then start past 0)
    const chunked = tableOf([[1], [2, 3]]).concat(tableOf([[9, 9], [4, 5, 6], null, [7]]).slice(1))
    expect(chunked.getChild("features")!.data.length).toBe(2)
    const Features = Artifact.table("Features", Schema.Struct({ features: Schema.Array(Schema.Number) }))
    expect(TableCodec.rowsOf(Features, chunked).map((row) => (row as { features: unknown }).features)).toEqual([[1], [2, 3], [4, 5, 6], [], [7]])
  })

  it("reject a value of the wrong type naming the table, column and row", () => {
    const bad = [...rows.slice(0, 5), { ...rows[5]!, score: "high" }]
    expect(() => TableCodec.encode(Rows, bad)).toThrow(`table Rows: column "score", row 5: expected a number, got "high"`)
  })
})

describe("model artifacts", () => {
  it("round-trip through safetensors with their config, deterministically", () => {
    const model: Artifact.ModelValue = {
      config: { architecture: "mlp", hidden: [16] },
      tensors: { "l0.w": { shape: [2, 3], data: Float32Array.of(1, 2, 3, 4, 5, 6) }, "l0.b": { shape: [3], data: Float32Array.of(0.5, -1, 7) } }
    }
    const bytes = ModelCodec.encode(model)
    expect(ModelCodec.decode(bytes)).toEqual(model)
    // safetensors layout: u64 little-endian header length, then a JSON header naming dtype, shape, offsets
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true))
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)))
    expect(header["l0.b"]).toEqual({ dtype: "F32", shape: [3], data_offsets: [0, 12] })
    expect(header["l0.w"]).toEqual({ dtype: "F32", shape: [2, 3], data_offsets: [12, 36] })
    expect((8 + headerLength) % 8).toBe(0)
  })

  it("reject a tensor whose data does not fill its shape", () => {
    expect(() => ModelCodec.encode({ config: {}, tensors: { w: { shape: [2, 2], data: Float32Array.of(1, 2, 3) } } })).toThrow(
      `model tensor "w": shape [2, 2] holds 4 values but data has 3`
    )
  })
})
