/**
 * Tensor ops the models share, in two implementations with the same mathematics:
 *
 * - `fused`: single-pass kernels written for the wasm backend (nodes/models/kernels/,
 *   formulas and references in kernels.c), each forward and each gradient one kernel,
 *   matrix products reading transposes through strides;
 * - `composed`: the same ops composed from TensorFlow.js's own, for every other backend.
 *   Its matMul takes gradients as explicit transposes followed by plain products: TF.js's
 *   matMul with transpose flags is 13–26× slower on the wasm backend (docs/performance.md).
 *
 * `current()` is `fused` on the wasm backend where its kernels run, else `composed`: the one
 * place that chooses. The transformer, Adam and the plain `linear` (for the MLPs) use it.
 *
 * Formulas: LayerNorm (Ba et al., 2016, https://arxiv.org/abs/1607.06450): (x − μ)/√(σ² + ε)·γ + β.
 * GELU, tanh approximation (Hendrycks & Gimpel, 2016, https://arxiv.org/abs/1606.08415):
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). Causal self-attention (Vaswani et al., 2017,
 * https://arxiv.org/abs/1706.03762): softmax(QKᵀ/√dh + mask)·V per head. Adam's update
 * (Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980): as written in nodes/models/Adam.ts.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Kernels from "./kernels/Kernels.ts"

export interface TensorOps {
  /** a · b (b transposed when `transposeB`). a: [m, k], b: [k, n] (or [n, k]) → [m, n] */
  readonly matMul: (a: tf.Tensor2D, b: tf.Tensor2D, transposeB?: boolean) => tf.Tensor2D
  /** x · w + b over the last axis. x: [..., n], w: [n, m], b: [m] → [..., m] */
  readonly linear: (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor
  /** GELU, element-wise */
  readonly gelu: (x: tf.Tensor) => tf.Tensor
  /** LayerNorm over the last axis, ε = 1e-5. x: [..., d], gamma, beta: [d] → [..., d] */
  readonly layerNorm: (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor
  /**
   * Causal multi-head self-attention from a fused projection: q, k and v side by side on the
   * last axis, head h at columns h·dh..(h+1)·dh of each. qkv: [B, T, 3d] → [B, T, d]
   */
  readonly causalSelfAttention: (qkv: tf.Tensor3D, heads: number) => tf.Tensor3D
  /** table[tokens] + positions[0..T). tokens: [B, T] int32, table: [V, d], positions: [L ≥ T, d] → [B, T, d] */
  readonly embedding: (tokens: tf.Tensor2D, table: tf.Tensor2D, positions: tf.Tensor2D) => tf.Tensor3D
  /**
   * log p(tokens[:, t + 1]) under softmax(logits[:, t]) for t < T − 1; 0 for a token
   * outside [0, V). logits: [B, T, V], tokens: [B, T] int32 → [B, T − 1]
   */
  readonly nextTokenLogProbs: (logits: tf.Tensor3D, tokens: tf.Tensor2D) => tf.Tensor2D
  /** One Adam step of a variable (formula and reference: nodes/models/Adam.ts). param, m, v, grad (one shape) → [param', m', v'] */
  readonly adam: (param: tf.Tensor, m: tf.Tensor, v: tf.Tensor, grad: tf.Tensor, step: AdamStep) => readonly [tf.Tensor, tf.Tensor, tf.Tensor]
}

/** Adam's hyperparameters for one step, with the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ of its step count t. */
export interface AdamStep {
  readonly lr: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  readonly correction1: number
  readonly correction2: number
}

// ---------------------------------------------------------------------------------------
// composed: TensorFlow.js's own ops

/** a · b with gradients dA = dY · bᵀ and dB = aᵀ · dY computed as transpose-then-multiply. a: [m, k], b: [k, n] → [m, n] */
const productExplicitTransposes: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(
  (...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc]
    save([a, b])
    return {
      value: tf.matMul(a, b),
      gradFunc: (dy: tf.Tensor, saved: Array<tf.Tensor>) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D]
        return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)]
      }
    }
  }
) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D

