// The typed in-memory runner that docs/guide.md ("Adding a node kind") tells node authors to
// test with: a node kind defined as the guide defines one, run with upstream library nodes,
// its value read with its row type and no casts.
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { describe, expect, expectTypeOf, it } from "vitest"
import { Artifact, InputError, Node, Param } from "../../dsl/index.ts"
import { data, label } from "../../nodes/index.ts"
import { Items, PreferencePairs } from "../../nodes/artifacts.ts"
import { NodeFailed } from "../../runtime/Errors.ts"
import * as Testing from "../../runtime/Testing.ts"

const Agreement = Artifact.table("Agreement", Schema.Struct({ agreement: Schema.Number, pairs: Schema.Number }))

/** The share of labelled pairs whose chosen item has the higher gold reward. */
const goldAgreement = Node.make({
  kind: "evaluate/goldAgreement",
  version: 1,
  description: "Share of labelled pairs whose chosen item has the higher gold reward.",
  params: Schema.Struct({ minPairs: Param.int({ default: 1, min: 0, description: "Fail with fewer labelled pairs" }) }),
  inputs: { task: Items, pairs: PreferencePairs },
  output: Agreement,
  run: ({ params, inputs }) =>
    Effect.gen(function*() {
      if (inputs.pairs.length < params.minPairs) {
        return yield* new InputError({ input: "pairs", reason: `${inputs.pairs.length} pairs, fewer than minPairs = ${params.minPairs}` })
      }
      const gold = new Map(inputs.task.map((item) => [item.item, item.gold]))
      const agree = inputs.pairs.filter((p) => (gold.get(p.chosen) ?? 0) > (gold.get(p.rejected) ?? 0)).length
      return [{ agreement: agree / inputs.pairs.length, pairs: inputs.pairs.length }]
    })
})

describe("Testing.run", () => {
  it("runs a node kind with its upstream nodes and types each value by its artifact", async () => {
    const { values, metrics, results } = await Effect.runPromise(Testing.run(({ seed }) => {
      const task = data.preferenceTask({ items: 200, features: 4, seed })
      const sharp = label.bradleyTerry({ task, pairs: 300, temperature: 0.01 }, { name: "sharp" })
      const noisy = label.bradleyTerry({ task, pairs: 300, temperature: 10 }, { name: "noisy" })
      return { sharp: goldAgreement({ task, pairs: sharp }), noisy: goldAgreement({ task, pairs: noisy }, { name: "noisyAgreement" }), task }
    }))
    expectTypeOf(values.sharp).toEqualTypeOf<ReadonlyArray<{ readonly agreement: number; readonly pairs: number }>>()
    expectTypeOf(values.task[0]!.split).toEqualTypeOf<"train" | "test">()
    expect(values.sharp[0]!.pairs).toBe(300)
    // near-deterministic labels agree with gold; labels at temperature 10 are close to coin flips
    expect(values.sharp[0]!.agreement).toBeGreaterThan(0.95)
    expect(values.noisy[0]!.agreement).toBeGreaterThan(0.4)
    expect(values.noisy[0]!.agreement).toBeLessThan(0.75)
    expect(values.task).toHaveLength(200)
    expect(metrics.sharp).toEqual([])
    expect(results.map((r) => r.status)).toEqual(results.map(() => "ran"))
  })

  it("fails with the failing node's NodeFailed", async () => {
    const error = await Effect.runPromise(Testing.run(({ seed }) => {
      const task = data.preferenceTask({ items: 50, features: 4, seed })
      return { agreement: goldAgreement({ task, pairs: label.bradleyTerry({ task, pairs: 5 }), minPairs: 10 }, { name: "check" }) }
    }).pipe(Effect.flip))
    if (!(error instanceof NodeFailed)) throw error
    expect(error.message).toBe(`node "check" failed: input "pairs": 5 pairs, fewer than minPairs = 10`)
    expect([error.tag, error.fields?.["input"]]).toEqual(["InputError", "pairs"])
  })
})
