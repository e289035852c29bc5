/**
 * Errors of the runtime. `ConfigError` and the DSL's build errors are the user's
 * to fix (exit 2); `NodeFailed` means a node's own code failed (exit 1);
 * `StoreError` is a failed read or write in the artifact store or run log;
 * `CorruptObject` and `RunLogCorrupt` are stored bytes found damaged; `StoreUnavailable` is a
 * store a writing command cannot write, `QueueUnavailable` a job queue's Redis server that does
 * not answer (both exit 2).
 */
import * as Data from "effect/Data"
import { located, taggedData } from "../dsl/Errors.ts"
import { detailOf, type ErrorDetail, reasonOf } from "./internal/ErrorDetail.ts"

/**
 * Bad command line, missing or broken pipeline file, bad flag value. The optional fields say
 * where (the flag, the file, the node and its param) and prefix the reason in one line:
 * `--seeds: "x" is not a non-negative integer`, `node "reader": param "path": no such file`.
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly reason: string
  /** the command-line flag at fault, with its dashes: `--seeds` */
  readonly flag?: string
  /** the file at fault (a pipeline file, an input file) */
  readonly file?: string
  readonly node?: string
  readonly param?: string
}> {
  override get message(): string {
    return located([
      this.flag,
      this.node === undefined ? undefined : `node "${this.node}"`,
      this.param === undefined ? undefined : `param "${this.param}"`,
      this.file
    ], this.reason)
  }
}

/**
 * A node's `run` failed or returned a value its output type cannot store. `reason` is the
 * failure's one-line message; when the node failed with a tagged error (an `InputError`,
 * `ArgumentError`, ...) `tag` and `fields` keep its data (file, line, param, ...) and `cause`
 * the error itself. Make one from whatever the node failed with by `NodeFailed.of`.
 */
export class NodeFailed extends Data.TaggedError("NodeFailed")<{
  readonly node: string
  readonly reason: string
  /** the `_tag` of the error the node failed with, when it was tagged */
  readonly tag?: string
  /** that error's fields, when it was tagged */
  readonly fields?: { readonly [field: string]: unknown }
  /** what the node failed with */
  readonly cause?: unknown
  /** what it failed with as data, when it failed in another process (a pool worker), where the error itself cannot travel */
  readonly detail?: ErrorDetail
}> {
  override get message(): string {
    return `node "${this.node}" failed: ${this.reason}`
  }

  /** The failure of node `node` with `error` (a typed failure or a thrown value), keeping its tag and fields. */
  static of(node: string, error: unknown): NodeFailed {
    return new NodeFailed({ node, reason: reasonOf(error), ...taggedData(error), cause: error })
  }

  /** The failure of node `node` whose input `input` is an object found corrupt and not repaired. */
  static corruptInput(node: string, input: string, corrupt: CorruptObject): NodeFailed {
    return new NodeFailed({ node, reason: `input "${input}": ${corrupt.message}` })
  }
}

/**
 * What a failed node failed with, as data (what the run log keeps): as its pool worker reported
 * it, else its cause, else the failure itself.
 */
export const failureDetail = (error: NodeFailed): ErrorDetail => error.detail ?? detailOf(error.cause ?? error)

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
export { reasonOf }

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

/**
 * The store cannot serve a command that writes it: `reason` says what is wrong with directory
 * `path` (read-only file system, not writable by this user, not a directory). Refused before
 * the command does any work; the user's to fix (exit 2).
 */
export class StoreUnavailable extends Data.TaggedError("StoreUnavailable")<{
  readonly path: string
  readonly reason: string
  /** the command refused */
  readonly command: string
}> {
  override get message(): string {
    return `store ${this.path} cannot be written: ${this.reason}; \`pipeline ${this.command}\` writes to the store (ls, show, plan and verify only read it)`
  }
}

/**
 * The Redis server of the job queue does not answer (JobQueue.ts): a run with `--executor
 * redis://…` and `pipeline worker` need it. Reported before any node runs (exit 2).
 */
export class QueueUnavailable extends Data.TaggedError("QueueUnavailable")<{
  readonly url: string
  readonly reason: string
}> {
  override get message(): string {
    return `the job queue's Redis server at ${this.url} does not answer (${this.reason}): start it (redis-server), or check the URL`
  }
}
