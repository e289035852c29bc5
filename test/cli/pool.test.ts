/**
 * `pipeline run`'s worker pool from the outside: tensor nodes run at once in separate
 * processes, a worker killed mid-node fails only that node (and is replaced), Ctrl-C stops
 * the workers, and what a killed or interrupted run leaves is resumed by the next.
 */
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { isAlive } from "../../runtime/internal/Process.ts"
import { nodeModules, poolNodeModules } from "../fixtures/nodes.ts"
import { cli, events, expectStoreIntact, filesUnder, linesSoFar, logTail, runAndKill, spawnCli, statuses, summary, tempProject } from "../helpers.ts"

const project = {
  ...nodeModules,
  ...poolNodeModules,
  // two tensor nodes that could run at once
  "pair.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { timed } from "./nodes/timed.ts"
export default Pipeline.make("pair", () => {
  const after = source({ n: 1 }, { name: "source" })
  return [timed({ after, ms: 2500, tag: "left" }, { name: "left" }), timed({ after, ms: 2500, tag: "right" }, { name: "right" })]
})
`,
  // a tensor node that fails with a tagged error
  "refuse.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { refuses } from "./nodes/refuses.ts"
import { source } from "./nodes/source.ts"
export default Pipeline.make("refuse", () => refuses({ after: source({ n: 1 }, { name: "source" }) }, { name: "refuses" }))
`,
  // a checkpointing trainer, and a tensor node that is ready only once the trainer has started
  "train.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { counter } from "./nodes/counter.ts"
import { slow } from "./nodes/slow.ts"
import { source } from "./nodes/source.ts"
import { timed } from "./nodes/timed.ts"
export default Pipeline.make("train", () => {
  const trainer = counter({ steps: 40, every: 5, ms: 100 }, { name: "trainer" })
  const after = slow({ numbers: source({ n: 1 }, { name: "source" }), steps: 10, ms: 100 }, { name: "slow" })
  return [trainer, timed({ after, ms: 10, tag: "next" }, { name: "next" })]
})
`
}

type Row = { readonly i: number; readonly x: number }
const valueOf = (stdout: string, label: string) => summary<Row>(stdout).outputs.find((o) => o.label === label)!.value!
/** A `timed` node's output as [start, end, pid]. */
const ran = (stdout: string, label: string) => valueOf(stdout, label).map((row) => row.x)

/** The pid of the worker a `running` event says runs `label`. */
const workerOf = (all: ReadonlyArray<Record<string, unknown>>, label: string) =>
  all.find((e) => e["type"] === "running" && e["label"] === label)?.["worker"] as number | undefined
const lastStep = (all: ReadonlyArray<Record<string, unknown>>, label: string) =>
  Number(all.filter((e) => e["type"] === "progress" && e["label"] === label).at(-1)?.["step"] ?? 0)

/** Run `pipeline <args>` and kill -9 the worker running `label` once it is past step `step`; resolves when the run ends. */
const killWorker = (args: ReadonlyArray<string>, cwd: string, label: string, step: number) =>
  new Promise<{ readonly stdout: string; readonly code: number | null; readonly killed: number }>((resolve, reject) => {
    const child = spawnCli(args, cwd)
    let stdout = ""
    let killed: number | undefined
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      const sofar = linesSoFar(stdout)
      const worker = workerOf(sofar, label)
      if (killed === undefined && worker !== undefined && lastStep(sofar, label) >= step) {
        process.kill(worker, "SIGKILL")
        killed = worker
      }
    })
    child.on("close", (code) => (killed === undefined ? reject(new Error(`no worker was killed:\n${stdout}`)) : resolve({ stdout, code, killed })))
  })

describe("the worker pool of pipeline run", () => {
  it("runs two tensor nodes at once in two worker processes with --concurrency 2", async () => {
    const dir = tempProject(project)
    const { stdout, code } = await cli(["run", "pair.ts", "--json", "--concurrency", "2"], dir)
    expect(code).toBe(0)
    const [startA, endA, pidA] = ran(stdout, "left")
    const [startB, endB, pidB] = ran(stdout, "right")
    // as the workers themselves timed them: the intervals intersect
    expect(startA! < endB! && startB! < endA!).toBe(true)
    expect(pidA).not.toBe(pidB)
    expect([workerOf(events(stdout), "left"), workerOf(events(stdout), "right")]).toEqual([pidA, pidB])
    // what a node printed in its worker is in its log
    expect(await logTail(dir, "left")).toEqual([`timed left in process ${pidA}`])
  })

  it("a node that fails in a worker fails as in process: its error's tag, fields and stack reach the run log", async () => {
    const dir = tempProject(project)
    const { stdout, code } = await cli(["run", "refuse.ts", "--json"], dir)
    expect(code).toBe(1)
    expect(events(stdout).find((e) => e["type"] === "failed")).toMatchObject({ label: "refuses", error: `input "after": no rows to train on` })
    const shown = JSON.parse((await cli(["show", "refuses", "--json"], dir)).stdout) as { failure: { tag: string; fields: unknown; stack: string } }
    expect(shown.failure).toMatchObject({ tag: "InputError", fields: { input: "after", reason: "no rows to train on" } })
    expect(shown.failure.stack).toContain("refuses.ts")
  })

  it("a worker killed with kill -9 fails only its node, the pool replaces it, and a rerun resumes from the checkpoint", async () => {
    const dir = tempProject(project)
    const { stdout, code, killed } = await killWorker(["run", "train.ts", "--json", "--concurrency", "1"], dir, "trainer", 12)
    expect(code).toBe(1)
    const failed = events(stdout).find((e) => e["type"] === "failed" && e["label"] === "trainer")!
    expect(failed["error"]).toContain(`its worker process (pid ${killed}) was killed by SIGKILL (kill -9, or the system's out-of-memory killer) while running it`)
    expect(failed["error"]).toMatch(/the pool starts a new worker for the next node, and a rerun retries this one \(a trainer resumes from its last checkpoint\)$/)
    expect(statuses(stdout)).toEqual({ trainer: "failed", source: "ran", slow: "ran", next: "ran" })
    // the next tensor node ran in a new worker
    const [, , next] = ran(stdout, "next")
    expect(next).not.toBe(killed)
    expect(workerOf(events(stdout), "next")).toBe(next)
    expect(isAlive(killed)).toBe(false)
    expectStoreIntact(path.join(dir, ".ablate"))
    expect(filesUnder(path.join(dir, ".ablate", "checkpoints"))).toHaveLength(1)

    const rerun = await cli(["run", "train.ts", "--json", "--concurrency", "1"], dir)
    expect(rerun.code).toBe(0)
    expect(statuses(rerun.stdout)).toEqual({ trainer: "ran", source: "cached", slow: "cached", next: "cached" })
    const first = Number(events(rerun.stdout).find((e) => e["type"] === "progress" && e["label"] === "trainer")!["step"])
    // resumed after its last checkpoint (one every 5 steps; it was killed past step 12), not from step 1
    expect(first).toBeGreaterThan(10)
    expect((first - 1) % 5).toBe(0)
    expect(valueOf(rerun.stdout, "trainer")).toEqual([{ i: 0, x: (40 * 41) / 2 }])
    expect(filesUnder(path.join(dir, ".ablate", "checkpoints"))).toEqual([])
  })

  it("Ctrl-C stops the workers and leaves no partial object, lock or temp file", async () => {
    const dir = tempProject(project)
    const { stdout, code } = await runAndKill(
      ["run", "train.ts", "--json", "--set", "trainer.steps=400"],
      dir,
      (out) => lastStep(linesSoFar(out), "trainer") >= 6,
      "SIGINT"
    )
    expect(code).toBe(130)
    const worker = workerOf(events(stdout), "trainer")!
    expect(isAlive(worker)).toBe(false)
    expectStoreIntact(path.join(dir, ".ablate"))
    const ls = await cli(["ls", "--json"], dir)
    expect(JSON.parse(ls.stdout.trim()).status).toBe("interrupted")
  })
})
