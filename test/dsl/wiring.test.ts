import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, expectTypeOf, it } from "vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Node from "../../dsl/Node.ts"
import type { Handle } from "../../dsl/Node.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { fit, generate, Numbers, score, size, tags, type Weights } from "../fixtures/graph.ts"
import { repo } from "../helpers.ts"

describe("typed wiring", () => {
  it("handles carry their artifact type", () => {
    expectTypeOf(generate).returns.toEqualTypeOf<Handle<typeof Numbers>>()
    expectTypeOf(fit).returns.toEqualTypeOf<Handle<typeof Weights>>()
    expectTypeOf(score).parameter(0).toHaveProperty("model").toEqualTypeOf<Handle<typeof Weights>>()
  })

  it("wiring an output of one artifact type into an input of another does not compile", () => {
    const dir = fs.mkdtempSync(path.join(repo, "test", ".wiring-"))
    try {
      fs.writeFileSync(
        path.join(dir, "miswired.ts"),
        `import { fit, generate, size, tags } from "../fixtures/graph.ts"
const numbers = generate({})
const model = fit({ numbers })
export const wrong = fit({ numbers: model })
export const either = [size({ thing: numbers }), size({ thing: model })]
export const neither = size({ thing: tags({}) })
`
      )
      fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({ extends: "../../tsconfig.json", include: ["miswired.ts"] })
      )
      let output = ""
      try {
        execFileSync(path.join(repo, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", dir], { encoding: "utf8" })
      } catch (error) {
        output = String((error as { stdout?: string }).stdout)
      }
      expect(output).toMatch(/miswired\.ts\(4,\d+\): error TS2322/)
      expect(output).toContain(`"Weights"`)
      expect(output).toContain(`"Numbers"`)
      // an input of several types takes each of them and nothing else
      expect(output).not.toMatch(/miswired\.ts\(5,/)
      expect(output).toMatch(/miswired\.ts\(6,\d+\): error TS2322/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a node kind's results name metrics it declares", () => {
    const definition = {
      kind: "test/results",
      version: 1,
      description: "results of a test",
      params: Schema.Struct({}),
      inputs: {},
      output: Numbers,
      metrics: { "<split>/gold": "mean gold reward per split", loss: "training loss" },
      run: () => Effect.succeed([])
    }
    expect(Node.make({ ...definition, results: ["<split>/gold"] }).results).toEqual(["<split>/gold"])
    // @ts-expect-error "gold" is not one of the metrics it declares ("<split>/gold" is)
    Node.make({ ...definition, results: ["gold"] })
  })

  it("an input of several artifact types refuses other handles when the graph is built", async () => {
    const error = await Effect.runPromise(Effect.flip(Pipeline.build(Pipeline.make("neither", () => size({ thing: tags({}) as never })), { seeds: [0] })))
    expect(String(error.message)).toContain(`input "thing" expects Numbers | Weights but was given Tags`)
    await Effect.runPromise(Pipeline.build(Pipeline.make("either", () => [size({ thing: generate({}) }), size({ thing: fit({ numbers: generate({}) }) })]), { seeds: [0] }))
  })
})
