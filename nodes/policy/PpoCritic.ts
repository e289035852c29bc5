/**
 * PPO's value function for the policies of bandit and sequence tasks: V(s_t), the value of
 * the state before each response token (the prompt and the tokens before t).
 *
 * For a transformer policy it is a separate critic: a copy of the starting policy's weights
 * with a freshly initialised linear value head (N(0, 0.02), as nodes/models/Transformer.ts
 * initialises its heads), trained beside the policy. A separate critic rather than a value
 * head on the policy, as in Ouyang et al. (2022) and TRL's PPOTrainer: the value loss then
 * cannot pull the policy's features towards predicting returns (with a model as small as
 * ours the two objectives compete for the same few units), and the trained Policy artifact
 * stays a plain policy. The cost is a second forward and backward pass per step.
 * Reward models here score features, not tokens, so the critic cannot start from one.
 *
 * For a tabular policy the state is the prompt alone: a table of one value per prompt,
 * starting at 0.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import type { Random } from "../../dsl/Random.ts"
import type { Prompt } from "../data/Task.ts"
import * as PolicyModel from "../models/Policy.ts"
import * as Transformer from "../models/Transformer.ts"

export type Critic =
  | { readonly architecture: "tabular"; readonly prompts: number; readonly table: tf.Variable }
  | { readonly architecture: "transformer"; readonly model: Transformer.Transformer }

/** A critic for `policy`, loaded from its starting weights `start` (a transformer's trunk is copied from them). */
export const init = (policy: PolicyModel.Loaded, start: ModelValue, rng: Random): Critic => {
  if (policy.architecture === "tabular") {
    const prompts = policy.model.config.prompts
    return { architecture: "tabular", prompts, table: tf.tidy(() => tf.variable(tf.zeros([prompts, 1]))) }
  }
  const d = policy.model.config.width
  const head = start.config["valueHead"] === true ? {} : {
    "value.w": { shape: [d, 1], data: Float32Array.from({ length: d }, () => rng.normal() * 0.02) },
    "value.b": { shape: [1], data: new Float32Array(1) }
  }
  return {
    architecture: "transformer",
    model: Transformer.fromModel({ config: { ...start.config, valueHead: true }, tensors: { ...start.tensors, ...head } })
  }
}

/** The critic's trainable variables by name. */
export const variables = (critic: Critic): Readonly<Record<string, tf.Variable>> =>
  critic.architecture === "tabular" ? { values: critic.table } : critic.model.variables

/**
 * V of the state before each response token, on the gradient tape. Every response has the
 * same length L and every prompt the same length P. → [B, L]
 */
export const values = (critic: Critic, prompts: ReadonlyArray<Prompt>, responses: ReadonlyArray<ReadonlyArray<number>>): tf.Tensor2D =>
  tf.tidy(() => {
    const B = responses.length
    if (critic.architecture === "tabular") {
      // one-hot · table rather than gather: gather's gradient has no wasm kernel
      return tf.matMul(tf.oneHot(tf.tensor1d(prompts.map((p) => p.id), "int32"), critic.prompts), critic.table) as tf.Tensor2D // [B, 1]
    }
    const P = prompts[0]!.tokens.length
    const L = responses[0]!.length
    const tokens = PolicyModel.sequenceTokens(prompts, responses) // [B, P + L]
    // position t's value is read after token t: the state before response token i is position P − 1 + i
    return tf.slice(Transformer.values(critic.model, tokens), [0, P - 1], [B, L]) as tf.Tensor2D // [B, L]
  })

/** Free the critic's variables. */
export const dispose = (critic: Critic): void =>
  critic.architecture === "tabular" ? critic.table.dispose() : Transformer.dispose(critic.model)