const composedMatMul = (a: tf.Tensor2D, b: tf.Tensor2D, transposeB = false): tf.Tensor2D =>
  productExplicitTransposes(a, transposeB ? tf.transpose(b) : b)

export const composed: TensorOps = {
  matMul: composedMatMul,
  linear: (x, w, b) => {
    const shape = x.shape
    const flat = tf.reshape(x, [-1, shape.at(-1)!]) as tf.Tensor2D // [N, n]
    return tf.reshape(tf.add(composedMatMul(flat, w as tf.Tensor2D), b), [...shape.slice(0, -1), w.shape[1]!]) // [..., m]
  },
  // x·x·x rather than pow(x, 3): the wasm Pow kernel is ~50× slower than two multiplies.
  gelu: (x) =>
    tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x))))))),
  layerNorm: (x, gamma, beta) => {
    const { mean, variance } = tf.moments(x, -1, true)
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5))), gamma), beta)
  },
  causalSelfAttention: (qkv, heads) => {
    const [B, T, d3] = qkv.shape
    const d = d3 / 3
    const dh = d / heads
    // causal mask: position i may attend to j ≤ i; −1e9 above the diagonal
    const mask = tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([T, T]), -1, 0)), -1e9) // [T, T]
    const [q, k, v] = tf.split(qkv, 3, -1).map((t) => tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3])) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D
    ] // each [B, H, T, dh]
    const scores = tf.add(tf.div(tf.matMul(q, k, false, true), Math.sqrt(dh)), mask) // [B, H, T, T]
    const attended = tf.matMul(tf.softmax(scores), v) // [B, H, T, dh]
    return tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [B, T, d]) as tf.Tensor3D // [B, T, d]
  },
  // the lookup as one-hot · table: gather's gradient (UnsortedSegmentSum) has no wasm kernel
  embedding: (tokens, table, positions) => {
    const [B, T] = tokens.shape
    const [V, d] = table.shape
    const oneHot = tf.reshape(tf.oneHot(tf.reshape(tokens, [-1]), V), [B * T, V]) as tf.Tensor2D // [B·T, V]
    const embedded = tf.reshape(composedMatMul(oneHot, table), [B, T, d]) // [B, T, d]
    return tf.add(embedded, tf.slice(positions, [0, 0], [T, d])) as tf.Tensor3D // [B, T, d]
  },
  nextTokenLogProbs: (logits, tokens) => {
    const [B, T, V] = logits.shape
    const logp = tf.logSoftmax(tf.slice(logits, [0, 0, 0], [B, T - 1, V])) // [B, T−1, V]
    const targets = tf.oneHot(tf.slice(tokens, [0, 1], [B, T - 1]), V) // [B, T−1, V]
    return tf.sum(tf.mul(logp, targets), -1) as tf.Tensor2D // [B, T−1]
  },
  adam: (param, m, v, grad, { lr, beta1, beta2, epsilon, correction1, correction2 }) => {
    const m2 = tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1))
    const v2 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(grad), 1 - beta2))
    const step = tf.div(tf.div(m2, correction1), tf.add(tf.sqrt(tf.div(v2, correction2)), epsilon))
    return [tf.sub(param, tf.mul(step, lr)), m2, v2]
  }
}

// ---------------------------------------------------------------------------------------
// fused: kernels.c, each forward and each gradient one kernel (gradients: kernels/Kernels.ts)

const asInt32 = (t: tf.Tensor2D): tf.Tensor2D => (t.dtype === "int32" ? t : tf.cast(t, "int32"))

type Saved = Array<tf.Tensor>
/** tf.customGrad, typed for the ops below: f gets the inputs and `save`, returns the value and the inputs' gradients */
const withGradient = tf.customGrad as (
  f: (...args: Array<tf.Tensor | tf.GradSaveFunc>) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: Saved) => Array<tf.Tensor> }
) => (...inputs: Array<tf.Tensor>) => tf.Tensor

// the kernels with outputs kept for their gradient (see kernels/Kernels.ts on why these use customGrad)

