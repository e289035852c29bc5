import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { helperInner, helperOuter, nodeModules } from "../fixtures/nodes.ts"
import { cli, events, filesUnder, statuses, summary, tempProject } from "../helpers.ts"

const project = {
  ...nodeModules,
  "helpers/outer.ts": helperOuter,
  "helpers/inner.ts": helperInner,
  "chain.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { scaled } from "./nodes/scaled.ts"
import { sum } from "./nodes/sum.ts"
export default Pipeline.make("chain", () => sum({ numbers: scaled({ numbers: source({ n: 5 }, { name: "source" }) }, { name: "scaled" }) }, { name: "sum" }))
`,
  // a source that is not deterministic: recomputing it gives other bytes
  "noisy.ts": `
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Node, Pipeline } from "@ablate/dsl/index.ts"
import { Numbers } from "./nodes/artifacts.ts"
import { scaled } from "./nodes/scaled.ts"
import { sum } from "./nodes/sum.ts"
const noisy = Node.make({
  kind: "test/noisy",
  version: 1,
  description: "a number drawn from Math.random, not from the node's random stream",
  params: Schema.Struct({}),
  inputs: {},
  output: Numbers,
  run: () => Effect.sync(() => [{ i: 0, x: Math.random() }])
})
export default Pipeline.make("noisy", () => sum({ numbers: scaled({ numbers: noisy({}, { name: "noisy" }) }, { name: "scaled" }) }, { name: "sum" }))
`
}

const run = ["run", "chain.ts", "--json"]
/** sum of 2·(0+1+2+3+4): what an undamaged store reports */
const expected = [{ i: 0, x: 20 }]

const dirs: Array<string> = []
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true })
})

/** A project whose pipeline ran once (so the run is also recorded for replay); the node hashes and keys of that run. */
const ranOnce = async () => {
  const dir = tempProject(project)
  dirs.push(dir)
  const first = await cli(run, dir)
  expect(first.code).toBe(0)
  const nodes = Object.fromEntries(summary(first.stdout).nodes.map((n) => [n.label, n]))
  const store = path.join(dir, ".ablate")
  const objectOf = (label: string) => path.join(store, "objects", nodes[label]!.hash.slice(0, 2), nodes[label]!.hash)
  const keyOf = (label: string) => path.join(store, "keys", `${nodes[label]!.key}.json`)
  return { dir, store, nodes, objectOf, keyOf }
}

/** Damage a file as a disk, a stray script or a careless user would. */
const damage = (file: string, how: "corrupt" | "truncate" | "delete") => {
  if (how === "delete") return fs.rmSync(file)
  fs.chmodSync(file, 0o644)
  const bytes = fs.readFileSync(file)
  if (how === "truncate") return fs.writeFileSync(file, bytes.subarray(0, bytes.length >> 1))
  // overwrite a few bytes in the middle, keeping the size
  const middle = bytes.length >> 1
  for (let i = middle; i < Math.min(bytes.length, middle + 8); i++) bytes[i] = bytes[i]! ^ 0xff
  fs.writeFileSync(file, bytes)
}

const valueOf = (stdout: string) => summary<{ i: number; x: number }>(stdout).outputs[0]!.value

const fsck = async (dir: string, ...flags: Array<string>) => {
  const result = await cli(["fsck", "--json", ...flags], dir)
  return { code: result.code, stderr: result.stderr, report: JSON.parse(result.stdout) as {
    objects: number
    keyRecords: number
    runLog: { state: string; runs: number }
    problems: Array<{ path: string; what: string; node?: string; repaired?: string }>
    repaired: number
    warnings: Array<string>
  } }
}

describe("store integrity", () => {
  let clean: Awaited<ReturnType<typeof ranOnce>>
  beforeAll(async () => {
    clean = await ranOnce()
  })

  it("writes objects read-only, and fsck finds a sound store sound", async () => {
    const objects = filesUnder(path.join(clean.store, "objects"))
    expect(objects.length).toBeGreaterThan(0)
    for (const file of objects) expect(fs.statSync(path.join(clean.store, "objects", file)).mode & 0o222).toBe(0)
    const { code, report } = await fsck(clean.dir)
    expect(code).toBe(0)
    expect(report).toMatchObject({ objects: objects.length, keyRecords: 3, runLog: { state: "sound", runs: 1 }, problems: [], warnings: [] })
    const plain = await cli(["fsck"], clean.dir)
    expect(plain.stdout).toContain("no problems")
    expect((await cli(["fsck", "extra"], clean.dir)).code).toBe(2)
  })

  it("an input overwritten in the middle is quarantined and its producer recomputed in the same run: the right result, exit 0", async () => {
    const { dir, store, nodes, objectOf } = await ranOnce()
    damage(objectOf("source"), "corrupt")
    const forced = await cli([...run, "--force", "scaled"], dir)
    expect(forced.stderr).toBe("")
    expect(forced.code).toBe(0)
    // source was planned cached; scaled found its bytes corrupt, and source ran again before scaled did
    expect(events(forced.stdout).filter((e) => e["label"] === "source" || e["label"] === "scaled").map((e) => `${e["label"]} ${e["type"]}`))
      .toEqual(["scaled queued", "source cached", "source running", "source done", "scaled running", "scaled done"])
    expect(statuses(forced.stdout)).toEqual({ source: "cached", scaled: "ran", sum: "cached" })
    expect(valueOf(forced.stdout)).toEqual(expected)
    expect(fs.existsSync(path.join(store, "quarantine", nodes["source"]!.hash))).toBe(true)
    expect(fs.readFileSync(objectOf("source")).length).toBe(fs.readFileSync(path.join(store, "quarantine", nodes["source"]!.hash)).length)
    expect((await fsck(dir)).report.problems).toEqual([])

    const rerun = await cli(run, dir)
    expect(statuses(rerun.stdout)).toEqual({ source: "cached", scaled: "cached", sum: "cached" })
    expect(valueOf(rerun.stdout)).toEqual(expected)
  })

  it("a producer that cannot be recomputed to the same bytes: its consumer fails naming the object, the producer and what to do", async () => {
    const { dir } = await ranOnce()
    const noisy = ["run", "noisy.ts", "--json"]
    const first = await cli(noisy, dir)
    expect(first.code).toBe(0)
    const hash = summary(first.stdout).nodes.find((n) => n.label === "noisy")!.hash
    damage(path.join(dir, ".ablate", "objects", hash.slice(0, 2), hash), "corrupt")
    const forced = await cli([...noisy, "--force", "scaled"], dir)
    expect(forced.code).toBe(1)
    expect(statuses(forced.stdout)).toEqual({ noisy: "cached", scaled: "failed", sum: "failed" })
    const error = (summary(forced.stdout).nodes.find((n) => n.label === "scaled") as { error?: string }).error
    expect(error).toContain(`${hash.slice(0, 2)}/${hash} (output of node "noisy") is corrupt`)
    expect(error).toContain(`dropped 1 key record naming it; recomputing node "noisy" gave other bytes`)
    expect(error).toContain("the next `pipeline run` recomputes its readers from the new ones")
    expect(valueOf(forced.stdout)).toBeNull()

    const rerun = await cli(noisy, dir)
    expect(rerun.code).toBe(0)
    expect(statuses(rerun.stdout)).toEqual({ noisy: "cached", scaled: "ran", sum: "ran" })
  })

  it("a corrupt output is never reported: found when the summary reads it, and recomputed before it is shown", async () => {
    const { dir, nodes, objectOf, store } = await ranOnce()
    damage(objectOf("sum"), "corrupt")
    // a replay reports what the run it replays read (verified) and reads no object: the right value
    const replayed = await cli(run, dir)
    expect(summary(replayed.stdout).replayOf).toBeDefined()
    expect(valueOf(replayed.stdout)).toEqual(expected)
    const rerun = await cli(run, dir, { ABLATE_REPLAY: "0" })
    expect(rerun.stderr).toBe("")
    expect(rerun.code).toBe(0)
    expect(events(rerun.stdout).filter((e) => e["label"] === "sum").map((e) => e["type"])).toEqual(["cached", "running", "done"])
    expect(valueOf(rerun.stdout)).toEqual(expected)
    expect(fs.existsSync(path.join(store, "quarantine", nodes["sum"]!.hash))).toBe(true)
    // quarantined, then put again whole
    expect((await fsck(dir)).report.problems).toEqual([])
    const again = await cli(run, dir)
    expect(again.code).toBe(0)
    expect(valueOf(again.stdout)).toEqual(expected)
  })

  for (const how of ["truncate", "delete"] as const) {
    it(`a ${how}d object is a miss for replay and plan: its node reruns and the store is whole again`, async () => {
      const { dir, objectOf } = await ranOnce()
      damage(objectOf("source"), how)
      const plan = await cli(["plan", "chain.ts", "--json"], dir)
      expect((JSON.parse(plan.stdout) as { nodes: Array<{ status: string }> }).nodes[0]!.status).toBe("miss")
      const rerun = await cli(run, dir)
      expect(rerun.code).toBe(0)
      expect(summary(rerun.stdout).replayOf).toBeUndefined()
      expect(statuses(rerun.stdout)).toEqual({ source: "ran", scaled: "cached", sum: "cached" })
      expect(valueOf(rerun.stdout)).toEqual(expected)
      expect((await fsck(dir)).code).toBe(0)
    })
  }

  it("fsck reports corrupt, truncated and deleted objects with the node that made them; --repair quarantines and drops their records", async () => {
    const { dir, store, nodes, objectOf, keyOf } = await ranOnce()
    damage(objectOf("source"), "corrupt")
    damage(objectOf("scaled"), "truncate")
    damage(objectOf("sum"), "delete")
    const found = await fsck(dir)
    expect(found.code).toBe(1)
    const problems = found.report.problems
    expect(problems).toContainEqual(expect.objectContaining({
      path: path.join("objects", nodes["source"]!.hash.slice(0, 2), nodes["source"]!.hash),
      node: "source (test/source)"
    }))
    expect(problems.find((p) => p.path.endsWith(nodes["scaled"]!.hash))?.what).toMatch(/hash to .*not to its name/)
    expect(problems.map((p) => p.what)).toContain(`its output object ${nodes["sum"]!.hash.slice(0, 12)}… is missing`)
    expect(problems.filter((p) => p.path.startsWith("keys")).length).toBe(3)
    expect(problems.every((p) => p.repaired === undefined)).toBe(true)
    const plain = await cli(["fsck"], dir)
    expect(plain.code).toBe(1)
    expect(plain.stdout).toContain("made by node source (test/source)")
    expect(plain.stdout).toContain("pipeline fsck --repair")

    const repaired = await fsck(dir, "--repair")
    expect(repaired.code).toBe(0)
    expect(repaired.report.repaired).toBe(problems.length)
    expect(fs.existsSync(path.join(store, "quarantine", nodes["source"]!.hash))).toBe(true)
    for (const label of ["source", "scaled", "sum"]) expect(fs.existsSync(keyOf(label))).toBe(false)
    // the history now names results that are gone: reported, not failed
    const after = await fsck(dir)
    expect(after.code).toBe(0)
    expect(after.report.problems).toEqual([])
    expect(after.report.warnings.join("\n")).toContain("no longer stored")

    const rerun = await cli(run, dir)
    expect(statuses(rerun.stdout)).toEqual({ source: "ran", scaled: "ran", sum: "ran" })
    expect(valueOf(rerun.stdout)).toEqual(expected)
    expect((await fsck(dir)).report.warnings).toEqual([])
  })

  it("a corrupt or deleted key record is a miss: fsck reports it and the next run recomputes the node", async () => {
    const { dir, keyOf } = await ranOnce()
    fs.writeFileSync(keyOf("source"), "{ not json")
    fs.rmSync(keyOf("scaled"))
    const found = await fsck(dir)
    expect(found.code).toBe(1)
    expect(found.report.problems).toEqual([expect.objectContaining({ what: "not a valid key record", path: path.relative(path.join(dir, ".ablate"), keyOf("source")) })])
    expect(found.report.warnings.join("\n")).toContain(`node "scaled" in the run log has no key record`)
    const rerun = await cli(run, dir)
    expect(rerun.code).toBe(0)
    expect(statuses(rerun.stdout)).toEqual({ source: "ran", scaled: "ran", sum: "cached" })
    expect(valueOf(rerun.stdout)).toEqual(expected)
    expect((await fsck(dir)).code).toBe(0)
  })

  it("a corrupt run log stops run with exit 2 and the repair command; fsck --repair moves it aside and the next run reuses the cache", async () => {
    const { dir, store } = await ranOnce()
    for (const suffix of ["-wal", "-shm"]) fs.rmSync(path.join(store, `runs.db${suffix}`), { force: true })
    fs.writeFileSync(path.join(store, "runs.db"), "this is not a SQLite database ".repeat(200))
    const refused = await cli(run, dir)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("is corrupt (file is not a database)")
    expect(refused.stderr).toContain("pipeline fsck --repair")
    // under --json the failure is an error event, and the only output
    expect(events(refused.stdout)).toEqual([expect.objectContaining({ type: "error", tag: "RunLogCorrupt" })])

    const found = await fsck(dir)
    expect(found.code).toBe(1)
    expect(found.report.runLog.state).toBe("corrupt")
    const repaired = await fsck(dir, "--repair")
    expect(repaired.code).toBe(0)
    expect(repaired.report.problems[0]!.repaired).toMatch(/^moved to runs\.db\.corrupt-/)

    const rerun = await cli(run, dir)
    expect(rerun.code).toBe(0)
    expect(statuses(rerun.stdout)).toEqual({ source: "cached", scaled: "cached", sum: "cached" })
    expect(valueOf(rerun.stdout)).toEqual(expected)
  })

  it("a deleted run log: fsck warns that the history is gone, and run starts a new one reusing the cache", async () => {
    const { dir, store } = await ranOnce()
    for (const suffix of ["", "-wal", "-shm"]) fs.rmSync(path.join(store, `runs.db${suffix}`), { force: true })
    const found = await fsck(dir)
    expect(found.code).toBe(0)
    expect(found.report.runLog.state).toBe("missing")
    expect(found.report.warnings.join("\n")).toContain("runs.db is missing")
    const rerun = await cli(run, dir)
    expect(rerun.code).toBe(0)
    expect(summary(rerun.stdout).replayOf).toBeUndefined()
    expect(statuses(rerun.stdout)).toEqual({ source: "cached", scaled: "cached", sum: "cached" })
    expect(valueOf(rerun.stdout)).toEqual(expected)
  })
})
