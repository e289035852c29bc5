// `pipeline show`'s metric summaries, `pipeline metrics` and `pipeline cat` on the quickstart's
// store, checked against the stored objects read back with the project's own Parquet reader.
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { Metrics } from "../../dsl/Artifact.ts"
import { main } from "../../runtime/cli/main.ts"
import * as NodeLookup from "../../runtime/cli/NodeLookup.ts"
import { layout } from "../../runtime/internal/StoreLayout.ts"
import * as TableCodec from "../../runtime/TableCodec.ts"
import { cli, repo, spawnCli, summary, tempDir } from "../helpers.ts"

interface Row {
  readonly step: number
  readonly name: string
  readonly value: number
}

describe("metrics history and exports", () => {
  const store = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-export-"))
  const pipeline = (...args: Array<string>) => cli([...args, "--store", store], repo)
  const objectFile = (hash: string) => layout(store).objectPath(hash)
  let hashes: Record<string, { output: string; metrics: string }> = {}
  /** rm's per-step metrics as stored */
  let stored: ReadonlyArray<Row> = []

  beforeAll(async () => {
    const run = await pipeline("run", "pipelines/quickstart.ts", "--json")
    expect(run.code, run.stderr).toBe(0)
    for (const node of summary(run.stdout).nodes) {
      const show = JSON.parse((await pipeline("show", node.label, "--json")).stdout) as { outputHash: string; metricsHash: string }
      hashes[node.label] = { output: show.outputHash, metrics: show.metricsHash }
    }
    stored = TableCodec.decode(Metrics, fs.readFileSync(objectFile(hashes["rm"]!.metrics))) as ReadonlyArray<Row>
  })

  const lossPoints = () => stored.filter((r) => r.name === "loss").sort((a, b) => a.step - b.step)

  it("show prints a line per per-step metric with its sparkline, and the metrics file", async () => {
    const show = await pipeline("show", "rm")
    expect(show.code, show.stderr).toBe(0)
    const loss = lossPoints()
    const [first, last] = [loss[0]!, loss.at(-1)!]
    const min = loss.reduce((a, b) => (b.value < a.value ? b : a))
    expect(show.stdout).toContain(
      `→ ${last.value.toPrecision(4)}  min ${min.value.toPrecision(4)} @${min.step}  max ${first.value.toPrecision(4)} @${first.step}  (${loss.length} points, steps ${first.step}–${last.step})`
    )
    expect(show.stdout).toMatch(/\n\s+metrics\s+loss=.*\n\s+loss\s+[▁▂▃▄▅▆▇█]{24}\s+\d/)
    expect(show.stdout).toContain(`${objectFile(hashes["rm"]!.metrics)}  (every step: pipeline metrics rm)`)
    const json = JSON.parse((await pipeline("show", "rm", "--json")).stdout) as {
      metricHistory: { file: string; summaries: ReadonlyArray<{ name: string; points: number; min: Row }> }
    }
    expect(json.metricHistory.file).toBe(objectFile(hashes["rm"]!.metrics))
    expect(json.metricHistory.summaries.find((s) => s.name === "loss")).toMatchObject({ points: loss.length, min: { step: min.step, value: min.value } })
  })

  it("metrics --format csv parses back to the numbers stored, a column per metric", async () => {
    const csv = await pipeline("metrics", "rm", "--format", "csv")
    expect(csv.code, csv.stderr).toBe(0)
    const [header, ...lines] = csv.stdout.trimEnd().split("\n")
    const names = header!.split(",").slice(1)
    expect(names).toEqual([...new Set(stored.map((r) => r.name))])
    const parsed = lines.flatMap((line) => {
      const [step, ...cells] = line.split(",")
      return cells.flatMap((cell, i) => (cell === "" ? [] : [{ step: Number(step), name: names[i]!, value: Number(cell) }]))
    })
    const byKey = (rows: ReadonlyArray<Row>) => [...rows].sort((a, b) => a.step - b.step || a.name.localeCompare(b.name))
    expect(byKey(parsed)).toEqual(byKey(stored))
  })

  it("metrics --json: every point of each metric by name; the table has a row per step", async () => {
    const json = await pipeline("metrics", "rm", "--json")
    expect(JSON.parse(json.stdout)["loss"]).toEqual(lossPoints().map(({ step, value }) => ({ step, value })))
    const table = await pipeline("metrics", "rm")
    expect(table.stdout.split("\n")[0]).toMatch(/^step\s+loss\s+accuracy/)
    expect(table.stdout.trimEnd().split("\n")).toHaveLength(new Set(stored.map((r) => r.step)).size + 1)
  })

  it("metrics of a node that recorded none, or of no node, is a usage error that says so", async () => {
    const none = await pipeline("metrics", "task")
    expect([none.code, none.stderr]).toEqual([
      2,
      `error: pipeline metrics: node "task" (run 1, ran) recorded no per-step metrics (pipeline cat task exports its output)\n`
    ])
    const typo = await pipeline("metrics", "rmm")
    expect([typo.code, typo.stderr]).toEqual([2, `error: pipeline metrics: no node, key or artifact matching "rmm" in ${store} — did you mean "rm"?\n`])
    const unknown = await pipeline("cat", "policy")
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain(`"policy" in ${store}; nodes logged there: task, labels, features, rm, accuracy`)
  })

  it("cat exports a table as CSV (default) and JSON with the rows stored", async () => {
    const expected = TableCodec.decodeStored(fs.readFileSync(objectFile(hashes["labels"]!.output)))
    const csv = await pipeline("cat", "labels")
    expect(csv.code, csv.stderr).toBe(0)
    const lines = csv.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe(expected.columns.join(","))
    expect(lines).toHaveLength(expected.rows.length + 1)
    const first = expected.rows[0]!
    expect(lines[1]).toBe(expected.columns.map((c) => (Array.isArray(first[c]) ? JSON.stringify(first[c]) : String(first[c]))).join(","))
    const json = await pipeline("cat", "labels", "--format", "json")
    expect(JSON.parse(json.stdout)).toEqual(expected.rows)
  })

  it("cat --format parquet writes the stored Parquet, to -o FILE or to a pipe, and it reads back to the same rows", async () => {
    const dir = tempDir("export")
    const file = path.join(dir, "labels.parquet")
    const written = await pipeline("cat", "labels", "--format", "parquet", "-o", file)
    expect(written.code, written.stderr).toBe(0)
    expect(written.stdout).toMatch(/^wrote .*labels\.parquet: labels \(PreferencePairs\) as Parquet \(\d+ bytes\)\n$/)
    const json = JSON.parse((await pipeline("cat", "labels", "--format", "json")).stdout) as ReadonlyArray<unknown>
    expect(TableCodec.decodeStored(fs.readFileSync(file)).rows).toEqual(json)
    const piped = await new Promise<Buffer>((resolve) => {
      const child = spawnCli(["cat", "labels", "--format", "parquet", "--store", store], repo)
      const chunks: Array<Buffer> = []
      child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk))
      child.on("close", () => resolve(Buffer.concat(chunks)))
    })
    expect(piped.equals(fs.readFileSync(file))).toBe(true)
  })

  it("cat --format parquet is refused on a terminal, writing nothing", async () => {
    let [stdout, stderr] = ["", ""]
    const code = await Effect.runPromise(main(["cat", "labels", "--format", "parquet", "--store", store], {
      out: { write: (text) => void (stdout += text), isTTY: true, writeBytes: () => expect.fail("wrote bytes to a terminal") },
      err: { write: (text) => void (stderr += text) }
    }))
    expect([code, stdout, stderr]).toEqual([2, "", "error: --format: labels (PreferencePairs) as Parquet is binary: write it to a file with -o FILE (or redirect stdout to one)\n"])
  })

  it("-o writes the file (what stdout would have shown) and nothing when it cannot", async () => {
    const dir = tempDir("export")
    const csv = path.join(dir, "metrics.csv")
    const wrote = await pipeline("metrics", "rm", "--format", "csv", "-o", csv)
    expect(wrote.stdout).toMatch(/^wrote .*metrics\.csv: 5 metrics of rm over \d+ steps \(\d+ bytes\)\n$/)
    expect(fs.readFileSync(csv, "utf8")).toBe((await pipeline("metrics", "rm", "--format", "csv")).stdout)
    const intoDir = await pipeline("cat", "labels", "-o", dir)
    expect([intoDir.code, intoDir.stderr]).toEqual([2, `error: --output: ${dir}: is a directory: name the file to write\n`])
    const missing = await pipeline("cat", "labels", "-o", path.join(dir, "no", "such.csv"))
    expect(missing.code).toBe(2)
    expect(missing.stderr).toBe(`error: --output: ${path.join(dir, "no", "such.csv")}: cannot write it: its directory ${path.join(dir, "no")} does not exist\n`)
    expect(fs.readdirSync(dir)).toEqual(["metrics.csv"])
  })

  it("cat of a model prints its config and tensor shapes; other formats are refused naming the one it has", async () => {
    const model = await pipeline("cat", "rm")
    expect(model.code, model.stderr).toBe(0)
    const shown = JSON.parse(model.stdout) as { type: string; tensors: ReadonlyArray<{ shape: ReadonlyArray<number>; params: number }>; params: number }
    expect(shown.type).toBe("RewardModel")
    for (const t of shown.tensors) expect(t.params).toBe(t.shape.reduce((a, b) => a * b, 1))
    expect(shown.params).toBe(shown.tensors.reduce((sum, t) => sum + t.params, 0))
    const csv = await pipeline("cat", "rm", "--format", "csv")
    expect([csv.code, csv.stderr]).toEqual([
      2,
      "error: --format: rm is a RewardModel model (safetensors), which pipeline cat exports as json only: its config and each tensor's shape and size\n"
    ])
  })

  it("cat takes any stored object by a prefix of its hash: a node's metrics table too", async () => {
    const metrics = await pipeline("cat", hashes["rm"]!.metrics.slice(0, 10))
    expect(metrics.code, metrics.stderr).toBe(0)
    expect(metrics.stdout.split("\n")[0]).toBe("step,name,value")
    expect(metrics.stdout.trimEnd().split("\n")).toHaveLength(stored.length + 1)
  })

  it("a bad --format names the formats of that command", async () => {
    const cat = await pipeline("cat", "labels", "--format", "xml")
    expect([cat.code, cat.stderr]).toEqual([2, `error: --format: "xml" is not a format of pipeline cat (one of: csv, json, parquet)\n`])
    const metrics = await pipeline("metrics", "rm", "--format", "parquet")
    expect([metrics.code, metrics.stderr]).toEqual([2, `error: --format: "parquet" is not a format of pipeline metrics (one of: table, csv, json)\n`])
  })
})

describe("a name that matches no node", () => {
  it("is answered with the labels near it, the sweep cells it ran in, or some labels there are", () => {
    expect(NodeLookup.hint("rmm", ["task", "rm"])).toBe(` — did you mean "rm"?`)
    expect(NodeLookup.hint("rm", ["rm[beta=0.1,seed=0]", "task", "rm[beta=1,seed=0]"])).toBe(
      "; it ran in sweep cells, each its own node: rm[beta=0.1,seed=0], rm[beta=1,seed=0]"
    )
    const labels = Array.from({ length: 10 }, (_, i) => `node${i}`)
    expect(NodeLookup.hint("policy", labels)).toBe("; nodes logged there: node0, node1, node2, node3, node4, node5, node6, node7, … (10 in all)")
    expect(NodeLookup.hint("rm", [])).toBe("; no run is logged there yet (pipeline run <file> first)")
  })
})
