/**
 * The fused kernels of kernels.c (formulas and references there) as TensorFlow.js kernels
 * of the wasm backend. The module runs on the backend's own heap: it imports the backend's
 * WebAssembly memory, reads input tensors where they lie and writes into outputs the backend
 * allocated, so nothing is copied in or out. nodes/models/Ops.ts wraps them, with their
 * gradients, as the ops the models use; on any other backend, or where the module cannot
 * run (no WebAssembly SIMD, a threaded backend's shared memory), the models compute with
 * TensorFlow.js's own ops instead (`ready`).
 */
import * as tf from "@tensorflow/tfjs-core"
import { InvariantError } from "../../../dsl/Errors.ts"
import { wasm as base64 } from "./binary.ts"

/** kernels.c's entry points; pointers are byte offsets into the heap, sizes are element counts. */
interface Exports {
  readonly __stack_pointer: WebAssembly.Global
  readonly matmul_scratch: (n: number, k: number) => number
  readonly matmul: (m: number, n: number, k: number, a: number, ta: number, b: number, tb: number, bias: number, out: number, scratch: number) => void
  readonly column_sum: (rows: number, n: number, x: number, out: number) => void
  readonly layer_norm: (rows: number, d: number, x: number, g: number, b: number, epsilon: number, y: number, mean: number, std: number) => void
  readonly layer_norm_grad: (rows: number, d: number, dy: number, x: number, g: number, mean: number, std: number, dx: number, dg: number, db: number) => void
  readonly gelu: (n: number, x: number, y: number, gate: number) => void
  readonly gelu_grad: (n: number, dy: number, x: number, gate: number, dx: number) => void
  readonly attention_scratch: (t: number, dh: number) => number
  readonly attention: (b: number, t: number, h: number, dh: number, qkv: number, out: number, probs: number, scratch: number) => void
  readonly attention_grad: (b: number, t: number, h: number, dh: number, dout: number, qkv: number, probs: number, dqkv: number, scratch: number) => void
  readonly embedding: (bt: number, t: number, d: number, v: number, tokens: number, table: number, positions: number, out: number) => void
  readonly embedding_grad: (bt: number, t: number, d: number, v: number, l: number, dy: number, tokens: number, dtable: number, dpositions: number) => void
  readonly token_log_probs: (b: number, t: number, v: number, logits: number, tokens: number, out: number, lse: number) => void
  readonly token_log_probs_grad: (b: number, t: number, v: number, dout: number, logits: number, tokens: number, lse: number, dlogits: number) => void
  readonly adam: (
    n: number, param: number, m: number, v: number, grad: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, c1: number, c2: number, epsilon: number, lr: number,
    paramOut: number, mOut: number, vOut: number
  ) => void
}

/** What the kernels use of the wasm backend (BackendWasm, whose module's `asm` is untyped). */
interface WasmBackend {
  readonly wasm: { readonly _malloc: (bytes: number) => number; readonly _free: (pointer: number) => void; readonly asm?: { readonly memory?: unknown } }
  readonly dataIdMap: { get: (dataId: object) => { readonly memoryOffset: number } | undefined }
  readonly makeOutput: (shape: Array<number>, dtype: tf.DataType) => tf.TensorInfo
  readonly incRef: (dataId: object) => void
}

const stackBytes = 64 * 1024

/**
 * The module instantiated on `backend`'s heap, with a stack of its own allocated there; undefined
 * where it cannot run. Once per backend: a backend's heap lives as long as the backend.
 */
const instantiate = (backend: WasmBackend): Exports | undefined => {
  const memory = backend.wasm.asm?.memory
  if (!(memory instanceof WebAssembly.Memory) || memory.buffer instanceof SharedArrayBuffer) return undefined
  let exports: Exports
  try {
    const module = new WebAssembly.Module(Buffer.from(base64, "base64"))
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports
  } catch {
    return undefined // no WebAssembly SIMD in this engine
  }
  exports.__stack_pointer.value = backend.wasm._malloc(stackBytes) + stackBytes
  return exports
}

/**
 * A memo of `instantiate` per backend object: one module and one stack per heap. It is the
 * module's one piece of state, and module-level because TensorFlow.js's kernel registry is
 * process-wide and hands a kernel nothing but its backend. Each entry is written once, the first
 * time `ready` or a kernel asks about its backend, and never changed; keyed weakly, it lives as long as the backend.
 */
const instances = new WeakMap<object, Exports | undefined>()

const exportsOf = (backend: WasmBackend): Exports | undefined => {
  if (!instances.has(backend)) instances.set(backend, instantiate(backend))
  return instances.get(backend)
}

