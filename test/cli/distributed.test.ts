/**
 * `pipeline run --executor redis://…` with `pipeline worker` processes, all started with the real
 * CLI, against a real Redis server (ABLATE_TEST_REDIS_URL, default redis://127.0.0.1:6379; each
 * test on a key prefix of its own, removed after it). Where no Redis answers the tests are
 * skipped, saying why, except under CI, where that fails.
 *
 * Workers hold a job's lock for 2.5 s here (ABLATE_WORKER_LOCK_MS), so that a killed worker's
 * job is taken over within seconds. The prefix and the lock duration reach the processes a test
 * starts in the environment it gives them; no test changes this process's.
 */
import { type ChildProcessWithoutNullStreams, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { isAlive } from "../../runtime/internal/Process.ts"
import { nodeModules } from "../fixtures/nodes.ts"
import { redisProblem, removeKeys } from "../fixtures/redis.ts"
import { cli, events, expectStoreIntact, linesSoFar, logTail, outputHashes, spawnCli, statuses, summary, tempProject } from "../helpers.ts"

const url = process.env["ABLATE_TEST_REDIS_URL"] || "redis://127.0.0.1:6379"

const problem = await redisProblem(url)
if (problem !== undefined && process.env["CI"] === undefined) {
  console.log(`skipping the distributed tests: no Redis at ${url} (${problem}); set ABLATE_TEST_REDIS_URL to run them`)
}

const project = {
  ...nodeModules,
  // a checkpointing trainer with tensors (so it runs on a worker) that says where it started
  "nodes/trainer.ts": `import { Effect, Schema } from "effect"
import { Node, Param } from "@ablate/dsl/index.ts"
import { Numbers } from "./artifacts.ts"
export const trainer = Node.make({
  kind: "test/trainer",
  version: 1,
  description: "sums start+1..start+steps, a pause per step, checkpointing every few steps",
  tensors: true,
  params: Schema.Struct({
    start: Param.int({ default: 0, min: 0, description: "added to every step" }),
    steps: Param.int({ default: 40, min: 1, description: "steps" }),
    every: Param.int({ default: 5, min: 1, description: "steps between checkpoints" }),
    ms: Param.int({ default: 100, min: 0, description: "ms per step" })
  }),
  inputs: { after: Numbers },
  output: Numbers,
  run: ({ params, ctx }) => Effect.gen(function*() {
    const saved = yield* ctx.checkpoint.load
    let step = saved?.step ?? 0
    let sum = saved === undefined ? 0 : Number(saved.state["sum"])
    console.log(\`training from step \${step + 1}\`)
    while (step < params.steps) {
      yield* Effect.sleep(params.ms)
      step += 1
      sum += params.start + step
      ctx.progress({ step, total: params.steps })
      if (step % params.every === 0) yield* ctx.checkpoint.save({ step, state: { sum }, tensors: { w: { shape: [1], data: new Float32Array([sum]) } } })
    }
    return [{ i: 0, x: sum }]
  })
})
`,
  // a node that kills its own process the first `times` times it runs (a file in the working directory counts them)
  "nodes/crashes.ts": `import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import { Node, Param } from "@ablate/dsl/index.ts"
import { Numbers } from "./artifacts.ts"
export const crashes = Node.make({
  kind: "test/crashes",
  version: 1,
  description: "kills its own process the first times it runs",
  heavy: true,
  params: Schema.Struct({
    times: Param.int({ default: 1, min: 0, description: "how many runs crash" }),
    counter: Param.string({ default: "crashes.count", description: "the file that counts runs" })
  }),
  inputs: { after: Numbers },
  output: Numbers,
  run: ({ params }) => Effect.sync(() => {
    const runs = fs.existsSync(params.counter) ? Number(fs.readFileSync(params.counter, "utf8")) : 0
    fs.writeFileSync(params.counter, String(runs + 1))
    if (runs < params.times) process.kill(process.pid, "SIGKILL")
    return [{ i: 0, x: runs }]
  })
})
`,
  "crash.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { crashes } from "./nodes/crashes.ts"
import { source } from "./nodes/source.ts"
export default Pipeline.make("crash", () => {
  const after = source({ n: 1 }, { name: "source" })
  return [crashes({ after, times: 1, counter: "once.count" }, { name: "once" }), crashes({ after, times: 9, counter: "always.count" }, { name: "always" })]
})
`,
  // two trainers that can run at once, and a node in process after each
  "pair.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { sum } from "./nodes/sum.ts"
import { trainer } from "./nodes/trainer.ts"
export default Pipeline.make("pair", () => {
  const after = source({ n: 3 }, { name: "source" })
  const left = trainer({ after, start: 1, steps: 15, ms: 60 }, { name: "left" })
  const right = trainer({ after, start: 2, steps: 15, ms: 60 }, { name: "right" })
  return [sum({ numbers: left }, { name: "leftSum" }), sum({ numbers: right }, { name: "rightSum" })]
})
`,
  // one short trainer
  "quick.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { trainer } from "./nodes/trainer.ts"
export default Pipeline.make("quick", () => trainer({ after: source({ n: 3 }, { name: "source" }), steps: 3, ms: 10 }, { name: "trainer" }))
`,
  // one trainer long enough to be disturbed
  "train.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { trainer } from "./nodes/trainer.ts"
export default Pipeline.make("train", () => trainer({ after: source({ n: 3 }, { name: "source" }), steps: 40, ms: 150 }, { name: "trainer" }))
`
}

/** 1 + 2 + … + 40: the trainer of train.ts, however often it was stopped and resumed. */
const trainedSum = (40 * 41) / 2

type Event = Record<string, unknown>

const stepsOf = (all: ReadonlyArray<Event>, label: string) =>
  all.filter((e) => e["type"] === "progress" && e["label"] === label).map((e) => Number(e["step"]))
const runningOf = (all: ReadonlyArray<Event>, label: string) => all.filter((e) => e["type"] === "running" && e["label"] === label)

/** What the coordinators and workers of one test get added to their environment. */
type QueueEnv = Readonly<Record<string, string>>

/**
 * The environment for the processes a test starts: a key prefix of the test's own (its keys
 * removed when the test ends) and workers' lock duration `lockMs` (default 2.5 s).
 */
const queueEnv = (lockMs = 2_500): QueueEnv => {
  const prefix = `ablate-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`
  onTestFinished(() => removeKeys(url, prefix))
  return { ABLATE_REDIS_PREFIX: prefix, ABLATE_WORKER_LOCK_MS: String(lockMs) }
}

/** A `pipeline worker` process serving the test's queue, and what it printed. */
interface Worker {
  readonly child: ChildProcessWithoutNullStreams
  readonly pid: number
  readonly events: () => ReadonlyArray<Event>
}

/** Start a worker in `dir` with `env` added to its environment (killed when the test ends, if it still runs) and wait until it serves. */
const startWorker = (dir: string, env: QueueEnv, args: ReadonlyArray<string> = []): Promise<Worker> =>
  new Promise((resolve, reject) => {
    const child = spawnCli(["worker", "--redis", url, "--concurrency", "1", "--json", ...args], dir, env)
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    })
    let stdout = ""
    let stderr = ""
    const worker: Worker = { child, pid: child.pid!, events: () => linesSoFar(stdout) }
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      if (worker.events().some((e) => e["type"] === "ready")) resolve(worker)
    })
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.on("close", (code) => reject(new Error(`the worker exited (${code}) before serving:\n${stdout}\n${stderr}`)))
  })

