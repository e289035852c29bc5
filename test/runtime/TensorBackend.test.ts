import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { describe, expect, it, vi } from "vitest"
import * as Node from "../../dsl/Node.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { PairwiseAccuracy } from "../../nodes/artifacts.ts"
import { data, label, policy, reward } from "../../nodes/index.ts"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import { Executor } from "../../runtime/Executor.ts"
import type * as Scheduler from "../../runtime/Scheduler.ts"
import * as TensorBackend from "../../runtime/TensorBackend.ts"
import { nodeContext, runInMemory, schedule } from "../helpers.ts"
import { sha256 } from "../../dsl/internal/Canonical.ts"
import * as Random from "../../dsl/Random.ts"
import * as Adam from "../../nodes/models/Adam.ts"
import * as Train from "../../nodes/models/Train.ts"
import * as Transformer from "../../nodes/models/Transformer.ts"
import * as ModelCodec from "../../runtime/internal/ModelCodec.ts"

// Stand-ins for the webgpu backend's packages, to cover our wiring of them on any machine
// (test/runtime/webgpu.test.ts runs the real ones). The backend's package registers nothing
// on import, as the real one in a process without navigator.gpu; its WebGPUBackend records
// what it was made with. Dawn's adapter is whatever a test puts in `dawn.adapter`.
const dawn = vi.hoisted(() => ({
  adapter: null as unknown,
  made: [] as Array<{ device: unknown; info: unknown }>,
  flags: { GPUBufferUsage: { STORAGE: 128 }, GPUMapMode: { READ: 1 }, GPUTextureUsage: { COPY_SRC: 1 } }
}))
vi.mock("@tensorflow/tfjs-backend-webgpu", () => ({
  WebGPUBackend: class {
    constructor(device: unknown, info: unknown) {
      dawn.made.push({ device, info })
      throw new Error("a stand-in backend cannot compute")
    }
  }
}))
vi.mock("webgpu", () => ({ create: () => ({ requestAdapter: async () => dawn.adapter }), globals: dawn.flags }))

const leaky = Node.make({
  kind: "test/leaky",
  version: 1,
  description: "creates tensors and variables and frees none of them",
  tensors: true,
  params: Schema.Struct({}),
  inputs: {},
  output: PairwiseAccuracy,
  run: () =>
    Effect.sync(() => {
      const v = tf.variable(tf.ones([10, 10]))
      const x = tf.matMul(v, tf.randomNormal([10, 10], 0, 1, "float32", 1))
      return [{ accuracy: x.dataSync()[0]!, pairs: 1, chance: 0.5 }]
    })
})

/** A reward model trained for 200 steps on 300 pairs. */
const rewardModel = (seed: number) => {
  const task = data.preferenceTask({ items: 200, features: 6, seed })
  const pairs = label.bradleyTerry({ task, pairs: 300 })
  return reward.bradleyTerry({ pairs: data.pairFeatures({ pairs, task }), hidden: 8, steps: 200 }, { name: "rm" })
}

const rmPipeline = Pipeline.make("rm", ({ seed }) => rewardModel(seed))

const run = async (pipeline: Pipeline.Pipeline, backend: TensorBackend.Name, seeds = [0]) =>
  (await runInMemory(pipeline, { backend, seeds })).results

/** Why loading backend `name` failed. */
const loadError = (name: TensorBackend.Name) =>
  Effect.gen(function*() {
    yield* (yield* TensorBackend.TensorBackend).ensure
  }).pipe(Effect.provide(TensorBackend.TensorBackend.layer(name)), Effect.flip, Effect.runPromise)

/** The progress events of a pipeline run in memory on `backend`. */
const progressOf = async (pipeline: Pipeline.Pipeline, backend: TensorBackend.Name) => {
  const events: Array<Extract<Scheduler.Event, { type: "progress" }>> = []
  await schedule(pipeline, { env: TensorBackend.env(backend), onEvent: (event) => void (event.type === "progress" && events.push(event)) }).pipe(
    Effect.provide(Layer.mergeAll(ArtifactStore.layerMemory(), Executor.inProcess(backend))),
    Effect.runPromise
  )
  return events
}

