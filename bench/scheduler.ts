/**
 * Scheduler benchmark: a 1,000-node DAG of trivial nodes (bench/fixtures/trivial.ts).
 *
 * Prints, on this machine:
 *  - cold run, in process: wall time / nodes = per-node scheduler overhead (store writes included);
 *  - all-cached rerun, in process and as a whole `pipeline run` process (planned anew, and
 *    answered from its replay record as an unchanged rerun is); planned anew once more with the
 *    resident process answering (runtime/cli/Resident.ts: what a rerun after an edit pays on a
 *    terminal): its first command, then the median of five after four more; and replayed with a
 *    resident process answering (what an unchanged rerun pays on a terminal), median of seven;
 *  - Snakemake (Debian's `snakemake`) on the same DAG, cold and all-up-to-date, as a whole process;
 *  - the ratios, measured in this one run.
 *
 * Run: npx tsx bench/scheduler.ts   (ABLATE_BENCH_NODES=N to change the size;
 * ABLATE_BENCH_SNAKEMAKE_COLD=0 skips Snakemake's cold run, which takes 1–2 s a job on a
 * loaded machine, and writes its outputs directly, oldest first, as that run would: its
 * up-to-date check only looks at which files exist and their modification times, and the
 * benchmark checks that it has nothing to do)
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFileSync, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ArtifactStore } from "../runtime/ArtifactStore.ts"
import * as Resident from "../runtime/cli/Resident.ts"
import { Executor } from "../runtime/Executor.ts"
import * as Runner from "../runtime/Runner.ts"
import { RunLog } from "../runtime/RunLog.ts"
import pipeline, { nodeCount, parentsOf, sinksOf } from "./fixtures/trivial.ts"

const repo = path.resolve(import.meta.dirname, "..")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-bench-"))
const selection: Runner.Selection = { seeds: [0], overrides: [], force: [], env: {} }

const inProcess = (store: string) =>
  Effect.gen(function*() {
    const started = performance.now()
    const prepared = yield* Runner.prepareGraph("bench/fixtures/trivial.ts", pipeline, selection)
    const outcome = yield* Runner.execute(prepared, { concurrency: 2, onEvent: () => {}, argv: "bench" })
    const wallMs = performance.now() - started
    const ran = outcome.results.filter((r) => r.status === "ran").length
    return { wallMs, ran, cached: outcome.results.length - ran }
  }).pipe(
    Effect.provide(Layer.mergeAll(ArtifactStore.layer(store), RunLog.layer(store), Executor.inProcess())),
    Effect.runPromise
  )

const timed = (command: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}) => {
  const started = performance.now()
  const result = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, ...env } })
  const wallMs = performance.now() - started
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${result.stderr}`)
  return { wallMs, stdout: result.stdout }
}

const cliRun = (store: string, env: Record<string, string> = {}) =>
  timed(process.execPath, [path.join(repo, "bin/pipeline.mjs"), "run", "bench/fixtures/trivial.ts", "--store", store, "--json"], repo, env)

/** The middle of an odd number of values, ordered by `by`. */
const middle = <A>(values: ReadonlyArray<A>, by: (value: A) => number): A =>
  [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)]!

/** The run with the median wall time of `n` runs of `f` (one process start is noisy at this scale). */
const median = (n: number, f: () => { readonly wallMs: number; readonly stdout: string }) =>
  middle(Array.from({ length: n }, f), (run) => run.wallMs)

/** Ask the resident process whose sockets are under `tmp` (its TMPDIR) one thing; its reply, or undefined. */
const askResident = (tmp: string, request: Resident.Request): Promise<Resident.Reply | undefined> => {
  const dir = Resident.socketDir(tmp)
  const socketFile = fs.existsSync(dir) ? fs.readdirSync(dir).find((name) => name.endsWith(".sock")) : undefined
  return socketFile === undefined ? Promise.resolve(undefined) : Resident.ask(path.join(dir, socketFile), request)
}

