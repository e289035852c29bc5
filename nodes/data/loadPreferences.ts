/**
 * Load text preference pairs from a file: JSONL (optionally gzipped) in the
 * HH-RLHF format — `chosen` and `rejected` full dialogues, or explicit `prompt`,
 * `chosen`, `rejected` — or Parquet with those columns (`prompt` optional). A seeded fraction of the
 * pairs is held out for evaluation. A malformed line fails the node with an `InputError`
 * naming the param, the file, the line (or row) and the field; nothing is cached from a failed load.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import { gunzipSync } from "node:zlib"
import * as Artifact from "../../dsl/Artifact.ts"
import { InputError, type InputLocation } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { reasonOf } from "../../runtime/Errors.ts"
import * as TableCodec from "../../runtime/TableCodec.ts"
import { TextPreferences } from "../artifacts.ts"
import { parseRecord, type TextPair } from "./hhRlhf.ts"
import { heldOutIds, heldOutParam } from "./heldOut.ts"

// read as strings; a null cell reaches parseRecord as null and is refused there, naming the row
const Responses = Artifact.table("Responses", Schema.Struct({ chosen: Schema.String, rejected: Schema.String }))
const Prompted = Artifact.table("Prompted", Schema.Struct({ ...Responses.schema.fields, prompt: Schema.String }))

/** `parseRecord` of a record at `location`: its InputError gains the line or row. */
const parseAt = (record: unknown, location: InputLocation): TextPair => {
  try {
    return parseRecord(record)
  } catch (error) {
    throw error instanceof InputError ? error.at(location) : error
  }
}

/** Parquet rows with `chosen` and `rejected` columns (full dialogues), and optionally `prompt` (then bare responses). */
const parquetRecords = (bytes: Uint8Array): Array<TextPair> => {
  const arrow = TableCodec.read(bytes)
  const names = arrow.schema.fields.map((f) => f.name)
  for (const name of ["chosen", "rejected"]) {
    if (!names.includes(name)) throw new InputError({ reason: `no column "${name}" (the file has ${names.map((n) => `"${n}"`).join(", ") || "none"})` })
  }
  return TableCodec.rowsOf(names.includes("prompt") ? Prompted : Responses, arrow).map((row, i) => parseAt(row, { row: i + 1 }))
}

/** JSON Lines, one record per line; blank lines are skipped. */
const jsonlRecords = (text: string): Array<TextPair> => {
  const records = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (line === "") continue
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch (error) {
      throw new InputError({ line: i + 1, reason: `not valid JSON (${reasonOf(error)})` })
    }
    records.push(parseAt(json, { line: i + 1 }))
  }
  return records
}

/** The records of the file param `path` names; any failure names the param, the file (and the line or row). */
const readRecords = (path: string): Effect.Effect<Array<TextPair>, InputError> =>
  Effect.try({
    try: () => {
      const bytes = fs.readFileSync(path)
      if (path.endsWith(".parquet")) return parquetRecords(new Uint8Array(bytes))
      return jsonlRecords((path.endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8"))
    },
    catch: (error) => (error instanceof InputError ? error : new InputError({ reason: reasonOf(error) })).at({ param: "path", file: path })
  })

export const loadPreferences = Node.make({
  kind: "data/loadPreferences",
  version: 1,
  description: "Text preference pairs from HH-RLHF-style JSONL (optionally .gz) or Parquet, with a seeded held-out split; data/featurize tokenizes them (word, character or hashed vocabulary built from the training texts).",
  params: Schema.Struct({
    path: Param.file({ default: "data/hh-harmless-1500.jsonl.gz", description: "JSONL, JSONL.gz or Parquet file of chosen/rejected pairs" }),
    heldOut: heldOutParam("pairs"),
    limit: Param.int({ default: 0, min: 0, description: "Use only the first N pairs (0: all)" }),
    seed: Param.seed
  }),
  inputs: {},
  output: TextPreferences,
  run: ({ params, ctx }) =>
    Effect.gen(function*() {
      const all = yield* readRecords(params.path)
      const records = params.limit > 0 ? all.slice(0, params.limit) : all
      if (records.length === 0) return yield* new InputError({ param: "path", file: params.path, reason: "no preference pairs" })
      const test = heldOutIds(ctx.random.split("split"), records.length, params.heldOut)
      return records.map((record, id) => ({ id, ...record, split: test.has(id) ? "test" as const : "train" as const }))
    })
})
