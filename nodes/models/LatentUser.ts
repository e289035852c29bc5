/**
 * A latent-user reward model after Variational Preference Learning (Poddar et al.,
 * 2024, https://arxiv.org/abs/2408.10075). An encoder maps a user's few labelled
 * pairs to a Gaussian posterior over a latent z:
 *
 *   h = mean over context pairs of tanh(W_e (x_c − x_r) + b_e)
 *   μ = W_μ h + b_μ,  log σ² = W_σ h + b_σ
 *
 * and the reward r(x, z) is an MLP over [x, z]. Training maximises the Bradley–Terry
 * likelihood of the user's other pairs under z ~ q(z | context) minus
 * β·KL(q ‖ N(0, I)); scoring uses z = μ.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import type { Random } from "../../dsl/Random.ts"
import * as Mlp from "./Mlp.ts"
import { prefixed, required, snapshots, toVariable, unprefixed } from "./Tensors.ts"

export interface LatentUserConfig {
  readonly inputs: number
  readonly latent: number
  readonly hidden: number
  /** pairs per user that form the context */
  readonly context: number
}

export interface LatentUser {
  readonly config: LatentUserConfig
  readonly encoder: Readonly<Record<"we" | "be" | "wmu" | "bmu" | "wlv" | "blv", tf.Variable>>
  readonly reward: Mlp.Mlp
}

const gaussian = (rng: Random, rows: number, cols: number) =>
  tf.tensor2d(Float32Array.from({ length: rows * cols }, () => rng.normal() / Math.sqrt(rows)), [rows, cols])

export const init = (config: LatentUserConfig, rng: Random): LatentUser => {
  const { inputs: d, latent: k, hidden: h } = config
  const encoder = tf.tidy(() => ({
    we: tf.variable(gaussian(rng, d, h)),
    be: tf.variable(tf.zeros([h])),
    wmu: tf.variable(gaussian(rng, h, k)),
    bmu: tf.variable(tf.zeros([k])),
    wlv: tf.variable(tf.mul(gaussian(rng, h, k), 0.01)),
    blv: tf.variable(tf.fill([k], -2))
  }))
  return { config, encoder, reward: Mlp.init({ inputs: d + k, hidden: [h] }, rng.split("reward")) }
}

/** Named variables, for the optimizer and checkpoints. */
export const variables = (model: LatentUser): Record<string, tf.Variable> => ({
  ...prefixed("enc.", model.encoder),
  ...prefixed("rew.", Mlp.variables(model.reward))
})

/** Posterior of each user's latent from their context pairs. chosen, rejected: [U, C, d] → μ, log σ²: [U, k] */
export const encode = (model: LatentUser, chosen: tf.Tensor3D, rejected: tf.Tensor3D): { mu: tf.Tensor2D; logvar: tf.Tensor2D } => {
  const [U, C, d] = chosen.shape
  const e = model.encoder
  const diff = tf.reshape(tf.sub(chosen, rejected), [U * C, d]) // [U·C, d]
  const pooled = tf.mean(tf.reshape(tf.tanh(tf.add(tf.matMul(diff as tf.Tensor2D, e.we as tf.Tensor2D), e.be)), [U, C, -1]), 1) as tf.Tensor2D // [U, h]
  return {
    mu: tf.add(tf.matMul(pooled, e.wmu as tf.Tensor2D), e.bmu) as tf.Tensor2D,
    logvar: tf.add(tf.matMul(pooled, e.wlv as tf.Tensor2D), e.blv) as tf.Tensor2D
  }
}

/** Rewards of items under per-user latents. x: [U, T, d], z: [U, k] → [U, T] */
export const rewards = (model: LatentUser, x: tf.Tensor3D, z: tf.Tensor2D): tf.Tensor2D => {
  const [U, T, d] = x.shape
  const k = z.shape[1]
  const zs = tf.tile(tf.reshape(z, [U, 1, k]), [1, T, 1]) // [U, T, k]
  const joined = tf.reshape(tf.concat([x, zs], 2), [U * T, d + k]) as tf.Tensor2D // [U·T, d + k]
  return tf.reshape(Mlp.score(model.reward, joined), [U, T]) as tf.Tensor2D
}

/**
 * The reward under one latent z as a plain MLP over x: the first layer's input is [x, z], so
 *   tanh([x, z]·W₀ + b₀) = tanh(x·W₀[:d] + (z·W₀[d:] + b₀))
 * keeps the x rows of W₀ and folds z into the bias; later layers are copied. z: [k]
 */
export const conditioned = (model: LatentUser, z: ReadonlyArray<number>): Mlp.Mlp => {
  const { inputs: d, latent: k, hidden: h } = model.config
  const [first, ...rest] = model.reward.layers
  const layers = tf.tidy(() => [
    {
      w: tf.variable(tf.slice(first!.w, [0, 0], [d, h]), false),
      b: tf.variable(tf.add(first!.b, tf.reshape(tf.matMul(tf.tensor2d([...z], [1, k]), tf.slice(first!.w, [d, 0], [k, h])), [h])), false)
    },
    ...rest.map(({ w, b }) => ({ w: tf.variable(w, false), b: tf.variable(b, false) }))
  ])
  return { config: { inputs: d, hidden: [h] }, layers }
}

/** KL(N(μ, σ²) ‖ N(0, I)) averaged over users. → scalar */
export const kl = (mu: tf.Tensor2D, logvar: tf.Tensor2D): tf.Scalar =>
  tf.mean(tf.mul(0.5, tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logvar)), tf.add(1, logvar)), 1))) as tf.Scalar

export const toModel = (model: LatentUser): ModelValue => ({
  config: { architecture: "latentUser", ...model.config },
  tensors: snapshots(variables(model))
})

export const fromModel = (value: ModelValue): LatentUser => {
  const { architecture: _, ...config } = value.config as unknown as LatentUserConfig & { readonly architecture: string }
  const tensor = (name: string) => toVariable(required(value.tensors, name, "latent-user model"), false)
  const encoder = { we: tensor("enc.we"), be: tensor("enc.be"), wmu: tensor("enc.wmu"), bmu: tensor("enc.bmu"), wlv: tensor("enc.wlv"), blv: tensor("enc.blv") }
  const reward = Mlp.fromModel({
    config: { architecture: "mlp", inputs: config.inputs + config.latent, hidden: [config.hidden], outputs: 1 },
    tensors: unprefixed("rew.", value.tensors)
  })
  return { config, encoder, reward }
}

export const dispose = (model: LatentUser): void => {
  tf.dispose(Object.values(model.encoder))
  Mlp.dispose(model.reward)
}
