import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as Node from "../../dsl/Node.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { PairwiseAccuracy } from "../../nodes/artifacts.ts"
import { data, label, reward } from "../../nodes/index.ts"
import type * as TensorBackend from "../../runtime/TensorBackend.ts"
import { nodeContext, runInMemory } from "../helpers.ts"
import { sha256 } from "../../dsl/internal/Canonical.ts"
import * as Random from "../../dsl/Random.ts"
import * as Adam from "../../nodes/models/Adam.ts"
import * as Train from "../../nodes/models/Train.ts"
import * as Transformer from "../../nodes/models/Transformer.ts"
import * as ModelCodec from "../../runtime/internal/ModelCodec.ts"

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

const rmPipeline = Pipeline.make("rm", ({ seed }) => {
  const task = data.preferenceTask({ items: 200, features: 6, seed })
  const pairs = label.bradleyTerry({ task, pairs: 300 })
  return reward.bradleyTerry({ pairs: data.pairFeatures({ pairs, task }), hidden: 8, steps: 200 }, { name: "rm" })
})

const run = async (pipeline: Pipeline.Pipeline, backend: TensorBackend.Name, seeds = [0]) =>
  (await runInMemory(pipeline, { backend, seeds })).results

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

  it("are deterministic: same inputs, seed and backend give bit-identical weights; another seed differs", async () => {
    const hashOf = async (seed: number) => (await run(rmPipeline, backend, [seed])).find((r) => r.label === "rm")!.record!.output.hash
    const first = await hashOf(0)
    expect(await hashOf(0)).toBe(first)
    expect(await hashOf(1)).not.toBe(first)
  })
})