/** How many commands the resident process under `tmp` has served, once it answers. */
const residentServed = async (tmp: string): Promise<number> => {
  for (let i = 0; i < 600; i++) {
    const reply = await askResident(tmp, { type: "status" })
    if (reply?.type === "status") return reply.served
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error("the resident process did not start")
}

const replayOf = (stdout: string): number | undefined =>
  (JSON.parse(stdout.trimEnd().split("\n").at(-1)!) as { replayOf?: number }).replayOf

/** Commands the resident process serves between its first and the ones timed. */
const warmUps = 4

/**
 * `pipeline run` on `store` answered by a resident process of its own (its sockets under
 * `work/<tmp>`; `env` besides): the first command finds none and starts it; then its first
 * command, `warmUps` more (its JIT settles over them, as over a user's first reruns) and the
 * median of `n`. Fails unless it served them all, replayed or planned as `replayed` says; stops it.
 */
const residentRuns = async (store: string, tmp: string, env: Record<string, string>, n: number, replayed: boolean) => {
  const sockets = path.join(work, tmp)
  fs.mkdirSync(sockets)
  const residentEnv = {
    ...env,
    ABLATE_SERVER: "1",
    TMPDIR: sockets,
    NODE_COMPILE_CACHE: process.env["NODE_COMPILE_CACHE"] ?? path.join(os.tmpdir(), "node-compile-cache")
  }
  cliRun(store, residentEnv)
  await residentServed(sockets)
  const first = cliRun(store, residentEnv)
  for (let i = 0; i < warmUps; i++) cliRun(store, residentEnv)
  const measured = median(n, () => cliRun(store, residentEnv))
  const served = await residentServed(sockets)
  await askResident(sockets, { type: "stop" })
  if (served !== 1 + warmUps + n || (replayOf(measured.stdout) !== undefined) !== replayed) {
    throw new Error(`the resident process under ${tmp} served ${served} commands of ${1 + warmUps + n}, or did not ${replayed ? "replay" : "plan"} them`)
  }
  return { first, median: measured }
}

const snakefile = (parents: ReadonlyArray<ReadonlyArray<number>>) => `
PARENTS = ${JSON.stringify(parents)}
SINKS = ${JSON.stringify(sinksOf(parents))}

rule all:
    input: expand("out/n{i}.txt", i=SINKS)

rule node:
    input: lambda w: [f"out/n{p}.txt" for p in PARENTS[int(w.i)]]
    output: "out/n{i}.txt"
    run:
        x = sum(float(open(f).read()) for f in input) + int(wildcards.i)
        with open(output[0], "w") as f:
            f.write(str(x))
`

const hasSnakemake = spawnSync("snakemake", ["--version"], { encoding: "utf8" }).status === 0

/**
 * What Snakemake's cold run writes, parents before children: each node's value as Python prints
 * it, an int for a root (its index) and a float for the others (a sum of the parents' floats).
 */
const writeSnakemakeOutputs = (dir: string, parents: ReadonlyArray<ReadonlyArray<number>>) => {
  fs.mkdirSync(path.join(dir, "out"))
  const values: Array<number> = []
  parents.forEach((ps, i) => {
    const x = ps.reduce((sum, p) => sum + values[p]!, 0) + i
    values.push(x)
    const printed = ps.length > 0 && Number.isInteger(x) && Math.abs(x) < 1e16 ? `${x}.0` : String(x)
    fs.writeFileSync(path.join(dir, "out", `n${i}.txt`), printed)
  })
}

const main = async () => {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU"
  console.log(`scheduler benchmark: ${nodeCount} trivial nodes, concurrency 2, ${os.cpus().length} cores (${cpu}), Node ${process.version}`)

  const storeA = path.join(work, "store-in-process")
  const cold = await inProcess(storeA)
  const firstWarm = await inProcess(storeA)
  // A long-lived process (a notebook, a watch loop) reruns with a warm JIT: median of 5 more.
  const reruns: Array<number> = []
  for (let i = 0; i < 5; i++) reruns.push((await inProcess(storeA)).wallMs)
  const warm = { ...firstWarm, medianMs: middle(reruns, (ms) => ms) }
  if (cold.ran !== nodeCount || warm.cached !== nodeCount) throw new Error("unexpected cache behaviour")

  const storeB = path.join(work, "store-cli")
  const cliCold = cliRun(storeB)
  // reruns that plan anew (ABLATE_REPLAY=0): load the pipeline, hash every key, read every key record
  const cliPlanned = median(3, () => cliRun(storeB, { ABLATE_REPLAY: "0" }))
  // the next are what a user's rerun is: answered from the replay record (runtime/cli/Replay.ts)
  const cliWarm = median(7, () => cliRun(storeB))
  if (replayOf(cliPlanned.stdout) !== undefined || replayOf(cliWarm.stdout) === undefined) throw new Error("unexpected replay behaviour")
  const cliEmpty = timed(process.execPath, [path.join(repo, "bin/pipeline.mjs"), "--help"], repo)

  // planned anew, answered by the resident process; and replayed there (what an unchanged rerun
  // on a terminal pays; its environment differs, so another resident process serves it)
  const { first: residentFirst, median: cliResident } = await residentRuns(storeB, "tmp", { ABLATE_REPLAY: "0" }, 5, false)
  const { median: cliResidentReplay } = await residentRuns(storeB, "tmp-replay", {}, 7, true)

  const rows: Array<[string, string]> = [
    ["cold run, in process", `${cold.wallMs.toFixed(0)} ms  (${(cold.wallMs / nodeCount).toFixed(2)} ms/node; target < 5)`],
    ["all-cached rerun, in process (first)", `${warm.wallMs.toFixed(0)} ms  (target < 1000)`],
    ["all-cached rerun, in process (warm, median of 5)", `${warm.medianMs.toFixed(0)} ms`],
    ["cold run, pipeline process", `${cliCold.wallMs.toFixed(0)} ms`],
    ["all-cached rerun, pipeline process, planned anew (median of 3)", `${cliPlanned.wallMs.toFixed(0)} ms  (starting the CLI alone, pipeline --help: ${cliEmpty.wallMs.toFixed(0)} ms)`],
    ["all-cached rerun, pipeline process, replayed (median of 7)", `${cliWarm.wallMs.toFixed(0)} ms`],
    [
      `all-cached rerun, planned anew by the resident process (median of 5, after ${warmUps} more)`,
      `${cliResident.wallMs.toFixed(0)} ms  (its first command: ${residentFirst.wallMs.toFixed(0)} ms)`
    ],
    [`all-cached rerun, replayed by the resident process (median of 7, after ${warmUps} more)`, `${cliResidentReplay.wallMs.toFixed(0)} ms`]
  ]
  const result: Record<string, number> = {
    nodes: nodeCount,
    coldInProcessMs: cold.wallMs,
    perNodeMs: cold.wallMs / nodeCount,
    cachedInProcessMs: warm.wallMs,
    cachedInProcessWarmMedianMs: warm.medianMs,
    coldProcessMs: cliCold.wallMs,
    cachedProcessPlannedMs: cliPlanned.wallMs,
    cachedProcessMs: cliWarm.wallMs,
    cachedResidentPlannedMs: cliResident.wallMs,
    cachedResidentFirstMs: residentFirst.wallMs,
    cachedResidentReplayedMs: cliResidentReplay.wallMs,
    cliStartMs: cliEmpty.wallMs
  }

  if (hasSnakemake) {
    const dir = path.join(work, "snakemake")
    fs.mkdirSync(dir)
    fs.writeFileSync(path.join(dir, "Snakefile"), snakefile(parentsOf(nodeCount)))
    const version = execFileSync("snakemake", ["--version"], { encoding: "utf8" }).trim()
    const skipCold = process.env["ABLATE_BENCH_SNAKEMAKE_COLD"] === "0"
    if (skipCold) writeSnakemakeOutputs(dir, parentsOf(nodeCount))
    const smCold = skipCold ? undefined : timed("snakemake", ["--cores", "2", "--quiet", "all"], dir)
    if (!timed("snakemake", ["--cores", "2", "--dry-run", "all"], dir).stdout.includes("Nothing to be done")) {
      throw new Error("snakemake's outputs are not up to date")
    }
    const smWarm = median(5, () => timed("snakemake", ["--cores", "2", "--quiet", "all"], dir))
    rows.push(
      [`snakemake ${version} cold`, smCold === undefined ? "skipped (ABLATE_BENCH_SNAKEMAKE_COLD=0)" : `${smCold.wallMs.toFixed(0)} ms`],
      [`snakemake ${version} all up to date (median of 5)`, `${smWarm.wallMs.toFixed(0)} ms`],
      ["ratio: snakemake up-to-date / ablate cached (process vs process, replayed)", `${(smWarm.wallMs / cliWarm.wallMs).toFixed(1)}×  (target ≥ 10)`],
      ["ratio: snakemake up-to-date / ablate cached (replayed by the resident process)", `${(smWarm.wallMs / cliResidentReplay.wallMs).toFixed(1)}×  (target ≥ 10)`],
      ["ratio: snakemake up-to-date / ablate cached (process vs process, planned anew)", `${(smWarm.wallMs / cliPlanned.wallMs).toFixed(1)}×  (target ≥ 5)`],
      ["ratio: snakemake up-to-date / ablate cached (planned anew by the resident process)", `${(smWarm.wallMs / cliResident.wallMs).toFixed(1)}×  (target ≥ 5)`],
      ["ratio: snakemake up-to-date / ablate cached (in process, first)", `${(smWarm.wallMs / warm.wallMs).toFixed(1)}×`],
      ["ratio: snakemake up-to-date / ablate cached (in process, warm)", `${(smWarm.wallMs / warm.medianMs).toFixed(1)}×`],
      ...(smCold === undefined ? [] : [["ratio: snakemake cold / ablate cold (process vs process)", `${(smCold.wallMs / cliCold.wallMs).toFixed(1)}×`] as [string, string]])
    )
    Object.assign(result, { snakemakeUpToDateMs: smWarm.wallMs }, smCold === undefined ? {} : { snakemakeColdMs: smCold.wallMs })
  } else {
    rows.push(["snakemake", "not installed (apt-get install snakemake) — comparison skipped"])
  }
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`)
  fs.mkdirSync(path.join(repo, "bench", "out"), { recursive: true })
  fs.writeFileSync(path.join(repo, "bench", "out", "scheduler.json"), `${JSON.stringify(result, null, 2)}\n`)
  fs.rmSync(work, { recursive: true, force: true })
}

await main()
