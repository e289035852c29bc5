/**
 * How `pipeline run` shows progress. On a terminal: one live line per node
 * (queued / cached / waiting / running with a progress bar, step, elapsed time, ETA and
 * loss / done / failed / skipped because an upstream node failed) and below them the run's
 * line (nodes finished of all, cached, computed, running, failed, skipped, elapsed time, ETA;
 * Eta.ts says how it is estimated), redrawn in place
 * at each event and every second. Elsewhere: one line per state change (a done line adds
 * the run's nodes finished and elapsed time) and a closing line of counts. With `--json`:
 * one JSON object per event, with `ts`, the time it was written (ISO 8601, UTC); progress
 * events add the node's `elapsedMs` and `etaMs` (null until its step rate is known).
 *
 * What nodes print is captured into their logs (internal/NodeOutput.ts). On a terminal and
 * in plain output it is also shown as it comes, each line prefixed by the node's label
 * (above the live lines on a terminal); with `--json` it is never shown: the logs and
 * `pipeline show` have it, and stdout stays NDJSON.
 */
import { detailOf } from "../internal/ErrorDetail.ts"
import type * as Scheduler from "../Scheduler.ts"
import * as Eta from "./Eta.ts"
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

/** A node of the run: its label and its kind (the run's ETA pools the durations of nodes of one kind). */
export interface NodeInfo {
  readonly label: string
  readonly kind: string
}

/** What a renderer is told besides its nodes. */
export interface Options {
  /** the time in ms, for elapsed times and ETAs (default performance.now; tests pass a fake clock) */
  readonly clock?: () => number
  /** how many nodes run at once (the run's --concurrency; default 1), for the run's ETA */
  readonly concurrency?: number
}

interface LineState {
  readonly kind: string
  status: "planned" | "queued" | "waiting" | "running" | "cached" | "done" | "failed" | "skipped"
  step?: number
  total?: number
  loss?: number
  reward?: number
  kl?: number
  throughput?: number
  unit?: string
  /** when it started running */
  startedAt?: number
  /** its first and latest progress reports */
  first?: Eta.StepMark
  latest?: Eta.StepMark
  durationMs?: number
  detail?: string
}

const bar = (step: number, total: number, width: number): string => {
  const filled = Math.round((step / Math.max(total, 1)) * width)
  return `${"█".repeat(filled)}${"░".repeat(width - filled)}`
}

const formatRate = (rate: number): string => (rate >= 10_000 ? `${(rate / 1000).toFixed(0)}k` : rate.toFixed(0))

/** How long a running node has run at `now`. */
const elapsedOf = (state: LineState, now: number): number => now - (state.startedAt ?? state.first?.at ?? now)

/** A running trainer's ETA at `now`, once its step rate is known. */
const etaOf = (state: LineState, now: number): number | undefined =>
  state.first === undefined || state.latest === undefined || state.total === undefined
    ? undefined
    : Eta.trainerEta(state.first, state.latest, state.total, now)

/** A running node's elapsed time (from its first second on) and ETA, each a part a narrow terminal drops whole. */
const timeParts = (state: LineState, now: number): Array<string> => {
  const elapsed = elapsedOf(state, now)
  const eta = etaOf(state, now)
  return [...(elapsed >= 1000 ? [`  ${Eta.formatDuration(elapsed)}`] : []), ...(eta === undefined ? [] : [`  ETA ~${Eta.formatDuration(eta)}`])]
}

