import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as CodeFingerprint from "../../runtime/CodeFingerprint.ts"

describe("code fingerprints", () => {
  it("follow imports of the project's own package name into its files, and include the random generator", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-fp-"))
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "selfpkg", type: "module", exports: { "./math": "./math.ts" } }))
    fs.writeFileSync(path.join(dir, "math.ts"), "export const double = (x: number) => 2 * x\n")
    fs.writeFileSync(path.join(dir, "node.ts"), `import { double } from "selfpkg/math"\nexport const f = double\n`)
    const before = await CodeFingerprint.fingerprint(path.join(dir, "node.ts"))
    expect(Object.keys(before.files)).toEqual(expect.arrayContaining(["node.ts", "math.ts"]))
    expect(Object.keys(before.files).some((f) => f.endsWith("dsl/Random.ts"))).toBe(true)
    expect(before.packages).not.toHaveProperty("selfpkg")
    fs.writeFileSync(path.join(dir, "math.ts"), "export const double = (x: number) => x + x\n")
    expect((await CodeFingerprint.fingerprint(path.join(dir, "node.ts"))).hash).not.toBe(before.hash)
  })
})
