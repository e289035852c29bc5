import * as tf from "@tensorflow/tfjs-core"
import * as Effect from "effect/Effect"
import { beforeAll, describe, expect, it } from "vitest"
import * as Random from "../../dsl/Random.ts"
import * as Adam from "../../nodes/models/Adam.ts"
import { wasm as committed } from "../../nodes/models/kernels/binary.ts"
import * as Build from "../../nodes/models/kernels/build.ts"
import * as Kernels from "../../nodes/models/kernels/Kernels.ts"
import * as Ops from "../../nodes/models/Ops.ts"
import * as Train from "../../nodes/models/Train.ts"
import * as Transformer from "../../nodes/models/Transformer.ts"
import { TensorBackend } from "../../runtime/TensorBackend.ts"

beforeAll(() =>
  Effect.gen(function*() {
    yield* (yield* TensorBackend).ensure
  }).pipe(Effect.provide(TensorBackend.layer("wasm")), Effect.runPromise))

const committedBytes = new Uint8Array(Buffer.from(committed, "base64"))

/** The compiler that built the committed module, from its producers section ("Debian clang 14.0.6"). */
const builtBy = (): string => {
  const [section] = WebAssembly.Module.customSections(new WebAssembly.Module(committedBytes), "producers")
  const text = Buffer.from(section!).toString("latin1")
  const match = /([A-Za-z ]*clang)[^0-9]*([0-9]+\.[0-9]+\.[0-9]+)/.exec(text)
  return match === null ? text : `${match[1]!.trim()} version ${match[2]}`
}

/** Why the rebuild cannot be checked here, or undefined. In CI a missing clang is a failure, not a skip. */
const cannotRebuild = (): string | undefined => {
  const local = Build.clangVersion()
  if (local === undefined) return process.env["CI"] === undefined ? "clang is not installed (apt-get install clang lld)" : undefined
  return local.startsWith(builtBy()) ? undefined : `binary.ts was built by ${builtBy()}, this machine has ${local}`
}

describe("the kernels' WebAssembly module", () => {
  const reason = cannotRebuild()
  if (reason !== undefined) console.log(`skipping the rebuild check: ${reason}`)

  it.skipIf(reason !== undefined)("rebuilding kernels.c gives the committed bytes", () => {
    expect(Buffer.from(Build.build()).equals(Buffer.from(committedBytes))).toBe(true)
  })

  it("is safe on TensorFlow.js's heap: imports only its memory, has a stack pointer to set and no data", () => {
    expect(Build.unsafe(committedBytes)).toBeUndefined()
  })

  it("runs on the wasm backend, so the models use the fused ops there", () => {
    expect(Kernels.ready()).toBe(true)
    expect(Ops.current()).toBe(Ops.fused)
  })
})

// ---------------------------------------------------------------------------------------
// each fused op against its TensorFlow.js composition

const normal = (shape: Array<number>, seed: number, scale = 1): tf.Tensor => tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, "float32", seed), scale))

/** |a − b| ≤ atol + rtol·|b| elementwise; the worst excess, for the message */
const expectClose = (a: tf.Tensor, b: tf.Tensor, what: string, rtol = 1e-5, atol = 1e-5) => {
  expect(a.shape, what).toEqual(b.shape)
  const [x, y] = [a.dataSync(), b.dataSync()]
  let worst = ""
  for (let i = 0; i < x.length; i++) {
    if (!(Math.abs(x[i]! - y[i]!) <= atol + rtol * Math.abs(y[i]!))) {
      worst = `${what}: element ${i} is ${x[i]}, expected ${y[i]}`
      break
    }
  }
  expect(worst).toBe("")
}

interface Case {
  readonly name: string
  readonly op: (ops: Ops.TensorOps, ...xs: Array<tf.Tensor>) => tf.Tensor
  readonly inputs: () => Array<tf.Tensor>
  /** indices of the inputs to differentiate (not integer token ids) */
  readonly wrt: ReadonlyArray<number>
}