/** A node's line as the parts Text.fitParts may drop, at time `now`. */
const lineParts = (label: string, width: number, state: LineState, now: number): Array<string> => {
  const name = label.padEnd(width)
  switch (state.status) {
    case "running":
      return state.total === undefined
        ? [...Text.breakable(`  ▶ ${name}  running`), ...timeParts(state, now)]
        : [
          ...Text.breakable(`  ▶ ${name}  ${bar(state.step ?? 0, state.total, 20)} ${state.step}/${state.total}`),
          ...timeParts(state, now),
          ...(state.loss === undefined ? [] : [`  loss ${state.loss.toFixed(4)}`]),
          ...(state.reward === undefined ? [] : [`  reward ${state.reward.toFixed(3)}`]),
          ...(state.kl === undefined ? [] : [`  kl ${state.kl.toFixed(3)}`]),
          ...(state.throughput === undefined ? [] : [`  ${formatRate(state.throughput)} ${state.unit ?? "items"}/s`])
        ]
    case "planned":
      return Text.breakable(`  · ${name}  planned`)
    case "queued":
      return Text.breakable(`  · ${name}  queued`)
    case "waiting":
      return Text.breakable(`  … ${name}  waiting for another run computing it`)
    case "cached":
      return Text.breakable(`  ✓ ${name}  cached`)
    case "done":
      return Text.breakable(`  ✓ ${name}  done in ${Eta.formatDuration(state.durationMs ?? 0)}`)
    case "failed":
      return Text.breakable(`  ✗ ${name}  failed: ${state.detail ?? ""}`)
    case "skipped":
      return Text.breakable(`  – ${name}  skipped: ${state.detail ?? ""}`)
  }
}

/** How many nodes are in each state, and how many have finished (cached, computed, failed or skipped) of all. */
const countsOf = (states: ReadonlyArray<LineState>) => {
  const count = (status: LineState["status"]) => states.filter((s) => s.status === status).length
  const [cached, computed, running, failed, skipped] = [count("cached"), count("done"), count("running"), count("failed"), count("skipped")]
  return { cached, computed, running, failed, skipped, finished: cached + computed + failed + skipped, total: states.length }
}

/**
 * The run's ETA at `now` as shown (`~40s`, or `–` when unknown) with `slots` nodes run at once;
 * undefined when no node is left to compute.
 */
const runEta = (states: ReadonlyArray<LineState>, now: number, slots: number): string | undefined => {
  const unfinished = states.flatMap((s): Array<Eta.Unfinished> =>
    s.status === "running"
      ? [{ state: "running", kind: s.kind, elapsedMs: elapsedOf(s, now), etaMs: etaOf(s, now) }]
      : s.status === "queued" || s.status === "waiting"
      ? [{ state: "queued", kind: s.kind }]
      : []
  )
  if (unfinished.length === 0) return undefined
  const means = Eta.meanDurations(states.flatMap((s) => (s.status === "done" ? [{ kind: s.kind, durationMs: s.durationMs ?? 0 }] : [])))
  const ms = Eta.runEta(unfinished, means, slots)
  return ms === undefined ? "–" : `~${Eta.formatDuration(ms)}`
}

/**
 * The run's line as parts: nodes finished of all, by how they finished, and with `timing` (the
 * run's start and its slots) its elapsed time at `now` and its ETA.
 */
const runParts = (
  states: ReadonlyArray<LineState>,
  now: number,
  timing?: { readonly started: number; readonly slots: number }
): Array<string> => {
  const { cached, computed, running, failed, skipped, finished, total } = countsOf(states)
  const eta = timing === undefined ? undefined : runEta(states, now, timing.slots)
  return [
    `  ${finished}/${total} nodes`,
    ` · ${cached} cached`,
    ` · ${computed} computed`,
    ...(running > 0 ? [` · ${running} running`] : []),
    ...(failed > 0 ? [` · ${failed} failed`] : []),
    ...(skipped > 0 ? [` · ${skipped} skipped`] : []),
    ...(timing === undefined ? [] : [` · elapsed ${Eta.formatDuration(now - timing.started)}`]),
    ...(eta === undefined ? [] : [` · ETA ${eta}`])
  ]
}

/** A node's state after `event`, at time `now`. */
const update = (state: LineState, event: Exclude<Scheduler.Event, { type: "output" }>, now: number): void => {
  switch (event.type) {
    case "queued":
    case "waiting":
    case "cached":
      state.status = event.type
      break
    case "running":
      state.status = "running"
      state.startedAt = now
      break
    case "progress":
      state.status = "running"
      state.step = event.step
      state.total = event.total
      state.first ??= { step: event.step, at: now }
      state.latest = { step: event.step, at: now }
      if (event.loss !== undefined) state.loss = event.loss
      if (event.reward !== undefined) state.reward = event.reward
      if (event.kl !== undefined) state.kl = event.kl
      if (event.throughput !== undefined) state.throughput = event.throughput
      if (event.unit !== undefined) state.unit = event.unit
      break
    case "done":
      state.status = "done"
      state.durationMs = event.durationMs
      break
    case "failed":
      state.status = "failed"
      state.detail = event.error
      break
    case "skipped":
      state.status = "skipped"
      state.detail = `upstream node "${event.upstream}" failed`
      break
  }
}