/** x [..., d], gamma, beta [d] → [..., d]; keeps x, γ and each row's mean and σ */
const fusedLayerNorm = withGradient((x, gamma, beta, save) => {
  const [y, mean, std] = Kernels.all(Kernels.names.layerNorm, { x: x as tf.Tensor, gamma: gamma as tf.Tensor, beta: beta as tf.Tensor }, { epsilon: 1e-5 })
  ;(save as tf.GradSaveFunc)([x as tf.Tensor, gamma as tf.Tensor, mean!, std!])
  return { value: y!, gradFunc: (dy, [sx, sg, sm, ss]) => Kernels.all(Kernels.names.layerNormGrad, { dy, x: sx!, gamma: sg!, mean: sm!, std: ss! }) }
})

/** keeps x and its gate σ(2z) */
const fusedGelu = withGradient((x, save) => {
  const [y, gate] = Kernels.all(Kernels.names.gelu, { x: x as tf.Tensor })
  ;(save as tf.GradSaveFunc)([x as tf.Tensor, gate!])
  return { value: y!, gradFunc: (dy, [sx, sg]) => [Kernels.one(Kernels.names.geluGrad, { dy, x: sx!, gate: sg! })] }
})

export const fused: TensorOps = {
  matMul: (a, b, transposeB = false) => Kernels.one(Kernels.names.matMul, { a, b }, { transposeA: false, transposeB }) as tf.Tensor2D,
  // the product's leading axes are x's: [..., n] → [..., m], no reshape
  linear: (x, w, b) => Kernels.one(Kernels.names.matMul, { a: x, b: w, bias: b }, { transposeA: false, transposeB: false }),
  gelu: (x) => fusedGelu(x),
  layerNorm: (x, gamma, beta) => fusedLayerNorm(x, gamma, beta),
  // keeps qkv and the attention probabilities
  causalSelfAttention: (qkv, heads) =>
    withGradient((x, save) => {
      const [out, probs] = Kernels.all(Kernels.names.attention, { qkv: x as tf.Tensor }, { heads })
      ;(save as tf.GradSaveFunc)([x as tf.Tensor, probs!])
      return { value: out!, gradFunc: (dy, [sq, sp]) => [Kernels.one(Kernels.names.attentionGrad, { dy, qkv: sq!, probs: sp! }, { heads })] }
    })(qkv) as tf.Tensor3D,
  embedding: (tokens, table, positions) => Kernels.one(Kernels.names.embedding, { tokens: asInt32(tokens), table, positions }) as tf.Tensor3D,
  // keeps the logits, the tokens and each row's log-normaliser; the tokens' gradient is zeros
  nextTokenLogProbs: (logits, tokens) =>
    withGradient((l, ids, save) => {
      const [out, lse] = Kernels.all(Kernels.names.tokenLogProbs, { logits: l as tf.Tensor, tokens: ids as tf.Tensor })
      ;(save as tf.GradSaveFunc)([l as tf.Tensor, ids as tf.Tensor, lse!])
      return {
        value: out!,
        gradFunc: (dy, [sl, si, ss]) => [Kernels.one(Kernels.names.tokenLogProbsGrad, { dy, logits: sl!, tokens: si!, lse: ss! }), tf.zeros(si!.shape)]
      }
    })(logits, asInt32(tokens)) as tf.Tensor2D,
  adam: (param, m, v, grad, { lr, beta1, beta2, epsilon, correction1, correction2 }) => {
    const attrs = { beta1, oneMinusBeta1: 1 - beta1, beta2, oneMinusBeta2: 1 - beta2, correction1, correction2, epsilon, lr }
    const [param2, m2, v2] = Kernels.all(Kernels.names.adam, { param, m, v, grad }, attrs)
    return [param2!, m2!, v2!]
  }
}

/** The ops for the current backend: `fused` where its kernels run, else `composed`. */
export const current = (): TensorOps => (Kernels.ready() ? fused : composed)

/** x · w + b over the last axis. x: [..., n], w: [n, m], b: [m] → [..., m] */
export const linear = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor => current().linear(x, w, b)
