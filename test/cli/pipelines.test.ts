import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cli, repo } from "../helpers.ts"

describe("every pipeline in pipelines/", () => {
  const files = fs.readdirSync(path.join(repo, "pipelines")).filter((f) => f.endsWith(".ts"))

  it.each(files)("%s builds and plans", async (file) => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-plan-"))
    const result = await cli(["plan", `pipelines/${file}`, "--store", store], repo)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/\d+ nodes?/)
  })
})
