/**
 * A General Preference Model (Zhang et al., 2024, https://arxiv.org/abs/2410.02197):
 * an MLP maps each response's features to a preference embedding f(x) ∈ ℝ^{2k}; the
 * preference score s(a ≻ b) = ⟨R f(a), f(b)⟩ is skew-symmetric, P(a ≻ b) = σ(s),
 * trained with −log σ(s(chosen ≻ rejected)). Unlike a scalar reward it can fit
 * cyclic (intransitive) preferences.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InputError } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { FeaturePairs, RewardModel } from "../artifacts.ts"
import * as Mlp from "../models/Mlp.ts"
import { hiddenParam, optimizationParams } from "../models/optimization.ts"
import { bradleyTerryLoss, generalPreferenceScore } from "./math.ts"
import { fitMlp, recordPairMetrics, trainingPairs } from "./trainingPairs.ts"

export const generalPreference = Node.make({
  kind: "reward/generalPreference",
  version: 1,
  description: "General Preference Model: skew-symmetric scores of preference embeddings (fits cyclic preferences).",
  tensors: true,
  metrics: {
    loss: "training loss (every 10 steps and the last)",
    accuracy: "training pairs with s(chosen ≻ rejected) > 0 at the end",
    margin: "mean preference score s(chosen ≻ rejected) on the training pairs at the end"
  },
  params: Schema.Struct({
    dims: Param.int({ default: 4, min: 2, description: "Embedding size 2k (even)" }),
    hidden: hiddenParam(32, "Hidden units of the one hidden layer; 0 for a linear embedding"),
    ...optimizationParams({ steps: 400, lr: 0.02 }),
    seed: Param.seed
  }),
  inputs: { pairs: FeaturePairs },
  output: RewardModel,
  run: ({ params, inputs, ctx }) =>
    Effect.gen(function*() {
      if (params.dims % 2 !== 0) return yield* new InputError({ param: "dims", reason: `must be even (pairs of coordinates), got ${params.dims}` })
      const data = trainingPairs(inputs.pairs, { preferencesOnly: true })
      const score = (mlp: Mlp.Mlp) => generalPreferenceScore(Mlp.forward(mlp, data.chosen), Mlp.forward(mlp, data.rejected))
      return yield* fitMlp(data, {
        ctx,
        hidden: params.hidden,
        outputs: params.dims,
        steps: params.steps,
        lr: params.lr,
        // −log σ(s) is the Bradley–Terry loss of the score s
        loss: (mlp) => bradleyTerryLoss(score(mlp)),
        result: (mlp) => {
          const embedding = Mlp.toModel(mlp)
          const model = { ...embedding, config: { ...embedding.config, preference: "general" } }
          recordPairMetrics(ctx, params.steps, model, data.rows, { rewards: false })
          return model
        }
      })
    })
})
