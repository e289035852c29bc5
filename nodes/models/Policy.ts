/**
 * Policies as the sampling and evaluation nodes see them: a tabular softmax over a
 * bandit's K responses or a tiny transformer LM continuing a token prompt, loaded from
 * a Policy artifact, with per-token log-probabilities of given responses and sampling.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import type { Progress } from "../../dsl/Node.ts"
import type { Random } from "../../dsl/Random.ts"
import { logSoftmax } from "../data/math.ts"
import type { BanditView, Prompt, SequenceView, TaskView } from "../data/Task.ts"
import { sum } from "../evaluate/math.ts"
import * as Sampling from "./Sampling.ts"
import * as TabularPolicy from "./TabularPolicy.ts"
import { throughputSince } from "./Train.ts"
import * as Transformer from "./Transformer.ts"

export type Loaded = LoadedTabular | LoadedTransformer
export interface LoadedTabular {
  readonly architecture: "tabular"
  readonly model: TabularPolicy.TabularPolicy
}
export interface LoadedTransformer {
  readonly architecture: "transformer"
  readonly model: Transformer.Transformer
}

/** Sequences per forward pass when a transformer scores or samples. */
const chunk = 256

/** Responses a tabular policy draws between progress reports (each chunk reads its logit table once). */
const tabularChunk = 65_536

/** Load a Policy artifact's value; fails naming the architecture when it is not a policy. */
export const load = (value: ModelValue): Loaded => {
  const architecture = value.config["architecture"]
  if (architecture === "tabular") return { architecture, model: TabularPolicy.fromModel(value) }
  if (architecture === "transformer") return { architecture, model: Transformer.fromModel(value) }
  throw new InputError({ reason: `a policy is a tabular or transformer model, not "${String(architecture)}"` })
}

export const dispose = (policy: Loaded): void =>
  policy.architecture === "tabular" ? TabularPolicy.dispose(policy.model) : Transformer.dispose(policy.model)

/** The policy's trainable variables by name (a tabular policy's `logits`, a transformer's weights). */
export const variables = (policy: Loaded): Readonly<Record<string, tf.Variable>> => policy.model.variables

/** The policy as a Policy artifact value (its current weights). */
export const toModel = (policy: Loaded): ModelValue =>
  policy.architecture === "tabular" ? TabularPolicy.toModel(policy.model) : Transformer.toModel(policy.model)

/** Load a policy, use it, and free its tensors however `use` ends. */
export const withLoaded = <A>(value: ModelValue, use: (policy: Loaded) => A): A => {
  const policy = load(value)
  try {
    return use(policy)
  } finally {
    dispose(policy)
  }
}

/**
 * Fail with what differs when the policy cannot act in the task. A policy that fits a
 * bandit is tabular, one that fits a sequence task a transformer: the call narrows it.
 */
export function checkFits(policy: Loaded, task: BanditView, role?: string): asserts policy is LoadedTabular
export function checkFits(policy: Loaded, task: SequenceView, role?: string): asserts policy is LoadedTransformer
export function checkFits(policy: Loaded, task: TaskView, role?: string): void
export function checkFits(policy: Loaded, task: TaskView, role = "policy"): void {
  if (policy.architecture === "tabular") {
    if (task.kind !== "bandit") throw new InputError({ input: role, reason: `the ${role} is tabular but the task is a sequence task; it needs a transformer policy` })
    const { prompts, responses } = policy.model.config
    const maxPrompt = Math.max(...task.prompts.map((p) => p.id))
    if (responses !== task.vocab || prompts <= maxPrompt) {
      throw new InputError({
        input: role,
        reason: `the ${role} is a ${prompts}×${responses} table but the task has prompts up to ${maxPrompt} with ${task.vocab} responses each`
      })
    }
    return
  }
  if (task.kind !== "sequence") throw new InputError({ input: role, reason: `the ${role} is a transformer but the task is a bandit; it needs a tabular policy` })
  const { vocab, length } = policy.model.config
  const needed = task.prompts[0]!.tokens.length + task.responseLength
  if (vocab !== task.vocab || length < needed) {
    throw new InputError({
      input: role,
      reason: `the ${role} is a transformer over ${vocab} tokens of length ${length} but the task needs ${task.vocab} tokens and length ${needed}`
    })
  }
}

