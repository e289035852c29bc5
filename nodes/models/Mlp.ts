/**
 * A multilayer perceptron: x → tanh(xW₀ + b₀) → … → xWₙ + bₙ with `outputs` units
 * in the last layer — 1 for a reward or value head, K for a policy's logits over K
 * responses, k for an embedding head. `hidden: []` is a linear model. Weights are
 * stored as `l{i}.w` ([in, out]) and `l{i}.b` ([out]); initialisation is
 * N(0, 1/fan_in) from the node's seeded generator.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import type { Random } from "../../dsl/Random.ts"
import { linear } from "./Ops.ts"
import { required, snapshots, toVariable } from "./Tensors.ts"

export interface MlpConfig {
  readonly inputs: number
  readonly hidden: ReadonlyArray<number>
  /** width of the output layer; 1 when absent */
  readonly outputs?: number
}

/** Trainable parameters of an MLP, in layer order. */
export interface Mlp {
  readonly config: MlpConfig
  readonly layers: ReadonlyArray<{ readonly w: tf.Variable; readonly b: tf.Variable }>
}

const sizes = (config: MlpConfig): Array<number> => [config.inputs, ...config.hidden, config.outputs ?? 1]

/** The `hidden` config of a one-hidden-layer MLP of `units` units; 0 units is a linear model. */
export const hiddenLayers = (units: number): ReadonlyArray<number> => (units === 0 ? [] : [units])

/** A freshly initialised MLP. */
export const init = (config: MlpConfig, rng: Random): Mlp => {
  const dims = sizes(config)
  const layers = dims.slice(0, -1).map((fanIn, i) => {
    const fanOut = dims[i + 1]!
    const w = Float32Array.from({ length: fanIn * fanOut }, () => rng.normal() / Math.sqrt(fanIn))
    return tf.tidy(() => ({ w: tf.variable(tf.tensor2d(w, [fanIn, fanOut])), b: tf.variable(tf.zeros([fanOut])) }))
  })
  return { config, layers }
}

/** Outputs for a batch of inputs. x: [B, inputs] → [B, outputs] */
export const forward = (mlp: Mlp, x: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    let h: tf.Tensor2D = x
    mlp.layers.forEach(({ w, b }, i) => {
      h = linear(h, w, b) as tf.Tensor2D
      if (i < mlp.layers.length - 1) h = tf.tanh(h)
    })
    return h
  })

/** The scalar output of a one-output MLP (reward or value head). x: [B, inputs] → [B] */
export const score = (mlp: Mlp, x: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => tf.reshape(forward(mlp, x), [-1]) as tf.Tensor1D) // [B, 1] → [B]

/** Σ of squared weights (biases excluded), for an L2 penalty. → scalar */
export const weightNorm = (mlp: Mlp): tf.Scalar =>
  tf.tidy(() => tf.addN(mlp.layers.map(({ w }) => tf.sum(tf.square(w)))) as tf.Scalar)

/** The trainable variables by name (`l0.w`, `l0.b`, ...), for the optimizer and checkpoints. */
export const variables = (mlp: Mlp): Record<string, tf.Variable> =>
  Object.fromEntries(mlp.layers.flatMap(({ w, b }, i) => [[`l${i}.w`, w], [`l${i}.b`, b]]))

/** Copy the weights out of TensorFlow.js into a model artifact value. */
export const toModel = (mlp: Mlp): ModelValue => ({
  config: { architecture: "mlp", inputs: mlp.config.inputs, hidden: [...mlp.config.hidden], outputs: mlp.config.outputs ?? 1 },
  tensors: snapshots(variables(mlp))
})

/** Load an MLP from a model artifact value. */
export const fromModel = (model: ModelValue): Mlp => {
  const { architecture: _, ...config } = model.config as unknown as MlpConfig & { readonly architecture: string }
  const layers = sizes(config).slice(0, -1).map((_, i) => {
    const tensor = (name: string) => toVariable(required(model.tensors, name), false)
    return { w: tensor(`l${i}.w`), b: tensor(`l${i}.b`) }
  })
  return { config, layers }
}

/** Free the MLP's variables. */
export const dispose = (mlp: Mlp): void => mlp.layers.forEach(({ w, b }) => tf.dispose([w, b]))
