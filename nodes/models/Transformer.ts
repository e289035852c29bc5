/**
 * A tiny causal transformer language model (GPT-2 style, pre-LayerNorm; Radford et
 * al., 2019, "Language Models are Unsupervised Multitask Learners"; layout after
 * nanoGPT): token and position embeddings, `layers` blocks of causal multi-head
 * self-attention and a GELU MLP, a final LayerNorm, and an LM head tied to the token
 * embedding. Optional linear heads on the final hidden state: `value` (one value per
 * position, for PPO), `reward` (a scalar per sequence, read at its last token) and
 * `embedding` (a vector per sequence, for preference-embedding reward models).
 *
 * Initialisation: N(0, 0.02) for weights, with the residual output projections
 * scaled by 1/√(2·layers) (GPT-2), drawn from the node's seeded generator.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { ArgumentError, InvariantError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"
import * as Ops from "./Ops.ts"
import * as Sampling from "./Sampling.ts"
import { required, snapshots, toVariable } from "./Tensors.ts"

export interface TransformerConfig {
  readonly vocab: number
  /** maximum sequence length (positions) */
  readonly length: number
  /** model width d */
  readonly width: number
  readonly layers: number
  readonly heads: number
  /** extra linear heads on the final hidden state */
  readonly valueHead?: boolean
  readonly rewardHead?: boolean
  /** size of the embedding head; 0 or absent for none */
  readonly embeddingHead?: number
}

/** The model's variables by name, plus its config. */
export interface Transformer {
  readonly config: TransformerConfig
  readonly variables: Readonly<Record<string, tf.Variable>>
}

/** Check a config's invariants where it is made. */
export const validate = (config: TransformerConfig): TransformerConfig => {
  const positive = ["vocab", "length", "width", "layers", "heads"] as const
  for (const field of positive) {
    if (!Number.isInteger(config[field]) || config[field] < 1) {
      throw new ArgumentError({ function: "Transformer.validate", argument: field, reason: `must be a positive integer, got ${config[field]}` })
    }
  }
  if (config.width % config.heads !== 0) {
    throw new ArgumentError({ function: "Transformer.validate", argument: "width", reason: `${config.width} is not divisible by heads ${config.heads}` })
  }
  return config
}

const shapes = (config: TransformerConfig): Array<[string, ReadonlyArray<number>, "normal" | "residual" | "zeros" | "ones"]> => {
  const { vocab, length, width: d, layers } = config
  const out: Array<[string, ReadonlyArray<number>, "normal" | "residual" | "zeros" | "ones"]> = [
    ["tok", [vocab, d], "normal"],
    ["pos", [length, d], "normal"]
  ]
  for (let l = 0; l < layers; l++) {
    out.push(
      [`h${l}.ln1.g`, [d], "ones"], [`h${l}.ln1.b`, [d], "zeros"],
      [`h${l}.attn.wqkv`, [d, 3 * d], "normal"], [`h${l}.attn.bqkv`, [3 * d], "zeros"],
      [`h${l}.attn.wo`, [d, d], "residual"], [`h${l}.attn.bo`, [d], "zeros"],
      [`h${l}.ln2.g`, [d], "ones"], [`h${l}.ln2.b`, [d], "zeros"],
      [`h${l}.mlp.w1`, [d, 4 * d], "normal"], [`h${l}.mlp.b1`, [4 * d], "zeros"],
      [`h${l}.mlp.w2`, [4 * d, d], "residual"], [`h${l}.mlp.b2`, [d], "zeros"]
    )
  }
  out.push(["lnf.g", [d], "ones"], ["lnf.b", [d], "zeros"])
  if (config.valueHead === true) out.push(["value.w", [d, 1], "normal"], ["value.b", [1], "zeros"])
  if (config.rewardHead === true) out.push(["reward.w", [d, 1], "normal"], ["reward.b", [1], "zeros"])
  if ((config.embeddingHead ?? 0) > 0) out.push(["embedding.w", [d, config.embeddingHead!], "normal"], ["embedding.b", [config.embeddingHead!], "zeros"])
  return out
}

/** A freshly initialised model. */
export const init = (config: TransformerConfig, rng: Random): Transformer => {
  validate(config)
  const residualScale = 0.02 / Math.sqrt(2 * config.layers)
  const variables: Record<string, tf.Variable> = {}
  for (const [name, shape, kind] of shapes(config)) {
    const size = shape.reduce((a, b) => a * b, 1)
    const data = kind === "zeros"
      ? new Float32Array(size)
      : kind === "ones"
      ? new Float32Array(size).fill(1)
      : Float32Array.from({ length: size }, () => rng.normal() * (kind === "residual" ? residualScale : 0.02))
    variables[name] = tf.tidy(() => tf.variable(tf.tensor(data, [...shape])))
  }
  return { config, variables }
}

