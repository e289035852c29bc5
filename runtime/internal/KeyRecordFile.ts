/**
 * A key record as the file store keeps it: `keys/<key>.json`, the record as JSON. A file that
 * is not a complete, well-formed record (a stray edit, a damaged disk) is no record rather than
 * a value of the wrong shape.
 *
 * The shape is checked by hand, field by field, not with Schema: planning reads one record per
 * node, and for a 1,000-node pipeline Schema's decoding took ~50 ms where this takes ~5 (see
 * docs/performance.md). JSON.parse has already made every value JSON, so what is left to
 * check is which fields are there and their types.
 */
import * as fs from "node:fs"
import type { KeyRecord, ObjectRef } from "../ArtifactStore.ts"
import type * as CacheKey from "../CacheKey.ts"
import * as FileMemo from "./FileMemo.ts"

type Fields = { readonly [field: string]: unknown }

const isObject = (value: unknown): value is Fields => typeof value === "object" && value !== null && !Array.isArray(value)

const isString = (value: unknown): value is string => typeof value === "string"

const isNumber = (value: unknown): value is number => typeof value === "number"

const isRecordOf = (value: unknown, isValue: (value: unknown) => boolean): boolean =>
  isObject(value) && Object.values(value).every(isValue)

const isNode = (value: unknown): value is KeyRecord["node"] => isObject(value) && isString(value["kind"]) && isString(value["label"])

const isObjectRef = (value: unknown): value is ObjectRef =>
  isObject(value) && isString(value["hash"]) && (value["format"] === "table" || value["format"] === "model") &&
  isString(value["type"]) && isNumber(value["bytes"])

const isComponents = (value: unknown): value is CacheKey.Components => {
  if (!isObject(value) || !isString(value["kind"]) || !isNumber(value["version"])) return false
  const code = value["code"]
  return isObject(code) && isString(code["hash"]) && isRecordOf(code["files"], isString) && isRecordOf(code["packages"], isString) &&
    isObject(value["params"]) && isRecordOf(value["inputs"], isString) && isObject(value["env"])
}

// JSON has no NaN or infinities: a metric that ended as one was written as null
const finalMetricsOf = (value: unknown): KeyRecord["finalMetrics"] | undefined => {
  if (!isObject(value)) return undefined
  const metrics: Record<string, number> = {}
  for (const [name, metric] of Object.entries(value)) {
    if (metric === null) metrics[name] = Number.NaN
    else if (isNumber(metric)) metrics[name] = metric
    else return undefined
  }
  return metrics
}

/** The record `value` (parsed JSON) is, or undefined when it does not have a record's shape. */
const recordOf = (value: unknown): KeyRecord | undefined => {
  if (!isObject(value)) return undefined
  const { components, createdAt, durationMs, key, metrics, node, output } = value
  const finalMetrics = finalMetricsOf(value["finalMetrics"])
  const valid = isString(key) && isNode(node) && isObjectRef(output) && isObjectRef(metrics) && finalMetrics !== undefined &&
    isComponents(components) && isNumber(durationMs) && isString(createdAt)
  return valid ? { key, node: { kind: node.kind, label: node.label }, output, metrics, finalMetrics, components, durationMs, createdAt } : undefined
}

/** The record in `text`, or undefined when it is not one (not JSON, or not a record's shape). */
export const decode = (text: string): KeyRecord | undefined => {
  try {
    return recordOf(JSON.parse(text))
  } catch {
    return undefined
  }
}

/** The bytes of `record`'s file. */
export const encode = (record: KeyRecord): Uint8Array => new TextEncoder().encode(JSON.stringify(record))

/**
 * A key record file's identity: device, inode, size and modification time. A store replaces a
 * record by renaming a new file over it, so the same identity is the same record.
 */
export const identityOf = (stat: fs.Stats): string => `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`

/**
 * The record in `file`, with the identity of the file it was read from; undefined when there is
 * none or the file is not a valid record. A store renames only complete records into place, so an
 * invalid one was not written by a store: it is no record, and the next commit of its key
 * replaces it.
 */
export const readIdentified = (file: string): { readonly record: KeyRecord; readonly identity: string } | undefined => {
  let fd: number
  try {
    fd = fs.openSync(file, "r")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
  try {
    const identity = identityOf(fs.fstatSync(fd))
    const record = decode(fs.readFileSync(fd, "utf8"))
    return record === undefined ? undefined : { record, identity }
  } finally {
    fs.closeSync(fd)
  }
}

/** The record in `file` (readIdentified's, without the identity). */
export const read = (file: string): KeyRecord | undefined => readIdentified(file)?.record

/**
 * Records already read, by file (FileMemo): a resident process (../cli/ResidentServer.ts) keeps
 * them across its commands, so a record whose file is still the same one costs a stat instead of
 * a read. A store replaces a record by renaming a new file over it, so the same identity is the
 * same record, as a replay record trusts too.
 */
export type ReadCache = FileMemo.Remembered<{ readonly record: KeyRecord; readonly identity: string }>

/** readIdentified's answer for `file`, from `cache` when the file is the one it was read from. */
export const readCached = (file: string, cache: ReadCache): { readonly record: KeyRecord; readonly identity: string } | undefined =>
  FileMemo.lookup(file, cache, readIdentified, { identity: identityOf })
