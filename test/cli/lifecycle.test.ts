import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import type * as Results from "../../runtime/Results.ts"
import type { RunEntry } from "../../runtime/RunLog.ts"
import * as RunsCommands from "../../runtime/cli/RunsCommands.ts"
import * as Selection from "../../runtime/cli/Selection.ts"
import * as Text from "../../runtime/cli/Text.ts"
import { chainProject, nodeModules } from "../fixtures/nodes.ts"
import { cli, filesUnder, spawnCli, summary, tempProject } from "../helpers.ts"

/** source → scaled → score, and lines: a run with --set scaled.factor=3 shares source and lines with one without. */
const scoresPipeline = `import { Pipeline } from "@ablate/dsl/index.ts"
import { lines } from "./nodes/lines.ts"
import { scaled } from "./nodes/scaled.ts"
import { score } from "./nodes/score.ts"
import { source } from "./nodes/source.ts"
export default Pipeline.make("scores", () => {
  const doubled = scaled({ numbers: source({ n: 5 }, { name: "source" }) }, { name: "scaled" })
  return [score({ numbers: doubled }, { name: "score" }), lines({}, { name: "lines" })]
})
`

/** A node that runs until the file \`release\` exists in the working directory: a run in progress for as long as a test needs. */
const gateNode = `import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import { Node } from "@ablate/dsl/index.ts"
import { Numbers } from "./artifacts.ts"
export const gate = Node.make({
  kind: "test/gate",
  version: 1,
  description: "its input, once the file release exists",
  params: Schema.Struct({}),
  inputs: { numbers: Numbers },
  output: Numbers,
  run: ({ inputs }) => Effect.gen(function*() {
    while (!fs.existsSync("release")) yield* Effect.sleep(20)
    return inputs.numbers
  })
})
`

const gatedPipeline = `import { Pipeline } from "@ablate/dsl/index.ts"
import { gate } from "./nodes/gate.ts"
import { source } from "./nodes/source.ts"
export default Pipeline.make("gated", () => gate({ numbers: source({ n: 3 }, { name: "source" }) }, { name: "gate" }))
`

/** Every file of the store but the run log, with its size. */
const storeFiles = (store: string): Map<string, number> =>
  new Map(filesUnder(store).filter((f) => !f.startsWith("runs.db")).map((f) => [f, fs.statSync(path.join(store, f)).size]))

const objectsOf = (store: string): Set<string> => new Set([...storeFiles(store).keys()].filter((f) => f.startsWith("objects")).map((f) => path.basename(f)))

/** Make every file of the store older than gc's grace period, as if written minutes ago. */
const age = (store: string) => {
  for (const file of storeFiles(store).keys()) fs.utimesSync(path.join(store, file), 0, 0)
}

/** The objects the key records of `keys` name, read from the store's files. */
const namedByRecords = (store: string, keys: Iterable<string>): Set<string> =>
  new Set([...keys].flatMap((key) => {
    const record = JSON.parse(fs.readFileSync(path.join(store, "keys", `${key}.json`), "utf8")) as { output: { hash: string }; metrics: { hash: string } }
    return [record.output.hash, record.metrics.hash]
  }))

interface GcJson {
  readonly forgottenRuns: ReadonlyArray<number>
  readonly keyRecords: number
  readonly objects: number
  readonly bytes: number
  readonly inProgress: ReadonlyArray<number>
}