const chunks = <A>(items: ReadonlyArray<A>, size = chunk): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size))

/** The policy's log-probability of each token of each response (temperature 1). → number[B][L] */
export const tokenLogProbs = (
  policy: Loaded,
  prompts: ReadonlyArray<Prompt>,
  responses: ReadonlyArray<ReadonlyArray<number>>
): Array<Array<number>> => {
  if (policy.architecture === "tabular") {
    const table = policy.model.variables.logits.dataSync()
    const K = policy.model.config.responses
    // each prompt's row once: log π(· | prompt)
    const rows = new Map<number, ReadonlyArray<number>>()
    const logp = (prompt: number) => rows.get(prompt) ?? rows.set(prompt, rowLogProbs(table, K, prompt)).get(prompt)!
    return responses.map((response, i) => [logp(prompts[i]!.id)[response[0]!]!])
  }
  const model = policy.model
  const rows = prompts.map((p, i) => [...p.tokens, ...responses[i]!])
  return chunks(rows.map((row, i) => ({ row, start: prompts[i]!.tokens.length }))).flatMap((batch) => {
    const T = batch[0]!.row.length
    const perToken = tf.tidy(() => Transformer.logProbs(model, tf.tensor2d(batch.flatMap((b) => b.row), [batch.length, T], "int32")).perToken)
    const data = perToken.arraySync()
    perToken.dispose()
    // perToken[t] is log p(token t+1 | tokens ≤ t): the response starts at token `start`
    return data.map((row, b) => row.slice(batch[b]!.start - 1))
  })
}

/** The policy's log-probability of each whole response, Σ_t log π(y_t | ·) (temperature 1). → number[B] */
export const summedLogProbs = (
  policy: Loaded,
  prompts: ReadonlyArray<Prompt>,
  responses: ReadonlyArray<ReadonlyArray<number>>
): Array<number> => tokenLogProbs(policy, prompts, responses).map(sum)

/**
 * Each prompt followed by its response, as one int32 batch; every prompt has the same length P
 * and every response the same length L. → [B, P + L]
 */
export const sequenceTokens = (prompts: ReadonlyArray<Prompt>, responses: ReadonlyArray<ReadonlyArray<number>>): tf.Tensor2D => {
  const P = prompts[0]!.tokens.length
  const L = responses[0]!.length
  return tf.tensor2d(prompts.flatMap((p, b) => [...p.tokens, ...responses[b]!]), [responses.length, P + L], "int32")
}

/**
 * The policy's log-probability of each token of each response, as a tensor on the
 * gradient tape: what the policy trainers differentiate. Every response has the same
 * length L (the task's; 1 for a bandit) and every prompt of a sequence task the same
 * length P. → [B, L]
 */
export const trainableTokenLogProbs = (
  policy: Loaded,
  prompts: ReadonlyArray<Prompt>,
  responses: ReadonlyArray<ReadonlyArray<number>>
): tf.Tensor2D =>
  tf.tidy(() => {
    const B = responses.length
    if (policy.architecture === "tabular") {
      const logp = TabularPolicy.logProbs(policy.model, tf.tensor1d(prompts.map((p) => p.id), "int32"), tf.tensor1d(responses.map((r) => r[0]!), "int32")) // [B]
      return tf.reshape(logp, [B, 1]) as tf.Tensor2D
    }
    const P = prompts[0]!.tokens.length
    const L = responses[0]!.length
    const tokens = sequenceTokens(prompts, responses) // [B, P + L]
    // perToken[t] is log p(token t+1 | tokens ≤ t): the response's tokens are P .. P + L − 1
    return tf.slice(Transformer.logProbs(policy.model, tokens).perToken, [0, P - 1], [B, L]) as tf.Tensor2D // [B, L]
  })

