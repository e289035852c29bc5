/**
 * Fitting text to a terminal without cutting words: help paragraphs are wrapped at spaces,
 * and a live progress line too wide for the terminal loses whole trailing words. A word
 * longer than the width is kept whole (the terminal wraps it) rather than cut. Pure and
 * free of Effect: Replay.ts renders through this before Effect loads.
 */

/** The width help is wrapped to when the terminal's is unknown or zero (not a TTY, COLUMNS=0). */
export const defaultWidth = 80

/**
 * The width to fit text to: the terminal's columns when writing to one, else `$COLUMNS`,
 * else {@link defaultWidth}. A zero or unparsable width counts as unknown.
 */
export const widthOf = (out: { readonly isTTY?: boolean | undefined; readonly columns?: number | undefined }, columnsEnv: string | undefined): number => {
  if (out.isTTY === true && out.columns !== undefined && out.columns > 0) return out.columns
  const fromEnv = Number(columnsEnv)
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : defaultWidth
}

// ANSI colour sequences take no columns.
const ansi = /\u001B\[[0-9;]*[A-Za-z]/g

/** The columns `text` takes (one per code point; the CLI prints no wide characters). */
export const columnsOf = (text: string): number => [...text.replace(ansi, "")].length

/**
 * `text` wrapped at spaces into lines of at most `width` columns (a longer word stands
 * alone on its line, whole), each line after the first starting with `indent` spaces.
 * Line breaks in `text` are kept.
 */
export const wrap = (text: string, width: number, indent = 0): string =>
  text.split("\n").map((paragraph) => wrapParagraph(paragraph, width, indent)).join("\n")

const wrapParagraph = (paragraph: string, width: number, indent: number): string => {
  const words = paragraph.split(" ").filter((word) => word !== "")
  const lead = paragraph.length - paragraph.trimStart().length
  const lines: Array<string> = []
  let line = " ".repeat(lead)
  let used = lead
  let fresh = true
  for (const word of words) {
    const length = columnsOf(word)
    if (!fresh && used + 1 + length > width) {
      lines.push(line)
      line = " ".repeat(indent)
      used = indent
      fresh = true
    }
    line += fresh ? word : ` ${word}`
    used += fresh ? length : length + 1
    fresh = false
  }
  lines.push(line)
  return lines.join("\n")
}

/** `line` as the parts {@link fitParts} may drop: each word with the spaces before it. */
export const breakable = (line: string): Array<string> => line.split(/(?<=\S)(?=\s)/)

/**
 * The longest leading run of `parts` (each with the spaces before it) that fits in `width`
 * columns, for output that must stay one terminal row (a live progress line). A part is never
 * cut, so a phrase that means nothing halved (`ETA ~40s`) is one part; the first part stays
 * even if it is too wide.
 */
export const fitParts = (parts: ReadonlyArray<string>, width: number): string => {
  const whole = parts.join("")
  if (columnsOf(whole) <= width) return whole
  for (let n = parts.length - 1; n > 1; n--) {
    const cut = parts.slice(0, n).join("").trimEnd()
    if (columnsOf(cut) <= width) return cut
  }
  return (parts[0] ?? "").trimEnd()
}

/** Two columns: each left cell padded to the widest (capped), the right one wrapped beside it. */
export const twoColumns = (rows: ReadonlyArray<readonly [string, string]>, width: number, indent = 2): string => {
  const widest = Math.max(0, ...rows.map(([left]) => columnsOf(left)))
  // a left column wider than half the width pushes its description onto the next line
  const column = Math.min(widest, Math.max(8, Math.floor(width / 2) - indent - 2))
  const descriptionAt = indent + column + 2
  return rows.map(([left, right]) => {
    const pad = " ".repeat(indent)
    if (right === "") return `${pad}${left}`
    if (columnsOf(left) > column || descriptionAt + 10 > width) {
      return `${pad}${left}\n${wrap(`${" ".repeat(indent + 4)}${right}`, width, indent + 4)}`
    }
    const [first, ...rest] = wrap(right, width - descriptionAt).split("\n")
    return [`${pad}${left}${" ".repeat(column - columnsOf(left) + 2)}${first}`, ...rest.map((line) => `${" ".repeat(descriptionAt)}${line}`)]
      .join("\n")
  }).join("\n")
}

/** Rows as left-aligned columns separated by two spaces. */
export const table = (rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n")
}

/** `n noun`, plural unless n is 1: `1 run`, `3 runs`. */
export const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

/** `cell` cut to `width` columns, its end replaced by "…" when it is cut. */
const cut = (cell: string, width: number): string => (cell.length <= width ? cell : `${cell.slice(0, Math.max(0, width - 1))}…`)

/** How a table may give up width: columns that may be cut down to a minimum width, and columns that may be left out. */
export interface Fit {
  /** [column, its narrowest width], cut first to last */
  readonly shrink: ReadonlyArray<readonly [number, number]>
  /** columns left out, first to last, when cutting is not enough */
  readonly drop: ReadonlyArray<number>
}

/**
 * `rows` (the first is the header) as `table` lays them out, fitted to `width` columns: the
 * `shrink` columns are cut (with "…") as far as needed, then, while that is not enough, the
 * `drop` columns are left out one by one (and the others cut again, only as far as needed).
 * Wider than `width` only when nothing more may go.
 */
export const fitTable = (rows: ReadonlyArray<ReadonlyArray<string>>, width: number, fit: Fit): string => {
  const natural = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  const attempt = (dropped: ReadonlySet<number>) => {
    const widths = [...natural]
    const kept = natural.map((_, i) => i).filter((i) => !dropped.has(i))
    let excess = kept.reduce((sum, i) => sum + widths[i]!, 2 * (kept.length - 1)) - width
    for (const [i, min] of fit.shrink) {
      if (excess <= 0 || dropped.has(i)) continue
      const give = Math.max(0, Math.min(excess, widths[i]! - min))
      widths[i] = widths[i]! - give
      excess -= give
    }
    return { fits: excess <= 0, text: table(rows.map((row) => kept.map((i) => cut(row[i]!, widths[i]!)))) }
  }
  let laidOut = attempt(new Set())
  for (let n = 1; !laidOut.fits && n <= fit.drop.length; n++) laidOut = attempt(new Set(fit.drop.slice(0, n)))
  return laidOut.text
}

/** How long ago, in the largest whole unit: `42s`, `5m`, `3h`, `12d`. */
export const age = (ms: number): string => {
  const seconds = Math.max(0, Math.floor(ms / 1000))
  const [value, unit] = seconds < 60
    ? [seconds, "s"]
    : seconds < 3600
    ? [Math.floor(seconds / 60), "m"]
    : seconds < 86_400
    ? [Math.floor(seconds / 3600), "h"]
    : [Math.floor(seconds / 86_400), "d"]
  return `${value}${unit}`
}
