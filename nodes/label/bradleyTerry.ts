/**
 * Oracle preference labels: random pairs of training items, each labelled by a
 * Bradley–Terry draw on the gold reward with a temperature.
 */
import { Effect, Schema } from "effect"
import * as Node from "../../dsl/Node.ts"
import * as Param from "../../dsl/Param.ts"
import { Items, PreferencePairs } from "../artifacts.ts"
import { preferenceProbability } from "./math.ts"

export const bradleyTerry = Node.make({
  kind: "label/bradleyTerry",
  version: 1,
  description: "Pairs of training items labelled by a Bradley–Terry oracle on the gold reward.",
  params: Schema.Struct({
    pairs: Param.int({ default: 2000, min: 1, description: "Number of labelled pairs" }),
    temperature: Param.number({ default: 0.3, min: 0, description: "Bradley–Terry temperature; 0 labels by the gold reward exactly" }),
    seed: Param.seed
  }),
  inputs: { task: Items },
  output: PreferencePairs,
  run: ({ params, inputs, ctx }) =>
    Effect.sync(() => {
      const train = inputs.task.filter((item) => item.split === "train")
      if (train.length < 2) throw new Error(`needs at least 2 training items, the task has ${train.length}`)
      const rng = ctx.random.split("label")
      return Array.from({ length: params.pairs }, () => {
        const a = train[rng.int(train.length)]!
        let b = train[rng.int(train.length)]!
        while (b.item === a.item) b = train[rng.int(train.length)]!
        const aWins = rng.uniform() < preferenceProbability(a.gold, b.gold, params.temperature)
        return aWins ? { chosen: a.item, rejected: b.item } : { chosen: b.item, rejected: a.item }
      })
    })
})
