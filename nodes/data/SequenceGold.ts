/**
 * Gold rewards of sequence tasks, defined for any response so that a policy's new
 * samples can be scored exactly.
 *
 * - `markers`: the number of response tokens that are marker tokens.
 * - `network`: a fixed random network of the prompt and response tokens,
 *   r = v · tanh(Σ_t W[t, y_t] + Σ_s U[s, x_s]) with position-specific token embeddings
 *   W ~ N(0, 1/L) (response), U ~ N(0, 1/L_p) (prompt) of width h and v ~ N(0, 1/h).
 * - `arithmetic`: prompts are "a+b=" with zero-padded D-digit operands; the answer is
 *   a + b as D + 1 zero-padded digits; the reward is the fraction of answer digits
 *   right, position by position (1 exactly when the answer is correct).
 */
import type { Json, ModelValue, Tensor } from "../../dsl/Artifact.ts"
import { InvariantError } from "../../dsl/Errors.ts"
import type { Random } from "../../dsl/Random.ts"

export type Gold =
  | { readonly kind: "markers"; readonly markers: ReadonlyArray<number> }
  | { readonly kind: "network"; readonly hidden: number }
  | { readonly kind: "arithmetic"; readonly digits: number }

export interface SequenceTaskConfig {
  /** token names by id */
  readonly vocab: ReadonlyArray<string>
  readonly promptLength: number
  readonly responseLength: number
  readonly gold: Gold
  /** prompt token ids, by prompt id */
  readonly prompts: ReadonlyArray<ReadonlyArray<number>>
  /** ids of the held-out prompts */
  readonly test: ReadonlyArray<number>
}

/** The vocabulary of arithmetic tasks: the ten digits, "+" and "=". */
export const arithmeticVocab = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "="]
const PLUS = 10
const EQUALS = 11

/** `n` as `width` zero-padded digits in `base` (decimal by default), most significant first. */
export const digitsOf = (n: number, width: number, base = 10): Array<number> =>
  Array.from({ length: width }, (_, i) => Math.floor(n / base ** (width - 1 - i)) % base)

/** The tokens of the prompt "a+b=" with `digits`-digit operands. */
export const arithmeticPrompt = (a: number, b: number, digits: number): Array<number> =>
  [...digitsOf(a, digits), PLUS, ...digitsOf(b, digits), EQUALS]

/** The correct answer tokens to an arithmetic prompt. */
export const arithmeticAnswer = (prompt: ReadonlyArray<number>, digits: number): Array<number> => {
  const value = (tokens: ReadonlyArray<number>) => tokens.reduce((n, t) => n * 10 + t, 0)
  return digitsOf(value(prompt.slice(0, digits)) + value(prompt.slice(digits + 1, 2 * digits + 1)), digits + 1)
}

/** Weights of a random-network gold reward. */
export const networkWeights = (rng: Random, vocab: number, promptLength: number, responseLength: number, hidden: number): Record<string, Tensor> => {
  const gaussian = (n: number, scale: number) => Float32Array.from({ length: n }, () => rng.normal() * scale)
  return {
    "gold.response": { shape: [responseLength * vocab, hidden], data: gaussian(responseLength * vocab * hidden, 1 / Math.sqrt(responseLength)) },
    "gold.prompt": { shape: [promptLength * vocab, hidden], data: gaussian(promptLength * vocab * hidden, 1 / Math.sqrt(promptLength)) },
    "gold.v": { shape: [hidden], data: gaussian(hidden, 1 / Math.sqrt(hidden)) }
  }
}

/** The gold reward of a task as a function of prompt and response tokens. */
export const goldOf = (config: SequenceTaskConfig, tensors: ModelValue["tensors"]): (prompt: ReadonlyArray<number>, response: ReadonlyArray<number>) => number => {
  const gold = config.gold
  switch (gold.kind) {
    case "markers": {
      const markers = new Set(gold.markers)
      return (_, response) => response.reduce((n, t) => n + (markers.has(t) ? 1 : 0), 0)
    }
    case "arithmetic":
      return (prompt, response) => {
        const answer = arithmeticAnswer(prompt, gold.digits)
        return answer.reduce((n, digit, i) => n + (response[i] === digit ? 1 : 0), 0) / answer.length
      }
    case "network": {
      const V = config.vocab.length
      const h = gold.hidden
      const W = tensors["gold.response"]!.data
      const U = tensors["gold.prompt"]!.data
      const v = tensors["gold.v"]!.data
      return (prompt, response) => {
        const pre = new Float64Array(h)
        const add = (table: Float32Array, row: number) => {
          for (let j = 0; j < h; j++) pre[j]! += table[row * h + j]!
        }
        response.forEach((token, t) => add(W, t * V + token))
        prompt.forEach((token, s) => add(U, s * V + token))
        let r = 0
        for (let j = 0; j < h; j++) r += v[j]! * Math.tanh(pre[j]!)
        return r
      }
    }
  }
}

/** True when a model artifact's value is a SequenceTask (its config has vocab, prompts and gold). */
export const isSequenceTask = (value: ModelValue): boolean => {
  const config = value.config
  return Array.isArray(config["vocab"]) && Array.isArray(config["prompts"]) && typeof config["gold"] === "object" && config["gold"] !== null
}

/** Read a SequenceTask artifact's config, checking the fields the nodes rely on. */
export const configOf = (value: ModelValue): SequenceTaskConfig => {
  const config = value.config as unknown as SequenceTaskConfig
  if (!isSequenceTask(value)) {
    throw new InvariantError({ what: "task artifact", reason: "is not a SequenceTask: its config lacks vocab, prompts or gold" })
  }
  return config
}

/** A config as the artifact's JSON. */
export const toJson = (config: SequenceTaskConfig): { readonly [key: string]: Json } => config as unknown as { readonly [key: string]: Json }