/** The heap a kernel works on: its entry points, tensors' addresses, outputs and scratch. */
interface Heap {
  readonly k: Exports
  readonly at: (t: tf.TensorInfo) => number
  readonly output: (shape: Array<number>, dtype?: tf.DataType) => { readonly info: tf.TensorInfo; readonly at: number }
  /** run `f` with `floats` floats of scratch, freed after */
  readonly scratch: <A>(floats: number, f: (at: number) => A) => A
}

const heapOf = (backend: WasmBackend, k: Exports): Heap => {
  const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId)!.memoryOffset
  return {
    k,
    at,
    output: (shape, dtype = "float32") => {
      const info = backend.makeOutput(shape, dtype)
      return { info, at: at(info) }
    },
    scratch: (floats, f) => {
      const pointer = backend.wasm._malloc(Math.max(4, 4 * floats))
      try {
        return f(pointer)
      } finally {
        backend.wasm._free(pointer)
      }
    }
  }
}

type Inputs = Record<string, tf.TensorInfo>
type Attrs = Record<string, number | boolean>

const kernel = (name: string, run: (heap: Heap, inputs: Inputs, attrs: Attrs) => tf.TensorInfo | Array<tf.TensorInfo>): tf.KernelConfig => ({
  kernelName: name,
  backendName: "wasm",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const wasm = backend as unknown as WasmBackend
    const exports = exportsOf(wasm)
    if (exports === undefined) throw new InvariantError({ what: `kernel ${name}`, reason: "cannot run on this wasm backend (Kernels.ready() is false here)" })
    return run(heapOf(wasm, exports), inputs as Inputs, (attrs ?? {}) as Attrs)
  }
})

const size = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1)
const flag = (b: number | boolean | undefined) => (b === true ? 1 : 0)

/** Kernel names, as TensorFlow.js's profile shows them. */
export const names = {
  matMul: "AblateMatMul",
  columnSum: "AblateColumnSum",
  layerNorm: "AblateLayerNorm",
  layerNormGrad: "AblateLayerNormGrad",
  gelu: "AblateGelu",
  geluGrad: "AblateGeluGrad",
  attention: "AblateCausalAttention",
  attentionGrad: "AblateCausalAttentionGrad",
  embedding: "AblateEmbedding",
  embeddingGrad: "AblateEmbeddingGrad",
  tokenLogProbs: "AblateNextTokenLogProbs",
  tokenLogProbsGrad: "AblateNextTokenLogProbsGrad",
  adam: "AblateAdam"
} as const

