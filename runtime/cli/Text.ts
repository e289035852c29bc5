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
