/**
 * Worker-pool benchmark: pipelines/hh-reward-model.ts over 4 seeds (4 reward models of 300
 * steps, their evaluations and featurizations), cold, as whole `pipeline run` processes with
 * `--concurrency 1` and `--concurrency 2`, and in process on the in-process executor (every
 * node on one event loop: what `pipeline run` did before the pool) for reference.
 *
 * Prints, on this machine:
 *  - the start cost of one pool worker (fork to its first answer; median of 5);
 *  - each run's wall time (median of ABLATE_BENCH_REPEATS runs, default 1; runs interleaved);
 *  - the speedup of --concurrency 2 over --concurrency 1 (target ≥ 1.8× on 2 cores).
 * Every run must give the same output hashes, or the benchmark fails.
 *
 * Run: npx tsx bench/parallel.ts
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { fork, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ArtifactStore } from "../runtime/ArtifactStore.ts"
import { Executor } from "../runtime/Executor.ts"
import { RunLog } from "../runtime/RunLog.ts"
import * as Runner from "../runtime/Runner.ts"
import * as TensorBackend from "../runtime/TensorBackend.ts"

const repo = path.resolve(import.meta.dirname, "..")
const pipelineFile = "pipelines/hh-reward-model.ts"
const seeds = [0, 1, 2, 3]
const repeats = Number(process.env["ABLATE_BENCH_REPEATS"] ?? "1")
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-bench-parallel-"))

/** A run's wall time and each node's output hash, by label. */
interface Timed {
  readonly wallMs: number
  readonly hashes: Readonly<Record<string, string | undefined>>
}

/** A cold `pipeline run` process on a fresh store. */
const cliRun = (concurrency: number, store: string): Timed => {
  const started = performance.now()
  const result = spawnSync(
    process.execPath,
    [path.join(repo, "bin/pipeline.mjs"), "run", pipelineFile, "--seeds", seeds.join(","), "--concurrency", String(concurrency), "--store", store, "--json"],
    { cwd: repo, encoding: "utf8", maxBuffer: 1 << 28 }
  )
  const wallMs = performance.now() - started
  if (result.status !== 0) throw new Error(`pipeline run --concurrency ${concurrency} failed:\n${result.stderr}`)
  const summary = JSON.parse(result.stdout.trimEnd().split("\n").at(-1)!) as { nodes: ReadonlyArray<{ label: string; hash: string | null }> }
  return { wallMs, hashes: Object.fromEntries(summary.nodes.map((n) => [n.label, n.hash ?? undefined])) }
}

/** A cold run in this process on the in-process executor. */
const inProcessRun = (store: string): Promise<Timed> =>
  Effect.gen(function*() {
    const started = performance.now()
    const prepared = yield* Runner.prepare(path.join(repo, pipelineFile), { seeds, overrides: [], force: [], env: TensorBackend.env("wasm") })
    const outcome = yield* Runner.execute(prepared, { concurrency: 2, onEvent: () => {}, argv: "bench" })
    return { wallMs: performance.now() - started, hashes: Object.fromEntries(outcome.results.map((r) => [r.label, r.record?.output.hash])) }
  }).pipe(
    Effect.provide(Layer.mergeAll(ArtifactStore.layer(store), RunLog.layer(store), Executor.inProcess("wasm"))),
    Effect.runPromise
  )

/** Fork a pool worker and time it until it answers (a request it cannot read: it has loaded and is serving). */
const workerStart = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    // no execArgv: this process may run under tsx, which the pool's workers under `pipeline` do not load
    const child = fork(path.join(repo, "bin/worker.mjs"), ["wasm"], { serialization: "advanced", stdio: ["ignore", "ignore", "inherit", "ipc"], execArgv: [] })
    child.on("message", () => {
      resolve(performance.now() - started)
      child.kill()
    })
    child.on("error", reject)
    child.send({ type: "unreadable" })
  })

const median = (values: ReadonlyArray<number>): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const main = async () => {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU"
  console.log(
    `parallel benchmark: ${pipelineFile} --seeds ${seeds.join(",")}, ${os.availableParallelism()} cores (${cpu}), Node ${process.version}, ` +
      `load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`
  )
  const starts: Array<number> = []
  for (let i = 0; i < 5; i++) starts.push(await workerStart())

  const runs: Record<"c1" | "c2" | "inProcess", Array<Timed>> = { c1: [], c2: [], inProcess: [] }
  for (let i = 0; i < repeats; i++) {
    runs.c1.push(cliRun(1, path.join(work, `c1-${i}`)))
    runs.c2.push(cliRun(2, path.join(work, `c2-${i}`)))
    runs.inProcess.push(await inProcessRun(path.join(work, `in-process-${i}`)))
  }
  const reference = JSON.stringify(runs.inProcess[0]!.hashes)
  for (const run of [...runs.c1, ...runs.c2, ...runs.inProcess]) {
    if (JSON.stringify(run.hashes) !== reference) throw new Error(`output hashes differ between runs:\n${JSON.stringify(run.hashes)}\n${reference}`)
  }
  const wall = (which: keyof typeof runs) => median(runs[which].map((run) => run.wallMs))
  const of = repeats === 1 ? "" : ` (median of ${repeats})`
  const rows: Array<[string, string]> = [
    ["pool worker start (fork to serving, median of 5)", `${median(starts).toFixed(0)} ms`],
    [`pipeline run --concurrency 1${of}`, `${wall("c1").toFixed(0)} ms`],
    [`pipeline run --concurrency 2${of}`, `${wall("c2").toFixed(0)} ms`],
    ["speedup, --concurrency 2 over 1", `${(wall("c1") / wall("c2")).toFixed(2)}×  (target ≥ 1.8 on 2 cores)`],
    [`in process, in-process executor, concurrency 2${of}`, `${wall("inProcess").toFixed(0)} ms`],
    ["speedup, --concurrency 2 over in process", `${(wall("inProcess") / wall("c2")).toFixed(2)}×`]
  ]
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`)
  fs.mkdirSync(path.join(repo, "bench", "out"), { recursive: true })
  fs.writeFileSync(
    path.join(repo, "bench", "out", "parallel.json"),
    `${
      JSON.stringify(
        {
          seeds: seeds.length,
          repeats,
          workerStartMs: median(starts),
          concurrency1Ms: wall("c1"),
          concurrency2Ms: wall("c2"),
          inProcessMs: wall("inProcess"),
          runs: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((run) => run.wallMs)]))
        },
        null,
        2
      )
    }\n`
  )
  fs.rmSync(work, { recursive: true, force: true })
}

await main()
