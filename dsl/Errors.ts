/**
 * Errors as tagged data. Building a graph fails with `ParamError`, `OverrideError` or
 * `BuildError` (the CLI prints them as is and exits 2); node code fails with `InputError`
 * (bad data it reads), `ArgumentError` (a function's argument outside its domain) or
 * `InvariantError` (a value breaking what its type promises), which the runtime keeps,
 * fields and all, in `NodeFailed`. Each renders one line naming what is wrong and where.
 */
import * as Data from "effect/Data"
import * as Suggest from "./internal/Suggest.ts"

/** A node param failed its Schema: names the node, the field and the reason. */
export class ParamError extends Data.TaggedError("ParamError")<{
  readonly node: string
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return `node "${this.node}": param "${this.field}": ${this.reason}`
  }
}

/** A `--set` or `--force` names a node or a field the pipeline does not have. */
export class OverrideError extends Data.TaggedError("OverrideError")<{
  readonly option: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.option}: ${this.reason}`
  }
}

/**
 * Why `name` names no node of `pipeline`: suggests the nearest of `candidates` (a typo; by
 * default the node names) and lists the names it has.
 */
export const noNodeNamed = (
  pipeline: string,
  name: string,
  names: ReadonlyArray<string>,
  candidates: ReadonlyArray<string> = names
): string => `pipeline "${pipeline}" has no node named "${name}"${Suggest.didYouMean(name, candidates)} (its nodes: ${[...new Set(names)].join(", ")})`

/**
 * `option` (`--set`, `--force`) names a node the pipeline does not have; the reason suggests
 * the nearest name (a typo) and lists the names it has.
 */
export const unknownNode = (option: string, pipeline: string, name: string, names: ReadonlyArray<string>): OverrideError =>
  new OverrideError({ option, reason: noNodeNamed(pipeline, name, names) })

/** The pipeline's builder function threw, or returned something that is not a graph of handles. */
export class BuildError extends Data.TaggedError("BuildError")<{
  readonly pipeline: string
  readonly reason: string
  /** what the builder threw, when it threw */
  readonly cause?: unknown
}> {
  override get message(): string {
    return `pipeline "${this.pipeline}" failed while building its graph: ${this.reason}`
  }
}

/** The `where` segments that are set, then the reason, joined by ": " in one line: `param "path": a.jsonl: line 2: not valid JSON`. */
export const located = (where: ReadonlyArray<string | undefined>, reason: string): string =>
  [...where.filter((segment) => segment !== undefined), reason].join(": ")

/** Where in a node's input data an `InputError` lies: every field optional, the most specific last. */
export interface InputLocation {
  /** the node input (upstream artifact) at fault, e.g. `"pairs"` */
  readonly input?: string
  /** the param whose value or file is at fault, e.g. `"path"` */
  readonly param?: string
  /** the file read */
  readonly file?: string
  /** 1-based line of a text file */
  readonly line?: number
  /** 1-based row of a table */
  readonly row?: number
  /** the field (column, JSON key) of that line or row */
  readonly field?: string
}

/**
 * Data a node reads is not what it needs: an upstream table with no usable rows, a model
 * that does not fit the task, a file with a bad line. Says where (input, param, file, line
 * or row, field) and why, in one line: `param "path": pairs.jsonl: line 2: not valid JSON`.
 * A parser that does not know the file throws it with the field only; its caller adds the
 * rest with `at`.
 *
 * @example
 * if (rows.length === 0) return yield* new InputError({ input: "pairs", reason: "the table has no rows" })
 */
export class InputError extends Data.TaggedError("InputError")<InputLocation & { readonly reason: string }> {
  override get message(): string {
    return located([
      this.input === undefined ? undefined : `input "${this.input}"`,
      this.param === undefined ? undefined : `param "${this.param}"`,
      this.file,
      this.line === undefined ? undefined : `line ${this.line}`,
      this.row === undefined ? undefined : `row ${this.row}`,
      this.field === undefined ? undefined : `field "${this.field}"`
    ], this.reason)
  }

  /** The same error located further (the file, line or row a parser did not know). */
  at(location: InputLocation): InputError {
    const { _tag: _, ...fields } = { ...this }
    return new InputError({ ...fields, ...location })
  }
}

/**
 * A function was called with an argument outside its domain (a negative β, a group size
 * that does not divide the batch, a config that cannot make a model). Pure math helpers
 * throw it, as any function throws on a bad argument; it renders as
 * `dpoLoss: beta must be a positive number, got 0`.
 */
export class ArgumentError extends Data.TaggedError("ArgumentError")<{
  /** the function called, e.g. `"dpoLoss"` or `"Transformer.init"` */
  readonly function: string
  /** the argument (or field of an options argument) at fault */
  readonly argument: string
  /** what is wrong with it, read after its name: `must be ≥ 0, got -1` */
  readonly reason: string
}> {
  override get message(): string {
    return `${this.function}: ${this.argument} ${this.reason}`
  }
}

/**
 * A value breaks what its type promises: a stored model tensor of the wrong shape or dtype, a
 * checkpoint missing a variable, a table type with no Parquet mapping. Not the user's data nor
 * a param: a foreign or damaged artifact, or a bug. Renders as `${what}: ${reason}`.
 */
export class InvariantError extends Data.TaggedError("InvariantError")<{
  /** the value at fault, e.g. `transformer tensor "wte"` */
  readonly what: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.what}: ${this.reason}`
  }
}

/**
 * The tag and fields of a tagged error (its data, without `message`, `stack` or `cause`), for
 * carrying them on to another error or a JSON event; undefined for an untagged value.
 */
export const taggedData = (
  error: unknown
): { readonly tag: string; readonly fields: { readonly [field: string]: unknown } } | undefined => {
  if (typeof error !== "object" || error === null || !("_tag" in error) || typeof error._tag !== "string") return undefined
  const { _tag: _, ...fields }: { readonly [field: string]: unknown } = { ...error }
  return { tag: error._tag, fields }
}
