/**
 * The tables of docs/reproductions/ are the output of `pipeline results --format md`, not
 * assembled by hand: each page says the command that printed them, for a pipeline that
 * exists, and every table under its Results heading has the header `--format md` prints.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { repo } from "../helpers.ts"

const dir = path.join(repo, "docs", "reproductions")
const pages = fs.readdirSync(dir).filter((name) => name.endsWith(".md"))

describe("docs/reproductions", () => {
  it.each(pages)("%s: its results tables come from `pipeline results --format md`", (name) => {
    const text = fs.readFileSync(path.join(dir, name), "utf8")
    const command = /npx pipeline results (pipelines\/[\w-]+\.ts)[^\n]* --format md/.exec(text)
    expect(command, `${name} names the command that printed its tables`).not.toBeNull()
    expect(fs.existsSync(path.join(repo, command![1]!))).toBe(true)
    const results = text.slice(text.indexOf("## Results"))
    const next = results.indexOf("\n## ", 1)
    const headers = (next < 0 ? results : results.slice(0, next)).split("\n").filter((line, i, lines) =>
      line.startsWith("|") && !(lines[i - 1] ?? "").startsWith("|")
    )
    expect(headers.length).toBeGreaterThan(0)
    // the columns `pipeline results --format md` prints: factors, then split and n, then metrics
    for (const header of headers) expect(header, name).toMatch(/\| n \|/)
  })
})