const configs: ReadonlyArray<tf.KernelConfig> = [
  // a [..., K] (transposeA: [..., M], the leading axes flattened into K), b [K, N] (transposeB: [N, K]), optional
  // bias [N] → [..., N] (transposeA: [M, N]); a product's gradients take a and dy as they come, with no reshape
  kernel(names.matMul, (h, { a, b, bias }, { transposeA, transposeB }) => {
    const aLast = a!.shape.at(-1)!
    const [M, K] = transposeA === true ? [aLast, size(a!) / aLast] : [size(a!) / aLast, aLast]
    const bLast = b!.shape.at(-1)!
    const N = transposeB === true ? size(b!) / bLast : bLast
    const out = h.output(transposeA === true ? [M, N] : [...a!.shape.slice(0, -1), N])
    h.scratch(h.k.matmul_scratch(N, K), (s) =>
      h.k.matmul(M, N, K, h.at(a!), flag(transposeA), h.at(b!), flag(transposeB), bias === undefined ? 0 : h.at(bias), out.at, s))
    return out.info
  }),
  // x [..., N] → [N]
  kernel(names.columnSum, (h, { x }) => {
    const N = x!.shape.at(-1)!
    const out = h.output([N])
    h.k.column_sum(size(x!) / N, N, h.at(x!), out.at)
    return out.info
  }),
  // x [..., D], gamma [D], beta [D] → y [..., D], mean [rows], std [rows] (rows: the leading axes' size)
  kernel(names.layerNorm, (h, { x, gamma, beta }, { epsilon }) => {
    const D = x!.shape.at(-1)!
    const rows = size(x!) / D
    const [y, mean, std] = [h.output([...x!.shape]), h.output([rows]), h.output([rows])]
    h.k.layer_norm(rows, D, h.at(x!), h.at(gamma!), h.at(beta!), epsilon as number, y.at, mean.at, std.at)
    return [y.info, mean.info, std.info]
  }),
  // dy, x [..., D], gamma [D], mean, std [rows] → dx [..., D], dgamma [D], dbeta [D]
  kernel(names.layerNormGrad, (h, { dy, x, gamma, mean, std }) => {
    const D = x!.shape.at(-1)!
    const rows = size(x!) / D
    const [dx, dg, db] = [h.output([...x!.shape]), h.output([D]), h.output([D])]
    h.k.layer_norm_grad(rows, D, h.at(dy!), h.at(x!), h.at(gamma!), h.at(mean!), h.at(std!), dx.at, dg.at, db.at)
    return [dx.info, dg.info, db.info]
  }),
  // x → y, gate σ(2z) (same shape), the gate kept for the gradient
  kernel(names.gelu, (h, { x }) => {
    const [y, gate] = [h.output([...x!.shape]), h.output([...x!.shape])]
    h.k.gelu(size(x!), h.at(x!), y.at, gate.at)
    return [y.info, gate.info]
  }),
  kernel(names.geluGrad, (h, { dy, x, gate }) => {
    const dx = h.output([...x!.shape])
    h.k.gelu_grad(size(x!), h.at(dy!), h.at(x!), h.at(gate!), dx.at)
    return dx.info
  }),
  // qkv [B, T, 3d] → out [B, T, d], probs [B, H, T, T]
  kernel(names.attention, (h, { qkv }, { heads }) => {
    const [B, T, d3] = qkv!.shape as [number, number, number]
    const H = heads as number
    const dh = d3 / 3 / H
    const [out, probs] = [h.output([B, T, d3 / 3]), h.output([B, H, T, T])]
    h.scratch(h.k.attention_scratch(T, dh), (s) => h.k.attention(B, T, H, dh, h.at(qkv!), out.at, probs.at, s))
    return [out.info, probs.info]
  }),
  // dy [B, T, d], qkv [B, T, 3d], probs [B, H, T, T] → dqkv [B, T, 3d]
  kernel(names.attentionGrad, (h, { dy, qkv, probs }, { heads }) => {
    const [B, T, d3] = qkv!.shape as [number, number, number]
    const H = heads as number
    const dh = d3 / 3 / H
    const dqkv = h.output([B, T, d3])
    h.scratch(h.k.attention_scratch(T, dh), (s) => h.k.attention_grad(B, T, H, dh, h.at(dy!), h.at(qkv!), h.at(probs!), dqkv.at, s))
    return dqkv.info
  }),
  // tokens [B, T] int32, table [V, D], positions [L ≥ T, D] → [B, T, D]
  kernel(names.embedding, (h, { tokens, table, positions }) => {
    const [B, T] = tokens!.shape as [number, number]
    const [V, D] = table!.shape as [number, number]
    const out = h.output([B, T, D])
    h.k.embedding(B * T, T, D, V, h.at(tokens!), h.at(table!), h.at(positions!), out.at)
    return out.info
  }),
  // dy [B, T, D], tokens [B, T] → dtable [V, D], dpositions [L, D]
  kernel(names.embeddingGrad, (h, { dy, tokens }, { vocab, length }) => {
    const [B, T, D] = dy!.shape as [number, number, number]
    const [V, L] = [vocab as number, length as number]
    const [dtable, dpositions] = [h.output([V, D]), h.output([L, D])]
    h.k.embedding_grad(B * T, T, D, V, L, h.at(dy!), h.at(tokens!), dtable.at, dpositions.at)
    return [dtable.info, dpositions.info]
  }),
  // logits [B, T, V], tokens [B, T] int32 → logProbs [B, T−1], lse [B, T−1]
  kernel(names.tokenLogProbs, (h, { logits, tokens }) => {
    const [B, T, V] = logits!.shape as [number, number, number]
    const [out, lse] = [h.output([B, T - 1]), h.output([B, T - 1])]
    h.k.token_log_probs(B, T, V, h.at(logits!), h.at(tokens!), out.at, lse.at)
    return [out.info, lse.info]
  }),
  // dy [B, T−1], logits [B, T, V], tokens [B, T], lse [B, T−1] → dlogits [B, T, V]
  kernel(names.tokenLogProbsGrad, (h, { dy, logits, tokens, lse }) => {
    const [B, T, V] = logits!.shape as [number, number, number]
    const dlogits = h.output([B, T, V])
    h.k.token_log_probs_grad(B, T, V, h.at(dy!), h.at(logits!), h.at(tokens!), h.at(lse!), dlogits.at)
    return dlogits.info
  }),
  // param, m, v, grad (one shape) → param', m', v'
  kernel(names.adam, (h, { param, m, v, grad }, a) => {
    const shape = [...param!.shape]
    const [p2, m2, v2] = [h.output(shape), h.output(shape), h.output(shape)]
    const n = (x: number | boolean | undefined) => x as number
    h.k.adam(size(param!), h.at(param!), h.at(m!), h.at(v!), h.at(grad!),
      n(a["beta1"]), n(a["oneMinusBeta1"]), n(a["beta2"]), n(a["oneMinusBeta2"]), n(a["correction1"]), n(a["correction2"]), n(a["epsilon"]), n(a["lr"]),
      p2.at, m2.at, v2.at)
    return [p2.info, m2.info, v2.info]
  })
]