/** The model's forward passes computed with `ops` (`Ops.current()` for the exports below). */
export const computedWith = (ops: Ops.TensorOps) => {
  /** Final hidden states. tokens: [B, T] int32 → [B, T, d] */
  const hidden = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor3D =>
    tf.tidy(() => {
      const v = model.variables
      const T = tokens.shape[1]
      const { heads: H, layers, length } = model.config
      if (T > length) throw new ArgumentError({ function: "Transformer.hidden", argument: "tokens", reason: `have length ${T}, which exceeds the model's ${length} positions` })
      let x: tf.Tensor = ops.embedding(tokens, v["tok"]! as tf.Tensor2D, v["pos"]! as tf.Tensor2D) // [B, T, d]
      for (let l = 0; l < layers; l++) {
        const p = `h${l}`
        const qkv = ops.linear(ops.layerNorm(x, v[`${p}.ln1.g`]!, v[`${p}.ln1.b`]!), v[`${p}.attn.wqkv`]!, v[`${p}.attn.bqkv`]!) // [B, T, 3d]
        const attended = ops.causalSelfAttention(qkv as tf.Tensor3D, H) // [B, T, d]
        x = tf.add(x, ops.linear(attended, v[`${p}.attn.wo`]!, v[`${p}.attn.bo`]!))
        const h = ops.gelu(ops.linear(ops.layerNorm(x, v[`${p}.ln2.g`]!, v[`${p}.ln2.b`]!), v[`${p}.mlp.w1`]!, v[`${p}.mlp.b1`]!))
        x = tf.add(x, ops.linear(h, v[`${p}.mlp.w2`]!, v[`${p}.mlp.b2`]!))
      }
      return ops.layerNorm(x, v["lnf.g"]!, v["lnf.b"]!) as tf.Tensor3D
    })

  /** Next-token logits at every position. tokens: [B, T] → [B, T, V] */
  const logits = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor3D =>
    tf.tidy(() => {
      const h = hidden(model, tokens)
      const [B, T, d] = h.shape
      // tied LM head: h · tokᵀ
      const head = ops.matMul(tf.reshape(h, [B * T, d]) as tf.Tensor2D, model.variables["tok"]! as tf.Tensor2D, true) // [B·T, V]
      return tf.reshape(head, [B, T, model.config.vocab]) as tf.Tensor3D // [B, T, V]
    })

  /**
   * Log-probabilities the model gives each token of `tokens` after the first, per token
   * and summed over the positions where `mask` is 1 (e.g. the response tokens).
   * tokens: [B, T], mask: [B, T] (position t counts token t; mask[:, 0] is ignored)
   * → perToken [B, T−1] (log p(tokens[t] | tokens[<t]) for t = 1..T−1), summed [B]
   */
  const logProbs = (
    model: Transformer,
    tokens: tf.Tensor2D,
    mask?: tf.Tensor2D
  ): { readonly perToken: tf.Tensor2D; readonly summed: tf.Tensor1D } =>
    tf.tidy(() => {
      const [B, T] = tokens.shape
      const perToken = ops.nextTokenLogProbs(logits(model, tokens), tokens) // [B, T−1]
      const weights = mask === undefined ? tf.onesLike(perToken) : tf.cast(tf.slice(mask, [0, 1], [B, T - 1]), "float32")
      return { perToken, summed: tf.sum(tf.mul(perToken, weights), -1) as tf.Tensor1D }
    })

  return { hidden, logits, logProbs }
}

/** Final hidden states. tokens: [B, T] int32 → [B, T, d] */
export const hidden = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor3D => computedWith(Ops.current()).hidden(model, tokens)

/** Next-token logits at every position. tokens: [B, T] → [B, T, V] */
export const logits = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor3D => computedWith(Ops.current()).logits(model, tokens)

/**
 * Log-probabilities the model gives each token of `tokens` after the first, per token
 * and summed over the positions where `mask` is 1 (e.g. the response tokens).
 * tokens: [B, T], mask: [B, T] (position t counts token t; mask[:, 0] is ignored)
 * → perToken [B, T−1] (log p(tokens[t] | tokens[<t]) for t = 1..T−1), summed [B]
 */
