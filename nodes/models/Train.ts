/**
 * The training loop shared by training nodes: runs `step` for each iteration,
 * reports progress and loss, records the loss metric, and yields to the event
 * loop so the progress display updates and Ctrl-C can interrupt between steps.
 */
import { Effect } from "effect"
import type { NodeContext } from "../../dsl/Node.ts"

export interface LoopOptions {
  readonly steps: number
  readonly ctx: NodeContext
  /** One optimisation step; returns the step's loss. */
  readonly step: (index: number) => number
  /** Record metrics every this many steps (and at the last step). */
  readonly logEvery?: number
}

export const loop = Effect.fnUntraced(function*(options: LoopOptions) {
  const { steps, ctx, step } = options
  const logEvery = options.logEvery ?? 10
  for (let i = 0; i < steps; i++) {
    const loss = step(i)
    if (i % logEvery === 0 || i === steps - 1) ctx.metric("loss", loss, i)
    ctx.progress({ step: i + 1, total: steps, loss })
    if (i % 10 === 9) yield* Effect.yieldNow
  }
})
