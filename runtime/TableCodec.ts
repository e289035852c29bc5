/**
 * Rows ⇄ Arrow ⇄ Parquet for table artifacts (and for nodes that load Parquet datasets). The Arrow schema is derived from the
 * table's Effect Schema: numbers are float64 (integers round-trip exactly), strings
 * and string literals utf8, booleans bool, arrays of numbers list<float64>.
 * Numeric columns are built from typed arrays; the bytes are zstd Parquet that
 * DuckDB, pandas and polars open.
 */
import type * as Arrow from "apache-arrow"
import * as SchemaAST from "effect/SchemaAST"
import { createRequire } from "node:module"
import type * as ParquetWasm from "parquet-wasm"
import type { Table } from "../dsl/Artifact.ts"
import { InvariantError } from "../dsl/Errors.ts"

// parquet-wasm compiles its WebAssembly as it loads (~20 ms) and apache-arrow takes ~100 ms
// to load: both load when a table is first encoded or decoded, not with the CLI (an
// all-cached run may never need them). apache-arrow is used by this module alone.
let parquetWasm: typeof ParquetWasm | undefined
const parquet = (): typeof ParquetWasm => (parquetWasm ??= createRequire(import.meta.url)("parquet-wasm") as typeof ParquetWasm)
let arrowModule: typeof Arrow | undefined
const arrow = (): typeof Arrow => (arrowModule ??= createRequire(import.meta.url)("apache-arrow") as typeof Arrow)

/** The storage type of one column. */
export type ColumnKind = "float64" | "utf8" | "bool" | "list<float64>"

/** A row that does not fit the table's schema. */
export class TableEncodeError extends Error {
  readonly table: string
  readonly column: string
  readonly row: number
  constructor(table: string, column: string, row: number, reason: string) {
    super(`table ${table}: column "${column}", row ${row}: ${reason}`)
    this.table = table
    this.column = column
    this.row = row
  }
}

const kindOfAst = (table: string, column: string, ast: SchemaAST.AST): ColumnKind => {
  const type = SchemaAST.toType(ast)
  switch (type._tag) {
    case "Number":
      return "float64"
    case "String":
      return "utf8"
    case "Boolean":
      return "bool"
    case "Literal":
      if (typeof type.literal === "string") return "utf8"
      if (typeof type.literal === "number") return "float64"
      if (typeof type.literal === "boolean") return "bool"
      break
    case "Union": {
      const kinds = new Set(type.types.map((member) => kindOfAst(table, column, member)))
      if (kinds.size === 1) return [...kinds][0]!
      break
    }
    case "Arrays":
      if (type.elements.length === 0 && type.rest.length === 1 && kindOfAst(table, column, type.rest[0]!) === "float64") {
        return "list<float64>"
      }
      break
  }
  throw new InvariantError({
    what: `table ${table}`,
    reason: `column "${column}" has a type with no Parquet column mapping (${type._tag}); use numbers, strings, booleans or arrays of numbers`
  })
}

/** Column names and storage kinds of a table type, in schema order. */
export const columnsOf = (type: Table): ReadonlyArray<readonly [string, ColumnKind]> =>
  Object.entries(type.schema.fields).map(([name, schema]) => [name, kindOfAst(type.name, name, schema.ast)] as const)

const column = (type: Table, name: string, kind: ColumnKind, rows: ReadonlyArray<Record<string, unknown>>): Arrow.Vector => {
  const bad = (row: number, expected: string): never => {
    throw new TableEncodeError(type.name, name, row, `expected ${expected}, got ${JSON.stringify(rows[row]?.[name])}`)
  }
  switch (kind) {
    case "float64": {
      const values = new Float64Array(rows.length)
      for (let i = 0; i < rows.length; i++) {
        const v = rows[i]![name]
        if (typeof v !== "number") bad(i, "a number")
        values[i] = v as number
      }
      return arrow().makeVector(values)
    }
    case "utf8": {
      const values = rows.map((row, i) => (typeof row[name] === "string" ? (row[name] as string) : bad(i, "a string")))
      return arrow().vectorFromArray(values, new (arrow().Utf8)())
    }
    case "bool": {
      const values = rows.map((row, i) => (typeof row[name] === "boolean" ? (row[name] as boolean) : bad(i, "a boolean")))
      return arrow().vectorFromArray(values, new (arrow().Bool)())
    }
    case "list<float64>": {
      const offsets = new Int32Array(rows.length + 1)
      for (let i = 0; i < rows.length; i++) {
        const v = rows[i]![name]
        if (!Array.isArray(v) && !(v instanceof Float64Array) && !(v instanceof Float32Array)) bad(i, "an array of numbers")
        offsets[i + 1] = offsets[i]! + (v as ArrayLike<number>).length
      }
      const values = new Float64Array(offsets[rows.length]!)
      for (let i = 0; i < rows.length; i++) values.set(rows[i]![name] as ArrayLike<number>, offsets[i]!)
      const { Field, Float64, List, makeData, makeVector } = arrow()
      const child = makeData({ type: new Float64(), length: values.length, data: values })
      const listType = new List(new Field("item", new Float64(), false))
      return makeVector(makeData({ type: listType, length: rows.length, valueOffsets: offsets, child }))
    }
  }
}

