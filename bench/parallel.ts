/**
 * Worker-pool and job-queue benchmark: pipelines/hh-reward-model.ts over 4 seeds (4 reward models
 * of 300 steps, their evaluations and featurizations), cold, as whole `pipeline run` processes with
 * `--concurrency 1` and `--concurrency 2`, in process on the in-process executor (every node on one
 * event loop: what `pipeline run` did before the pool) for reference, as two such processes at once
 * each running half of the seeds (the machine's bound on any 2-way split), and through the job queue on
 * Redis (`--executor`) with one and with two `pipeline worker` processes of one job each. Then the
 * job queue's cost per node: the 1,000 trivial nodes of bench/scheduler.ts, every one sent to the
 * queue (bench/fixtures/trivialQueued.ts marks their kinds heavy) and run by one worker of two jobs
 * at once, against the same DAG in the local pool and in process.
 *
 * Prints, on this machine:
 *  - the start cost of one pool worker (fork to its first answer; median of 5);
 *  - each run's wall time (median of ABLATE_BENCH_REPEATS runs, default 1; runs interleaved);
 *  - the speedup of --concurrency 2 over --concurrency 1 (target ≥ 1.8× on 2 cores), and of two
 *    queue workers over one;
 *  - the machine's bound on that speedup: --concurrency 1's time (and the in-process run's) over
 *    that of the two in-process halves at once, where nothing is coordinated or moved between
 *    processes;
 *  - the 1,000-node DAG's wall time per node through the queue (target < 5 ms per node).
 *  - for the 1,000 trivial nodes, the CPU time per node too, summed over every process of the
 *    run (coordinator, worker, its pool processes; Linux only): far less sensitive than wall
 *    time to what else the machine runs.
 * Every run of the reward models must give the same output hashes, or the benchmark fails.
 * The queue's runs need a Redis server (ABLATE_BENCH_REDIS_URL, default redis://127.0.0.1:6379;
 * its keys go under a prefix of their own, removed at the end); without one they are skipped.
 *
 * Run: npx tsx bench/parallel.ts   (ABLATE_BENCH_PARTS=models or =overhead runs only the
 * reward models or only the 1,000 trivial nodes)
 */
import { type ChildProcess, fork, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { glibcTunables } from "../runtime/WorkerPool.ts"
import { redisProblem, removeKeys } from "../test/fixtures/redis.ts"
import { nodeCount } from "./fixtures/trivial.ts"

const repo = path.resolve(import.meta.dirname, "..")
const bin = path.join(repo, "bin/pipeline.mjs")
const setup = pathToFileURL(path.join(repo, "bin/setup.mjs")).href
const inProcessFixture = path.join(repo, "bench/fixtures/inProcess.ts")
const pipelineFile = "pipelines/hh-reward-model.ts"
const seeds = [0, 1, 2, 3]
const repeats = Number(process.env["ABLATE_BENCH_REPEATS"] ?? "1")
const redisUrl = process.env["ABLATE_BENCH_REDIS_URL"] || "redis://127.0.0.1:6379"
const prefix = `ablate-bench-${process.pid}`
const work = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-bench-parallel-"))

/** A run's wall time and each node's output hash, by label. */
interface Timed {
  readonly wallMs: number
  readonly hashes: Readonly<Record<string, string | undefined>>
}

/**
 * A process of this project's Node with `args`, timed from its start to its exit, its output
 * hashes read from its stdout by `hashesOf`. Waited for without blocking: queue workers started
 * here print as it runs. A process that fails rejects with what it printed to stderr.
 */
const timedProcess = (
  args: ReadonlyArray<string>,
  env: NodeJS.ProcessEnv,
  hashesOf: (stdout: string) => Timed["hashes"]
): Promise<Timed> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.on("close", (code) => {
      const wallMs = performance.now() - started
      if (code !== 0) return reject(new Error(`${args.join(" ")} failed (exit code ${code}):\n${stderr}`))
      resolve({ wallMs, hashes: hashesOf(stdout) })
    })
  })

/** A cold `pipeline run <file> <args>` process on a fresh store (with the queue's prefix in its environment). */
const cliRun = (file: string, args: ReadonlyArray<string>, store: string): Promise<Timed> =>
  timedProcess([bin, "run", file, ...args, "--store", store, "--json"], { ABLATE_REDIS_PREFIX: prefix }, (stdout) => {
    const summary = JSON.parse(stdout.trimEnd().split("\n").at(-1)!) as { nodes: ReadonlyArray<{ label: string; hash: string | null }> }
    return Object.fromEntries(summary.nodes.map((n) => [n.label, n.hash ?? undefined]))
  })
