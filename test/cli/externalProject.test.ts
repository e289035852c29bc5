/**
 * Ablate used from a project of one's own, as docs/using.md says: installed as a package
 * (`npm pack`, then `npm install` of the tarball, as an install from a git URL does), so its
 * TypeScript lies under node_modules; a pipeline file importing `ablate` and `ablate/nodes`
 * run with `npx pipeline run`, and the same pipeline run through the programmatic API
 * (`ablate/runner`). The install takes the packages from npm's cache (`--prefer-offline`):
 * nothing that this repository's own install fetched is downloaded again.
 */
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { outputHashes, repo, statuses, summary } from "../helpers.ts"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-external-"))
const project = path.join(dir, "project")

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The Node a user of the package runs: this one when it is new enough, else the project's own (as test/helpers.ts). */
const nodeBin = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : path.join(repo, "node_modules", "node", "bin", "node")

/**
 * The environment of a user's shell: `node` on PATH is `nodeBin`, and none of the variables
 * npm set for the command that started these tests (its `npm_config_local_prefix` would
 * make `npm install` install into this repository).
 */
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) =>
      !(name.startsWith("npm_") && !name.startsWith("npm_config_")) && name !== "npm_config_local_prefix" && name !== "INIT_CWD"
    )
  ),
  PATH: `${path.dirname(nodeBin)}${path.delimiter}${process.env["PATH"] ?? ""}`,
  FORCE_COLOR: "0"
}

interface Result {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Run `command args` in `cwd` with the user's environment. */
const exec = (command: string, args: ReadonlyArray<string>, cwd: string): Promise<Result> =>
  new Promise((resolve) =>
    execFile(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    )
  )

const succeeded = (result: Result, what: string): Result => {
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.stderr}${result.stdout}`)
  return result
}

const programFile = `import { Effect, Layer } from "effect"
import { ArtifactStore, Executor, RunLog, Runner, TensorBackend } from "ablate/runner"

const backend = TensorBackend.defaultName
const store = ".ablate"
const layers = Layer.mergeAll(ArtifactStore.layer(store), RunLog.layer(store), Executor.inProcess(backend))

const program = Effect.gen(function*() {
  const selection = { seeds: [0], overrides: [], force: ["rm"], env: TensorBackend.env(backend) }
  const prepared = yield* Runner.prepare("experiment.ts", selection)
  const run = yield* Runner.execute(prepared, { concurrency: 2, onEvent: () => {}, argv: "main.ts" })
  const outputs = []
  for (const id of prepared.graph.outputs) outputs.push(yield* run.value(id))
  const nodes = run.results.map((r) => ({ label: r.label, status: r.status, hash: r.record?.output.hash }))
  console.log(JSON.stringify({ nodes, outputs }))
})

await Effect.runPromise(program.pipe(Effect.provide(layers)))
`

/** Every node of the quickstart with `status`. */
const all = (status: string) => Object.fromEntries(["task", "labels", "features", "rm", "accuracy"].map((label) => [label, status]))

beforeAll(async () => {
  const packed = succeeded(await exec("npm", ["pack", "--json", "--pack-destination", dir], repo), "npm pack")
  const [{ filename }] = JSON.parse(packed.stdout) as [{ readonly filename: string }]
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "my-experiments", private: true, type: "module" }))
  // the quickstart imports from "ablate" and "ablate/nodes", as a user's pipeline file does
  fs.copyFileSync(path.join(repo, "pipelines", "quickstart.ts"), path.join(project, "experiment.ts"))
  fs.writeFileSync(path.join(project, "main.ts"), programFile)
  const effect = JSON.parse(fs.readFileSync(path.join(repo, "node_modules", "effect", "package.json"), "utf8")) as { version: string }
  const started = performance.now()
  succeeded(
    await exec("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", path.join(dir, filename), `effect@${effect.version}`], project),
    "npm install"
  )
  console.log(`external project: npm install of the packed repository took ${((performance.now() - started) / 1000).toFixed(1)} s`)
}, 300_000)

describe("a project of one's own that installs Ablate as a package", () => {
  it("gets a copy under node_modules with TensorFlow.js core and its two backends, not the umbrella package", () => {
    expect(fs.lstatSync(path.join(project, "node_modules", "ablate")).isDirectory()).toBe(true)
    expect(fs.readdirSync(path.join(project, "node_modules", "@tensorflow")).sort())
      .toEqual(["tfjs-backend-cpu", "tfjs-backend-wasm", "tfjs-core"])
  })

  let cliHashes: Record<string, string> = {}

  it("runs its pipeline file with `npx pipeline run`; the unchanged rerun is replayed", async () => {
    const runCli = () => exec("npx", ["pipeline", "run", "experiment.ts", "--json"], project)
    const run = succeeded(await runCli(), "npx pipeline run")
    expect(statuses(run.stdout)).toEqual(all("ran"))
    // Ablate's sources load through register.mjs's hook, which prints nothing (no experimental-feature warning)
    expect(run.stderr).toBe("")
    const result = summary<{ accuracy: number }>(run.stdout)
    expect(result.outputs[0]!.value![0]!.accuracy).toBeGreaterThan(0.85)
    cliHashes = outputHashes(run.stdout)
    expect(fs.existsSync(path.join(project, ".ablate"))).toBe(true)
    const again = succeeded(await runCli(), "npx pipeline run (again)")
    expect(statuses(again.stdout)).toEqual(all("cached"))
    expect(summary(again.stdout).replayOf).toBe(result.runId)
  }, 180_000)

  it("runs the same pipeline through ablate/runner on the store the command filled: the forced rm reproduces its bytes", async () => {
    const run = succeeded(await exec("node", ["--import", "ablate/register", "main.ts"], project), "node main.ts")
    expect(run.stderr).toBe("")
    const { nodes, outputs } = JSON.parse(run.stdout.trim().split("\n").at(-1)!) as {
      nodes: Array<{ label: string; status: string; hash: string }>
      outputs: Array<Array<{ accuracy: number }>>
    }
    // rm reruns (--force rm) and writes the bytes the command wrote, so its consumer stays cached
    expect(Object.fromEntries(nodes.map((n) => [n.label, n.status]))).toEqual({ ...all("cached"), rm: "ran" })
    expect(Object.fromEntries(nodes.map((n) => [n.label, n.hash]))).toEqual(cliHashes)
    expect(outputs[0]![0]!.accuracy).toBeGreaterThan(0.85)
  }, 180_000)
})
