import { describe, expect, it } from "vitest"
import { nodeModules } from "../fixtures/nodes.ts"
import { cli, tempProject } from "../helpers.ts"

describe("pipeline verify", () => {
  it("recomputes cached nodes and reports the one whose bytes are not reproducible", async () => {
    const dir = tempProject({
      ...nodeModules,
      "nodes/noisy.ts": `import { Effect, Schema } from "effect"
import { Node } from "@ablate/dsl/index.ts"
import { Numbers } from "./artifacts.ts"
export const noisy = Node.make({
  kind: "test/noisy", version: 1, description: "draws from Math.random, which a node must never do",
  params: Schema.Struct({}), inputs: { numbers: Numbers }, output: Numbers,
  run: ({ inputs }) => Effect.sync(() => inputs.numbers.map((r) => ({ i: r.i, x: r.x + Math.random() })))
})
`,
      "verify.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { sum } from "./nodes/sum.ts"
import { noisy } from "./nodes/noisy.ts"
export default Pipeline.make("verify", () => {
  const numbers = source({}, { name: "numbers" })
  return [sum({ numbers }, { name: "total" }), noisy({ numbers }, { name: "noisy" })]
})
`
    })
    expect((await cli(["run", "verify.ts"], dir)).code).toBe(0)
    const result = await cli(["verify", "verify.ts", "--json"], dir)
    expect(result.code).toBe(1)
    const report = JSON.parse(result.stdout) as { checked: Array<string>; mismatches: Array<{ label: string }> }
    expect(report.checked.sort()).toEqual(["noisy", "numbers", "total"])
    expect(report.mismatches.map((m) => m.label)).toEqual(["noisy"])
    const text = await cli(["verify", "verify.ts"], dir)
    expect(text.stdout).toMatch(/3 cached nodes recomputed, 1 differ\n\s+✗ noisy\s+\(test\/noisy\)/)
  })
})