describe("the store's lifecycle through `pipeline`", () => {
  let dir: string
  let store: string
  const pipeline = (...args: Array<string>) => cli(args, dir, { ABLATE_REPLAY: "0" })
  const run = async (...args: Array<string>) => {
    const result = await pipeline("run", "scores.ts", "--json", ...args)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    return summary(result.stdout)
  }
  const gc = async (...args: Array<string>) => {
    const result = await pipeline("gc", "--json", ...args)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    return JSON.parse(result.stdout) as GcJson
  }
  const runIds = async () => (await pipeline("ls", "--json")).stdout.trim().split("\n").map((line) => (JSON.parse(line) as { id: number }).id)
  let first: ReturnType<typeof summary>
  let second: ReturnType<typeof summary>

  beforeAll(async () => {
    dir = tempProject({ ...chainProject, "scores.ts": scoresPipeline })
    store = path.join(dir, ".ablate")
    first = await run()
    second = await run("--set", "scaled.factor=3", "--seeds", "0,1")
  })

  it("ls shows each run's pipeline, seeds, node counts and first result; --json its whole results table", async () => {
    const ls = await pipeline("ls")
    expect(ls.code).toBe(0)
    const [header, newest, oldest] = ls.stdout.trim().split("\n").map((line) => line.split(/\s{2,}/))
    expect(header).toEqual(["run", "pipeline", "age", "status", "seeds", "ran", "cached", "failed", "results", "file"])
    // source 0..4 doubled sums to 20; tripled, to 30 (both seeds build the same nodes)
    const age = expect.stringMatching(/^\d+s$/)
    expect(oldest).toEqual([String(first.runId), "scores", age, "succeeded", "0", "4", "0", "0", "total 20.00", "scores.ts"])
    expect(newest).toEqual([String(second.runId), "scores", age, "succeeded", "0,1", "2", "2", "0", "total 30.00", "scores.ts"])
    const json = (await pipeline("ls", "--json")).stdout.trim().split("\n").map((line) => JSON.parse(line) as {
      seeds: Array<number>
      results: { rows: Array<{ metrics: { total: { mean: number } } }> }
    })
    expect(json.map((r) => r.seeds)).toEqual([[0, 1], [0]])
    expect(json.map((r) => r.results.rows.map((row) => row.metrics.total.mean))).toEqual([[30], [20]])
    // on a narrow terminal the file is cut, then left out, then the results
    const atWidth = async (columns: number) => (await cli(["ls"], dir, { COLUMNS: String(columns) })).stdout.trim().split("\n")
    const cut = await atWidth(78)
    expect(cut[0]).toBe("run  pipeline  age  status     seeds  ran  cached  failed  results      file")
    expect(cut[1]).toMatch(/ {2}total 30\.00 {2}score…$/)
    expect((await atWidth(70)).map((line) => line.split(/\s{2,}/).at(-1))).toEqual(["results", "total 30.00", "total 20.00"])
    expect((await atWidth(50)).map((line) => line.split(/\s{2,}/).at(-1))).toEqual(["failed", "0", "0"])
  })

  it("runs rm of an unknown id, or of something not an id, exits 2 naming it, and removes nothing", async () => {
    const before = (await pipeline("ls", "--json")).stdout
    const unknown = await pipeline("runs", "rm", String(first.runId), "99")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("pipeline runs rm: no run 99")
    expect(unknown.stderr).toContain("nothing was removed")
    const notAnId = await pipeline("runs", "rm", String(first.runId), "latest")
    expect(notAnId.code).toBe(2)
    expect(notAnId.stderr).toContain(`"latest" is not a run id`)
    expect((await pipeline("ls", "--json")).stdout).toBe(before)
  })

  it("gc after runs rm frees what only the removed run referred to; the kept run stays all-cached", async () => {
    const removed = await pipeline("runs", "rm", String(first.runId))
    expect(removed.code).toBe(0)
    expect(removed.stdout).toContain(`removed run ${first.runId} (scores,`)
    expect(await runIds()).toEqual([second.runId])
    // written in the last minute: a run may have just committed them
    expect(await gc()).toMatchObject({ keyRecords: 0, objects: 0 })

    age(store)
    const keptKeys = new Set(second.nodes.map((n) => n.key))
    const onlyFirst = first.nodes.map((n) => n.key).filter((key) => !keptKeys.has(key))
    expect(onlyFirst.length).toBe(2) // scaled and score
    const kept = namedByRecords(store, keptKeys)
    const freed = [...namedByRecords(store, onlyFirst)].filter((hash) => !kept.has(hash))
    const before = storeFiles(store)
    const objectsBefore = objectsOf(store)
    const freedBytes = freed.reduce((sum, hash) => sum + before.get(path.join("objects", hash.slice(0, 2), hash))!, 0)
    const recordBytes = onlyFirst.reduce((sum, key) => sum + before.get(path.join("keys", `${key}.json`))!, 0)

    expect(await gc()).toMatchObject({ forgottenRuns: [], keyRecords: 2, objects: freed.length, bytes: freedBytes, inProgress: [] })
    const after = storeFiles(store)
    const total = (files: Map<string, number>) => [...files.values()].reduce((sum, size) => sum + size, 0)
    expect(total(before) - total(after)).toBe(freedBytes + recordBytes)
    expect([...objectsOf(store)].sort()).toEqual([...objectsBefore].filter((hash) => !freed.includes(hash)).sort())

    const plan = await pipeline("plan", "scores.ts", "--set", "scaled.factor=3", "--seeds", "0,1")
    expect(plan.stdout).toContain("scores: 4 nodes, 4 cached, 0 to run")
    const rerun = await run("--set", "scaled.factor=3", "--seeds", "0,1")
    expect(rerun.nodes.map((n) => n.status)).toEqual(["cached", "cached", "cached", "cached"])
    // what only the removed run used is computed again
    expect((await pipeline("plan", "scores.ts")).stdout).toMatch(/2 cached, 2 to run\n.*✓ source[\s\S]*✗ scaled[\s\S]*✗ score[\s\S]*✓ lines/)
    const fsck = await pipeline("fsck")
    expect(fsck.code).toBe(0)
    expect(fsck.stdout).toContain("no problems\n")
  })

  it("gc --keep-last 1 forgets all but the newest run, then collects what only they referred to", async () => {
    const newest = await run()
    expect(newest.nodes.filter((n) => n.status === "ran").map((n) => n.label).sort()).toEqual(["scaled", "score"])
    const forgotten = (await runIds()).filter((id) => id !== newest.runId)
    expect(forgotten.length).toBe(2)
    age(store)
    expect(await gc("--keep-last", "1")).toMatchObject({ forgottenRuns: forgotten, keyRecords: 2 })
    expect(await runIds()).toEqual([newest.runId])
    expect((await pipeline("plan", "scores.ts")).stdout).toContain("4 cached, 0 to run")
    expect((await pipeline("plan", "scores.ts", "--set", "scaled.factor=3")).stdout).toContain("2 cached, 2 to run")
    const bad = await pipeline("gc", "--keep-last", "0")
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--keep-last 0: expected a positive integer")
  })

  it("while a run is in progress, gc keeps the key records of forgotten runs, and removes them once it has ended", async () => {
    const project = tempProject({ ...nodeModules, "nodes/gate.ts": gateNode, "gated.ts": gatedPipeline })
    const at = (...args: Array<string>) => cli(args, project)
    const gatedStore = path.join(project, ".ablate")
    fs.writeFileSync(path.join(project, "release"), "")
    expect((await at("run", "gated.ts")).code).toBe(0)
    fs.rmSync(path.join(project, "release"))
    // the same nodes under other keys: the first run's records are its own
    const child = spawnCli(["run", "gated.ts", "--json", "--set", "source.start=1"], project)
    const ended = new Promise<number | null>((resolve) => child.on("close", resolve))
    let stdout = ""
    await new Promise<void>((resolve) =>
      child.stdout.on("data", (chunk) => {
        stdout += chunk
        if (/"type":"running","id":"[^"]*","label":"gate"/.test(stdout)) resolve()
      })
    )
    const running = await at("runs", "rm", "2")
    expect(running.code).toBe(2)
    expect(running.stderr).toContain("run 2 is still running (pid")
    expect((await at("runs", "rm", "1")).code).toBe(0)
    age(gatedStore)
    expect(JSON.parse((await at("gc", "--json")).stdout)).toMatchObject({ keyRecords: 0, inProgress: [2] })
    expect((await at("gc")).stdout).toContain("run 2 is in progress")
    fs.writeFileSync(path.join(project, "release"), "")
    expect(await ended).toBe(0)
    age(gatedStore)
    expect(JSON.parse((await at("gc", "--json")).stdout)).toMatchObject({ keyRecords: 2, inProgress: [] })
    expect((await at("plan", "gated.ts", "--set", "source.start=1")).stdout).toContain("2 cached, 0 to run")
    fs.rmSync(project, { recursive: true, force: true })
  })
})

