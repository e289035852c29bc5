/**
 * How long the run and each trainer have left, and how a duration is shown. Pure arithmetic
 * on milliseconds of the caller's clock (Render.ts passes its own, so tests pass a fake one).
 *
 * A trainer's ETA is its remaining steps at the rate of the steps it has done in this run. The
 * run's ETA adds up what each node still to compute has left: a running trainer its own ETA,
 * any other node the mean duration of the nodes of its kind computed so far in this run, less
 * what it has run. Unknown (no node of that kind computed yet, no step rate yet) makes the
 * run's ETA unknown rather than a guess. The work is shared over the nodes run at once, but
 * never finishes before its longest node.
 */

/** Steps a trainer must have done since its first progress report before it has an ETA. */
export const minSteps = 3

/** A trainer reported step `step` at time `at` (ms). */
export interface StepMark {
  readonly step: number
  readonly at: number
}

/**
 * The ms a trainer has left at time `now`: its remaining steps × the ms per step since its
 * first report, less the time since its latest. The rate is measured from its first report,
 * not from its start: its setup is no step, and a trainer resumed from a checkpoint starts
 * past step 1. Undefined until it is {@link minSteps} steps past its first report.
 */
export const trainerEta = (first: StepMark, latest: StepMark, total: number, now: number): number | undefined => {
  const steps = latest.step - first.step
  if (steps < minSteps) return undefined
  const msPerStep = (latest.at - first.at) / steps
  return Math.max(0, Math.max(0, total - latest.step) * msPerStep - (now - latest.at))
}

/** A node still to compute: queued (or waiting for another run), or running for `elapsedMs` with its own ETA when it has one. */
export type Unfinished =
  | { readonly state: "queued"; readonly kind: string }
  | { readonly state: "running"; readonly kind: string; readonly elapsedMs: number; readonly etaMs: number | undefined }

/** The mean duration of the computed nodes of each kind. */
export const meanDurations = (computed: ReadonlyArray<{ readonly kind: string; readonly durationMs: number }>): ReadonlyMap<string, number> => {
  const sums = new Map<string, { total: number; n: number }>()
  for (const { kind, durationMs } of computed) {
    const sum = sums.get(kind) ?? { total: 0, n: 0 }
    sums.set(kind, { total: sum.total + durationMs, n: sum.n + 1 })
  }
  return new Map([...sums].map(([kind, { total, n }]) => [kind, total / n]))
}

/** The ms a node has left: its own ETA, else its kind's mean duration less what it has run; undefined when neither is known. */
export const nodeEta = (node: Unfinished, means: ReadonlyMap<string, number>): number | undefined => {
  if (node.state === "running" && node.etaMs !== undefined) return node.etaMs
  const mean = means.get(node.kind)
  if (mean === undefined) return undefined
  return Math.max(0, mean - (node.state === "running" ? node.elapsedMs : 0))
}

/**
 * The ms the run has left, or undefined when a node's is unknown: the nodes' remaining time
 * shared over the `slots` nodes run at once (no more slots than nodes), or the longest
 * node's, whichever is larger. 0 when nothing is left.
 */
export const runEta = (unfinished: ReadonlyArray<Unfinished>, means: ReadonlyMap<string, number>, slots: number): number | undefined => {
  const left: Array<number> = []
  for (const node of unfinished) {
    const eta = nodeEta(node, means)
    if (eta === undefined) return undefined
    left.push(eta)
  }
  if (left.length === 0) return 0
  const total = left.reduce((sum, ms) => sum + ms, 0)
  return Math.max(total / Math.min(Math.max(1, slots), left.length), ...left)
}

/** A duration as shown: `850ms`, `4.2s`, `42s`, `1m12s`, `2h05m`. */
export const formatDuration = (ms: number): string => {
  if (ms < 999.5) return `${Math.max(0, ms).toFixed(0)}ms`
  if (ms < 9950) return `${(ms / 1000).toFixed(1)}s`
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`
}
