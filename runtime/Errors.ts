/**
 * Errors of the runtime. `ConfigError` and the DSL's build errors are the user's
 * to fix (exit 2); `NodeFailed` means a node's own code failed (exit 1);
 * `StoreError` is a failed read or write in the artifact store or run log.
 */
import { Data } from "effect"

/** Bad command line, missing or broken pipeline file, bad flag value. */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly reason: string
}> {
  override get message(): string {
    return this.reason
  }
}

/** A node's `run` failed or returned a value its output type cannot store. */
export class NodeFailed extends Data.TaggedError("NodeFailed")<{
  readonly node: string
  readonly reason: string
}> {
  override get message(): string {
    return `node "${this.node}" failed: ${this.reason}`
  }
}

/** A read or write of the store or run log failed. */
export class StoreError extends Data.TaggedError("StoreError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message(): string {
    return `store ${this.path}: ${this.reason}`
  }
}

/** The message of any thrown value, first line only (no stack). */
export const reasonOf = (error: unknown): string => {
  if (error instanceof Error) return error.message
  if (typeof error === "object" && error !== null && "message" in error) return String(error.message)
  return String(error)
}
