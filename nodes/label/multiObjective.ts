/**
 * A multi-objective oracle: k gold components, each a fixed random linear function
 * of the item features (component weights w_j ~ N(0, I/d)), combined as
 * r = Σ_j λ_j · r_j with the given weights λ. Labels are Bradley–Terry draws on the
 * combined reward; every pair keeps each component's margin (chosen − rejected), so
 * an experiment can ask which objective a trained model actually follows.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, PreferencePairs } from "../artifacts.ts"
import { dot, linearWeights } from "../data/math.ts"
import { bradleyTerryVerdict, drawPairs, pairCountParams } from "./pairs.ts"

export const multiObjective = Node.make({
  kind: "label/multiObjective",
  version: 1,
  description: "Bradley–Terry labels on a weighted sum of gold components; each pair keeps every component's margin.",
  params: Schema.Struct({
    weights: Param.withDefault(
      Schema.Array(Schema.Finite).check(Schema.isMinLength(1)).annotate({ description: "Weight λ_j of each gold component (k = number of weights)" }),
      [0.5, 0.5]
    ),
    ...pairCountParams({ pairs: 2000, testPairs: 0 }),
    temperature: Param.number({ default: 0.3, min: 0, description: "Bradley–Terry temperature on the combined reward" }),
    seed: Param.seed
  }),
  inputs: { task: Items },
  output: PreferencePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const d = inputs.task[0]?.features.length ?? 0
      const rng = ctx.random.split("components")
      const components = params.weights.map(() => linearWeights(rng, d))
      const scores = new Map(inputs.task.map((row) => [row.item, components.map((w) => dot(w, row.features))]))
      const combined = (item: number) => dot(params.weights, scores.get(item)!)
      const draw = ctx.random.split("label")
      return drawPairs(inputs.task, params, draw, (a, b) => bradleyTerryVerdict(draw, combined(a.item), combined(b.item), params.temperature))
        .map((pair) => ({ ...pair, components: scores.get(pair.chosen)!.map((r, j) => r - scores.get(pair.rejected)![j]!) }))
    })
})
