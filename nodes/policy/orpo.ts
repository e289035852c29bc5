/**
 * ORPO, Odds Ratio Preference Optimization (Hong et al., 2024, https://arxiv.org/abs/2403.07691):
 * SFT on the chosen responses plus a penalty on the log odds ratio, with no reference
 * model. With P(y | x) = exp((1/L)·log π_θ(y | x)) (the per-token mean) and
 * odds(y | x) = P/(1 − P):
 *
 *   L = NLL(y_c) − λ·log σ(log odds(y_c | x) − log odds(y_r | x))
 *
 * where NLL is the chosen response's per-token mean negative log-likelihood. λ defaults to
 * 0.1, TRL's ORPOConfig `beta`; as in TRL the reported rewards are λ times the per-token
 * mean log-probabilities.
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, ResponsePairs, Task } from "../artifacts.ts"
import { orpoLoss } from "./math.ts"
import { meanPairLogProbs, preferenceMetrics, preferenceStep, rowParams, trainOnPairs } from "./PairTraining.ts"

export const orpo = Node.make({
  kind: "policy/orpo",
  version: 1,
  description: "ORPO: SFT on the chosen responses plus λ times an odds-ratio preference loss, without a reference model.",
  tensors: true,
  metrics: {
    ...preferenceMetrics,
    "rewards/chosen": "mean λ·(per-token mean log π_θ) of the chosen responses",
    "rewards/rejected": "mean λ·(per-token mean log π_θ) of the rejected responses",
    "logps/chosen": "mean per-token mean log-probability of the chosen responses",
    "logps/rejected": "mean per-token mean log-probability of the rejected responses",
    nll_loss: "per-token NLL of the chosen responses (the SFT term)",
    log_odds_ratio: "mean log σ(log odds ratio) of chosen over rejected",
    log_odds_chosen: "mean log odds ratio of chosen over rejected"
  },
  params: Schema.Struct({
    lambda: Param.number({ default: 0.1, min: 0, description: "λ: weight of the odds-ratio loss against the SFT loss (TRL's ORPOConfig beta)" }),
    ...rowParams()
  }),
  inputs: { policy: Policy, pairs: ResponsePairs, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    trainOnPairs({
      ctx,
      inputs,
      params,
      loss: (policy, data, rows) => {
        const means = meanPairLogProbs(policy, data, rows)
        const chosenNll = tf.neg(means.chosen) as tf.Tensor1D
        const out = orpoLoss(means.chosen, means.rejected, chosenNll, { lambda: params.lambda })
        return preferenceStep(out, means, { nll_loss: chosenNll, log_odds_ratio: tf.neg(tf.softplus(tf.neg(out.logOdds))), log_odds_chosen: out.logOdds })
      }
    })
})