const writerProperties = () =>
  new (parquet().WriterPropertiesBuilder)().setCompression(parquet().Compression.ZSTD).setCreatedBy("ablate").build()

/** Encode rows as zstd Parquet bytes. Throws `TableEncodeError` naming the column and row of a bad value. */
export const encode = (type: Table, rows: ReadonlyArray<unknown>): Uint8Array => {
  const records = rows as ReadonlyArray<Record<string, unknown>>
  const columns = columnsOf(type)
  const vectors = columns.map(([name, kind]) => column(type, name, kind, records))
  const { Table: ArrowTable, tableToIPC } = arrow()
  const wasmTable = parquet().Table.fromIPCStream(tableToIPC(new ArrowTable(Object.fromEntries(columns.map(([name], i) => [name, vectors[i]!]))), "stream"))
  return parquet().writeParquet(wasmTable, writerProperties())
}

/** Parquet bytes as an Arrow table, every column read. */
export const read = (bytes: Uint8Array): Arrow.Table => arrow().tableFromIPC(parquet().readParquet(bytes).intoIPCStream())

/** Decode Parquet bytes written by `encode` back into rows equal to the ones encoded. */
export const decode = (type: Table, bytes: Uint8Array): ReadonlyArray<unknown> => rowsOf(type, read(bytes))

/** The rows of an Arrow table as `type` decodes them: its schema's columns only. */
export const rowsOf = (type: Table, arrow: Arrow.Table): ReadonlyArray<unknown> => {
  const rows: Array<Record<string, unknown>> = Array.from({ length: arrow.numRows }, () => ({}))
  for (const [name] of columnsOf(type)) {
    const vector = arrow.getChild(name)
    if (vector === null) throw new InvariantError({ what: `table ${type.name}`, reason: `stored file has no column "${name}"` })
    fillColumn(rows, name, vector)
  }
  return rows
}

/**
 * Every column of Parquet bytes as rows, in the file's column order, whatever table type
 * wrote them: for showing a stored table whose schema is not at hand (`pipeline cat`).
 */
export const decodeStored = (bytes: Uint8Array): { readonly columns: ReadonlyArray<string>; readonly rows: ReadonlyArray<Record<string, unknown>> } => {
  const table = read(bytes)
  const rows: Array<Record<string, unknown>> = Array.from({ length: table.numRows }, () => ({}))
  const columns = table.schema.fields.map((field) => field.name)
  for (const name of columns) fillColumn(rows, name, table.getChild(name)!)
  return { columns, rows }
}

/** Numbers `start` to `end` of a typed array as an array: a loop into an array of its length is ~5× `Array.from`'s speed. */
const arrayOf = (typed: Float64Array, start = 0, end = typed.length): Array<number> => {
  const numbers = new Array<number>(end - start)
  for (let i = start; i < end; i++) numbers[i - start] = typed[i]!
  return numbers
}

/** Set column `name` of each row from `vector`: floats from their typed array, lists as arrays of numbers. */
const fillColumn = (rows: Array<Record<string, unknown>>, name: string, vector: Arrow.Vector): void => {
  if (arrow().DataType.isFloat(vector.type)) {
    const values = vector.toArray() as Float64Array
    for (let i = 0; i < rows.length; i++) rows[i]![name] = values[i]
  } else if (arrow().DataType.isList(vector.type)) {
    // each row's list straight from its chunk's offsets into the chunk's values (a Vector per
    // row, as `get` makes, took half of decoding a table of 2,048-float lists)
    let row = 0
    for (const data of vector.data) {
      const offsets = data.valueOffsets
      const values = data.children[0]!.values as Float64Array
      for (let i = 0; i < data.length; i++, row++) {
        rows[row]![name] = data.getValid(i) ? arrayOf(values, Number(offsets[i]), Number(offsets[i + 1])) : []
      }
    }
  } else {
    for (let i = 0; i < rows.length; i++) rows[i]![name] = vector.get(i)
  }
}