/** Jobs a worker started, by label. */
const startedBy = (worker: Worker, label: string) => worker.events().filter((e) => e["type"] === "started" && e["label"] === label)

/**
 * Run `pipeline <args>` in `dir` with `env` added to its environment, calling `watch` with its
 * events so far at each line it prints (once `watch` returns true it is called no more); resolves
 * with its output and exit code.
 */
const runWatching = (
  args: ReadonlyArray<string>,
  dir: string,
  env: QueueEnv,
  watch: (events: ReadonlyArray<Event>, child: ChildProcessWithoutNullStreams) => boolean = () => true
) =>
  new Promise<{ readonly stdout: string; readonly code: number | null; readonly child: ChildProcessWithoutNullStreams }>((resolve) => {
    const child = spawnCli(args, dir, env)
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    })
    let stdout = ""
    let watching = true
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      if (watching) watching = !watch(linesSoFar(stdout), child)
    })
    child.on("close", (code) => resolve({ stdout, code, child }))
  })

/** The output hash of every node of a local run (the worker pool on this machine) of `file` in a fresh project, run once per file. */
const localRuns = new Map<string, Promise<Record<string, string>>>()
const localHashes = (file: string) => {
  if (!localRuns.has(file)) {
    localRuns.set(file, cli(["run", file, "--json", "--executor", "local"], tempProject(project)).then(({ code, stdout, stderr }) => {
      if (code !== 0) throw new Error(`the local run of ${file} failed:\n${stderr}`)
      return outputHashes(stdout)
    }))
  }
  return localRuns.get(file)!
}
const valueOf = (stdout: string, label: string) =>
  (summary<{ x: number }>(stdout).outputs.find((o) => o.label === label)?.value ?? [])[0]?.x