// First in the file: TensorFlow.js prints its banner on the cpu backend's first tensor in the process.
describe("loading a backend", () => {
  it("the cpu backend does not print TensorFlow.js's banner recommending tfjs-node", async () => {
    const warn = vi.spyOn(console, "warn")
    try {
      await run(Pipeline.make("leaky", () => leaky({})), "cpu")
      expect(tf.getBackend()).toBe("cpu")
      expect(warn.mock.calls.flat().join("\n")).not.toContain("looks like you are running TensorFlow.js in Node.js")
    } finally {
      warn.mockRestore()
    }
  })

  it("an optional package that is not installed: says so, and what to install", async () => {
    const missing = await loadError("tensorflow")
    expect(missing.message).toContain("needs the optional package @tensorflow/tfjs-node, which is not installed")
    expect(missing.message).toContain("`npm install @tensorflow/tfjs-node`")
    expect(missing.message).not.toContain("failed")
    expect((await Effect.runPromise(Effect.flip(TensorBackend.check("tensorflow-gpu")))).message).toContain("`npm install @tensorflow/tfjs-node-gpu`")
  })

  it("webgpu in Node: without an adapter, says what Dawn needs; with one, the backend gets the device TensorFlow.js's factory asks for", async () => {
    const noAdapter = await loadError("webgpu")
    expect(noAdapter.message).toContain("tensor backend webgpu cannot run here: the webgpu package (Dawn) found no GPU adapter on this machine")
    expect(noAdapter.message).toContain("Vulkan")
    expect(noAdapter.message).not.toContain("npm install")

    const requested: Array<unknown> = []
    dawn.adapter = {
      features: { has: (feature: string) => feature === "timestamp-query" },
      limits: { maxBufferSize: 1024, maxStorageBufferBindingSize: 512, maxComputeWorkgroupStorageSize: 16384, maxComputeWorkgroupsPerDimension: 65535, maxComputeWorkgroupSizeX: 256, maxComputeInvocationsPerWorkgroup: 256, maxBindGroups: 4 },
      info: { vendor: "test" },
      requestDevice: async (descriptor: unknown) => {
        requested.push(descriptor)
        return { device: true }
      }
    }
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {})
    try {
      const failed = await loadError("webgpu")
      // the stand-in backend refuses to compute: what matters is what it was made with
      expect(failed.message).toContain("failed to initialise: a stand-in backend cannot compute")
      expect(requested).toEqual([{
        requiredFeatures: ["timestamp-query"],
        requiredLimits: { maxComputeWorkgroupStorageSize: 16384, maxComputeWorkgroupsPerDimension: 65535, maxStorageBufferBindingSize: 512, maxBufferSize: 1024, maxComputeWorkgroupSizeX: 256, maxComputeInvocationsPerWorkgroup: 256 }
      }])
      expect(dawn.made).toEqual([{ device: { device: true }, info: { vendor: "test" } }])
      expect((globalThis as Record<string, unknown>)["GPUBufferUsage"]).toBe(dawn.flags.GPUBufferUsage)
      expect(TensorBackend.env("webgpu")).toMatchObject({ backend: "webgpu", dawn: "0.6.2" })
    } finally {
      warn.mockRestore()
      tf.removeBackend("webgpu")
      dawn.adapter = null
      for (const name of Object.keys(dawn.flags)) delete (globalThis as Record<string, unknown>)[name]
    }
  })

  it("an installed optional package that fails to initialise: says why, not to install it", async () => {
    vi.stubGlobal("navigator", { gpu: {} })
    tf.registerBackend("webgpu", () => Promise.reject(new Error("no WebGPU adapter found")))
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {})
    try {
      const noAdapter = await loadError("webgpu")
      expect(noAdapter.message).toContain("@tensorflow/tfjs-backend-webgpu is installed but failed to initialise: no WebGPU adapter found")
      expect(noAdapter.message).not.toContain("npm install")
      // what TensorFlow.js logs while it fails (a notice and the error's stack) is held back: one message, no stack
      expect(warn).not.toHaveBeenCalled()
    } finally {
      warn.mockRestore()
      tf.removeBackend("webgpu")
      vi.unstubAllGlobals()
    }
  })
})

