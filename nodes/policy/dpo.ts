/**
 * Direct Preference Optimization (Rafailov et al., 2023, https://arxiv.org/abs/2305.18290):
 * fit the policy's implicit reward r_θ(x, y) = β·log π_θ(y | x)/π_ref(y | x) to the
 * preferences by the Bradley–Terry likelihood, with h = r_θ(x, y_c) − r_θ(x, y_r):
 *
 *   sigmoid  L = −(1 − ε)·log σ(h) − ε·log σ(−h)        (ε > 0: conservative DPO, Mitchell, 2023)
 *   robust   L = [−(1 − ε)·log σ(h) + ε·log σ(−h)] / (1 − 2ε)
 *                                                       (Chowdhury et al., 2024, https://arxiv.org/abs/2403.00409)
 *   ipo      L = (h/β − 1/(2β))²  on per-token mean log-probabilities
 *                                                       (Azar et al., 2023, https://arxiv.org/abs/2310.12036)
 *   hinge    L = max(0, 1 − h)                           (SLiC, Zhao et al., 2023, https://arxiv.org/abs/2305.10425)
 *
 * With sftWeight α > 0 the loss adds α times the chosen responses' per-token NLL: RPO
 * (Pang et al., 2024, https://arxiv.org/abs/2404.19733; TRL's `rpo_alpha`).
 * With trackEvery > 0 it records how far training has moved the log-probabilities of the
 * chosen, the rejected and unseen responses (./Likelihoods.ts: the "3D-properties" of DPO,
 * Yan et al., 2024, https://arxiv.org/abs/2406.07327); their final values are its results.
 * The population optimum of the sigmoid loss under Bradley–Terry preferences of a reward r
 * is the KL-regularised optimum π* ∝ π_ref·exp(r/β).
 * Defaults follow TRL's DPOConfig: β = 0.1, the sigmoid loss, no smoothing.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Policy, ResponsePairs, Task } from "../artifacts.ts"
import { trackingMetrics, trackingOf, trackingParams } from "./Likelihoods.ts"
import { dpoStep, preferenceMetrics, rowParams, trainOnPairs } from "./PairTraining.ts"

export const dpo = Node.make({
  kind: "policy/dpo",
  version: 1,
  description: "DPO and its loss variants (sigmoid/cDPO, robust, IPO, hinge; RPO with sftWeight) on preference pairs against a frozen reference; optionally tracks the likelihoods of chosen, rejected and unseen responses.",
  tensors: true,
  metrics: {
    ...preferenceMetrics,
    "rewards/chosen": "mean implicit reward β·log π_θ/π_ref of the chosen responses",
    "rewards/rejected": "mean implicit reward β·log π_θ/π_ref of the rejected responses",
    nll_loss: "per-token NLL of the chosen responses (RPO only: sftWeight > 0)",
    ...trackingMetrics
  },
  results: ["delta/chosen", "delta/rejected", "delta/unseen", "mass/unseen"],
  params: Schema.Struct({
    beta: Param.number({ default: 0.1, min: 0, exclusiveMin: true, description: "β: scale of the implicit reward; smaller β lets the policy move further from the reference" }),
    lossType: Param.literal(["sigmoid", "robust", "ipo", "hinge"], { default: "sigmoid", description: "sigmoid (DPO; cDPO with labelSmoothing), robust (rDPO), ipo (IPO, per-token mean log-probabilities) or hinge (SLiC)" }),
    labelSmoothing: Param.number({ default: 0, min: 0, max: 0.49, description: "ε: the assumed rate of flipped labels, for the sigmoid (conservative DPO) and robust losses" }),
    sftWeight: Param.number({ default: 0, min: 0, description: "α: weight of the chosen responses' per-token NLL added to the loss (RPO); 0 for none" }),
    ...trackingParams,
    ...rowParams()
  }),
  inputs: { policy: Policy, reference: Policy, pairs: ResponsePairs, task: Task },
  output: Policy,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      if (params.labelSmoothing > 0 && (params.lossType === "ipo" || params.lossType === "hinge")) {
        return yield* new InputError({
          param: "labelSmoothing",
          reason: `${params.labelSmoothing} applies to the sigmoid and robust losses only, not to lossType "${params.lossType}"`
        })
      }
      if (params.unseen > 0 && params.trackEvery === 0) {
        return yield* new InputError({ param: "unseen", reason: `${params.unseen} unseen responses per prompt are only tracked with trackEvery > 0` })
      }
      const options = { beta: params.beta, lossType: params.lossType, labelSmoothing: params.labelSmoothing, sftWeight: params.sftWeight }
      return yield* trainOnPairs({ ctx, inputs, params, track: trackingOf(params), loss: (policy, data, rows) => dpoStep(policy, data, rows, options) })
    })
})