/**
 * Sample a response to each prompt. Log-probabilities are the policy's own
 * (temperature 1, no top-k), whatever the sampling options. `onProgress` (e.g.
 * `ctx.progress`) hears of every generated token of a transformer (step and total
 * in tokens, throughput in tokens per second) and of every chunk of responses of a
 * tabular policy (in responses); sampling has no loss.
 */
export const sample = (
  policy: Loaded,
  prompts: ReadonlyArray<Prompt>,
  responseLength: number,
  options: Sampling.Options,
  rng: Random,
  onProgress?: (progress: Progress) => void
): { readonly responses: Array<Array<number>>; readonly tokenLogProbs: Array<Array<number>> } => {
  const started = performance.now()
  const report = (step: number, total: number, unit: string) => onProgress?.({ step, total, ...throughputSince(started, step, unit) })
  const responses: Array<Array<number>> = []
  const tokenLogProbs: Array<Array<number>> = []
  if (policy.architecture === "tabular") {
    for (const batch of chunks(prompts, tabularChunk)) {
      const drawn = TabularPolicy.sample(policy.model, batch.map((p) => p.id), options, rng)
      drawn.responses.forEach((k, i) => {
        responses.push([k])
        tokenLogProbs.push([drawn.logProbs[i]!])
      })
      report(responses.length, prompts.length, "responses")
    }
    return { responses, tokenLogProbs }
  }
  const total = prompts.length * responseLength
  for (const batch of chunks(prompts)) {
    const before = responses.length * responseLength
    const drawn = Transformer.sample(policy.model, batch.map((p) => p.tokens), { ...options, tokens: responseLength }, rng, ({ step }) =>
      report(before + step * batch.length, total, "tok"))
    drawn.sequences.forEach((sequence, b) => responses.push(sequence.slice(batch[b]!.tokens.length)))
    tokenLogProbs.push(...drawn.logProbs)
  }
  return { responses, tokenLogProbs }
}

/** The tabular policy's log-probabilities log π(· | prompt). */
export const logDistribution = (policy: TabularPolicy.TabularPolicy, prompt: number): Array<number> =>
  rowLogProbs(policy.variables.logits.dataSync(), policy.config.responses, prompt)

/** log π(· | prompt) from the logits table (prompts × K, row-major). */
const rowLogProbs = (table: Float32Array | Int32Array | Uint8Array, K: number, prompt: number): Array<number> => logSoftmax(table.subarray(prompt * K, (prompt + 1) * K))

/** The tabular policy's probabilities π(· | prompt). */
export const distribution = (policy: TabularPolicy.TabularPolicy, prompt: number): Array<number> =>
  logDistribution(policy, prompt).map(Math.exp)

/**
 * The policy's next-token log-probabilities at every response position, for each
 * response prefix u of `responseLength − 1` tokens after `prompt`: row t (of V) is
 * log π(· | prompt, u_<t). → one Float32Array of responseLength × V per prefix
 */
export const responseLogProbs = (
  policy: Loaded,
  prompt: Prompt,
  prefixes: ReadonlyArray<ReadonlyArray<number>>,
  responseLength: number
): Array<Float32Array> => {
  if (policy.architecture === "tabular") {
    const logp = Float32Array.from(logDistribution(policy.model, prompt.id))
    return prefixes.map(() => logp)
  }
  const model = policy.model
  const V = model.config.vocab
  const P = prompt.tokens.length
  const T = P + responseLength
  return chunks(prefixes).flatMap((batch) => {
    // the last response token is a placeholder: nothing is predicted from it
    const tokens = batch.flatMap((u) => [...prompt.tokens, ...u, 0])
    const logp = tf.tidy(() =>
      tf.logSoftmax(tf.slice(Transformer.logits(model, tf.tensor2d(tokens, [batch.length, T], "int32")), [0, P - 1, 0], [batch.length, responseLength, V]))
    )
    const data = logp.dataSync() as Float32Array
    logp.dispose()
    return batch.map((_, b) => data.slice(b * responseLength * V, (b + 1) * responseLength * V))
  })
}
