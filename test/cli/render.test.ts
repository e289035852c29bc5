import { describe, expect, it } from "vitest"
import * as Render from "../../runtime/cli/Render.ts"
import type * as Scheduler from "../../runtime/Scheduler.ts"

const nodes: ReadonlyArray<Render.NodeInfo> = [
  { label: "task", kind: "data/task" },
  { label: "pairs", kind: "data/task" },
  { label: "rm", kind: "reward/bradleyTerry" }
]

/** The lines of the latest drawing on a terminal, without its control sequences. */
const lastDrawing = (text: string) => text.split(/\x1b\[\d+F/).at(-1)!.replaceAll("\x1b[2K", "").trimEnd().split("\n")

/**
 * A renderer on a fake clock (ms since it was made) and a buffer; `at(ms, event)` sends an
 * event at that time. Two data nodes take 2 s and 1 s, then a trainer runs 101 steps at
 * 200 ms a step after a second of setup.
 */
const script = (mode: Render.Mode, columns?: number) => {
  let now = 0
  let text = ""
  const renderer = Render.make(mode, { write: (t) => void (text += t), columns }, nodes, { clock: () => now, concurrency: 1 })
  const at = (ms: number, event: Scheduler.Event) => {
    now = ms
    renderer.onEvent(event)
  }
  const done = (ms: number, label: string, durationMs: number) => at(ms, { type: "done", id: label, label, key: "k", hash: "h", durationMs })
  const progress = (ms: number, step: number) =>
    at(ms, { type: "progress", id: "rm", label: "rm", step, total: 101, loss: 0.5, throughput: 1200, unit: "pairs" })
  return {
    output: () => text,
    screen: () => lastDrawing(text),
    untilTrainer: () => {
      for (const { label } of nodes) at(0, { type: "queued", id: label, label })
      at(0, { type: "running", id: "task", label: "task" })
      done(2000, "task", 2000)
      at(2000, { type: "running", id: "pairs", label: "pairs" })
      done(3000, "pairs", 1000)
      at(3000, { type: "running", id: "rm", label: "rm" })
      progress(4000, 1)
      progress(6000, 11)
    },
    end: () => {
      progress(24_000, 101)
      done(24_000, "rm", 21_000)
      renderer.finish()
    },
    at
  }
}

describe("progress on a terminal", () => {
  it("shows each trainer's elapsed time and ETA, and the run's counts, elapsed time and ETA", () => {
    const run = script("tty")
    run.untilTrainer()
    expect(run.screen()).toEqual([
      "  ✓ task   done in 2.0s",
      "  ✓ pairs  done in 1.0s",
      "  ▶ rm     ██░░░░░░░░░░░░░░░░░░ 11/101  3.0s  ETA ~18s  loss 0.5000  1200 pairs/s",
      "  2/3 nodes · 0 cached · 2 computed · 1 running · elapsed 6.0s · ETA ~18s"
    ])
    run.end()
    expect(run.screen().at(-1)).toBe("  3/3 nodes · 0 cached · 3 computed · elapsed 24s")
  })

  it("says the run's ETA is unknown while a node's kind has not been computed yet", () => {
    const run = script("tty")
    for (const { label } of nodes) run.at(0, { type: "queued", id: label, label })
    run.at(0, { type: "running", id: "task", label: "task" })
    expect(run.screen().at(-1)).toBe("  0/3 nodes · 0 cached · 0 computed · 1 running · elapsed 0ms · ETA –")
    run.at(2000, { type: "done", id: "task", label: "task", key: "k", hash: "h", durationMs: 2000 })
    // pairs is a data node like task (2 s); rm's kind has no duration yet
    expect(run.screen().at(-1)).toBe("  1/3 nodes · 0 cached · 1 computed · elapsed 2.0s · ETA –")
  })

  it("on a narrow terminal drops whole parts: a figure never loses its name, nor ETA its value", () => {
    const wide = script("tty")
    wide.untilTrainer()
    const full = wide.screen()
    // from the width of the widest first part ("  2/3 nodes", which stays whole however narrow)
    for (let columns = 13; columns <= 90; columns++) {
      const run = script("tty", columns)
      run.untilTrainer()
      const lines = run.screen()
      expect(lines).toHaveLength(full.length)
      lines.forEach((line, i) => {
        expect(full[i]!.startsWith(line), `${columns}: ${line}`).toBe(true)
        expect(line.length, `${columns}: ${line}`).toBeLessThanOrEqual(columns - 1)
        expect(line, `${columns}`).not.toMatch(/(ETA|loss|·)$/)
      })
    }
  })
})

describe("progress of more nodes than the terminal has rows", () => {
  it("shows the running and failed lines, then the run's line", () => {
    let text = ""
    const many = Array.from({ length: 12 }, (_, i) => ({ label: `cell${i}`, kind: "data/task" }))
    const renderer = Render.make("tty", { write: (t) => void (text += t), rows: 9 }, many, { clock: () => 0 })
    for (const { label } of many) renderer.onEvent({ type: "queued", id: label, label })
    renderer.onEvent({ type: "failed", id: "cell3", label: "cell3", error: "boom" })
    renderer.onEvent({ type: "running", id: "cell7", label: "cell7" })
    renderer.finish()
    expect(lastDrawing(text)).toEqual([
      "  ✗ cell3   failed: boom",
      "  ▶ cell7   running",
      "  1/12 nodes · 0 cached · 0 computed · 1 running · 1 failed · elapsed 0ms · ETA –"
    ])
  })
})

describe("a node skipped because its upstream failed", () => {
  it("counts as finished, on its own line and in the run's line", () => {
    let text = ""
    const nodes = [{ label: "broken", kind: "data/task" }, { label: "eval", kind: "evaluate/x" }]
    const renderer = Render.make("plain", { write: (t) => void (text += t) }, nodes, { clock: () => 0 })
    renderer.onEvent({ type: "failed", id: "broken", label: "broken", error: "boom" })
    renderer.onEvent({ type: "skipped", id: "eval", label: "eval", upstream: "broken" })
    renderer.finish()
    expect(text.trimEnd().split("\n")).toEqual([
      "  ✗ broken  failed: boom",
      `  – eval    skipped: upstream node "broken" failed`,
      "  2/2 nodes · 0 cached · 0 computed · 1 failed · 1 skipped"
    ])
  })
})

describe("progress written to a file or pipe", () => {
  it("adds the run's nodes finished and elapsed time to each done line, and ends with the counts", () => {
    const run = script("plain")
    run.untilTrainer()
    run.end()
    const lines = run.output().trimEnd().split("\n")
    expect(lines.filter((line) => line.includes("done in"))).toEqual([
      "  ✓ task   done in 2.0s · 1/3 nodes · elapsed 2.0s",
      "  ✓ pairs  done in 1.0s · 2/3 nodes · elapsed 3.0s",
      "  ✓ rm     done in 21s · 3/3 nodes · elapsed 24s"
    ])
    expect(lines.at(-1)).toBe("  3/3 nodes · 0 cached · 3 computed")
  })
})

describe("progress as --json", () => {
  it("gives each progress event the node's elapsed time and ETA (null until a few steps are in)", () => {
    const run = script("json")
    run.untilTrainer()
    const progress = run.output().trimEnd().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((event) => event["type"] === "progress")
    expect(progress.map((event) => [event["step"], event["elapsedMs"], event["etaMs"]])).toEqual([[1, 1000, null], [11, 3000, 18_000]])
    expect(run.output()).not.toContain("nodes ·")
  })
})
