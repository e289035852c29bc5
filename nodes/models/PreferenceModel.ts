/**
 * Scoring pairs with any reward model the library trains: a scalar reward model
 * (Bradley–Terry: margin r(a) − r(b)) or a General Preference Model (embedding head:
 * skew-symmetric score ⟨R f(a), f(b)⟩). Evaluation nodes use this so they work with
 * either.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { generalPreferenceScore } from "../reward/math.ts"
import * as Ensemble from "./Ensemble.ts"
import * as Mlp from "./Mlp.ts"

/** True for a model trained as a General Preference Model. */
export const isGeneral = (model: ModelValue): boolean => model.config["preference"] === "general"

type Rows = ReadonlyArray<ReadonlyArray<number>>

/** Each ensemble member's scores (a single model is an ensemble of one). → number[k][B] */
export const memberScores = (model: ModelValue, a: Rows, b: Rows): Array<Array<number>> =>
  Ensemble.isEnsemble(model) ? Ensemble.members(model).map((m) => singleScores(m, a, b)) : [singleScores(model, a, b)]

/**
 * Preference scores of a over b for rows of feature vectors: positive when a is
 * preferred; P(a ≻ b) = σ(score); an ensemble's is its members' mean.
 * a, b: [B, d] → number[B]
 */
export const scores = (model: ModelValue, a: Rows, b: Rows): Array<number> => {
  const all = memberScores(model, a, b)
  return all[0]!.map((_, j) => all.reduce((s, member) => s + member[j]!, 0) / all.length)
}

const singleScores = (model: ModelValue, a: Rows, b: Rows): Array<number> => {
  const mlp = Mlp.fromModel(model)
  try {
    return Array.from(tf.tidy(() => {
      const d = a[0]?.length ?? 0
      const xa = tf.tensor2d(a.flat(), [a.length, d])
      const xb = tf.tensor2d(b.flat(), [b.length, d])
      return isGeneral(model)
        ? generalPreferenceScore(Mlp.forward(mlp, xa), Mlp.forward(mlp, xb))
        : tf.sub(Mlp.score(mlp, xa), Mlp.score(mlp, xb))
    }).dataSync())
  } finally {
    Mlp.dispose(mlp)
  }
}
