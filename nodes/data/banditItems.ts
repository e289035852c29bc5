/**
 * The items of a contextual bandit task, shared by data/banditTask and
 * data/heavyTailedBandit: prompts × K candidate responses, each (prompt, response) with a
 * feature vector and its gold reward (./math.ts), a random fraction of the prompts held out.
 * Features are Gaussian, or, with `tails` ν > 0, a Gaussian times a Student-t scale shared by
 * the response's features (./math.ts's studentScale); the gold reward may penalise atypical
 * responses (`atypicality`).
 */
import type { ValueOf } from "../../dsl/Artifact.ts"
import * as Param from "../../dsl/Param.ts"
import type { Random } from "../../dsl/Random.ts"
import type { Items } from "../artifacts.ts"
import { heldOutIds, heldOutParam } from "./heldOut.ts"
import { goldReward, studentScale } from "./math.ts"

/** The params of a bandit task's shape, with their defaults. */
export const shapeParams = {
  prompts: Param.int({ default: 200, min: 1, description: "Number of prompts" }),
  responses: Param.int({ default: 8, min: 2, description: "Candidate responses per prompt (K)" }),
  features: Param.int({ default: 8, min: 1, max: 4096, description: "Feature dimension of a (prompt, response)" }),
  gold: Param.literal(["linear", "mlp"], { default: "linear", description: "Form of the hidden gold reward" }),
  heldOut: heldOutParam("prompts")
}

export interface Shape {
  readonly prompts: number
  readonly responses: number
  readonly features: number
  readonly gold: "linear" | "mlp"
  readonly heldOut: number
  /** Student-t degrees of freedom of the features' scale; 0 for Gaussian features */
  readonly tails: number
  /** weight λ of the gold reward's penalty λ·‖x‖²/d */
  readonly atypicality: number
}

/** The task's items, drawn from `rng`; item i is response i mod K of prompt ⌊i / K⌋. */
export const banditItems = (shape: Shape, rng: Random): ValueOf<typeof Items> => {
  const reward = goldReward(shape.gold, shape.features, rng.split("gold"), shape.atypicality)
  const test = heldOutIds(rng.split("split"), shape.prompts, shape.heldOut)
  const draw = rng.split("features")
  // the scales have their own generator: the Gaussian parts of the features do not depend on ν
  const scales = rng.split("scales")
  return Array.from({ length: shape.prompts * shape.responses }, (_, item) => {
    const prompt = Math.floor(item / shape.responses)
    const scale = studentScale(scales, shape.tails)
    const features = Array.from({ length: shape.features }, () => draw.normal() * scale)
    return { item, prompt, features, gold: reward(features), split: test.has(prompt) ? "test" as const : "train" as const }
  })
}
