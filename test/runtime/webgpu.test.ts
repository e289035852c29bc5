/**
 * The webgpu backend on the real packages (`webgpu`, Google's Dawn for Node, and
 * `@tensorflow/tfjs-backend-webgpu`, both dev dependencies). Where Dawn finds a GPU adapter the
 * backend computes and trains; where it finds none (this project's CI machines: no GPU, and
 * Mesa's software Vulkan lacks features Dawn requires) those tests are skipped with Dawn's
 * reason, and a run asking for webgpu must fail saying what is missing.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import { describe, expect, it } from "vitest"
import * as WebGpu from "../../runtime/internal/WebGpu.ts"
import * as TensorBackend from "../../runtime/TensorBackend.ts"
import { cli, repo, statuses, summary, tempDir } from "../helpers.ts"

const hasAdapter = await WebGpu.hasAdapter()
if (!hasAdapter) console.log("skipping the webgpu backend's computations: the webgpu package (Dawn) found no GPU adapter on this machine")

const runRewardModel = (backend: TensorBackend.Name, store: string) =>
  cli(["run", "pipelines/quickstart.ts", "--backend", backend, "--store", store, "--json"], repo)

describe("the webgpu backend", () => {
  it.skipIf(hasAdapter)("without a GPU adapter, a run on it fails at its first tensor node, saying what Dawn needs", async () => {
    const store = tempDir("webgpu")
    const run = await runRewardModel("webgpu", store)
    expect(run.code).toBe(1)
    expect(statuses(run.stdout)).toMatchObject({ task: "ran", labels: "ran", features: "ran", rm: "failed", accuracy: "failed" })
    expect(run.stdout).toContain("tensor backend webgpu cannot run here: the webgpu package (Dawn) found no GPU adapter on this machine")
    // one message, no JavaScript stack
    expect(run.stdout + run.stderr).not.toMatch(/\n\s+at .*\.(ts|js|mjs):\d+/)
  })

  it.skipIf(!hasAdapter)("computes a product as wasm does, within float32 rounding", async () => {
    const product = (name: TensorBackend.Name) =>
      Effect.gen(function*() {
        yield* (yield* TensorBackend.TensorBackend).ensure
        const a = tf.randomNormal([64, 48], 0, 1, "float32", 1)
        const b = tf.randomNormal([48, 32], 0, 1, "float32", 2)
        const c = tf.matMul(a, b)
        const values = yield* Effect.promise(() => c.data())
        tf.dispose([a, b, c])
        return Float32Array.from(values)
      }).pipe(Effect.provide(TensorBackend.TensorBackend.layer(name)), Effect.runPromise)
    const onGpu = await product("webgpu")
    const onWasm = await product("wasm")
    onGpu.forEach((x, i) => expect(Math.abs(x - onWasm[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(onWasm[i]!))))
  })

  it.skipIf(!hasAdapter)("trains the quickstart's reward model to wasm's accuracy", async () => {
    const accuracy = async (backend: TensorBackend.Name) => {
      const run = await runRewardModel(backend, tempDir(`webgpu-${backend}`))
      expect(run.code, run.stderr).toBe(0)
      return summary<{ accuracy: number }>(run.stdout).outputs[0]!.value![0]!.accuracy
    }
    expect(Math.abs((await accuracy("webgpu")) - (await accuracy("wasm")))).toBeLessThan(0.02)
  })
})
