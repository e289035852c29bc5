/**
 * Policy-training benchmark: the throughput of policy/dpo's step and policy/ppo's
 * iteration on the tiny transformer, and the same algorithm in PyTorch on CPU
 * (bench/torch_policy.py, Debian's python3-torch), measured in this one run.
 *
 * The nodes run as `pipeline run` runs them (their `run` with decoded params, on the wasm
 * backend) at two step counts; the difference of the two times divided by the difference of
 * the steps is the time of a step, free of the setup both share (loading, the reference's
 * log-probabilities of every pair). Throughput counts sequence tokens (prompt + response)
 * through the trained model: 2·B·T per DPO step (B pairs), B·T per PPO iteration (B prompts,
 * one response each: sampling token by token, reference and critic passes, then
 * epochs × minibatches updates of policy and critic).
 *
 * PyTorch: apt-get install python3-torch libopenblas0-pthread (without OpenBLAS, Debian's torch
 * falls back to the reference BLAS and runs about 5× slower).
 *
 * Run: npx tsx bench/policy.ts
 */
import "@tensorflow/tfjs-backend-wasm"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { ArtifactType, ValueOf } from "../dsl/Artifact.ts"
import type * as Node from "../dsl/Node.ts"
import * as Random from "../dsl/Random.ts"
import type { ResponsePair } from "../nodes/artifacts.ts"
import { data, policy } from "../nodes/index.ts"
import * as TensorBackend from "../runtime/TensorBackend.ts"

const repo = path.resolve(import.meta.dirname, "..")
const config = {
  vocab: 16,
  prompt: 8,
  response: 24,
  width: 64,
  layers: 2,
  heads: 4,
  dpo: { batch: 32, beta: 0.1 },
  ppo: { prompts: 32, epochs: 4, minibatches: 1, gamma: 1, lambda: 0.95, klCoef: 0.05, clip: 0.2, valueCoef: 1 },
  threads: [1, os.cpus().length]
}
const T = config.prompt + config.response

const context = (): Node.NodeContext => ({
  name: "bench",
  random: Random.make("bench"),
  progress: () => {},
  metric: () => {},
  checkpoint: { load: Effect.succeed(undefined), save: () => Effect.void }
})

/** Run a node kind's `run` with `params` (defaults filled in by its Schema) on `inputs`. */
const run = <P extends Node.ParamsSchema, I extends Node.InputTypes, O extends ArtifactType, E>(
  kind: Node.NodeKind<P, I, O, E>,
  params: Partial<P["Type"]>,
  inputs: Node.RunArgs<P, I>["inputs"]
): Promise<ValueOf<O>> => Effect.runPromise(kind.run({ params: Schema.decodeUnknownSync(kind.params as unknown as Schema.Codec<P["Type"]>)(params), inputs, ctx: context() }))

/** Seconds per step: (time of 2k steps − time of k steps) / k. */
const perStep = async (k: number, time: (steps: number) => Promise<number>): Promise<number> => {
  await time(k) // warm up: kernels compiled, memory allocated
  const short = await time(k)
  const long = await time(2 * k)
  return (long - short) / k
}

const timed = async (f: () => Promise<unknown>): Promise<number> => {
  const started = performance.now()
  await f()
  return (performance.now() - started) / 1000
}

const main = async () => {
  await Effect.runPromise(Effect.gen(function*() {
    yield* (yield* TensorBackend.TensorBackend).ensure
  }).pipe(Effect.provide(Layer.fresh(TensorBackend.TensorBackend.layer("wasm")))))
  console.log(`policy benchmark: ${os.cpus().length} cores (${os.cpus()[0]?.model}), Node ${process.version}, wasm backend`)
  console.log(`  tiny transformer: vocab ${config.vocab}, prompt ${config.prompt} + response ${config.response} tokens, d=${config.width}, ${config.layers} layers, ${config.heads} heads`)
  const task = await run(data.sequenceTask, {
    prompts: 256, vocab: config.vocab, promptLength: config.prompt, responseLength: config.response, heldOut: 0
  }, {})
  const start = await run(policy.init, { width: config.width, layers: config.layers, heads: config.heads }, { task })
  const rng = Random.make("pairs")
  const response = () => Array.from({ length: config.response }, () => rng.int(config.vocab))
  const pairs: Array<ResponsePair> = Array.from({ length: 256 }, (_, prompt) => ({ prompt, chosen: response(), rejected: response(), margin: 1, flipped: false, split: "train" }))

  const dpoStep = await perStep(10, (steps) =>
    timed(() => run(policy.dpo, { steps, batch: config.dpo.batch, beta: config.dpo.beta }, { policy: start, reference: start, pairs, task })))
  const stepsPerIteration = config.ppo.epochs * config.ppo.minibatches
  const ppoIteration = stepsPerIteration * await perStep(4 * stepsPerIteration, (steps) =>
    timed(() => run(policy.ppo, {
      steps, prompts: config.ppo.prompts, epochs: config.ppo.epochs, minibatches: config.ppo.minibatches, klCoef: config.ppo.klCoef
    }, { policy: start, reference: start, reward: task, task })))
  const ours = { "dpo tok/s": (2 * config.dpo.batch * T) / dpoStep, "ppo tok/s": (config.ppo.prompts * T) / ppoIteration }
  console.log(`  ablate (wasm): DPO step ${(dpoStep * 1000).toFixed(0)} ms = ${ours["dpo tok/s"].toFixed(0)} tok/s   PPO iteration ${(ppoIteration * 1000).toFixed(0)} ms = ${ours["ppo tok/s"].toFixed(0)} tok/s`)

  // Debian's python3-torch installs into the system interpreter, which may not be the first python3 on PATH
  const python = fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3"
  const torch = spawnSync(python, [path.join(repo, "bench", "torch_reference.py"), "policy", JSON.stringify(config)], { encoding: "utf8" })
  if (torch.status !== 0) {
    console.log(`  pytorch: not available (apt-get install python3-torch): ${torch.stderr.trim().split("\n").at(-1)}`)
    return
  }
  const reference = JSON.parse(torch.stdout.trim().split("\n").at(-1)!) as { version: string; results: Record<string, Record<string, number>> }
  for (const [threads, row] of Object.entries(reference.results)) {
    console.log(`  pytorch ${reference.version} CPU, ${threads}: DPO ${row["dpo tok/s"]!.toFixed(0)} tok/s   PPO ${row["ppo tok/s"]!.toFixed(0)} tok/s   ratio ours/pytorch: DPO ${(ours["dpo tok/s"] / row["dpo tok/s"]!).toFixed(2)}, PPO ${(ours["ppo tok/s"] / row["ppo tok/s"]!).toFixed(2)}`)
  }
  fs.mkdirSync(path.join(repo, "bench", "out"), { recursive: true })
  fs.writeFileSync(path.join(repo, "bench", "out", "policy.json"), `${JSON.stringify({ config, ours, pytorch: reference }, null, 2)}\n`)
}

await main()