const rewardModels = (args: ReadonlyArray<string>, store: string) => cliRun(pipelineFile, ["--seeds", seeds.join(","), ...args], store)

/**
 * A process of its own (bench/fixtures/inProcess.ts) running `seedList` cold on the in-process
 * executor. Its environment is a pool worker's: huge pages for what malloc maps
 * (WorkerPool.glibcTunables), so that it differs from a worker only in running every node
 * itself. (No execArgv: this process may run under tsx, which bin/setup.mjs replaces.)
 */
const inProcessRun = (seedList: ReadonlyArray<number>, store: string): Promise<Timed> =>
  timedProcess(
    ["--import", setup, inProcessFixture, pipelineFile, seedList.join(","), store],
    { GLIBC_TUNABLES: glibcTunables(process.env["GLIBC_TUNABLES"]) },
    (stdout) => JSON.parse(stdout) as Timed["hashes"]
  )

/**
 * The seeds in two halves, run in process by two processes at once: what any 2-way split of
 * this run could at best give on this machine (nothing coordinates the halves, no input is
 * moved between processes). Timed until both have exited; their hashes together.
 */
const halvesAtOnce = async (store: string): Promise<Timed> => {
  const started = performance.now()
  const middle = Math.ceil(seeds.length / 2)
  const halves = await Promise.all([seeds.slice(0, middle), seeds.slice(middle)].map((half, i) => inProcessRun(half, `${store}-${i}`)))
  return { wallMs: performance.now() - started, hashes: Object.assign({}, ...halves.map((half) => half.hashes)) }
}

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

/** Start `count` `pipeline worker` processes of `concurrency` jobs each, resolved once all serve. */
const startWorkers = (count: number, concurrency: number): Promise<Array<ChildProcess>> =>
  Promise.all(Array.from({ length: count }, () =>
    new Promise<ChildProcess>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, "worker", "--redis", redisUrl, "--concurrency", String(concurrency), "--json"], {
        cwd: repo,
        env: { ...process.env, ABLATE_REDIS_PREFIX: prefix },
        stdio: ["ignore", "pipe", "inherit"]
      })
      let out = ""
      child.stdout.on("data", (chunk) => {
        out += chunk
        if (out.includes(`"type":"ready"`)) resolve(child)
      })
      child.on("exit", (code) => reject(new Error(`a worker exited (${code}) before serving:\n${out}`)))
    })))

/** Stop workers (SIGTERM: they hand back what they run) and wait until they have exited. */
const stopWorkers = (workers: ReadonlyArray<ChildProcess>) =>
  Promise.all(workers.map((child) =>
    new Promise<void>((resolve) => {
      child.removeAllListeners("exit")
      child.on("exit", () => resolve())
      child.kill("SIGTERM")
    })))

/** `run` with `count` queue workers of `concurrency` jobs serving it (started before, not timed). */
const withWorkers = async <A>(count: number, concurrency: number, run: () => Promise<A>): Promise<A> => {
  const workers = await startWorkers(count, concurrency)
  try {
    return await run()
  } finally {
    await stopWorkers(workers)
  }
}

/**
 * The CPU time (user + system, ms) of this process's children that have exited, and theirs
 * (Linux's /proc: `cutime` + `cstime`, in ticks of 10 ms); undefined elsewhere. What a run costs
 * in CPU, summed over its processes, is much less sensitive than its wall time to other load.
 */
