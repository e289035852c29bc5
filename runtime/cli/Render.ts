/**
 * How `pipeline run` shows progress. On a terminal: one live line per node
 * (queued / cached / waiting / running with a progress bar, step and loss / done /
 * failed), redrawn in place. Elsewhere: one line per state change. With `--json`:
 * one JSON object per event, with `ts`, the time it was written (ISO 8601, UTC).
 *
 * What nodes print is captured into their logs (internal/NodeOutput.ts). On a terminal and
 * in plain output it is also shown as it comes, each line prefixed by the node's label
 * (above the live lines on a terminal); with `--json` it is never shown: the logs and
 * `pipeline show` have it, and stdout stays NDJSON.
 */
import { detailOf } from "../internal/ErrorDetail.ts"
import type * as Scheduler from "../Scheduler.ts"
import * as Text from "./Text.ts"

export type Mode = "tty" | "plain" | "json"

/** The mode for `--json` or not, writing to `out`: live lines only on a terminal. */
export const modeOf = (json: boolean, out: { readonly isTTY?: boolean | undefined }): Mode =>
  json ? "json" : out.isTTY === true ? "tty" : "plain"

/** Writes output; the CLI passes process.stdout, tests a buffer. */
export interface Output {
  readonly write: (text: string) => void
  readonly columns?: number | undefined
  readonly rows?: number | undefined
}

interface LineState {
  status: "planned" | "queued" | "waiting" | "running" | "cached" | "done" | "failed"
  step?: number
  total?: number
  loss?: number
  reward?: number
  kl?: number
  throughput?: number
  unit?: string
  detail?: string
}