const roundOrNull = (ms: number | undefined): number | null => (ms === undefined ? null : Math.round(ms))

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

/** A renderer for the given nodes (graph order). */
export const make = (mode: Mode, out: Output, nodes: ReadonlyArray<NodeInfo>, options: Options = {}) => {
  const clock = options.clock ?? (() => performance.now())
  const started = clock()
  const timing = { started, slots: options.concurrency ?? 1 }
  const states = new Map<string, LineState>(nodes.map(({ label, kind }) => [label, { kind, status: "planned" }]))
  const width = Math.min(40, Math.max(...nodes.map((n) => n.label.length), 4))
  let drawn = 0
  let lastDraw = 0
  let timer: NodeJS.Timeout | undefined

  // With many nodes a live block would not fit: show active and failed lines, then the run's line.
  const visibleLines = (now: number): Array<Array<string>> => {
    const maxRows = Math.max(5, (out.rows ?? 40) - 4)
    const entries = [...states.entries()]
    const shown = entries.length < maxRows
      ? entries
      : entries.filter(([, s]) => s.status === "running" || s.status === "waiting" || s.status === "failed").slice(0, maxRows - 1)
    return [...shown.map(([label, state]) => lineParts(label, width, state, now)), runParts([...states.values()], now, timing)]
  }

  // `above`: printed lines written over the live block, which is then drawn below them
  const draw = (above: ReadonlyArray<string> = []) => {
    timer = undefined
    const now = clock()
    lastDraw = now
    const lines = [...above.map(Text.breakable), ...visibleLines(now)]
    const clear = drawn > 0 ? `\x1b[${drawn}F` : ""
    // a line wider than the terminal loses whole words (a zero or unknown width cuts nothing)
    const cols = out.columns === undefined || out.columns <= 1 ? Infinity : out.columns - 1
    out.write(clear + lines.map((parts) => `\x1b[2K${Text.fitParts(parts, cols)}`).join("\n") + "\n")
    drawn = lines.length - above.length
  }

  const schedule = (urgent: boolean) => {
    if (urgent || clock() - lastDraw > 100) {
      if (timer !== undefined) clearTimeout(timer)
      draw()
    } else if (timer === undefined) {
      timer = setTimeout(draw, 100)
    }
  }

  // the elapsed times and ETAs move on between events: redraw once a second (never keeping the process alive)
  const ticker = mode === "tty" ? setInterval(() => schedule(true), 1000) : undefined
  ticker?.unref()

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
    const now = clock()
    const state = states.get(event.label) ?? { kind: "", status: "planned" }
    states.set(event.label, state)
    update(state, event, now)
    if (mode === "json") {
      out.write(jsonLine(
        event.type === "progress"
          ? { ...event, elapsedMs: Math.round(elapsedOf(state, now)), etaMs: roundOrNull(etaOf(state, now)) }
          : event
      ))
      return
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
    if (event.type === "queued") return
    const line = lineParts(event.label, width, state, now).join("")
    // a done line also says how far the run is: nodes finished of all, and its elapsed time
    const { finished, total } = countsOf([...states.values()])
    out.write(`${line}${event.type === "done" ? ` · ${finished}/${total} nodes · elapsed ${Eta.formatDuration(now - started)}` : ""}\n`)
  }

  const finish = () => {
    if (timer !== undefined) clearTimeout(timer)
    if (ticker !== undefined) clearInterval(ticker)
    if (mode === "tty") draw()
    // plain output ends with the counts (no times: a replayed run prints what its run printed)
    if (mode === "plain") out.write(`${runParts([...states.values()], clock()).join("")}\n`)
  }

  return { onEvent, finish }
}
