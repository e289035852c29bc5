/**
 * Canonical JSON and hashing: one spelling per value, so equal values hash equally.
 * Keys are sorted, `-0` becomes `0`, and non-finite numbers are refused (they have no JSON form).
 */
import { createHash } from "node:crypto"

/** Thrown when a value has no canonical JSON form. */
export class NotCanonicalError extends Error {
  readonly path: string
  readonly reason: string
  constructor(path: string, reason: string) {
    super(`${path || "value"}: ${reason}`)
    this.path = path
    this.reason = reason
  }
}

// The path of the value being encoded, as keys and indices, turned into text only for an error.
type Path = Array<string | number>

const pathText = (path: Path): string =>
  path.reduce<string>((text, step) => (typeof step === "number" ? `${text}[${step}]` : text ? `${text}.${step}` : step), "")

// Written as loops over sorted keys with one string built as it goes: a 1,000-node plan
// encodes a few thousand small objects, and the sort/map/join version's garbage showed.
const encode = (value: unknown, path: Path): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new NotCanonicalError(pathText(path), `${value} is not a finite number`)
      // String(-0) is "0"
      return String(value)
    case "string":
    case "boolean":
      return JSON.stringify(value)
    case "object": {
      if (ArrayBuffer.isView(value)) return encode(Array.from(value as unknown as ArrayLike<number>), path)
      if (Array.isArray(value)) {
        let text = "["
        for (let i = 0; i < value.length; i++) {
          path.push(i)
          text += `${i === 0 ? "" : ","}${encode(value[i], path)}`
          path.pop()
        }
        return `${text}]`
      }
      const fields = value as Record<string, unknown>
      // the default sort orders by UTF-16 code units, as `<` does
      const keys = Object.keys(fields).sort()
      let text = "{"
      for (const key of keys) {
        const field = fields[key]
        if (field === undefined) continue
        path.push(key)
        text += `${text.length === 1 ? "" : ","}${JSON.stringify(key)}:${encode(field, path)}`
        path.pop()
      }
      return `${text}}`
    }
    default:
      throw new NotCanonicalError(pathText(path), `a ${typeof value} has no JSON form`)
  }
}

/** Canonical JSON text of a value: sorted keys, normalised numbers, `undefined` fields dropped. */
export const canonicalJson = (value: unknown): string => encode(value, [])

/** Hex sha256 of a string or bytes. */
export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

/** Hex sha256 of the canonical JSON of a value. */
export const hashValue = (value: unknown): string => sha256(canonicalJson(value))