/** L = Σ op(xs) ⊙ r with a fixed random r, and its gradients with respect to xs[wrt] */
const lossAndGrads = (ops: Ops.TensorOps, c: Case, xs: Array<tf.Tensor>) => {
  const r = tf.tidy(() => normal(c.op(ops, ...xs).shape, 99))
  const withInputs = (ys: Array<tf.Tensor>) => {
    const all = [...xs]
    c.wrt.forEach((index, j) => (all[index] = ys[j]!))
    return tf.sum(tf.mul(c.op(ops, ...all), r)) as tf.Scalar
  }
  const value = c.op(ops, ...xs)
  const grads = tf.grads((...ys: Array<tf.Tensor>) => withInputs(ys))(c.wrt.map((i) => xs[i]!))
  return { value, grads, loss: (ys: Array<tf.Tensor>) => tf.tidy(() => withInputs(ys).dataSync()[0]!) }
}

/** x with element i moved by h */
const nudged = (x: tf.Tensor, i: number, h: number): tf.Tensor => {
  const data = Float32Array.from(x.dataSync())
  data[i] = data[i]! + h
  return tf.tensor(data, x.shape)
}

const odd = 5 // a width that is not a multiple of the kernels' 4 lanes

const cases: ReadonlyArray<Case> = [
  ...[[1, 1, 1], [7, odd, 3], [13, 9, 17], [6, 300, 11], [9, 600, 1]].flatMap(([m, k, n]) => [
    { name: `matMul ${m}×${k} · ${k}×${n}`, op: (o: Ops.TensorOps, a: tf.Tensor, b: tf.Tensor) => o.matMul(a as tf.Tensor2D, b as tf.Tensor2D), inputs: () => [normal([m!, k!], 1), normal([k!, n!], 2)], wrt: [0, 1] },
    { name: `matMul ${m}×${k} · (${n}×${k})ᵀ`, op: (o: Ops.TensorOps, a: tf.Tensor, b: tf.Tensor) => o.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true), inputs: () => [normal([m!, k!], 3), normal([n!, k!], 4)], wrt: [0, 1] },
    { name: `linear [2, ${m}, ${k}] → ${n}`, op: (o: Ops.TensorOps, x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => o.linear(x, w, b), inputs: () => [normal([2, m!, k!], 5), normal([k!, n!], 6), normal([n!], 7)], wrt: [0, 1, 2] }
  ]),
  { name: "gelu [3, 7]", op: (o, x) => o.gelu(x!), inputs: () => [normal([3, 7], 8, 3)], wrt: [0] },
  { name: "gelu [1]", op: (o, x) => o.gelu(x!), inputs: () => [normal([1], 9, 3)], wrt: [0] },
  ...[[1, 1, odd], [2, 3, 7], [2, 5, 64]].map(([b, t, d]) => ({
    name: `layerNorm [${b}, ${t}, ${d}]`,
    op: (o: Ops.TensorOps, x: tf.Tensor, g: tf.Tensor, beta: tf.Tensor) => o.layerNorm(x, g, beta),
    inputs: () => [tf.add(normal([b!, t!, d!], 10, 2), 1), tf.add(normal([d!], 11), 1), normal([d!], 12)],
    wrt: [0, 1, 2]
  })),
  // [B, T, heads, dh]: T = 1, one head, odd head widths, and the benchmark's heads
  ...[[2, 1, 2, 3], [2, 6, 1, odd], [3, 9, 2, 3], [2, 32, 4, 16]].map(([b, t, h, dh]) => ({
    name: `causalSelfAttention B=${b} T=${t} heads=${h} dh=${dh}`,
    op: (o: Ops.TensorOps, qkv: tf.Tensor) => o.causalSelfAttention(qkv as tf.Tensor3D, h!),
    inputs: () => [normal([b!, t!, 3 * h! * dh!], 13)],
    wrt: [0]
  })),
  ...[[1, 1], [2, 5]].map(([b, t]) => ({
    name: `embedding B=${b} T=${t}, a token outside the vocabulary`,
    op: (o: Ops.TensorOps, ids: tf.Tensor, table: tf.Tensor, pos: tf.Tensor) => o.embedding(ids as tf.Tensor2D, table as tf.Tensor2D, pos as tf.Tensor2D),
    inputs: () => [tf.tensor2d(Array.from({ length: b! * t! }, (_, i) => (i === 1 ? 7 : (i * 3) % 7)), [b!, t!], "int32"), normal([7, odd], 14), normal([6, odd], 15)],
    wrt: [1, 2]
  })),
  ...[[1, 2, 3], [2, 6, 11]].map(([b, t, v]) => ({
    name: `nextTokenLogProbs B=${b} T=${t} V=${v}, a token outside the vocabulary`,
    op: (o: Ops.TensorOps, logits: tf.Tensor, ids: tf.Tensor) => o.nextTokenLogProbs(logits as tf.Tensor3D, ids as tf.Tensor2D),
    inputs: () => [normal([b!, t!, v!], 16, 4), tf.tensor2d(Array.from({ length: b! * t! }, (_, i) => (i === 3 ? v! : (i * 5) % v!)), [b!, t!], "int32")],
    wrt: [0]
  }))
]

