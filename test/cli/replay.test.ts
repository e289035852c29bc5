import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { sha256 } from "../../dsl/internal/Canonical.ts"
import { rememberedHashes } from "../../runtime/cli/Replay.ts"
import { helperInner, helperOuter, nodeModules } from "../fixtures/nodes.ts"
import { cli, statuses, summary, tempDir, tempProject, writeFile } from "../helpers.ts"

// The pipeline reads a file and an environment variable while it builds: both decide its graph.
const project = {
  ...nodeModules,
  "helpers/outer.ts": helperOuter,
  "helpers/inner.ts": helperInner,
  "config.json": `{ "n": 4 }`,
  "replayed.ts": `
import * as fs from "node:fs"
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { scaled } from "./nodes/scaled.ts"
const config = JSON.parse(fs.readFileSync(new URL("./config.json", import.meta.url), "utf8")) as { n: number }
const factor = Number(process.env["FACTOR"] ?? "2")
export default Pipeline.make("replayed", () => {
  const numbers = source({ n: config.n }, { name: "source" })
  return scaled({ numbers, factor }, { name: "scaled" })
})
`,
  // falls back to a default when an optional file is missing: its absence is part of what it read
  "optional.ts": `
import * as fs from "node:fs"
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
let n = 2
try {
  n = (JSON.parse(fs.readFileSync("optional.json", "utf8")) as { n: number }).n
} catch {
  // no optional.json: the default
}
try {
  n += ((await import("./extra.ts")) as { extra: number }).extra
} catch {
  // no extra.ts either
}
export default Pipeline.make("optional", () => source({ n }, { name: "source" }))
`,
  // a package that reads the project's config as it is imported, and a pipeline that depends on the locale
  "lib/node_modules/cfgpkg/index.js": `
import * as fs from "node:fs"
export const config = JSON.parse(fs.readFileSync("cfg.json", "utf8"))
`,
  "cfg.json": `{ "n": 11 }`,
  "configured.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { config } from "./lib/node_modules/cfgpkg/index.js"
const locale = new Intl.NumberFormat().resolvedOptions().locale
export default Pipeline.make("configured", () => source({ n: config.n + (locale.startsWith("de") ? 1 : 0) }, { name: "source" }))
`,
  // a node kind whose module imports a package by name: the package's version is in the node's key
  "lib/node_modules/verpkg/package.json": `{ "name": "verpkg", "version": "1.0.0", "type": "module", "main": "index.js" }`,
  "lib/node_modules/verpkg/index.js": "export const offset = 1\n",
  "lib/nodes/shifted.ts": `
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Node } from "@ablate/dsl/index.ts"
import { offset } from "verpkg"
import { Numbers } from "../../nodes/artifacts.ts"
export const shifted = Node.make({
  kind: "test/shifted",
  version: 1,
  description: "one number, the package's offset",
  params: Schema.Struct({}),
  inputs: {},
  output: Numbers,
  run: () => Effect.sync(() => [{ i: 0, x: offset }])
})
`,
  "versioned.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { shifted } from "./lib/nodes/shifted.ts"
export default Pipeline.make("versioned", () => shifted({}, { name: "shifted" }))
`,
  // a sweep of two cells on one seed: a results table whose means have no interval (NaN bounds, null in JSON)
  "scored.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { score } from "./nodes/score.ts"
export default Pipeline.make("scored", () =>
  Pipeline.sweep({ n: [31, 37] }, ({ n }) => score({ numbers: source({ n }, { name: "source" }) }, { name: "score" })))
`,
  // reads the clock while it builds: what it depends on cannot be known, so it is never replayed
  "clocked.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
const started = Date.now()
export default Pipeline.make("clocked", () => source({ n: started > 0 ? 3 : 2 }, { name: "source" }))
`,
  // draws a random number, or lists a directory (which no file hash can stand for), while it builds
  "random.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
export default Pipeline.make("random", () => source({ n: Math.random() < 2 ? 61 : 2 }, { name: "source" }))
`,
  "listing.ts": `
