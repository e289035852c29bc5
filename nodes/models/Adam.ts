/**
 * Adam (Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980), with its state held
 * explicitly so a checkpoint restores it exactly:
 *
 *   m ← β₁m + (1−β₁)g      v ← β₂v + (1−β₂)g²
 *   θ ← θ − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
 *
 * The bias corrections are computed from the step count t in double precision, so a
 * resumed run does exactly what an uninterrupted one does. Each variable's update is
 * `Ops.current().adam`: on the wasm backend one fused kernel (nodes/models/kernels/kernels.c
 * `adam`) doing the composition's float32 operations in its order: the same bits, without
 * ten kernel launches.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { Tensor } from "../../dsl/Artifact.ts"
import { InvariantError } from "../../dsl/Errors.ts"
import * as Ops from "./Ops.ts"
import { assignFrom, snapshot } from "./Tensors.ts"

export interface AdamOptions {
  readonly lr: number
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
}

/** Adam's state for a fixed, named set of variables. */
export interface Adam {
  readonly options: Required<AdamOptions>
  readonly names: ReadonlyArray<string>
  readonly m: ReadonlyArray<tf.Variable>
  readonly v: ReadonlyArray<tf.Variable>
  t: number
}

/** A fresh optimizer for `variables` (names fix the order of its state). */
export const make = (variables: Readonly<Record<string, tf.Variable>>, options: AdamOptions): Adam => {
  const names = Object.keys(variables).sort()
  const zeros = () => names.map((name) => tf.variable(tf.zerosLike(variables[name]!), false))
  return {
    options: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, ...options },
    names,
    m: zeros(),
    v: zeros(),
    t: 0
  }
}

/** One update of `variables` with `grads` (same names). */
export const apply = (
  adam: Adam,
  variables: Readonly<Record<string, tf.Variable>>,
  grads: Readonly<Record<string, tf.Tensor>>
): void => {
  adam.t += 1
  const { lr, beta1, beta2, epsilon } = adam.options
  const correction1 = 1 - beta1 ** adam.t
  const correction2 = 1 - beta2 ** adam.t
  const ops = Ops.current()
  tf.tidy(() => {
    adam.names.forEach((name, i) => {
      const g = grads[name]
      if (g === undefined) return
      const [m, v, variable] = [adam.m[i]!, adam.v[i]!, variables[name]!]
      const [param, m2, v2] = ops.adam(variable, m, v, g, { lr, beta1, beta2, epsilon, correction1, correction2 })
      m.assign(m2)
      v.assign(v2)
      variable.assign(param)
    })
  })
}

/** The optimizer's tensors, for a checkpoint. */
export const tensors = (adam: Adam): Record<string, Tensor> =>
  Object.fromEntries(
    adam.names.flatMap((name, i) => [
      [`adam.m.${name}`, snapshot(adam.m[i]!)],
      [`adam.v.${name}`, snapshot(adam.v[i]!)]
    ])
  )

/** Restore the optimizer from a checkpoint's tensors and step count. */
export const restore = (adam: Adam, saved: Readonly<Record<string, Tensor>>, t: number): void => {
  adam.t = t
  adam.names.forEach((name, i) => {
    for (const [moment, variable] of [["m", adam.m[i]!], ["v", adam.v[i]!]] as const) {
      const tensor = saved[`adam.${moment}.${name}`]
      if (tensor === undefined) throw new InvariantError({ what: "checkpoint", reason: `has no optimizer state for "${name}"` })
      assignFrom(variable, tensor)
    }
  })
}

/** Free the optimizer's state. */
export const dispose = (adam: Adam): void => tf.dispose([...adam.m, ...adam.v])
