/**
 * An error as JSON-safe data: its tag, message, stack and own fields. The run log keeps a
 * failed node's (so `pipeline show` can print the stack of what the node threw), and a
 * command that fails under `--json` reports its error as an `error` event built from it.
 */
import * as CommandTag from "./CommandTag.ts"
import type { Json } from "../../dsl/Artifact.ts"

/**
 * The message of any thrown value, first line only (no stack). Here, without Effect, because
 * cli/Replay.ts renders errors before Effect is loaded; Errors.ts re-exports it.
 */
export const reasonOf = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message)
  return String(error)
}

export interface ErrorDetail {
  /** `_tag` of a tagged error, else the constructor's name (`TypeError`), if any */
  readonly tag: string | undefined
  readonly message: string
  readonly stack: string | undefined
  /** the error's own fields (a tagged error's data), each JSON-safe */
  readonly fields: { readonly [name: string]: Json }
}

// Shown by tag, message and stack already, or by Node on every Error.
const notFields = new Set(["_tag", "message", "stack", "name"])

const jsonSafe = (value: unknown): Json => {
  if (value instanceof Error) return reasonOf(value)
  try {
    const text = JSON.stringify(value)
    return text === undefined ? String(value) : (JSON.parse(text) as Json)
  } catch {
    return String(value)
  }
}

/** The detail of any failure value: an Error, a tagged error, or anything thrown. */
export const detailOf = (error: unknown): ErrorDetail => {
  const object = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : undefined
  const tag = typeof object?.["_tag"] === "string"
    ? object["_tag"]
    : error instanceof Error
    ? error.constructor.name
    : undefined
  const fields: Record<string, Json> = {}
  for (const [name, value] of Object.entries(object ?? {})) {
    if (!notFields.has(name) && value !== undefined) fields[name] = jsonSafe(value)
  }
  return {
    tag,
    message: reasonOf(error),
    stack: error instanceof Error && typeof error.stack === "string" ? CommandTag.untag(error.stack) : undefined,
    fields
  }
}