const run = (file: string) => ["run", file, "--json", "--executor", url]

/** Whether the Redis server of the tests is this machine's, which a test may stop and start again. */
const local = (() => {
  const { hostname } = new URL(url)
  return hostname === "127.0.0.1" || hostname === "localhost"
})()
const port = new URL(url).port || "6379"

/** Start the local Redis server again if it does not answer (what a test that stops it must always do). */
const ensureRedis = async () => {
  if ((await redisProblem(url)) === undefined) return
  execFileSync("redis-server", ["--daemonize", "yes", "--port", port, "--save", "", "--appendonly", "no"])
  for (let i = 0; i < 50 && (await redisProblem(url)) !== undefined; i++) await new Promise((r) => setTimeout(r, 100))
}

if (problem !== undefined && process.env["CI"] !== undefined) {
  describe("distributed execution on Redis", () => {
    it("needs a Redis server under CI", () => {
      throw new Error(`no Redis answers at ${url} (${problem}): .ci/run starts one; set ABLATE_TEST_REDIS_URL to use another`)
    })
  })
}

describe.skipIf(problem !== undefined)("distributed execution on Redis", () => {
  it("a run on two workers computes the bytes a local run computes, and shows their progress and prints", async () => {
    const env = queueEnv()
    const reference = await localHashes("pair.ts")
    const dir = tempProject(project)
    fs.mkdirSync(path.join(dir, ".ablate"))
    // the second worker finds the store under another path, as a machine that mounts it elsewhere would
    fs.symlinkSync(path.join(dir, ".ablate"), path.join(dir, "mounted"))
    const workers = await Promise.all([startWorker(dir, env), startWorker(dir, env, ["--store", "mounted"])])
    const { stdout, code } = await runWatching(run("pair.ts"), dir, env)
    expect(code).toBe(0)
    expect(outputHashes(stdout)).toEqual(reference)
    expect(statuses(stdout)).toEqual({ source: "ran", left: "ran", right: "ran", leftSum: "ran", rightSum: "ran" })
    const all = events(stdout)
    // the trainers ran on the two workers, one each; the rest in the coordinator
    const ranOn = ["left", "right"].map((label) => runningOf(all, label)[0]?.["worker"])
    expect(new Set(ranOn)).toEqual(new Set(workers.map((w) => w.pid)))
    expect(runningOf(all, "source")[0]?.["worker"]).toBeUndefined()
    // their progress reached the coordinator (throttled at the source), up to the last step
    for (const label of ["left", "right"]) {
      const steps = stepsOf(all, label)
      expect(steps.at(-1)).toBe(15)
      expect(steps.every((step, i) => i === 0 || step > steps[i - 1]!)).toBe(true)
    }
    // what a node printed on a worker is in its log in the store
    expect(await logTail(dir, "right")).toEqual(["training from step 1"])
    expectStoreIntact(path.join(dir, ".ablate"))
  })

  it("a worker that served a run runs the code of the next, edited since: its stale process is replaced", async () => {
    const env = queueEnv()
    const dir = tempProject(project)
    const worker = await startWorker(dir, env)
    const first = await runWatching(run("quick.ts"), dir, env)
    expect(first.code).toBe(0)
    expect(valueOf(first.stdout, "trainer")).toBe(1 + 2 + 3)
    const file = path.join(dir, "nodes", "trainer.ts")
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("sum += params.start + step", "sum += params.start + 10 * step"))
    const second = await runWatching(run("quick.ts"), dir, env)
    expect(second.code).toBe(0)
    expect(statuses(second.stdout)).toEqual({ source: "cached", trainer: "ran" })
    expect(valueOf(second.stdout, "trainer")).toBe(10 + 20 + 30)
    expect(runningOf(events(second.stdout), "trainer")[0]?.["worker"]).toBe(worker.pid)
  })

  it("a node whose process crashes is retried by the queue with backoff, and fails with the reason after the last attempt", async () => {
    const env = queueEnv()
    const dir = tempProject(project)
    const worker = await startWorker(dir, env)
    const { stdout, code } = await runWatching(run("crash.ts"), dir, env)
    expect(code).toBe(1)
    expect(statuses(stdout)).toEqual({ source: "ran", once: "ran", always: "failed" })
    // the second attempt ran it: the first had counted one run
    expect(valueOf(stdout, "once")).toBe(1)
    const failed = events(stdout).find((e) => e["type"] === "failed" && e["label"] === "always")!
    expect(failed["error"]).toMatch(/^its worker process \(pid \d+\) was killed by SIGKILL .* \(the job queue tried it 3 times\)$/)
    expect(fs.readFileSync(path.join(dir, "always.count"), "utf8")).toBe("3")
    const attempts = (label: string) =>
      worker.events().filter((e) => e["label"] === label && (e["type"] === "started" || e["type"] === "failed")).map((e) => [e["type"], e["attempt"] ?? e["retried"]])
    expect(attempts("once")).toEqual([["started", 1], ["failed", true], ["started", 2]])
    expect(attempts("always")).toEqual([["started", 1], ["failed", true], ["started", 2], ["failed", true], ["started", 3], ["failed", false]])
  })

  it("a worker killed with kill -9 mid-training: another takes its job over and resumes from the checkpoint, to the same bytes", async () => {
    const env = queueEnv()
    const dir = tempProject(project)
    const workers = await Promise.all([startWorker(dir, env), startWorker(dir, env)])
    let killed: number | undefined
    const { stdout, code } = await runWatching(run("train.ts"), dir, env, (all) => {
      if ((stepsOf(all, "trainer").at(-1) ?? 0) < 12) return false
      killed = Number(runningOf(all, "trainer")[0]!["worker"])
      process.kill(killed, "SIGKILL")
      return true
    })
    expect(code).toBe(0)
    expect(valueOf(stdout, "trainer")).toBe(trainedSum)
    expect(outputHashes(stdout)).toEqual(await localHashes("train.ts"))
    const all = events(stdout)
    const survivor = workers.find((w) => w.pid !== killed)!
    expect(runningOf(all, "trainer").map((e) => e["worker"])).toEqual([killed, survivor.pid])
    expect(isAlive(killed!)).toBe(false)
    // the survivor resumed after the last checkpoint before the kill (one every 5 steps), not from step 1
    const steps = stepsOf(all, "trainer")
    const resumed = steps[steps.findIndex((step, i) => i > 0 && step <= steps[i - 1]!)]!
    expect(resumed).toBeGreaterThan(10)
    expect((resumed - 1) % 5).toBe(0)
    expect(startedBy(survivor, "trainer")).toHaveLength(1)
    expect(await logTail(dir, "trainer")).toEqual([`training from step ${resumed}`])
    expectStoreIntact(path.join(dir, ".ablate"))
  })

  it("a worker stopped with SIGTERM mid-training hands its job back at once: another resumes it from the checkpoint, no attempt lost", async () => {
    // a lock far longer than the test: only the handing back can move the job in time
    const env = queueEnv(600_000)
    const dir = tempProject(project)
    const workers = await Promise.all([startWorker(dir, env), startWorker(dir, env)])
    let stopped: Worker | undefined
    const { stdout, code } = await runWatching(run("train.ts"), dir, env, (all) => {
      if ((stepsOf(all, "trainer").at(-1) ?? 0) < 12) return false
      stopped = workers.find((w) => w.pid === runningOf(all, "trainer")[0]!["worker"])!
      stopped.child.kill("SIGTERM")
      return true
    })
    expect(code).toBe(0)
    expect(outputHashes(stdout)).toEqual(await localHashes("train.ts"))
    const exited = await new Promise<number | null>((resolve) =>
      stopped!.child.exitCode === null ? stopped!.child.on("exit", resolve) : resolve(stopped!.child.exitCode))
    expect(exited).toBe(130)
    expect(stopped!.events().filter((e) => e["type"] === "stopped")).toMatchObject([{ label: "trainer", lost: false }])
    const survivor = workers.find((w) => w !== stopped)!
    expect(startedBy(survivor, "trainer")).toMatchObject([{ attempt: 1 }])
    const [resumed] = await logTail(dir, "trainer")
    expect(Number(/^training from step (\d+)$/.exec(resumed ?? "")?.[1])).toBeGreaterThan(10)
  })

  it("two coordinators asking for one key share one job: the node runs once, and both get its bytes", async () => {
    const env = queueEnv()
    const dir = tempProject(project)
    const worker = await startWorker(dir, env)
    const [first, second] = await Promise.all([runWatching(run("train.ts"), dir, env), runWatching(run("train.ts"), dir, env)])
    expect([first.code, second.code]).toEqual([0, 0])
    expect([statuses(first.stdout)["trainer"], statuses(second.stdout)["trainer"]].sort()).toEqual(["cached", "ran"])
    expect(valueOf(first.stdout, "trainer")).toBe(trainedSum)
    expect(outputHashes(first.stdout)["trainer"]).toBe(outputHashes(second.stdout)["trainer"])
    expect(startedBy(worker, "trainer")).toHaveLength(1)
  })

  it.skipIf(!local)("Redis restarted without saving mid-run: coordinator and worker reconnect, the lost job is queued again and resumes from its checkpoint", async () => {
    const env = queueEnv()
    onTestFinished(ensureRedis)
    const dir = tempProject(project)
    const worker = await startWorker(dir, env)
    const { stdout, code } = await runWatching(run("train.ts"), dir, env, (all) => {
      if ((stepsOf(all, "trainer").at(-1) ?? 0) < 12) return false
      execFileSync("redis-cli", ["-p", port, "shutdown", "nosave"])
      setTimeout(() => void ensureRedis(), 1_000)
      return true
    })
    expect(code).toBe(0)
    expect(valueOf(stdout, "trainer")).toBe(trainedSum)
    expect(outputHashes(stdout)).toEqual(await localHashes("train.ts"))
    // with --json the coordinator's connection notices are events among the others
    const notices = events(stdout).filter((e) => e["type"] === "notice").map((e) => String(e["text"]))
    expect(notices.some((text) => text.startsWith("lost the connection to the job queue's Redis"))).toBe(true)
    expect(notices.some((text) => text.startsWith("reconnected to the job queue's Redis"))).toBe(true)
    // the worker stopped the job whose lock it lost with the server, and ran it again from the last checkpoint
    expect(worker.events().filter((e) => e["type"] === "stopped" && e["label"] === "trainer")).toMatchObject([{ lost: true }])
    expect(startedBy(worker, "trainer")).toHaveLength(2)
    const [resumed] = await logTail(dir, "trainer")
    const step = Number(/^training from step (\d+)$/.exec(resumed ?? "")?.[1])
    expect(step).toBeGreaterThan(10)
    expect((step - 1) % 5).toBe(0)
    expectStoreIntact(path.join(dir, ".ablate"))
  })

  it("a coordinator killed mid-run: a rerun finds finished nodes cached and waits for the running job instead of starting it again", async () => {
    const env = queueEnv()
    const dir = tempProject(project)
    const worker = await startWorker(dir, env)
    const killed = await runWatching(run("train.ts"), dir, env, (all, child) => {
      if ((stepsOf(all, "trainer").at(-1) ?? 0) < 12) return false
      child.kill("SIGKILL")
      return true
    })
    expect(killed.code).toBe(null)
    const before = stepsOf(events(killed.stdout), "trainer").at(-1)!
    const rerun = await runWatching(run("train.ts"), dir, env)
    expect(rerun.code).toBe(0)
    expect(statuses(rerun.stdout)).toEqual({ source: "cached", trainer: "ran" })
    expect(valueOf(rerun.stdout, "trainer")).toBe(trainedSum)
    expect(outputHashes(rerun.stdout)).toEqual(await localHashes("train.ts"))
    // the rerun joined the job the worker was still running: it started once, and went on where it was
    expect(startedBy(worker, "trainer")).toHaveLength(1)
    expect(stepsOf(events(rerun.stdout), "trainer")[0]).toBeGreaterThanOrEqual(before)
    expect(await logTail(dir, "trainer")).toEqual(["training from step 1"])
    expectStoreIntact(path.join(dir, ".ablate"))
  })
})
