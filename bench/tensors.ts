/**
 * Tensor benchmark. For each available TensorFlow.js backend: matmul GFLOP/s at
 * 256 and 1024, and forward+backward+Adam tokens/s of the tiny transformer at two
 * sizes (batch 32): d=64, 2 layers, length 32; d=128, 4 layers, length 64 — per second
 * of wall-clock time, per second of the process's CPU time, and per second of the fastest
 * step (on a machine shared with other work, time-slicing inflates the first, contention for
 * caches and cores the first two; the fastest step is the least disturbed). Then the same training
 * step in PyTorch on CPU (bench/torch_reference.py, Debian's python3-torch) and the ratios
 * ours / PyTorch, measured in this one run. On the default backend, also the memory of a
 * long run: peak resident memory over the steps and the tensor count after the first and
 * the last (no growth).
 *
 * Run: npx tsx bench/tensors.ts        (ABLATE_BENCH_PROFILE=1 adds a per-kernel profile;
 * ABLATE_BENCH_STEPS=N sets the long run's steps, 1,000 by default)
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Random from "../dsl/Random.ts"
import * as Adam from "../nodes/models/Adam.ts"
import * as Train from "../nodes/models/Train.ts"
import * as Transformer from "../nodes/models/Transformer.ts"
import * as TensorBackend from "../runtime/TensorBackend.ts"

const repo = path.resolve(import.meta.dirname, "..")
const vocab = 256
const batch = 32
const sizes = [
  { name: "d=64 L=2 T=32", width: 64, layers: 2, length: 32, heads: 4 },
  { name: "d=128 L=4 T=64", width: 128, layers: 4, length: 64, heads: 4 }
] as const

const cpuSeconds = (): number => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

/**
 * Seconds per call of `f` over at least `minTime` seconds and `minReps` calls: the mean
 * wall-clock and CPU time, and the fastest call's wall-clock time (the one least disturbed
 * by other work on a shared machine).
 */
const seconds = (f: () => void, minTime: number, minReps: number): { readonly wall: number; readonly cpu: number; readonly best: number } => {
  f() // warm up: kernels compiled, memory allocated
  let reps = 0
  let best = Infinity
  const started = performance.now()
  const cpu = cpuSeconds()
  while (reps < minReps || performance.now() - started < minTime * 1000) {
    const call = performance.now()
    f()
    best = Math.min(best, performance.now() - call)
    reps++
  }
  return { wall: (performance.now() - started) / 1000 / reps, cpu: (cpuSeconds() - cpu) / reps, best: best / 1000 }
}

const matmulGflops = (n: number): number => {
  const a = tf.randomNormal([n, n]) as tf.Tensor2D
  const b = tf.randomNormal([n, n]) as tf.Tensor2D
  // (tidy must not return the typed array: it would walk every element looking for tensors)
  const time = seconds(() => tf.tidy(() => void tf.matMul(a, b).dataSync()), 1, 3)
  tf.dispose([a, b])
  return (2 * n ** 3) / time.wall / 1e9
}

const transformerStep = (size: (typeof sizes)[number]) => {
  const model = Transformer.init({ vocab, length: size.length, width: size.width, layers: size.layers, heads: size.heads }, Random.make("bench"))
  const rng = Random.make("tokens")
  const tokens = tf.tensor2d(Array.from({ length: batch * size.length }, () => rng.int(vocab)), [batch, size.length], "int32")
  const optimizer = Adam.make(model.variables, { lr: 1e-3 })
  const step = () => void Train.step(model.variables, optimizer, () => tf.neg(tf.mean(Transformer.logProbs(model, tokens).perToken)) as tf.Scalar)
  return {
    step,
    dispose: () => {
      Adam.dispose(optimizer)
      Transformer.dispose(model)
      tokens.dispose()
    }
  }
}

