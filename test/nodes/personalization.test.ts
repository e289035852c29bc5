/**
 * The nodes of personalised reward modelling (label/userTypes, label/userPreferences,
 * data/userTask, reward/personalize) against what a user would check: opposed types have
 * opposed rewards, annotators follow the shares and their type's reward, a user task's gold
 * is that type's reward, and a personalised model scores items as the latent model does
 * under the type's mean latent, recomputed here through the encoder.
 */
import "@tensorflow/tfjs-backend-cpu"
import "../../runtime/internal/TensorFlow.ts"
import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import type { ModelValue, ValueOf } from "../../dsl/Artifact.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import type { FeaturePairs, Items, PreferencePairs, UserTypes } from "../../nodes/artifacts.ts"
import { data, label, reward } from "../../nodes/index.ts"
import * as math from "../../nodes/math.ts"
import * as LatentUser from "../../nodes/models/LatentUser.ts"
import { groupedPairTensors, userPreferences } from "../../nodes/models/Pairs.ts"
import * as PreferenceModel from "../../nodes/models/PreferenceModel.ts"
import { runInMemory } from "../helpers.ts"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((s, x, i) => s + x * b[i]!, 0)

describe("user types and their preferences", () => {
  it("typeAt picks the type whose cumulative share first exceeds u", () => {
    expect([0, 0.79, 0.8, 0.99].map((u) => math.label.typeAt([0.8, 0.2], u))).toEqual([0, 0, 1, 1])
    expect(math.label.typeAt([0.5, 0.25, 0.25], 0.6)).toBe(1)
    expect(math.label.typeAt([0.3, 0.3, 0.3], 0.95)).toBe(2) // shares summing below 1 by rounding: the last type
  })

  it("ρ = −1 gives opposed rewards; shares are normalised; annotators follow the shares and, at temperature 0, their type's reward", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("users", () => {
      const task = data.preferenceTask({ items: 200, features: 4 }, { name: "task" })
      const users = label.userTypes({ task, shares: [4, 1], correlation: -1 }, { name: "users" })
      return [
        users,
        label.userPreferences({ task, users, annotators: 400, pairs: 2, testPairs: 1, temperature: 0 }, { name: "labels" }),
        data.userTask({ task, users, type: "type1" }, { name: "type1" }),
        data.userTask({ task, users, type: "type2" }, { name: "missing" }),
        label.userTypes({ task, shares: [0, 0] }, { name: "empty" })
      ]
    }))
    const users = values["users"] as ValueOf<typeof UserTypes>
    expect(users.map((u) => [u.type, u.share])).toEqual([["type0", 0.8], ["type1", 0.2]])
    users[1]!.weights.forEach((w, i) => expect(w).toBeCloseTo(-users[0]!.weights[i]!, 12))
    const labels = values["labels"] as ValueOf<typeof PreferencePairs>
    const types = new Map(labels.map((l) => [l.user, l.source]))
    expect(types.size).toBe(400)
    const share0 = [...types.values()].filter((s) => s === "type0").length / 400
    expect(Math.abs(share0 - 0.8)).toBeLessThan(0.06) // 3 standard errors of a binomial share of 400
    expect(labels.filter((l) => l.split === "test")).toHaveLength(400)
    const items = values["task"] as ValueOf<typeof Items>
    const features = (item: number) => items.find((i) => i.item === item)!.features
    const weights = new Map(users.map((u) => [u.type, u.weights]))
    for (const l of labels) expect(dot(weights.get(l.source)!, features(l.chosen))).toBeGreaterThan(dot(weights.get(l.source)!, features(l.rejected)))
    const type1 = values["type1"] as ValueOf<typeof Items>
    type1.forEach((item, i) => {
      expect(item.features).toEqual(items[i]!.features)
      expect(item.gold).toBeCloseTo(dot(users[1]!.weights, item.features), 12)
    })
    expect(byLabel["missing"]!.status).toBe("failed")
    expect(byLabel["missing"]!.error).toContain(`there is no user type "type2" (the types: type0, type1)`)
    expect(byLabel["empty"]!.error).toContain("the shares sum to 0")
  })
})

describe("reward/personalize", () => {
  it("scores items as the latent model does under the mean latent of the type's annotators; a model without latents is refused", async () => {
    const { values, byLabel } = await runInMemory(Pipeline.make("personalize", () => {
      const task = data.preferenceTask({ items: 200, features: 4 }, { name: "task" })
      const users = label.userTypes({ task }, { name: "users" })
      const pairs = data.pairFeatures({ pairs: label.userPreferences({ task, users, annotators: 20, pairs: 12, testPairs: 2 }), task }, { name: "pairs" })
      const latent = reward.latentUser({ pairs, hidden: 8, context: 4, targets: 4, steps: 20 }, { name: "latent" })
      return [
        task,
        latent,
        reward.personalize({ model: latent, pairs, type: "type1" }, { name: "type1" }),
        reward.personalize({ model: latent, pairs, type: "nobody" }, { name: "nobody" }),
        reward.personalize({ model: reward.bradleyTerry({ pairs, steps: 5 }), pairs }, { name: "scalar" })
      ]
    }))
    const pairs = values["pairs"] as ValueOf<typeof FeaturePairs>
    const x = (values["task"] as ValueOf<typeof Items>).slice(0, 10).map((i) => i.features)
    const model = LatentUser.fromModel(values["latent"] as ModelValue)
    try {
      const expected = tf.tidy(() => {
        // each type-1 annotator's μ from their first 4 training preferences, averaged
        const contexts = [...userPreferences(pairs).values()].filter((p) => p[0]!.source === "type1").map((p) => p.slice(0, 4))
        const { chosen, rejected } = groupedPairTensors(contexts)
        const z = tf.mean(LatentUser.encode(model, chosen, rejected).mu, 0, true) as tf.Tensor2D
        return Array.from(LatentUser.rewards(model, tf.tensor3d(x.flat(), [1, x.length, 4]), z).dataSync())
      })
      PreferenceModel.rewards(values["type1"] as ModelValue, x).forEach((r, i) => expect(r).toBeCloseTo(expected[i]!, 4))
    } finally {
      LatentUser.dispose(model)
    }
    expect(byLabel["nobody"]!.error).toContain(`no annotator of type "nobody" has training preferences (the types: type0, type1)`)
    expect(byLabel["scalar"]!.error).toContain("is a mlp model; personalize conditions a latent-user model")
  })
})