describe("fused ops against their TensorFlow.js compositions", () => {
  for (const c of cases) {
    it(`${c.name}: same values and gradients`, () => {
      tf.tidy(() => {
        const xs = c.inputs()
        const fused = lossAndGrads(Ops.fused, c, xs)
        const composed = lossAndGrads(Ops.composed, c, xs)
        expectClose(fused.value, composed.value, "value")
        fused.grads.forEach((g, j) => expectClose(g, composed.grads[j]!, `gradient ${c.wrt[j]}`, 1e-4, 1e-5))
      })
    })

    it(`${c.name}: gradients agree with finite differences`, () => {
      tf.tidy(() => {
        const xs = c.inputs()
        const fused = lossAndGrads(Ops.fused, c, xs)
        const rng = Random.make(c.name)
        c.wrt.forEach((index, j) => {
          const x = xs[index]!
          const g = fused.grads[j]!.dataSync()
          for (let trial = 0; trial < 4; trial++) {
            const i = rng.int(x.size)
            const h = 1e-2
            const others = c.wrt.map((k) => xs[k]!)
            const plus = fused.loss(others.map((y, q) => (q === j ? nudged(y, i, h) : y)))
            const minus = fused.loss(others.map((y, q) => (q === j ? nudged(y, i, -h) : y)))
            const difference = (plus - minus) / (2 * h)
            expect(Math.abs(difference - g[i]!), `input ${index}, element ${i}: finite difference ${difference}, gradient ${g[i]}`)
              .toBeLessThanOrEqual(2e-2 * (1 + Math.abs(g[i]!)))
          }
        })
      })
    })
  }
})

describe("matrix–vector products", () => {
  // a product with one column (a linear model's scores, its weights' gradient) has a path of its
  // own in kernels.c that must sum exactly as the general product does: the same bits as column 0
  // of a product with two columns, across KC blocks of K and row counts that are not multiples of 8
  const product = (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor | undefined, transposeA: boolean) =>
    Kernels.one(Kernels.names.matMul, bias === undefined ? { a, b } : { a, b, bias }, { transposeA, transposeB: false })
  for (const [m, k] of [[1, 1], [9, odd], [3, 600], [17, 257]]) {
    for (const transposeA of [false, true]) {
      for (const withBias of [false, true]) {
        it(`${transposeA ? `(${k}×${m})ᵀ` : `${m}×${k}`} · ${k}×1${withBias ? " + bias" : ""}: the bits of the two-column product's first column`, () => {
          tf.tidy(() => {
            const a = normal(transposeA ? [k!, m!] : [m!, k!], 30)
            const b = normal([k!, 2], 31)
            const bias = normal([2], 32)
            const one = product(a, tf.slice(b, [0, 0], [k!, 1]), withBias ? tf.slice(bias, [0], [1]) : undefined, transposeA)
            const two = tf.slice(product(a, b, withBias ? bias : undefined, transposeA), [0, 0], [m!, 1])
            expect(one.shape).toEqual([m, 1])
            expect(Buffer.from(one.dataSync().buffer).equals(Buffer.from(Float32Array.from(two.dataSync()).buffer))).toBe(true)
          })
        })
      }
    }
  }
})

