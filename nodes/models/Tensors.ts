/**
 * Conversions between TensorFlow.js tensors and variables and the stored tensors of
 * model artifacts and checkpoints (dsl/Artifact.ts `Tensor`: float32, row-major), and
 * the name prefixes that nest one model's tensors in another's (`enc.`, `m0.`, ...).
 */
import * as tf from "@tensorflow/tfjs-core"
import type { Tensor } from "../../dsl/Artifact.ts"
import { InputError, InvariantError } from "../../dsl/Errors.ts"

/** A copy of a tensor's (or variable's) values out of TensorFlow.js. */
export const snapshot = (tensor: tf.Tensor): Tensor => ({ shape: tensor.shape, data: tensor.dataSync() as Float32Array })

/** `snapshot` of each tensor of a record, by the same names in the same order. */
export const snapshots = (tensors: Readonly<Record<string, tf.Tensor>>): Record<string, Tensor> =>
  Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, snapshot(t)]))

/** The stored tensor `name`; fails naming `owner` ("model", "transformer model", ...) when it is absent. */
export const required = (tensors: { readonly [name: string]: Tensor }, name: string, owner = "model"): Tensor => {
  const t = tensors[name]
  if (t === undefined) throw new InvariantError({ what: owner, reason: `has no tensor "${name}"` })
  return t
}

/**
 * Rows of `d` numbers as one float32 tensor, written row by row into its buffer: the values
 * TensorFlow.js makes of the nested arrays, without building them flattened first (for 1,500
 * pairs of 2,048 features, 2.5 s less a conversion). Fails naming `what` when a row is not
 * `d` long. → [rows.length, d]
 */
export const matrix = (rows: ReadonlyArray<ReadonlyArray<number>>, d: number, what: string): tf.Tensor2D => {
  const data = new Float32Array(rows.length * d)
  rows.forEach((row, i) => {
    if (row.length !== d) throw new InputError({ reason: `${what} ${i} has ${row.length} values where the others have ${d}` })
    data.set(row, i * d)
  })
  return tf.tensor2d(data, [rows.length, d])
}

/** A new variable holding a stored tensor's values (`trainable` false for a model only scored). */
export const toVariable = (tensor: Tensor, trainable = true): tf.Variable =>
  tf.tidy(() => tf.variable(tf.tensor(tensor.data, [...tensor.shape]), trainable))

/** Overwrite a variable with a stored tensor's values (restoring a checkpoint). */
export const assignFrom = (variable: tf.Variable, tensor: Tensor): void => tf.tidy(() => variable.assign(tf.tensor(tensor.data, [...tensor.shape])))

/** The entries of `record` with `prefix` put before each name, in the same order. */
export const prefixed = <A>(prefix: string, record: { readonly [name: string]: A }): Record<string, A> =>
  Object.fromEntries(Object.entries(record).map(([name, value]) => [`${prefix}${name}`, value]))

/** The entries of `record` whose names start with `prefix`, with it removed, in the same order. */
export const unprefixed = <A>(prefix: string, record: { readonly [name: string]: A }): Record<string, A> =>
  Object.fromEntries(Object.entries(record).filter(([name]) => name.startsWith(prefix)).map(([name, value]) => [name.slice(prefix.length), value]))
