import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { cli, repo, summary } from "../helpers.ts"

describe("the quickstart pipeline", () => {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-quickstart-"))
  const run = (...args: Array<string>) => cli(["run", "pipelines/quickstart.ts", "--store", store, ...args], repo)
  let first: Awaited<ReturnType<typeof run>>

  beforeAll(async () => {
    first = await run("--json")
  })

  it("trains a reward model well above chance on held-out pairs", () => {
    expect(first.code).toBe(0)
    const result = summary<{ accuracy: number; pairs: number }>(first.stdout)
    expect(result.nodes.map((n) => [n.label, n.status])).toEqual([
      ["task", "ran"],
      ["labels", "ran"],
      ["features", "ran"],
      ["rm", "ran"],
      ["accuracy", "ran"]
    ])
    const [row] = result.outputs[0]!.value!
    expect(row!.pairs).toBeGreaterThan(10_000)
    expect(row!.accuracy).toBeGreaterThan(0.85)
    expect(first.stdout).toContain(`"type":"progress","id"`)
  })

  it("reruns entirely from cache, printing the summary table", async () => {
    const again = await run()
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/accuracy\s+evaluate\/pairwiseAccuracy\s+cached\s+accuracy=0\.9\d+ pairs=\d+/)
    expect(again.stdout).toMatch(/5 nodes, 0 ran, 5 cached, 0 failed/)
  })

  it("plan --set on the reward model misses only it and its downstream, naming the param", async () => {
    const plan = await cli(["plan", "pipelines/quickstart.ts", "--store", store, "--set", "rm.lr=0.05", "--explain"], repo)
    expect(plan.code).toBe(0)
    expect(plan.stdout).toContain("quickstart: 5 nodes, 3 cached, 2 to run")
    expect(plan.stdout).toMatch(/✓ task\s+hit/)
    expect(plan.stdout).toMatch(/✓ labels\s+hit/)
    expect(plan.stdout).toMatch(/✓ features\s+hit/)
    expect(plan.stdout).toMatch(/✗ rm\s+miss\s+reward\/bradleyTerry\s+\(params\)\n\s+params\.lr: 0\.02 → 0\.05/)
    expect(plan.stdout).toMatch(/✗ accuracy\s+miss.*\(upstream\)/)
  })

  it("show prints params, metrics and lineage; ls lists runs; gc keeps referenced objects", async () => {
    const show = await cli(["show", "rm", "--store", store], repo)
    expect(show.code).toBe(0)
    expect(show.stdout).toContain("params   hidden=16 steps=300 lr=0.02000 margin=0 labelSmoothing=0 centering=0 weightDecay=0 seed=0")
    expect(show.stdout).toMatch(/metrics\s+loss=[\d.]+ accuracy=[\d.]+ margin=/)
    expect(show.stdout).toMatch(/pairs ← features [0-9a-f]{12}\n\s+pairs ← labels [0-9a-f]{12}\n\s+task ← task [0-9a-f]{12}/)
    const ls = await cli(["ls", "--store", store, "--json"], repo)
    expect(ls.stdout.trim().split("\n").map((line) => JSON.parse(line).status)).toEqual(["succeeded", "succeeded"])
    fs.mkdirSync(path.join(store, "objects", "ff"), { recursive: true })
    fs.writeFileSync(path.join(store, "objects", "ff", "f".repeat(64)), "orphan")
    fs.utimesSync(path.join(store, "objects", "ff", "f".repeat(64)), 0, 0) // older than gc's grace period
    const gc = await cli(["gc", "--store", store, "--json"], repo)
    expect(JSON.parse(gc.stdout)).toEqual({
      forgottenRuns: [],
      keyRecords: 0,
      objects: 1,
      bytes: 6,
      logs: 0,
      logBytes: 0,
      checkpoints: 0,
      checkpointBytes: 0,
      inProgress: []
    })
    const last = (await run("--json")).stdout
    expect(last).toMatch(/"status":"succeeded"/)
    // nothing it depends on changed since the first --json run (gc kept what it refers to): replayed
    expect(last).toMatch(/"replayOf":1[,}]/)
  })
})