describe("ls, runs rm and gc --keep-last, decided without a store", () => {
  const entry = (id: number, status: string, host: string | null = "here", pid: number | null = 42): RunEntry => ({
    id,
    pipeline: "p",
    file: "p.ts",
    argv: "run p.ts",
    startedAt: "2026-01-01T00:00:00.000Z",
    finishedAt: null,
    status,
    nodes: 3,
    ran: 1,
    cached: 2,
    failed: 0,
    replayOf: null,
    host,
    pid
  })

  it("reads a run's seeds from its command line, else from its nodes' coordinates", () => {
    expect(Selection.seedsOfArgv("run p.ts --seeds 2,0,1")).toEqual([2, 0, 1])
    expect(Selection.seedsOfArgv("run p.ts --json --seeds=3 --set a.b=1")).toEqual([3])
    expect(Selection.seedsOfArgv("run p.ts --set a.b=1")).toEqual([0])
    expect(Selection.seedsOfArgv("run p.ts --seeds x")).toBeUndefined()
    expect(Selection.seedsOfArgv("bench")).toBeUndefined()
    expect(Selection.seedsOfCoords([{ seed: 1, beta: 0.1 }, {}, undefined, { seed: 0 }, { seed: 1 }])).toEqual([1, 0])
    expect(Selection.seedsOfCoords([{}, { beta: 1 }])).toBeUndefined()
  })

  it("writes seeds in few characters", () => {
    expect(RunsCommands.formatSeeds([0])).toBe("0")
    expect(RunsCommands.formatSeeds([1, 0])).toBe("0,1")
    expect(RunsCommands.formatSeeds([4, 0, 1, 2, 3, 7, 9, 10, 11])).toBe("0-4,7,9-11")
  })

  it("shows a results table as the first result of its baseline row, else of its first row", () => {
    const cell = (mean: number, low = Number.NaN, high = Number.NaN): Results.Cell => ({ mean, low, high, n: 1 })
    const row = (factor: number, baseline: boolean, metrics: Record<string, Results.Cell>): Results.Row => ({
      output: "eval",
      factors: { beta: factor },
      split: "",
      baseline,
      seeds: 3,
      metrics
    })
    const table: Results.Table = {
      factors: ["beta"],
      metrics: ["gold", "kl"],
      rows: [row(0.1, false, { gold: cell(0.5), kl: cell(2) }), row(1, true, { kl: cell(0.25, 0.2, 0.3) }), row(3, false, { gold: cell(1) })]
    }
    expect(RunsCommands.resultsCell(table)).toBe("kl 0.250 ± 0.050")
    expect(RunsCommands.resultsCell({ ...table, rows: [table.rows[0]!] })).toBe("gold 0.5000")
    expect(RunsCommands.resultsCell({ factors: [], metrics: [], rows: [] })).toBe("-")
    expect(RunsCommands.resultsCell(undefined)).toBe("-")
  })

  it("refuses to forget a run the log does not have, or one in progress, saying where it runs", () => {
    expect(RunsCommands.refusal(7, undefined, "here")).toBe("no run 7 (pipeline ls lists them)")
    expect(RunsCommands.refusal(7, entry(7, "succeeded"), "here")).toBeUndefined()
    // a run whose process died is `killed` in the log, and may be forgotten
    expect(RunsCommands.refusal(7, entry(7, "killed"), "here")).toBeUndefined()
    expect(RunsCommands.refusal(7, entry(7, "running"), "here")).toBe("run 7 is still running (pid 42)")
    expect(RunsCommands.refusal(7, entry(7, "running", "gpu-box", 9), "here")).toBe(
      "run 7 is running on gpu-box (pid 9), which cannot be checked from here: remove it from there once it has ended"
    )
  })

  it("--keep-last N forgets all but the newest N runs, never one in progress", () => {
    const runs = [entry(9, "succeeded"), entry(8, "failed"), entry(7, "running"), entry(5, "killed"), entry(2, "succeeded")]
    expect(RunsCommands.beyondLast(runs, 2)).toEqual([5, 2])
    expect(RunsCommands.beyondLast(runs, 1)).toEqual([8, 5, 2])
    expect(RunsCommands.beyondLast(runs, 5)).toEqual([])
  })

  it("fits a table to a width by cutting columns, then leaving some out", () => {
    const rows = [["id", "name", "path"], ["1", "alpha", "/a/long/path/to/a/file.ts"], ["22", "b", "x"]]
    const fit: Text.Fit = { shrink: [[2, 4], [1, 4]], drop: [2] }
    expect(Text.fitTable(rows, 80, fit)).toBe(Text.table(rows))
    // natural widths 2 + 5 + 25 and two gaps of 2: 36; to 20, path gives up 16
    expect(Text.fitTable(rows, 20, fit)).toBe("id  name   path\n1   alpha  /a/long/\u2026\n22  b      x")
    // path at its narrowest (4) and name at its (4) make 18: path goes, and name is whole again
    expect(Text.fitTable(rows, 12, fit)).toBe("id  name\n1   alpha\n22  b")
    // nothing more may go: as narrow as it may be
    expect(Text.fitTable(rows, 5, fit)).toBe("id  name\n1   alp\u2026\n22  b")
  })

  it("says how long ago in the largest whole unit", () => {
    const cases: Array<[number, string]> = [[-5, "0s"], [0, "0s"], [59_999, "59s"], [60_000, "1m"], [3_599_999, "59m"], [3_600_000, "1h"], [
      86_399_999,
      "23h"
    ], [12 * 86_400_000, "12d"]]
    for (const [ms, text] of cases) expect(Text.age(ms), String(ms)).toBe(text)
  })
})