export const logProbs = (
  model: Transformer,
  tokens: tf.Tensor2D,
  mask?: tf.Tensor2D
): { readonly perToken: tf.Tensor2D; readonly summed: tf.Tensor1D } => computedWith(Ops.current()).logProbs(model, tokens, mask)

/** Per-position values from the value head. tokens: [B, T] → [B, T] */
export const values = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const w = model.variables["value.w"]
    if (w === undefined) throw new ArgumentError({ function: "Transformer.values", argument: "model", reason: "has no value head (config.valueHead)" })
    return tf.squeeze(Ops.linear(hidden(model, tokens), w, model.variables["value.b"]!), [-1]) as tf.Tensor2D
  })

const lastHidden = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor2D => {
  const h = hidden(model, tokens)
  const [B, T, d] = h.shape
  return tf.reshape(tf.slice(h, [0, T - 1, 0], [B, 1, d]), [B, d]) // [B, d]
}

/** A scalar reward per sequence, read from the reward head at its last token. tokens: [B, T] → [B] */
export const reward = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor1D =>
  tf.tidy(() => {
    const w = model.variables["reward.w"]
    if (w === undefined) throw new ArgumentError({ function: "Transformer.reward", argument: "model", reason: "has no reward head (config.rewardHead)" })
    return tf.reshape(Ops.linear(lastHidden(model, tokens), w, model.variables["reward.b"]!), [-1]) as tf.Tensor1D
  })

/** A preference embedding per sequence from the embedding head. tokens: [B, T] → [B, k] */
export const embedding = (model: Transformer, tokens: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const w = model.variables["embedding.w"]
    if (w === undefined) throw new ArgumentError({ function: "Transformer.embedding", argument: "model", reason: "has no embedding head (config.embeddingHead)" })
    return Ops.linear(lastHidden(model, tokens), w, model.variables["embedding.b"]!) as tf.Tensor2D
  })

export interface SampleOptions extends Sampling.Options {
  /** tokens to generate after each prompt */
  readonly tokens: number
}

/**
 * Continue each prompt by `options.tokens` sampled tokens (greedy when temperature is
 * 0). Returns the full sequences and the log-probability of each generated token
 * under the model (temperature 1, no top-k: the policy's own probabilities).
 * prompts: number[B][P] → sequences number[B][P + tokens], logProbs number[B][tokens]
 */
export const sample = (
  model: Transformer,
  prompts: ReadonlyArray<ReadonlyArray<number>>,
  options: SampleOptions,
  rng: Random,
  /** called after each generated token (e.g. `ctx.progress`) */
  onToken?: (progress: { readonly step: number; readonly total: number }) => void
): { readonly sequences: Array<Array<number>>; readonly logProbs: Array<Array<number>> } => {
  const sequences = prompts.map((p) => [...p])
  const logProbs: Array<Array<number>> = prompts.map(() => [])
  const V = model.config.vocab
  for (let step = 0; step < options.tokens; step++) {
    const T = sequences[0]!.length
    const last = tf.tidy(() => {
      const all = logits(model, tf.tensor2d(sequences.flat(), [sequences.length, T], "int32"))
      return tf.reshape(tf.slice(all, [0, T - 1, 0], [sequences.length, 1, V]), [sequences.length, V])
    })
    const rows = last.dataSync()
    last.dispose()
    sequences.forEach((sequence, b) => {
      const row = rows.subarray(b * V, (b + 1) * V)
      const token = Sampling.draw(row, options, rng)
      logProbs[b]!.push(Sampling.logSoftmaxAt(row, token))
      sequence.push(token)
    })
    onToken?.({ step: step + 1, total: options.tokens })
  }
  return { sequences, logProbs }
}

/** The model as a model artifact value. */
export const toModel = (model: Transformer): ModelValue => ({
  config: { architecture: "transformer", ...model.config },
  tensors: snapshots(model.variables)
})

/** Load a model artifact value written by `toModel`. */
export const fromModel = (value: ModelValue): Transformer => {
  const { architecture: _, ...config } = value.config as unknown as TransformerConfig & { architecture: string }
  validate(config)
  const variables: Record<string, tf.Variable> = {}
  for (const [name, shape] of shapes(config)) {
    const t = required(value.tensors, name, "transformer model")
    if (t.shape.join() !== shape.join()) throw new InvariantError({ what: `transformer tensor "${name}"`, reason: `has shape [${t.shape}], expected [${shape}]` })
    variables[name] = toVariable(t)
  }
  return { config, variables }
}

/** Free the model's variables. */
export const dispose = (model: Transformer): void => tf.dispose(Object.values(model.variables))
