/**
 * Scoring pairs with any reward model the library trains: a scalar reward model
 * (Bradley–Terry: margin r(a) − r(b)), a General Preference Model (embedding head:
 * skew-symmetric score ⟨R f(a), f(b)⟩), an ensemble (its members' mean), or a
 * latent-user model (reward conditioned on the latent its encoder infers from the
 * same annotator's training pairs). Evaluation nodes use this so they work with any.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ModelValue } from "../../dsl/Artifact.ts"
import { InputError } from "../../dsl/Errors.ts"
import type { FeaturePair } from "../artifacts.ts"
import { acrossMembers } from "../evaluate/math.ts"
import { generalPreferenceScore } from "../reward/math.ts"
import * as Ensemble from "./Ensemble.ts"
import * as LatentUser from "./LatentUser.ts"
import * as Mlp from "./Mlp.ts"
import { groupedPairTensors, pairTensors, userPreferences } from "./Pairs.ts"
import { matrix } from "./Tensors.ts"

type Rows = ReadonlyArray<FeaturePair>

/** Load a single (non-ensemble) model, use it by its architecture, and free it. */
const withLoaded = <A>(
  value: ModelValue,
  use: { readonly latentUser: (model: LatentUser.LatentUser) => A; readonly mlp: (mlp: Mlp.Mlp) => A }
): A => {
  if (value.config["architecture"] === "latentUser") {
    const model = LatentUser.fromModel(value)
    try {
      return use.latentUser(model)
    } finally {
      LatentUser.dispose(model)
    }
  }
  const mlp = Mlp.fromModel(value)
  try {
    return use.mlp(mlp)
  } finally {
    Mlp.dispose(mlp)
  }
}

/** `f` of each ensemble member (a single model is an ensemble of one). */
const perMember = <A>(model: ModelValue, f: (member: ModelValue) => A): Array<A> =>
  Ensemble.isEnsemble(model) ? Ensemble.members(model).map(f) : [f(model)]

const singleScores = (value: ModelValue, rows: Rows, all: Rows): Array<number> =>
  withLoaded(value, {
    latentUser: (model) => latentScores(model, rows, all),
    mlp: (mlp) =>
      Array.from(tf.tidy(() => {
        const { chosen: xa, rejected: xb } = pairTensors(rows)
        return value.config["preference"] === "general"
          ? generalPreferenceScore(Mlp.forward(mlp, xa), Mlp.forward(mlp, xb))
          : tf.sub(Mlp.score(mlp, xa), Mlp.score(mlp, xb))
      }).dataSync())
  })

/**
 * A user's latent z = μ of their context: their first `context` training preferences among
 * `preferences` (userPreferences' list of the user), or the prior mean z = 0 when they have
 * none. → [1, k]
 */
export const userLatent = (model: LatentUser.LatentUser, preferences: ReadonlyArray<FeaturePair>): tf.Tensor2D =>
  tf.tidy(() => {
    const context = preferences.slice(0, model.config.context)
    if (context.length === 0) return tf.zeros([1, model.config.latent]) as tf.Tensor2D
    const { chosen, rejected } = groupedPairTensors([context])
    return LatentUser.encode(model, chosen, rejected).mu
  })

// Each row is scored with its annotator's latent (userLatent).
const latentScores = (model: LatentUser.LatentUser, rows: Rows, all: Rows): Array<number> => {
  const contexts = userPreferences(all)
  const latents = new Map<string, tf.Tensor2D>()
  const latentOf = (user: string): tf.Tensor2D => {
    const known = latents.get(user)
    if (known !== undefined) return known
    const z = userLatent(model, contexts.get(user) ?? [])
    latents.set(user, z)
    return z
  }
  try {
    return rows.map((row) => {
      const z = latentOf(row.user)
      return tf.tidy(() => {
        const { chosen, rejected } = groupedPairTensors([[row]])
        return tf.sub(LatentUser.rewards(model, chosen, z), LatentUser.rewards(model, rejected, z)).dataSync()[0]!
      })
    })
  } finally {
    tf.dispose([...latents.values()])
  }
}

/** Each ensemble member's scores of `rows` (a single model is an ensemble of one). → number[k][B] */
export const memberScores = (model: ModelValue, rows: Rows, all: Rows = rows): Array<Array<number>> =>
  perMember(model, (member) => singleScores(member, rows, all))

/**
 * Preference scores of each row's chosen over its rejected response: positive when
 * the model agrees with the label; P = σ(score). `all` supplies annotators' contexts.
 */
export const scores = (model: ModelValue, rows: Rows, all: Rows = rows): Array<number> => acrossMembers(memberScores(model, rows, all)).map((m) => m.mean)

const singleRewards = (value: ModelValue, features: ReadonlyArray<ReadonlyArray<number>>): Array<number> => {
  if (value.config["preference"] === "general") {
    throw new InputError({ reason: "a General Preference Model compares pairs and gives no scalar reward; score with a Bradley–Terry, ensemble or latent-user model" })
  }
  const d = features[0]?.length ?? 0
  return withLoaded(value, {
    latentUser: (latent) =>
      Array.from(tf.tidy(() =>
        LatentUser.rewards(latent, tf.reshape(matrix(features, d, "response"), [1, features.length, d]) as tf.Tensor3D, tf.zeros([1, latent.config.latent]) as tf.Tensor2D).dataSync()
      )),
    mlp: (mlp) => {
      if (mlp.config.inputs !== d) throw new InputError({ reason: `the reward model reads ${mlp.config.inputs} features but the responses have ${d}` })
      return Array.from(tf.tidy(() => Mlp.score(mlp, matrix(features, d, "response")).dataSync()))
    }
  })
}

/**
 * Each ensemble member's scalar rewards of single responses' feature vectors (a single
 * model is an ensemble of one); a latent-user model's at the prior mean latent z = 0.
 * A General Preference Model fails, saying so. → number[k][N]
 */
export const memberRewards = (model: ModelValue, features: ReadonlyArray<ReadonlyArray<number>>): Array<Array<number>> =>
  perMember(model, (member) => singleRewards(member, features))

/**
 * Scalar rewards of single responses' feature vectors: a Bradley–Terry model's score,
 * an ensemble's mean, or a latent-user model's reward at the prior mean latent z = 0
 * (the population's reward). A General Preference Model has no scalar reward: it only
 * compares pairs, so it fails here, saying so.
 */
export const rewards = (model: ModelValue, features: ReadonlyArray<ReadonlyArray<number>>): Array<number> =>
  acrossMembers(memberRewards(model, features)).map((m) => m.mean)