const childrenCpuMs = (): number | undefined => {
  if (process.platform !== "linux") return undefined
  const stat = fs.readFileSync("/proc/self/stat", "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  // fields from the third of proc(5) on: cutime and cstime are its 16th and 17th
  return (Number(fields[13]) + Number(fields[14])) * 10
}

/** `run`'s result, and the CPU time the processes it started and waited for took. */
const withCpu = async <A>(run: () => Promise<A>): Promise<{ readonly result: A; readonly cpuMs: number | undefined }> => {
  const before = childrenCpuMs()
  const result = await run()
  const after = childrenCpuMs()
  return { result, cpuMs: before === undefined || after === undefined ? undefined : after - before }
}

const median = (values: ReadonlyArray<number>): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

const main = async () => {
  const cpu = os.cpus()[0]?.model ?? "unknown CPU"
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ")
  console.log(
    `parallel benchmark: ${pipelineFile} --seeds ${seeds.join(",")}, ${os.availableParallelism()} cores (${cpu}), Node ${process.version}, ` +
      `load average ${load()}`
  )
  const problem = await redisProblem(redisUrl)
  if (problem !== undefined) console.log(`  (the job queue's runs are skipped: no Redis at ${redisUrl}: ${problem})`)
  const queue = ["--executor", redisUrl]
  const starts: Array<number> = []
  for (let i = 0; i < 5; i++) starts.push(await workerStart())

  const parts = (process.env["ABLATE_BENCH_PARTS"] ?? "models,overhead").split(",")
  type Which = "c1" | "c2" | "inProcess" | "halves" | "queue1" | "queue2"
  const runs: Record<Which, Array<Timed>> = { c1: [], c2: [], inProcess: [], halves: [], queue1: [], queue2: [] }
  for (let i = 0; i < (parts.includes("models") ? repeats : 0); i++) {
    runs.c1.push(await rewardModels(["--concurrency", "1"], path.join(work, `c1-${i}`)))
    runs.c2.push(await rewardModels(["--concurrency", "2"], path.join(work, `c2-${i}`)))
    runs.inProcess.push(await inProcessRun(seeds, path.join(work, `in-process-${i}`)))
    runs.halves.push(await halvesAtOnce(path.join(work, `halves-${i}`)))
    if (problem === undefined) {
      runs.queue1.push(await withWorkers(1, 1, () => rewardModels(queue, path.join(work, `queue1-${i}`))))
      runs.queue2.push(await withWorkers(2, 1, () => rewardModels(queue, path.join(work, `queue2-${i}`))))
    }
  }
  const reference = JSON.stringify(runs.inProcess[0]?.hashes)
  for (const run of Object.values(runs).flat()) {
    if (JSON.stringify(run.hashes) !== reference) throw new Error(`output hashes differ between runs:\n${JSON.stringify(run.hashes)}\n${reference}`)
  }
  const wall = (which: Which) => median(runs[which].map((run) => run.wallMs))
  const of = repeats === 1 ? "" : ` (median of ${repeats})`
  const rows: Array<[string, string]> = [["pool worker start (fork to serving, median of 5)", `${median(starts).toFixed(0)} ms`]]
  const result: Record<string, unknown> = { seeds: seeds.length, repeats, workerStartMs: median(starts) }
  if (runs.c1.length > 0) {
    rows.push(
      [`pipeline run --concurrency 1${of}`, `${wall("c1").toFixed(0)} ms`],
      [`pipeline run --concurrency 2${of}`, `${wall("c2").toFixed(0)} ms`],
      ["speedup, --concurrency 2 over 1", `${(wall("c1") / wall("c2")).toFixed(2)}×  (target ≥ 1.8 on 2 cores)`],
      [`in process: a process on the in-process executor, no pool${of}`, `${wall("inProcess").toFixed(0)} ms`],
      ["speedup, --concurrency 2 over in process", `${(wall("inProcess") / wall("c2")).toFixed(2)}×`],
      [`the seeds in two halves, in process, two processes at once${of}`, `${wall("halves").toFixed(0)} ms`],
      ["speedup, two halves at once over in process (this machine's, for this work)", `${(wall("inProcess") / wall("halves")).toFixed(2)}×`],
      ["speedup, two halves at once over --concurrency 1 (what --concurrency 2 could give)", `${(wall("c1") / wall("halves")).toFixed(2)}×`]
    )
    Object.assign(result, {
      concurrency1Ms: wall("c1"),
      concurrency2Ms: wall("c2"),
      inProcessMs: wall("inProcess"),
      halvesAtOnceMs: wall("halves")
    })
  }
  if (runs.queue1.length > 0) {
    rows.push(
      [`pipeline run --executor, 1 worker of 1 job${of}`, `${wall("queue1").toFixed(0)} ms`],
      [`pipeline run --executor, 2 workers of 1 job${of}`, `${wall("queue2").toFixed(0)} ms`],
      ["speedup, 2 queue workers over 1", `${(wall("queue1") / wall("queue2")).toFixed(2)}×`]
    )
    Object.assign(result, { queue1Ms: wall("queue1"), queue2Ms: wall("queue2") })
  }
  if (problem === undefined && parts.includes("overhead")) {
    // the job queue's cost per node: every trivial node through the queue, one worker of two jobs
    // (the CPU of starting and stopping a worker with no job, measured alone, is taken off)
    const dag = "bench/fixtures/trivialQueued.ts"
    const idleWorker = await withCpu(() => withWorkers(1, 2, async () => undefined))
    type Run = { readonly wallMs: number; readonly cpuMs: number | undefined }
    const measured: Record<"queue" | "pool" | "inProcess", Array<Run>> = { queue: [], pool: [], inProcess: [] }
    const timedRun = async (run: () => Promise<Timed>): Promise<Run> => {
      const { cpuMs, result } = await withCpu(run)
      return { wallMs: result.wallMs, cpuMs }
    }
    for (let i = 0; i < repeats; i++) {
      measured.queue.push(await timedRun(() => withWorkers(1, 2, () => cliRun(dag, queue, path.join(work, `trivial-queue-${i}`)))))
      measured.pool.push(await timedRun(() => cliRun(dag, ["--concurrency", "2", "--executor", "local"], path.join(work, `trivial-pool-${i}`))))
      measured.inProcess.push(await timedRun(() => cliRun("bench/fixtures/trivial.ts", ["--concurrency", "2"], path.join(work, `trivial-in-process-${i}`))))
    }
    const middle = (values: ReadonlyArray<number | undefined>) => (values.includes(undefined) ? undefined : median(values as ReadonlyArray<number>))
    const trivial = Object.fromEntries(Object.entries(measured).map(([which, all]) => [which, {
      result: { wallMs: median(all.map((r) => r.wallMs)) },
      cpuMs: middle(all.map((r) => r.cpuMs))
    }])) as Record<keyof typeof measured, { readonly result: { readonly wallMs: number }; readonly cpuMs: number | undefined }>
    const cpuOf = (which: keyof typeof trivial) =>
      which === "queue"
        ? trivial.queue.cpuMs === undefined || idleWorker.cpuMs === undefined ? undefined : trivial.queue.cpuMs - idleWorker.cpuMs
        : trivial[which].cpuMs
    const perNode = (which: keyof typeof trivial) => {
      const { wallMs } = trivial[which].result
      const cpu = cpuOf(which)
      return `${wallMs.toFixed(0)} ms = ${(wallMs / nodeCount).toFixed(2)} ms per node` +
        (cpu === undefined ? "" : `; CPU ${(cpu / nodeCount).toFixed(2)} ms per node, all processes`)
    }
    const queueCpu = cpuOf("queue")
    const inProcessCpu = cpuOf("inProcess")
    rows.push(
      [`${nodeCount} trivial nodes, pipeline run --executor, 1 worker of 2 jobs${of}`, `${perNode("queue")}  (target < 5 ms per node)`],
      [`${nodeCount} trivial nodes, pipeline run, local pool of 2${of}`, perNode("pool")],
      [`${nodeCount} trivial nodes, pipeline run, in process (not heavy)${of}`, perNode("inProcess")],
      [
        "the queue's cost per node over in process, wall (CPU)",
        `${((trivial.queue.result.wallMs - trivial.inProcess.result.wallMs) / nodeCount).toFixed(2)} ms` +
          (queueCpu === undefined || inProcessCpu === undefined ? "" : ` (${((queueCpu - inProcessCpu) / nodeCount).toFixed(2)} ms)`)
      ]
    )
    Object.assign(result, {
      trivialNodes: nodeCount,
      trivialQueueMs: trivial.queue.result.wallMs,
      trivialPoolMs: trivial.pool.result.wallMs,
      trivialInProcessMs: trivial.inProcess.result.wallMs,
      trivialQueueCpuMs: queueCpu,
      trivialPoolCpuMs: cpuOf("pool"),
      trivialInProcessCpuMs: inProcessCpu,
      idleWorkerCpuMs: idleWorker.cpuMs,
      trivialRuns: measured
    })
  }
  result["runs"] = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, v.map((run) => run.wallMs)]))
  result["loadAverage"] = os.loadavg()
  const width = Math.max(...rows.map(([k]) => k.length))
  for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`)
  console.log(`  load average at the end: ${load()}`)
  fs.mkdirSync(path.join(repo, "bench", "out"), { recursive: true })
  fs.writeFileSync(path.join(repo, "bench", "out", "parallel.json"), `${JSON.stringify(result, null, 2)}\n`)
}

// whatever happens (a failed run, other hashes), the stores and the queues' keys go
try {
  await main()
} finally {
  fs.rmSync(work, { recursive: true, force: true })
  if ((await redisProblem(redisUrl)) === undefined) await removeKeys(redisUrl, prefix)
}