describe("Adam's fused update", () => {
  it("gives the same bits as its composition, step after step", () => {
    const start = normal([37, odd], 20)
    const fusedVariables = { w: tf.variable(start.clone()) }
    const fusedOptimizer = Adam.make(fusedVariables, { lr: 0.01 })
    const m = tf.variable(tf.zerosLike(start))
    const v = tf.variable(tf.zerosLike(start))
    const w = tf.variable(start.clone())
    for (let t = 1; t <= 5; t++) {
      const g = normal([37, odd], 20 + t)
      Adam.apply(fusedOptimizer, fusedVariables, { w: g })
      // the composition (Ops.composed.adam), written out
      tf.tidy(() => {
        m.assign(tf.add(tf.mul(m, 0.9), tf.mul(g, 1 - 0.9)))
        v.assign(tf.add(tf.mul(v, 0.999), tf.mul(tf.square(g), 1 - 0.999)))
        const step = tf.div(tf.div(m, 1 - 0.9 ** t), tf.add(tf.sqrt(tf.div(v, 1 - 0.999 ** t)), 1e-8))
        w.assign(tf.sub(w, tf.mul(step, 0.01)))
      })
      expect(Buffer.from(fusedVariables.w.dataSync().buffer).equals(Buffer.from(w.dataSync().buffer)), `step ${t}`).toBe(true)
      g.dispose()
    }
    tf.dispose([start, m, v, w, fusedVariables.w])
    Adam.dispose(fusedOptimizer)
  })
})

describe("the benchmark's transformer (bench/tensors.ts)", () => {
  const sizes = [
    { width: 64, layers: 2, length: 32 },
    { width: 128, layers: 4, length: 64 }
  ]
  for (const size of sizes) {
    it(`d=${size.width} L=${size.layers} T=${size.length}: the fused ops' loss curve is the composition's, within float32 rounding`, () => {
      const curve = (ops: Ops.TensorOps): Array<number> => {
        const model = Transformer.init({ vocab: 256, heads: 4, ...size }, Random.make("bench"))
        const rng = Random.make("tokens")
        const tokens = tf.tensor2d(Array.from({ length: 8 * size.length }, () => rng.int(256)), [8, size.length], "int32")
        const optimizer = Adam.make(model.variables, { lr: 1e-3 })
        const forward = Transformer.computedWith(ops)
        const losses = Array.from({ length: 6 }, () =>
          Train.step(model.variables, optimizer, () => tf.neg(tf.mean(forward.logProbs(model, tokens).perToken)) as tf.Scalar).loss)
        Adam.dispose(optimizer)
        Transformer.dispose(model)
        tokens.dispose()
        return losses
      }
      const fused = curve(Ops.fused)
      const composed = curve(Ops.composed)
      expect(composed[5]!).toBeLessThan(composed[0]! - 0.01) // it trains
      fused.forEach((loss, step) => expect(Math.abs(loss - composed[step]!), `step ${step}: ${loss} vs ${composed[step]}`).toBeLessThan(1e-5 * composed[step]!))
    })
  }

  it("trains bit-identically twice with the fused ops", () => {
    const run = () => {
      const model = Transformer.init({ vocab: 256, heads: 4, width: 64, layers: 2, length: 32 }, Random.make("bench"))
      const rng = Random.make("tokens")
      const tokens = tf.tensor2d(Array.from({ length: 4 * 32 }, () => rng.int(256)), [4, 32], "int32")
      const optimizer = Adam.make(model.variables, { lr: 1e-3 })
      for (let i = 0; i < 3; i++) Train.step(model.variables, optimizer, () => tf.neg(tf.mean(Transformer.logProbs(model, tokens).perToken)) as tf.Scalar)
      const bytes = Buffer.concat(Object.values(model.variables).map((v) => Buffer.from(v.dataSync().buffer)))
      Adam.dispose(optimizer)
      Transformer.dispose(model)
      tokens.dispose()
      return bytes
    }
    expect(run().equals(run())).toBe(true)
  })
})
