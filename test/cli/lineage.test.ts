// `show`'s lineage follows the edges each run recorded: a node whose input has the same bytes as
// another node's output still shows its own upstream, and a cached node says which run computed it.
import * as fs from "node:fs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { nodeModules } from "../fixtures/nodes.ts"
import { cli, tempProject } from "../helpers.ts"

// sumA = 1 + 2 and sumB = 3 write byte-identical outputs; fromA and fromB each read one of them
const twins = `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { scaled } from "./nodes/scaled.ts"
import { sum } from "./nodes/sum.ts"
export default Pipeline.make("twins", () => {
  const sumA = sum({ numbers: source({ n: 2, start: 1 }, { name: "srcA" }) }, { name: "sumA" })
  const sumB = sum({ numbers: source({ n: 1, start: 3 }, { name: "srcB" }) }, { name: "sumB" })
  return [scaled({ numbers: sumA, factor: 2 }, { name: "fromA" }), scaled({ numbers: sumB, factor: 3 }, { name: "fromB" })]
})
`

describe("lineage", () => {
  let dir = ""
  beforeAll(async () => {
    dir = tempProject({ ...nodeModules, "helpers/outer.ts": "export const scale = (x: number, f: number) => x * f\n", "twins.ts": twins })
    expect((await cli(["run", "twins.ts"], dir)).code).toBe(0)
    expect((await cli(["run", "twins.ts"], dir, { ABLATE_REPLAY: "0" })).code).toBe(0)
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("each node's upstream is the one its run recorded, though another node made the same bytes", async () => {
    for (const [node, own, other] of [["fromA", "srcA", "srcB"], ["fromB", "srcB", "srcA"]] as const) {
      const show = await cli(["show", node], dir)
      expect(show.code, show.stderr).toBe(0)
      expect(show.stdout).toMatch(new RegExp(`numbers ← sum${own.slice(-1)} [0-9a-f]{12}\\n\\s+numbers ← ${own} [0-9a-f]{12}`))
      expect(show.stdout).not.toContain(other)
    }
  })

  it("a cached node says which run computed it", async () => {
    const show = await cli(["show", "fromA"], dir)
    expect(show.stdout).toMatch(/status\s+cached \(computed by run 1\)/)
  })
})