/** Run one of the kernels on the current backend (one where `ready` is true); on the gradient tape when it has a gradient. */
const run = (name: string, inputs: tf.NamedTensorMap, attrs: Attrs = {}): tf.Tensor | Array<tf.Tensor> => {
  register()
  return tf.engine().runKernel(name, inputs, attrs)
}

/** `run` for a kernel with one output. */
export const one = (name: string, inputs: tf.NamedTensorMap, attrs?: Attrs): tf.Tensor => run(name, inputs, attrs) as tf.Tensor

/** `run` for a kernel with several outputs, in the order its entry in `configs` lists them. */
export const all = (name: string, inputs: tf.NamedTensorMap, attrs?: Attrs): Array<tf.Tensor> => run(name, inputs, attrs) as Array<tf.Tensor>

// ---------------------------------------------------------------------------------------
// Gradients of the single-output kernels, registered with TensorFlow.js like its own ops':
// the tape calls an input's gradient only when that input leads to what is differentiated
// (no weight gradient of a frozen layer, no input gradient of the data). The kernels with
// outputs kept only for their gradient (LayerNorm's statistics, GELU's gate, attention's
// probabilities, the log-normalisers) get theirs through tf.customGrad in nodes/models/Ops.ts
// instead: for a registered gradient the tape would build a zero tensor in JavaScript for
// each output without a gradient, every step.

const first = (dy: tf.Tensor | Array<tf.Tensor>): tf.Tensor => (Array.isArray(dy) ? dy[0]! : dy)
const zerosFor = (x: tf.Tensor) => () => tf.zeros(x.shape, "float32")

const matMul = (a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor => one(names.matMul, { a, b }, { transposeA, transposeB })

const gradients: ReadonlyArray<tf.GradConfig> = [
  {
    // C = op(A)·op(B) (+ bias): the three layouts the ops use
    kernelName: names.matMul,
    inputsToSave: ["a", "b"],
    gradFunc: (dy, [a, b], attrs) => {
      const g = first(dy)
      const [ta, tb] = [attrs["transposeA"] === true, attrs["transposeB"] === true]
      const bias = () => one(names.columnSum, { x: g })
      if (!ta && !tb) return { a: () => matMul(g, b!, false, true), b: () => matMul(a!, g, true, false), bias } // dA = dC·Bᵀ, dB = Aᵀ·dC
      if (!ta) return { a: () => matMul(g, b!, false, false), b: () => matMul(g, a!, true, false), bias } // C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A
      if (!tb) return { a: () => matMul(b!, g, false, true), b: () => matMul(a!, g, false, false), bias } // C = Aᵀ·B: dA = B·dCᵀ, dB = A·dC
      throw new InvariantError({ what: `the gradient of ${names.matMul}`, reason: "is not defined with both operands transposed (no op uses it)" })
    }
  },
  { kernelName: names.columnSum, inputsToSave: ["x"], gradFunc: (dy, [x]) => ({ x: () => tf.broadcastTo(first(dy), x!.shape) }) },
  {
    kernelName: names.embedding,
    inputsToSave: ["tokens", "table", "positions"],
    gradFunc: (dy, [tokens, table, positions]) => {
      const [dtable, dpositions] = all(names.embeddingGrad, { dy: first(dy), tokens: tokens! }, { vocab: table!.shape[0]!, length: positions!.shape[0]! })
      return { tokens: zerosFor(tokens!), table: () => dtable!, positions: () => dpositions! }
    }
  },
]

/**
 * The wasm backend's Identity shares its input's data, as the cpu and webgl backends' do,
 * instead of copying it. The gradient tape clones (Identity) every input an op saves for its
 * gradient, each time it records the op: a linear reward model's step copied its 1,125 × 2,048
 * feature matrix twice, ~30% of the model's training time. Tensor data is never written once
 * made (a variable's assign takes the new tensor's data), so a shared copy cannot change.
 */
const sharedIdentity: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: "wasm",
  kernelFunc: ({ inputs, backend }) => {
    const x = inputs["x"]!
    ;(backend as unknown as WasmBackend).incRef(x.dataId)
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
  }
}

/** Register the kernels and their gradients with TensorFlow.js, once (the registries are TensorFlow.js's own). */
const register = (): void => {
  if (tf.getKernel(names.adam, "wasm") !== undefined) return
  for (const config of configs) tf.registerKernel(config)
  for (const config of gradients) tf.registerGradient(config)
  tf.unregisterKernel(tf.Identity, "wasm")
  tf.registerKernel(sharedIdentity)
}

/** Whether the fused kernels compute on the current backend: it is wasm and the module runs on its heap. */
export const ready = (): boolean => {
  if (tf.getBackend() !== "wasm") return false
  register()
  return exportsOf(tf.backend() as unknown as WasmBackend) !== undefined
}