describe.each(["wasm", "cpu"] as const)("tensor nodes on the %s backend", (backend) => {
  it("leave no tensor behind: after a 200-step training node the tensor count is back where it was", async () => {
    await run(Pipeline.make("warmup", () => leaky({})), backend)
    const before = tf.memory().numTensors
    const results = await run(rmPipeline, backend)
    expect(results.map((r) => r.status)).toEqual(["ran", "ran", "ran", "ran"])
    expect(tf.getBackend()).toBe(backend)
    expect(tf.memory().numTensors).toBe(before)
    await run(Pipeline.make("leaky", () => leaky({})), backend)
    expect(tf.memory().numTensors).toBe(before)
  })

  it("train the transformer bit-identically twice from the same seed", async () => {
    await run(Pipeline.make("init", () => leaky({})), backend) // selects the backend through the executor
    const train = async (seed: string) => {
      const model = Transformer.init({ vocab: 13, length: 8, width: 16, layers: 2, heads: 2, valueHead: true }, Random.make(seed))
      const optimizer = Adam.make(model.variables, { lr: 0.01 })
      const data = tf.tensor2d(Array.from({ length: 32 }, (_, i) => (i * 7) % 13), [4, 8], "int32")
      const ctx = nodeContext(seed)
      await Effect.runPromise(Train.loop({ ctx, steps: 20, variables: model.variables, optimizer, loss: () => tf.neg(tf.mean(Transformer.logProbs(model, data).perToken)) as tf.Scalar }))
      const bytes = ModelCodec.encode(Transformer.toModel(model))
      const sampled = Transformer.sample(model, [[1, 2]], { tokens: 4, temperature: 1, topK: 5 }, Random.make("sample"))
      Adam.dispose(optimizer)
      Transformer.dispose(model)
      tf.dispose(data)
      return { hash: sha256(bytes), sampled }
    }
    const first = await train("a")
    expect(await train("a")).toEqual(first)
    expect((await train("b")).hash).not.toBe(first.hash)
  })

  it("report progress: training with a numeric loss and throughput, sampling with throughput and no loss", async () => {
    const progress = await progressOf(Pipeline.make("progress", ({ seed }) => {
      const task = data.sequenceTask({ prompts: 40, vocab: 7, promptLength: 3, responseLength: 4 })
      return [rewardModel(seed), data.sample({ policy: policy.init({ task, width: 8 }), task, n: 3 }, { name: "samples" })]
    }), backend)
    const training = progress.filter((event) => event.label === "rm")
    expect(training.at(-1)).toMatchObject({ step: 200, total: 200, unit: "pairs" })
    for (const event of training) {
      expect(event.loss).toEqual(expect.any(Number))
      expect(Number.isFinite(event.loss)).toBe(true)
      expect(event.throughput).toBeGreaterThan(0)
    }
    const sampling = progress.filter((event) => event.label === "samples")
    expect(sampling.at(-1)).toMatchObject({ step: 120 * 4, total: 120 * 4, unit: "tok" })
    for (const event of sampling) {
      expect(event.throughput).toBeGreaterThan(0)
      expect(event.loss).toBeUndefined()
    }
  })

  it("are deterministic: same inputs, seed and backend give bit-identical weights; another seed differs", async () => {
    const hashOf = async (seed: number) => (await run(rmPipeline, backend, [seed])).find((r) => r.label === "rm")!.record!.output.hash
    const first = await hashOf(0)
    expect(await hashOf(0)).toBe(first)
    expect(await hashOf(1)).not.toBe(first)
  })
})
