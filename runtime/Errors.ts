/**
 * Errors of the runtime. `ConfigError` and the DSL's build errors are the user's
 * to fix (exit 2); `NodeFailed` means a node's own code failed (exit 1);
 * `StoreError` is a failed read or write in the artifact store or run log;
 * `CorruptObject` and `RunLogCorrupt` are stored bytes found damaged.
 */
import { Data } from "effect"
import type { ErrorDetail } from "./internal/ErrorDetail.ts"

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
  /** what the node's code failed with (its stack and fields), kept in the run log */
  readonly detail?: ErrorDetail
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
export { reasonOf } from "./internal/ErrorDetail.ts"

/**
 * Stored bytes that do not match their name: an object whose sha256 is not its hash, or
 * one that is missing or short. `producer` names the node that made it, when known;
 * `recovery` says what was done about it and what the user does next.
 */
export class CorruptObject extends Data.TaggedError("CorruptObject")<{
  readonly hash: string
  readonly path: string
  readonly reason: string
  readonly producer?: string
  readonly recovery?: string
}> {
  override get message(): string {
    const made = this.producer === undefined ? "" : ` (output of node "${this.producer}")`
    return `object ${this.path}${made} is corrupt: ${this.reason}${this.recovery === undefined ? "" : `; ${this.recovery}`}`
  }
}

/** The run log is not a readable SQLite database (damaged or overwritten). */
export class RunLogCorrupt extends Data.TaggedError("RunLogCorrupt")<{
  readonly path: string
  readonly reason: string
  readonly store: string
}> {
  override get message(): string {
    return `run log ${this.path} is corrupt (${this.reason}): run \`pipeline fsck --repair --store ${this.store}\` to move it aside and start a new one (the history of past runs is lost; cached results are kept)`
  }
}