const bar = (step: number, total: number, width: number): string => {
  const filled = Math.round((step / Math.max(total, 1)) * width)
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`
}

const formatRate = (rate: number): string => (rate >= 10_000 ? `${(rate / 1000).toFixed(0)}k` : rate.toFixed(0))

const seconds = (ms: number): string => (ms < 1000 ? `${ms.toFixed(0)}ms` : `${(ms / 1000).toFixed(1)}s`)

const formatLine = (label: string, width: number, state: LineState): string => {
  const name = label.padEnd(width)
  switch (state.status) {
    case "running":
      return state.total === undefined
        ? `  ▶ ${name}  running`
        : `  ▶ ${name}  ${bar(state.step ?? 0, state.total, 20)} ${state.step}/${state.total}${
          state.loss === undefined ? "" : `  loss ${state.loss.toFixed(4)}`
        }${state.reward === undefined ? "" : `  reward ${state.reward.toFixed(3)}`}${
          state.kl === undefined ? "" : `  kl ${state.kl.toFixed(3)}`
        }${state.throughput === undefined ? "" : `  ${formatRate(state.throughput)} ${state.unit ?? "items"}/s`}`
    case "planned":
      return `  · ${name}  planned`
    case "queued":
      return `  · ${name}  queued`
    case "waiting":
      return `  … ${name}  waiting for another run computing it`
    case "cached":
      return `  ✓ ${name}  cached`
    case "done":
      return `  ✓ ${name}  done ${state.detail ?? ""}`
    case "failed":
      return `  ✗ ${name}  failed: ${state.detail ?? ""}`
  }
}

/** An object as one `--json` line, stamped with the time it is written. */
export const jsonLine = <Fields extends { readonly type: string }>(fields: Fields): string =>
  `${JSON.stringify({ ...fields, ts: new Date().toISOString() })}\n`

/**
 * A failed command's error as a `--json` line: `{"type":"error","tag","message",...fields,"ts"}`
 * (its fields never replace those four).
 */
export const errorLine = (error: unknown, fallbackTag: string): string => {
  const { fields: { message: _message, tag: _tag, ts: _ts, type: _type, ...fields }, message, tag } = detailOf(error)
  return jsonLine({ type: "error", tag: tag ?? fallbackTag, message, ...fields })
}

/** Printed text as display lines, each prefixed by who printed it (a node's label, or `run`). */
const printedLines = (label: string | undefined, text: string): Array<string> =>
  text.replace(/\r?\n$/, "").split(/\r?\n/).map((line) => `    ${label ?? "run"} │ ${line}`)

/** A renderer for the given labels (graph order). */
export const make = (mode: Mode, out: Output, labels: ReadonlyArray<string>) => {
  const states = new Map<string, LineState>(labels.map((label) => [label, { status: "planned" }]))
  const width = Math.min(40, Math.max(...labels.map((l) => l.length), 4))
  let drawn = 0
  let lastDraw = 0
  let timer: NodeJS.Timeout | undefined

  // With many nodes a live block would not fit: show active and failed lines plus a tally.
  const visibleLines = (): Array<string> => {
    const maxRows = Math.max(5, (out.rows ?? 40) - 4)
    const entries = [...states.entries()]
    if (entries.length <= maxRows) return entries.map(([label, state]) => formatLine(label, width, state))
    const counts = new Map<string, number>()
    for (const [, state] of entries) counts.set(state.status, (counts.get(state.status) ?? 0) + 1)
    const active = entries.filter(([, s]) => s.status === "running" || s.status === "waiting" || s.status === "failed")
    return [
      ...active.slice(0, maxRows - 1).map(([label, state]) => formatLine(label, width, state)),
      `  ${[...counts.entries()].map(([status, n]) => `${n} ${status}`).join(", ")}`
    ]
  }

  // `above`: printed lines written over the live block, which is then drawn below them
  const draw = (above: ReadonlyArray<string> = []) => {
    timer = undefined
    lastDraw = performance.now()
    const lines = [...above, ...visibleLines()]
    const clear = drawn > 0 ? `\x1b[${drawn}F` : ""
    // a line wider than the terminal loses whole words (a zero or unknown width cuts nothing)
    const cols = out.columns === undefined || out.columns <= 1 ? Infinity : out.columns - 1
    out.write(clear + lines.map((line) => `\x1b[2K${Text.fitLine(line, cols)}`).join("\n") + "\n")
    drawn = lines.length - above.length
  }

  const schedule = (urgent: boolean) => {
    if (urgent || performance.now() - lastDraw > 100) {
      if (timer !== undefined) clearTimeout(timer)
      draw()
    } else if (timer === undefined) {
      timer = setTimeout(draw, 100)
    }
  }

  const plainProgress = new Map<string, number>()

  const onEvent = (event: Scheduler.Event): void => {
    if (event.type === "output") {
      if (mode === "json") return
      const lines = printedLines(event.label, event.text)
      if (mode === "tty") {
        if (timer !== undefined) clearTimeout(timer)
        draw(lines)
      } else out.write(`${lines.join("\n")}\n`)
      return
    }
    if (mode === "json") {
      out.write(jsonLine(event))
      return
    }
    const state = states.get(event.label) ?? { status: "planned" }
    states.set(event.label, state)
    switch (event.type) {
      case "queued":
      case "waiting":
      case "running":
      case "cached":
        state.status = event.type
        break
      case "progress":
        state.status = "running"
        state.step = event.step
        state.total = event.total
        if (event.loss !== undefined) state.loss = event.loss
        if (event.reward !== undefined) state.reward = event.reward
        if (event.kl !== undefined) state.kl = event.kl
        if (event.throughput !== undefined) state.throughput = event.throughput
        if (event.unit !== undefined) state.unit = event.unit
        break
      case "done":
        state.status = "done"
        state.detail = `in ${seconds(event.durationMs)}`
        break
      case "failed":
        state.status = "failed"
        state.detail = event.error
        break
    }
    if (mode === "tty") {
      schedule(event.type !== "progress")
      return
    }
    if (event.type === "progress") {
      // Plain output: a line per quarter of progress, not per step.
      const quarter = Math.floor((4 * event.step) / Math.max(event.total, 1))
      if (quarter <= (plainProgress.get(event.label) ?? 0)) return
      plainProgress.set(event.label, quarter)
    }
    if (event.type !== "queued") out.write(`${formatLine(event.label, width, state)}\n`)
  }

  const finish = () => {
    if (timer !== undefined) clearTimeout(timer)
    if (mode === "tty") draw()
  }

  return { onEvent, finish }
}
