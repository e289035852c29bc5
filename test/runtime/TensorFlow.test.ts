/**
 * TensorFlow.js without the umbrella package, as runtime/TensorBackend.ts loads it: core, the
 * committed bundle of its gradients and chained ops (runtime/internal/tfjs-gradients.cjs) and a
 * backend package.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import * as TfjsGradientsBundle from "../../runtime/internal/TfjsGradientsBundle.ts"
import * as TensorBackend from "../../runtime/TensorBackend.ts"
import { repo } from "../helpers.ts"

// loaded as a tensor node's run loads it (runtime/internal/TensorFlow.ts, then the backend's package)
beforeAll(() =>
  Effect.gen(function*() {
    yield* (yield* TensorBackend.TensorBackend).ensure
  }).pipe(Effect.provide(TensorBackend.TensorBackend.layer("cpu")), Effect.runPromise)
)

describe("TensorFlow.js from core, its gradients and a backend", () => {
  it("the committed bundle and its licence notices are what `npm run vendor:tfjs` builds from the installed tfjs-core", async () => {
    const built = await TfjsGradientsBundle.build()
    expect([...built.keys()].map((file) => path.basename(file)).sort()).toEqual(["tfjs-gradients.cjs", "tfjs-gradients.cjs.LEGAL.txt"])
    for (const [file, text] of built) expect(fs.readFileSync(file, "utf8") === text, file).toBe(true)
  })

  it("gradients are registered: d/dx Σ x·x + exp(x) = 2x + exp(x), and through softplus, matMul, logSoftmax", () => {
    const x = tf.tensor1d([0, 1, -2])
    const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.add(tf.mul(v, v), tf.exp(v))))(x).dataSync()
    for (const [i, v] of [0, 1, -2].entries()) expect(dx[i]).toBeCloseTo(2 * v + Math.exp(v), 6)
    // d/dx softplus(x) = σ(x); at 0 it is ½
    expect(tf.grad((v: tf.Tensor) => tf.sum(tf.softplus(v)))(tf.tensor1d([0])).dataSync()[0]).toBeCloseTo(0.5, 6)
    // d/dW Σ (x W) = xᵀ 1
    const dw = tf.grad((w: tf.Tensor) => tf.sum(tf.matMul(tf.tensor2d([[1, 2]]), w as tf.Tensor2D)))(tf.zeros([2, 3]))
    expect(Array.from(dw.dataSync())).toEqual([1, 1, 1, 2, 2, 2])
    // the rows of d/dz Σ logSoftmax(z)·onehot sum to 0
    const dz = tf.grad((z: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(z), tf.tensor2d([[1, 0, 0]]))))(tf.tensor2d([[1, 2, 3]]))
    expect(dz.sum().dataSync()[0]).toBeCloseTo(0, 6)
  })

  it("chained ops exist on tensors: x.add(y), x.mul(y), x.square().sum()", () => {
    const x = tf.tensor1d([1, 2])
    expect(Array.from(x.add(tf.scalar(1)).mul(x).dataSync())).toEqual([2, 6])
    expect(x.square().sum().dataSync()[0]).toBe(5)
  })

  it("the umbrella package and its layers, converter, data and webgl are not installed", () => {
    const require = createRequire(`${repo}/package.json`)
    for (const pkg of ["@tensorflow/tfjs", "@tensorflow/tfjs-layers", "@tensorflow/tfjs-converter", "@tensorflow/tfjs-data", "@tensorflow/tfjs-backend-webgl"]) {
      expect(() => require.resolve(pkg), pkg).toThrow()
    }
  })
})
