/**
 * Tensor ops the models share, written for the speed of TensorFlow.js's WebAssembly
 * backend. Its matMul is fast (XNNPACK) only without transpose flags; with them it
 * falls back to a loop 13–26× slower (measured in bench/tensors.ts, see
 * docs/performance.md). `matMul` therefore takes its gradients with explicit
 * transposes followed by plain products.
 */
import * as tf from "@tensorflow/tfjs-core"

/**
 * a · b for 2-D tensors, with gradients dA = dY · bᵀ and dB = aᵀ · dY computed as
 * transpose-then-multiply. a: [m, k], b: [k, n] → [m, n]
 */
export const matMul: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D = tf.customGrad(
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

/** x · w + b over the last axis. x: [..., n], w: [n, m], b: [m] → [..., m] */
export const linear = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor => {
  const shape = x.shape
  const flat = tf.reshape(x, [-1, shape.at(-1)!]) as tf.Tensor2D // [N, n]
  return tf.reshape(tf.add(matMul(flat, w as tf.Tensor2D), b), [...shape.slice(0, -1), w.shape[1]!])
}

// GELU, tanh approximation (Hendrycks & Gimpel, 2016): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
// x·x·x rather than pow(x, 3): the wasm Pow kernel is ~50× slower than two multiplies.
export const gelu = (x: tf.Tensor): tf.Tensor =>
  tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.mul(tf.mul(x, x), x)))))))