const profileStep = async (size: (typeof sizes)[number]) => {
  const { step, dispose } = transformerStep(size)
  step()
  const info = await tf.profile(step)
  const byKernel = new Map<string, number>()
  // A custom-gradient op (nodes/models/Ops.ts) is profiled as a whole under the name of the scope
  // it runs in — "unnamed scope": the models open no named scopes — and the kernels it runs inside
  // are profiled too: count only those.
  for (const k of info.kernels) {
    if (k.name !== "unnamed scope") byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs))
  }
  dispose()
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0)
  return { total, top: [...byKernel.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8) }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`

/**
 * `steps` training steps: peak resident memory (sampled after every step) and the tensor
 * count after the first step and after the last, which must be equal.
 */
const longRun = (size: (typeof sizes)[number], steps: number) => {
  const before = process.memoryUsage.rss()
  const { step, dispose } = transformerStep(size)
  let peak = 0
  let tensorsAfterFirst = 0
  let rssAfterTenth = 0
  for (let i = 1; i <= steps; i++) {
    step()
    const rss = process.memoryUsage.rss()
    peak = Math.max(peak, rss)
    if (i === 1) tensorsAfterFirst = tf.memory().numTensors
    if (i === Math.min(10, steps)) rssAfterTenth = rss
  }
  const result = { steps, tensorsAfterFirst, tensorsAfterLast: tf.memory().numTensors, rssBefore: before, rssAfterTenth, rssAfterLast: process.memoryUsage.rss(), rssPeak: peak }
  dispose()
  return result
}

// every backend whose package is installed (check passes at once for the built-in wasm and cpu)
const available = (): Array<TensorBackend.Name> =>
  TensorBackend.names.filter((name) => Effect.runSync(Effect.exit(TensorBackend.check(name)))._tag === "Success")

const main = async () => {
  console.log(`tensor benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, batch ${batch}, vocab ${vocab}`)
  const results: Record<string, Record<string, number>> = {}
  const memory: Record<string, Record<string, number>> = {}
  for (const name of available()) {
    const loaded = await Effect.runPromise(Effect.exit(
      Effect.gen(function*() {
        yield* (yield* TensorBackend.TensorBackend).ensure
      }).pipe(Effect.provide(Layer.fresh(TensorBackend.TensorBackend.layer(name))))
    ))
    if (loaded._tag === "Failure") {
      // installed but unusable here (no GPU, no navigator.gpu, ...)
      console.log(`  ${name.padEnd(10)} skipped: ${Cause.pretty(loaded.cause).split("\n")[0]}`)
      continue
    }
    const row: Record<string, number> = {
      "matmul 256 GFLOP/s": matmulGflops(256),
      "matmul 1024 GFLOP/s": matmulGflops(1024)
    }
    for (const size of sizes) {
      const { step, dispose } = transformerStep(size)
      const time = seconds(step, name === "cpu" ? 3 : 2, 2)
      row[`${size.name} tok/s`] = (batch * size.length) / time.wall
      row[`${size.name} tok/CPU-s`] = (batch * size.length) / time.cpu
      row[`${size.name} tok/s best step`] = (batch * size.length) / time.best
      dispose()
    }
    results[name] = row
    console.log(`  ${name.padEnd(10)} ${Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(k.includes("GFLOP") ? 2 : 0)}`).join("   ")}`)
    if (name === TensorBackend.defaultName) {
      // the long run, on the default backend, before any other backend has allocated
      const steps = Number(process.env["ABLATE_BENCH_STEPS"] ?? 1000)
      for (const size of sizes) {
        const run = longRun(size, size === sizes[0] ? steps : Math.ceil(steps / 10))
        console.log(
          `    memory, ${size.name}, ${run.steps} steps: tensors ${run.tensorsAfterFirst} after the first step, ${run.tensorsAfterLast} after the last; ` +
            `resident memory peak ${mb(run.rssPeak)} (${mb(run.rssPeak - run.rssBefore)} over the process before the model), ${mb(run.rssAfterTenth)} after step ${Math.min(10, run.steps)}, ${mb(run.rssAfterLast)} after the last`
        )
        memory[size.name] = { ...run }
      }
    }
    if (process.env["ABLATE_BENCH_PROFILE"] === "1") {
      for (const size of sizes) {
        const { total, top } = await profileStep(size)
        console.log(`    profile ${size.name}: ${total.toFixed(0)} ms of kernels per step; ${top.map(([k, ms]) => `${k} ${((100 * ms) / total).toFixed(0)}%`).join(", ")}`)
      }
    }
  }

  // Debian's python3-torch installs into the system interpreter, which may not be the first python3 on PATH
  const python = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"
  const torch = spawnSync(python, [path.join(repo, "bench", "torch_reference.py")], { encoding: "utf8" })
  if (torch.status === 0) {
    const reference = JSON.parse(torch.stdout.trim().split("\n").at(-1)!) as { version: string; results: Record<string, Record<string, number>> }
    for (const [threads, row] of Object.entries(reference.results)) {
      console.log(`  pytorch ${reference.version} CPU, ${threads}: ${Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(0)}`).join("   ")}`)
    }
    for (const [name, ours] of Object.entries(results)) {
      for (const [threads, row] of Object.entries(reference.results)) {
        for (const size of sizes) {
          const [wall, cpu, best] = [`${size.name} tok/s`, `${size.name} tok/CPU-s`, `${size.name} tok/s best step`]
          console.log(
            `  ratio ${name} / pytorch (${threads}) ${size.name}: ${(ours[wall]! / row[wall]!).toFixed(2)} wall-clock, ` +
              `${(ours[cpu]! / row[cpu]!).toFixed(2)} CPU time, ${(ours[best]! / row[best]!).toFixed(2)} best step  (target ≥ 0.5)`
          )
        }
      }
    }
    results["pytorch"] = Object.assign({}, ...Object.entries(reference.results).map(([t, row]) => Object.fromEntries(Object.entries(row).map(([k, v]) => [`${t} ${k}`, v]))))
  } else {
    console.log(`  pytorch: not available (apt-get install python3-torch): ${torch.stderr.trim().split("\n").at(-1)}`)
  }

  fs.mkdirSync(path.join(repo, "bench", "out"), { recursive: true })
  fs.writeFileSync(path.join(repo, "bench", "out", "tensors.json"), `${JSON.stringify({ ...results, memory }, null, 2)}\n`)
}

await main()
