/**
 * A tabular softmax policy over prompts × K candidate responses:
 * π(k | p) = softmax(θ[p])_k with a logit table θ of shape [prompts, K]. The
 * policy of bandit tasks, where optimal and KL-regularised optimal policies are
 * exactly computable.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { ArgumentError, InvariantError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"
import * as Sampling from "./Sampling.ts"

export interface TabularConfig {
  readonly prompts: number
  readonly responses: number
}

export interface TabularPolicy {
  readonly config: TabularConfig
  readonly variables: { readonly logits: tf.Variable }
}

/** A policy with logits N(0, scale²) (scale 0: the uniform policy). */
export const init = (config: TabularConfig, rng: Random, scale = 0): TabularPolicy => {
  if (config.prompts < 1 || config.responses < 1) {
    throw new ArgumentError({ function: "TabularPolicy.init", argument: "config", reason: `needs prompts and responses ≥ 1, got ${config.prompts}×${config.responses}` })
  }
  const data = Float32Array.from({ length: config.prompts * config.responses }, () => (scale === 0 ? 0 : rng.normal() * scale))
  return { config, variables: { logits: tf.tidy(() => tf.variable(tf.tensor2d(data, [config.prompts, config.responses]))) } }
}

/** log π(response | prompt) for each pair. prompts, responses: [B] int32 → [B] */
export const logProbs = (policy: TabularPolicy, prompts: tf.Tensor1D, responses: tf.Tensor1D): tf.Tensor1D =>
  tf.tidy(() => {
    // one-hot · table rather than gather: gather's gradient has no wasm kernel
    const rows = tf.matMul(tf.oneHot(prompts, policy.config.prompts), policy.variables.logits as tf.Tensor2D) // [B, K]
    const logp = tf.logSoftmax(rows) // [B, K]
    return tf.sum(tf.mul(logp, tf.oneHot(responses, policy.config.responses)), -1) as tf.Tensor1D
  })

/** The full table of probabilities π(k | p). → [prompts, K] */
export const probabilities = (policy: TabularPolicy): tf.Tensor2D => tf.tidy(() => tf.softmax(policy.variables.logits) as tf.Tensor2D)

/** Sample a response for each prompt; also returns log π of each sample. */
export const sample = (
  policy: TabularPolicy,
  prompts: ReadonlyArray<number>,
  options: Sampling.Options,
  rng: Random
): { readonly responses: Array<number>; readonly logProbs: Array<number> } => {
  const table = policy.variables.logits.dataSync()
  const K = policy.config.responses
  const responses: Array<number> = []
  const logProbs: Array<number> = []
  for (const p of prompts) {
    const row = table.subarray(p * K, (p + 1) * K)
    const k = Sampling.draw(row, options, rng)
    responses.push(k)
    logProbs.push(Sampling.logSoftmaxAt(row, k))
  }
  return { responses, logProbs }
}

/** The Policy artifact value of a logit table θ given row by row (prompts × K values). */
export const modelOf = (config: TabularConfig, logits: Float32Array): ModelValue => {
  if (logits.length !== config.prompts * config.responses) {
    throw new ArgumentError({
      function: "TabularPolicy.modelOf",
      argument: "logits",
      reason: `must hold ${config.prompts * config.responses} values for a ${config.prompts}×${config.responses} table, got ${logits.length}`
    })
  }
  return {
    config: { architecture: "tabular", ...config },
    tensors: { logits: { shape: [config.prompts, config.responses], data: logits } }
  }
}

export const toModel = (policy: TabularPolicy): ModelValue => modelOf(policy.config, policy.variables.logits.dataSync() as Float32Array)

export const fromModel = (value: ModelValue): TabularPolicy => {
  const { architecture: _, ...config } = value.config as unknown as TabularConfig & { readonly architecture: string }
  const logits = value.tensors["logits"]
  if (logits === undefined) throw new InvariantError({ what: "tabular policy model", reason: `has no "logits" tensor` })
  return { config, variables: { logits: tf.tidy(() => tf.variable(tf.tensor2d(logits.data, [config.prompts, config.responses]))) } }
}

export const dispose = (policy: TabularPolicy): void => policy.variables.logits.dispose()
