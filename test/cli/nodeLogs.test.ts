/**
 * Node logs through the real `pipeline` command: what nodes print goes to their logs in the
 * store and to `pipeline show`, never into `--json` output; errors are JSON events; a pipeline
 * file that does not parse is named at file:line:column.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { printingModules } from "../fixtures/printing.ts"
import { cli, logTail, summary, tempProject, writeFile } from "../helpers.ts"

let dir: string
beforeAll(() => {
  dir = tempProject(printingModules)
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** Every line of stdout parsed as JSON (a line that is not JSON fails the test), each with an ISO 8601 `ts`. */
const ndjson = (stdout: string): Array<Record<string, unknown>> =>
  stdout.trimEnd().split("\n").map((line) => {
    const event = JSON.parse(line) as Record<string, unknown>
    expect(new Date(String(event["ts"])).toISOString()).toBe(event["ts"])
    return event
  })

const chattyLines = (tag: string) => [0, 1, 2, 3].flatMap((i) => [`log ${tag} ${i}`, `write ${tag} ${i}`, `error ${tag} ${i}`, `async ${tag} ${i}`])

describe("node logs", () => {
  it("--json stays NDJSON while two concurrent nodes print; each node's prints are in its own log and in show", async () => {
    const run = await cli(["run", "printing.ts", "--json"], dir)
    expect(run.code).toBe(0)
    const events = ndjson(run.stdout)
    expect(events.at(-1)!["type"]).toBe("summary")
    expect(run.stdout + run.stderr).not.toMatch(/log left|error right/)
    const keys = Object.fromEntries(summary(run.stdout).nodes.map((n) => [n.label, n.key]))
    for (const tag of ["left", "right"]) {
      const log = path.join(dir, ".ablate", "logs", `${keys[tag]}.log`)
      expect(fs.readFileSync(log, "utf8").trimEnd().split("\n")).toEqual(chattyLines(tag))
    }
    // the two nodes ran at once: each started before the other finished
    const at = (type: string, label: string) => events.findIndex((e) => e["type"] === type && e["label"] === label)
    expect(at("running", "right")).toBeLessThan(at("done", "left"))
    expect(at("running", "left")).toBeLessThan(at("done", "right"))

    const show = await cli(["show", "left"], dir)
    expect(show.code).toBe(0)
    expect(show.stdout).toContain(`log      ${path.join(fs.realpathSync(dir), ".ablate", "logs", `${keys["left"]}.log`)}`)
    expect(show.stdout).toContain("    async left 3")
    expect(show.stdout).not.toContain("right")
    expect(await logTail(dir, "right")).toEqual(chattyLines("right"))
  })

  it("without --json, prints are shown live prefixed by their node's label", async () => {
    const run = await cli(["run", "printing.ts", "--force", "left"], dir)
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("    left │ log left 0\n")
    expect(run.stdout).toContain("    left │ error left 3\n")
    expect(run.stdout).not.toContain("right │")
    // right was cached this time: show gives the log of the run that computed it
    const show = await cli(["show", "right"], dir)
    expect(show.stdout).toMatch(/status\s+cached/)
    expect(show.stdout).toContain("    async right 3\n")
  })

  it("a failed node: exit 1, NDJSON still, and show prints its log and the stack of what it threw", async () => {
    const run = await cli(["run", "crash.ts", "--json"], dir)
    expect(run.code).toBe(1)
    expect(ndjson(run.stdout).map((e) => e["type"])).toEqual(["queued", "running", "failed", "summary"])
    const show = await cli(["show", "crash"], dir)
    expect(show.stdout).toMatch(/status\s+failed: the crash node's own bug/)
    expect(show.stdout).toContain("    about to crash\n")
    expect(show.stdout).toMatch(/ {2}stack\n {4}TypeError: the crash node's own bug\n {8}at explodeWithStack \(file:\/\/.*nodes\/crash\.ts:5:9\)/)
    // the runtime's own frames are left out
    expect(show.stdout).not.toContain("node_modules/effect")
  })

  it("under --json a failed command writes an error event with its tag, message and fields, and exits non-zero", async () => {
    const run = await cli(["run", "no-such-pipeline.ts", "--json"], dir)
    expect(run.code).toBe(2)
    const [event] = ndjson(run.stdout)
    expect(event).toMatchObject({
      type: "error",
      tag: "ConfigError",
      message: "pipeline file no-such-pipeline.ts does not exist",
      reason: "pipeline file no-such-pipeline.ts does not exist"
    })
    expect(run.stderr).toContain("error: pipeline file no-such-pipeline.ts does not exist")
  })
})

describe("a pipeline file that does not parse", () => {
  const expectSyntaxError = async (file: string, where: string, source: string, column: number) => {
    const store = path.join(dir, "untouched-store")
    const run = await cli(["run", file, "--store", store], dir)
    expect(run.code).toBe(2)
    const [first, line, caret] = run.stderr.split("\n")
    expect(first).toContain(`syntax error at ${where}:`)
    expect(line).toMatch(new RegExp(`^\\s+\\d+ \\| ${source.replace(/[()]/g, "\\$&")}$`))
    expect(caret!.indexOf("^") - caret!.indexOf("|") - 2).toBe(column - 1)
    expect(fs.existsSync(store)).toBe(false)
  }

  it("names file:line:column and shows the line with a caret (Node's type stripping)", () =>
    expectSyntaxError("syntax-error.ts", "syntax-error.ts:4:27", "const nodeCount: number = = 3", 27))

  it("names a module it imports through tsx (a file with an enum) the same way", async () => {
    writeFile(dir, "enum-imports-bad.ts", `enum Size { Small }\nimport { y } from "./helper-bad.ts"\nexport default [Size.Small, y]\n`)
    writeFile(dir, "helper-bad.ts", `export const y: number = = 2\n`)
    await expectSyntaxError("enum-imports-bad.ts", "helper-bad.ts:1:26", "export const y: number = = 2", 26)
  })
})
