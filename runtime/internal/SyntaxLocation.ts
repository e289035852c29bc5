/**
 * Where a module failed to parse, from the error Node (or tsx) threw, and the offending line
 * with a caret under the column: so a syntax or type-stripping error in a pipeline file, or in a
 * module it imports, names file:line:column and shows the line, not only "Expression expected".
 *
 * Node's type stripping (ERR_INVALID_TYPESCRIPT_SYNTAX) puts the location in the stack's
 * first lines: `file:///path.ts:LINE`, the source line, then a line with `^` under the column.
 * tsx (esbuild) writes `/path.ts:LINE:COLUMN: ERROR: reason` in its message.
 */
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"

export interface SyntaxLocation {
  /** absolute path of the module that does not parse */
  readonly file: string
  /** 1-based */
  readonly line: number
  /** 1-based; undefined when the error does not say */
  readonly column: number | undefined
  readonly reason: string
}

const fromStack = (error: Error): SyntaxLocation | undefined => {
  const [header, ...rest] = (error.stack ?? "").split("\n")
  const at = /^(file:\/\/.+):(\d+)$/.exec(header ?? "")
  if (at === null) return undefined
  const caret = rest.slice(0, 4).find((line) => /^\s*\^+\s*$/.test(line))
  return {
    file: fileURLToPath(at[1]!),
    line: Number(at[2]),
    column: caret === undefined ? undefined : caret.indexOf("^") + 1,
    reason: error.message
  }
}

const fromEsbuild = (error: Error): SyntaxLocation | undefined => {
  const at = /(\/[^\n:]+):(\d+):(\d+): ERROR: ([^\n]+)/.exec(error.message)
  return at === null ? undefined : { file: at[1]!, line: Number(at[2]), column: Number(at[3]) + 1, reason: at[4]! }
}

/** The location of a syntax error thrown while importing a module, when the error gives one. */
export const of = (error: unknown): SyntaxLocation | undefined =>
  error instanceof Error ? fromStack(error) ?? fromEsbuild(error) : undefined

/**
 * `file:line:column: reason`, then the line itself and a caret under the column (read from the
 * file; without them when it cannot be read). `shown` is how the file is named.
 */
export const describe = (location: SyntaxLocation, shown: string): string => {
  const where = `${shown}:${location.line}${location.column === undefined ? "" : `:${location.column}`}`
  let source: string | undefined
  try {
    source = fs.readFileSync(location.file, "utf8").split(/\r?\n/)[location.line - 1]
  } catch {
    source = undefined
  }
  if (source === undefined) return `${where}: ${location.reason}`
  const gutter = String(location.line)
  return [
    `${where}: ${location.reason}`,
    `  ${gutter} | ${source}`,
    ...(location.column === undefined ? [] : [`  ${" ".repeat(gutter.length)} | ${" ".repeat(location.column - 1)}^`])
  ].join("\n")
}
