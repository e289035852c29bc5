/**
 * Errors raised while a pipeline graph is built. Each names what is wrong and where,
 * so the CLI can print it as is and exit with status 2.
 */
import { Data } from "effect"
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
 * `option` (`--set`, `--force`) names a node the pipeline does not have; the reason suggests
 * the nearest name (a typo) and lists the names it has.
 */
export const unknownNode = (option: string, pipeline: string, name: string, names: ReadonlyArray<string>): OverrideError =>
  new OverrideError({
    option,
    reason: `pipeline "${pipeline}" has no node named "${name}"${Suggest.didYouMean(name, names)} (its nodes: ${[...new Set(names)].join(", ")})`
  })

/** The pipeline's builder function threw, or returned something that is not a graph of handles. */
export class BuildError extends Data.TaggedError("BuildError")<{
  readonly pipeline: string
  readonly reason: string
}> {
  override get message(): string {
    return `pipeline "${this.pipeline}" failed while building its graph: ${this.reason}`
  }
}