import * as fs from "node:fs"
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
const n = fs.readdirSync(".").length > 0 ? 71 : 2
export default Pipeline.make("listing", () => source({ n }, { name: "source" }))
`
}

describe("replaying an unchanged `pipeline run`", () => {
  let dir: string
  const run = async (args: ReadonlyArray<string> = [], env: Record<string, string> = {}, file = "replayed.ts") => {
    const result = await cli(["run", file, "--json", ...args], dir, env)
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    return { statuses: statuses(result.stdout), summary: summary(result.stdout), stdout: result.stdout }
  }
  // what a replay and a run that planned everything anew both print, less run ids and timings
  const comparable = (stdout: string) =>
    stdout.replace(/"durationMs":[\d.e-]+/g, "").replace(/"runId":\d+/, "").replace(/"replayOf":\d+,/, "").replace(/,"ts":"[^"]*"/g, "")

  beforeAll(async () => {
    dir = tempProject(project)
    const first = await run()
    expect(first.statuses).toEqual({ source: "ran", scaled: "ran" })
    expect(first.summary.replayOf).toBeUndefined()
    expect(first.summary.notReplayable).toBeUndefined()
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("answers an identical command from the run log, printing what planning anew prints", async () => {
    const planned = await run([], { ABLATE_REPLAY: "0" })
    expect(planned.statuses).toEqual({ source: "cached", scaled: "cached" })
    expect(planned.summary.replayOf).toBeUndefined()
    const replayed = await run()
    expect(replayed.summary.replayOf).toBe(planned.summary.runId)
    expect(comparable(replayed.stdout)).toBe(comparable(planned.stdout))
    // the replay is a run of its own in the log, every node cached
    const ls = await cli(["ls", "--json"], dir)
    const latest = JSON.parse(ls.stdout.split("\n")[0]!) as { id: number; nodes: number; cached: number; status: string }
    expect(latest).toMatchObject({ nodes: 2, cached: 2, status: "succeeded", replayOf: planned.summary.runId })
    expect((await cli(["ls"], dir)).stdout).toContain(`succeeded (replayed run ${planned.summary.runId})`)
    // `show` finds the replayed run's entry, with the key components of the run it replayed
    const shown = JSON.parse((await cli(["show", "scaled", "--json"], dir)).stdout) as { runId: number; components: { kind: string } | null }
    expect(shown.runId).toBe(latest.id)
    expect(shown.components?.kind).toBe("test/scaled")
    // without --json it is another command, with a record of its own
    const plain = await cli(["run", "replayed.ts"], dir)
    expect(plain.stdout).not.toContain("replayed run")
    const plainAgain = await cli(["run", "replayed.ts"], dir)
    expect(plainAgain.stdout).toMatch(/\(run \d+; replayed run \d+: nothing it depended on has changed\)/)
    expect(plainAgain.stdout.replace(/ in [\d.]+s \(run .*\)/, "")).toBe(plain.stdout.replace(/ in [\d.]+s \(run .*\)/, ""))
  })

  it("prints a results table without intervals (one seed) as planning anew prints it", async () => {
    for (const json of [["--json"], []]) {
      const args = ["run", "scored.ts", ...json]
      expect((await cli(args, dir)).code).toBe(0)
      const planned = await cli(args, dir, { ABLATE_REPLAY: "0" })
      const replayed = await cli(args, dir)
      expect(replayed.stdout).toMatch(json.length > 0 ? /"replayOf":\d+/ : /replayed run \d+/)
      const shown = (stdout: string) => comparable(stdout).replace(/ in [\d.]+s \(run .*\)/, "")
      expect(shown(replayed.stdout)).toBe(shown(planned.stdout))
      expect(planned.stdout).toContain(json.length > 0 ? `"low":null` : "results: mean ± 95% CI")
    }
  })

  it("plan --explain after a replay compares with the replayed run's key", async () => {
    const other = await run(["--set", "scaled.factor=3"])
    expect(other.statuses).toEqual({ source: "cached", scaled: "ran" })
    expect((await run()).summary.replayOf).toBeDefined()
    // the latest run of `scaled` (the replay) had factor 2, not the 3 of the run before it
    const plan = await cli(["plan", "replayed.ts", "--set", "scaled.factor=5", "--explain"], dir)
    expect(plan.stdout).toContain("params.factor: 2 → 5")
  })

  it("plans anew when an environment variable the pipeline read has changed", async () => {
    const changed = await run([], { FACTOR: "4" })
    expect(changed.summary.replayOf).toBeUndefined()
    expect(changed.statuses).toEqual({ source: "cached", scaled: "ran" })
    expect((await run([], { FACTOR: "4" })).summary.replayOf).toBe(changed.summary.runId)
  })

  it("plans anew when a file the pipeline read while building has changed", async () => {
    // replayed before the edit (once the record is of this environment), so the edit is what stops the replay
    await run()
    expect((await run()).summary.replayOf).toBeDefined()
    writeFile(dir, "config.json", `{ "n": 5 }`)
    const changed = await run()
    expect(changed.summary.replayOf).toBeUndefined()
    expect(changed.statuses).toEqual({ source: "ran", scaled: "ran" })
  })

  it("plans anew when a module the pipeline loaded has changed", async () => {
    const inner = path.join(dir, "helpers/inner.ts")
    fs.writeFileSync(inner, fs.readFileSync(inner, "utf8").replace("a * b", "b * a"))
    const changed = await run()
    expect(changed.summary.replayOf).toBeUndefined()
    expect(changed.statuses).toEqual({ source: "cached", scaled: "ran" })
  })

  it("plans anew when an output is no longer stored, and recomputes it", async () => {
    const before = await run()
    expect(before.summary.replayOf).toBeDefined()
    const hash = before.summary.nodes.find((n) => n.label === "scaled")!.hash!
    fs.rmSync(path.join(dir, ".ablate", "objects", hash.slice(0, 2), hash))
    const after = await run()
    expect(after.summary.replayOf).toBeUndefined()
    expect(after.statuses).toEqual({ source: "cached", scaled: "ran" })
  })

  it("never replays --force", async () => {
    const forced = await run(["--force", "scaled"])
    expect(forced.summary.replayOf).toBeUndefined()
    expect(forced.summary.notReplayable).toBe("run with --force")
    expect(forced.statuses).toEqual({ source: "cached", scaled: "ran" })
    // the same forced command again: still not replayed, still run
    const again = await run(["--force", "scaled"])
    expect(again.summary.replayOf).toBeUndefined()
    expect(again.statuses).toEqual({ source: "cached", scaled: "ran" })
  })

  it("plans anew when a file or module the pipeline found missing while building appears", async () => {
    expect((await run([], {}, "optional.ts")).statuses).toEqual({ source: "ran" })
    expect((await run([], {}, "optional.ts")).summary.replayOf).toBeDefined()
    writeFile(dir, "optional.json", `{ "n": 7 }`)
    const withFile = await run([], {}, "optional.ts")
    expect(withFile.summary.replayOf).toBeUndefined()
    expect(withFile.statuses).toEqual({ source: "ran" })
    expect((await run([], {}, "optional.ts")).summary.replayOf).toBeDefined()
    writeFile(dir, "extra.ts", "export const extra = 1\n")
    const withModule = await run([], {}, "optional.ts")
    expect(withModule.summary.replayOf).toBeUndefined()
    expect(withModule.statuses).toEqual({ source: "ran" })
  })

  it("plans anew when a project file a package read as it was imported has changed, or the locale has", async () => {
    // LC_ALL decides the locale whatever else the machine sets
    const english = { LC_ALL: "en_US.UTF-8" }
    expect((await run([], english, "configured.ts")).statuses).toEqual({ source: "ran" })
    expect((await run([], english, "configured.ts")).summary.replayOf).toBeDefined()
    writeFile(dir, "cfg.json", `{ "n": 13 }`)
    const changed = await run([], english, "configured.ts")
    expect(changed.summary.replayOf).toBeUndefined()
    expect(changed.statuses).toEqual({ source: "ran" })
    const german = await run([], { LC_ALL: "de_DE.UTF-8" }, "configured.ts")
    expect(german.summary.replayOf).toBeUndefined()
    expect(german.statuses).toEqual({ source: "ran" })
  })

  it("plans anew when a package a node's module imports has a new version, and reruns the node", async () => {
    expect((await run([], {}, "versioned.ts")).statuses).toEqual({ shifted: "ran" })
    expect((await run([], {}, "versioned.ts")).summary.replayOf).toBeDefined()
    const manifest = path.join(dir, "lib/node_modules/verpkg/package.json")
    fs.writeFileSync(manifest, fs.readFileSync(manifest, "utf8").replace("1.0.0", "1.0.1"))
    const changed = await run([], {}, "versioned.ts")
    expect(changed.summary.replayOf).toBeUndefined()
    expect(changed.statuses).toEqual({ shifted: "ran" })
    expect((await run([], {}, "versioned.ts")).summary.replayOf).toBe(changed.summary.runId)
  })

  it("never replays a pipeline that read the clock while building", async () => {
    expect((await run([], {}, "clocked.ts")).statuses).toEqual({ source: "ran" })
    const again = await run([], {}, "clocked.ts")
    expect(again.summary.replayOf).toBeUndefined()
    expect(again.summary.notReplayable).toBe("the pipeline called Date.now")
    expect(again.statuses).toEqual({ source: "cached" })
  })

  it("never replays a pipeline that drew a random number or listed a directory while building", async () => {
    for (const [file, reason] of [["random.ts", "the pipeline called Math.random"], ["listing.ts", "the pipeline called fs.readdirSync"]]) {
      expect((await run([], {}, file)).statuses).toEqual({ source: "ran" })
      const again = await run([], {}, file)
      expect(again.summary.replayOf).toBeUndefined()
      expect(again.summary.notReplayable).toBe(reason)
      expect(again.statuses).toEqual({ source: "cached" })
    }
  })
})

describe("the hashes a resident process remembers between replays", () => {
  it("hashes a file again once its stat changed, and knows a removed one is gone", () => {
    const file = path.join(tempDir("hashes"), "config.json")
    fs.writeFileSync(file, "cc")
    // a clock a minute ahead: the file was not changed in the last two seconds, and is remembered
    const hashes = rememberedHashes(() => Date.now() + 60_000)
    expect(hashes(file)).toBe(sha256(Buffer.from("cc")))
    for (const text of ["dd", "eee"]) {
      fs.writeFileSync(file, text)
      expect(hashes(file)).toBe(sha256(Buffer.from(text)))
    }
    fs.rmSync(file)
    expect(hashes(file)).toBeUndefined()
  })
})
