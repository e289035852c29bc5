/**
 * An implicit process reward model (Yuan et al., 2024, "Free Process Rewards without
 * Process Labels", https://arxiv.org/abs/2412.01981): a language model π_θ and a frozen
 * reference π_ref whose log-ratio, scaled by β, is the reward of each token,
 *   r_t = β · log π_θ(y_t | x, y_<t) / π_ref(y_t | x, y_<t),
 * and whose sum over the response is the outcome reward. Stored as one model artifact:
 * both transformers' tensors (prefixed `policy.` and `reference.`) and β.
 */
import type { ModelValue } from "../../dsl/Artifact.ts"
import type { Prompt } from "../data/Task.ts"
import { implicitProcessRewards } from "../reward/math.ts"
import * as PolicyModel from "./Policy.ts"
import { prefixed, unprefixed } from "./Tensors.ts"

export const isProcessReward = (model: ModelValue): boolean => model.config["architecture"] === "implicitProcess"

/** The model artifact of a trained policy and its reference (both transformer Policy values). */
export const toModel = (policy: ModelValue, reference: ModelValue, beta: number): ModelValue => ({
  config: { architecture: "implicitProcess", beta, policy: policy.config },
  tensors: { ...prefixed("policy.", policy.tensors), ...prefixed("reference.", reference.tensors) }
})

/** The per-token rewards r_t of each response. → number[B][L] */
export const tokenRewards = (
  model: ModelValue,
  prompts: ReadonlyArray<Prompt>,
  responses: ReadonlyArray<ReadonlyArray<number>>
): Array<Array<number>> => {
  const beta = model.config["beta"] as number
  const config = model.config["policy"] as ModelValue["config"]
  const logProbs = (prefix: string) =>
    PolicyModel.withLoaded({ config, tensors: unprefixed(prefix, model.tensors) }, (policy) => PolicyModel.tokenLogProbs(policy, prompts, responses))
  const policy = logProbs("policy.")
  const reference = logProbs("reference.")
  return policy.map((row, b) => implicitProcessRewards(row, reference[b]!, beta))
}
