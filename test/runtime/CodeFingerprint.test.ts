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

describe("package versions in code fingerprints", () => {
  it("record the resolved version of each package a module imports; a new version changes the fingerprint", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-fp-pkg-"))
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "project", type: "module" }))
    const pkg = path.join(dir, "node_modules", "helperpkg")
    fs.mkdirSync(pkg, { recursive: true })
    const install = (version: string) =>
      fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name: "helperpkg", version, type: "module", main: "index.js" }))
    fs.writeFileSync(path.join(pkg, "index.js"), "export const triple = (x) => 3 * x\n")
    install("1.0.0")
    fs.writeFileSync(path.join(dir, "node.ts"), `import { triple } from "helperpkg"\nexport const f = triple\n`)
    const before = await CodeFingerprint.fingerprint(path.join(dir, "node.ts"))
    expect(before.packages).toMatchObject({ helperpkg: "1.0.0" })
    // the package's own files are not hashed: its version stands for them
    expect(Object.keys(before.files).some((f) => f.includes("node_modules"))).toBe(false)
    install("1.0.1")
    const after = await CodeFingerprint.fingerprint(path.join(dir, "node.ts"))
    expect(after.packages).toMatchObject({ helperpkg: "1.0.1" })
    expect(after.hash).not.toBe(before.hash)
  })
})
