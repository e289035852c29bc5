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

const encode = (value: unknown, path: string): string => {
  if (value === null) return "null"
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new NotCanonicalError(path, `${value} is not a finite number`)
      return JSON.stringify(Object.is(value, -0) ? 0 : value)
    case "string":
    case "boolean":
      return JSON.stringify(value)
    case "object": {
      if (Array.isArray(value)) return `[${value.map((v, i) => encode(v, `${path}[${i}]`)).join(",")}]`
      if (ArrayBuffer.isView(value)) {
        return encode(Array.from(value as unknown as ArrayLike<number>), path)
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${encode(v, path ? `${path}.${k}` : k)}`).join(",")}}`
    }
    default:
      throw new NotCanonicalError(path, `a ${typeof value} has no JSON form`)
  }
}

/** Canonical JSON text of a value: sorted keys, normalised numbers, `undefined` fields dropped. */
export const canonicalJson = (value: unknown): string => encode(value, "")

/** Hex sha256 of a string or bytes. */
export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

/** Hex sha256 of the canonical JSON of a value. */
export const hashValue = (value: unknown): string => sha256(canonicalJson(value))
