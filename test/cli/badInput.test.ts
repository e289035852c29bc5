import * as fs from "node:fs"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { chainProject } from "../fixtures/nodes.ts"
import { cli, tempProject, writeFile } from "../helpers.ts"

// Each bad input: a message naming what is wrong, exit status 2, no stack trace, and no store created.
describe("bad input", () => {
  let dir: string
  beforeAll(() => {
    dir = tempProject(chainProject)
    writeFile(dir, "throws.ts", `
import { Pipeline } from "@ablate/dsl/index.ts"
export default Pipeline.make("throws", () => { throw new Error("the builder is broken") })
`)
    writeFile(dir, "bad-range.ts", `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
export default Pipeline.make("bad-range", () => source({ n: 0 }, { name: "numbers" }))
`)
    writeFile(dir, "missing-file.ts", `
import { Pipeline } from "@ablate/dsl/index.ts"
import { lines } from "./nodes/lines.ts"
export default Pipeline.make("missing-file", () => lines({ path: "no/such/data.txt" }, { name: "reader" }))
`)
    writeFile(dir, "import-throws.ts", `
throw new Error("module top level failed")
`)
    writeFile(dir, "no-default.ts", `export const x = 1\n`)
  })

  const expectUsageErrorWith = async (
    env: Readonly<Record<string, string>>,
    args: ReadonlyArray<string>,
    ...fragments: ReadonlyArray<string | RegExp>
  ) => {
    const result = await cli(args, dir, env)
    expect(result.code).toBe(2)
    for (const fragment of fragments) expect(result.stderr).toMatch(fragment)
    expect(result.stderr).not.toMatch(/\n\s+at /)
    expect(fs.existsSync(path.join(dir, ".ablate"))).toBe(false)
  }
  const expectUsageError = (args: ReadonlyArray<string>, ...fragments: ReadonlyArray<string | RegExp>) =>
    expectUsageErrorWith({}, args, ...fragments)

  it("a param out of range names the node, the field and the reason", () =>
    expectUsageError(["run", "bad-range.ts"], `node "numbers"`, `param "n"`, "greater than or equal to 1"))

  it("--set naming an unknown node lists the nodes", () =>
    expectUsageError(["run", "chain.ts", "--set", "nosuch.factor=3"], `no node named "nosuch"`, "scaled"))

  it("--set and --force naming a node with a typo suggest the near name", async () => {
    await expectUsageError(["run", "chain.ts", "--set", "scaleed.factor=3"], `--set scaleed.factor: `, `no node named "scaleed" — did you mean "scaled"?`)
    await expectUsageError(["plan", "chain.ts", "--force", "scalde"], `--force scalde: `, `did you mean "scaled"?`)
    const far = await cli(["run", "chain.ts", "--set", "nosuch.factor=3"], dir)
    expect(far.stderr).not.toContain("did you mean")
  })

  it("--set naming an unknown field lists the params", () =>
    expectUsageError(["run", "chain.ts", "--set", "scaled.factr=3"], `node "scaled"`, `no param "factr"`, "factor"))

  it("--set with a value of the wrong type", () =>
    expectUsageError(["run", "chain.ts", "--set", "scaled.factor=abc"], `node "scaled"`, `param "factor"`, "abc"))

  it("a pipeline file that throws while building", () =>
    expectUsageError(["run", "throws.ts"], `pipeline "throws"`, "the builder is broken"))

  it("a pipeline file that throws while loading", () =>
    expectUsageError(["run", "import-throws.ts"], "import-throws.ts", "module top level failed"))

  it("a pipeline file without a default pipeline", () =>
    expectUsageError(["plan", "no-default.ts"], "export default Pipeline.make"))

  it("a missing input file names the node, the param and the file", () =>
    expectUsageError(["run", "missing-file.ts"], `node "reader"`, `param "path"`, "no/such/data.txt", "no such file"))

  it("a pipeline file that does not exist", () =>
    expectUsageError(["run", "nope.ts"], "pipeline file nope.ts does not exist"))

  it("--force naming an unknown node", () => expectUsageError(["run", "chain.ts", "--force", "nosuch"], `no node named "nosuch"`))

  it("bad flags and values", async () => {
    await expectUsageError(["run", "chain.ts", "--seeds", "1,x"], "--seeds", `"x"`)
    await expectUsageError(["run", "chain.ts", "--concurrency", "0"], "--concurrency")
    await expectUsageError(["run", "chain.ts", "--bogus"], "bogus")
    await expectUsageError(["run", "chain.ts", "--backend", "quantum"], "unknown tensor backend", "wasm")
    await expectUsageError(["frobnicate"], `pipeline: unknown command "frobnicate"`, "pipeline --help")
    await expectUsageError(["pln", "chain.ts"], `unknown command "pln" (did you mean "plan"?)`)
    await expectUsageError(["run", "chain.ts", "--sed", "scaled.factor=3"], "pipeline run: unknown flag --sed", `did you mean "--set"?`, "pipeline help run")
    await expectUsageError(["ls", "--jsn"], "pipeline ls: unknown flag --jsn", `did you mean "--json"?`)
    await expectUsageError(["run", "chain.ts", "--log-level", "loud"], "--log-level", "loud")
  })

  it("an optional tensor backend that is not installed says which package to install", async () => {
    await expectUsageError(["run", "chain.ts", "--backend", "tensorflow"], "@tensorflow/tfjs-node", "npm install")
    await expectUsageError(["run", "chain.ts", "--backend", "tensorflow-gpu"], "@tensorflow/tfjs-node-gpu", "CUDA")
  })

  it("the same, when the backend comes from ABLATE_BACKEND", async () => {
    await expectUsageErrorWith({ ABLATE_BACKEND: "tensorflow" }, ["run", "chain.ts"], "@tensorflow/tfjs-node", "npm install")
    await expectUsageErrorWith({ ABLATE_BACKEND: "quantum" }, ["plan", "chain.ts"], "ABLATE_BACKEND", "unknown tensor backend")
  })

  it("an argument a command does not take is named, not ignored", async () => {
    await expectUsageError(["ls", "extra"], "pipeline ls", `unexpected argument "extra"`)
    await expectUsageError(["gc", "extra"], "pipeline gc", `unexpected argument "extra"`)
    // run, plan and verify take target nodes after the file: a second file is a target no node has
    for (const command of ["run", "plan", "verify"]) {
      await expectUsageError([command, "chain.ts", "other.ts"], `target other.ts: pipeline "chain" has no node named "other.ts"`, "its nodes: source")
    }
    await expectUsageError(["show", "scaled", "other"], "pipeline show", `unexpected argument "other"`)
    await expectUsageError(["run"], "pipeline run: missing <file>: the pipeline file", "usage: pipeline run [flags] <file>")
    await expectUsageError(["show"], "pipeline show: missing <node>")
  })

  it("a --store that is a file, or lies under one, is named for every command, and nothing is written", async () => {
    writeFile(dir, "not-a-dir", "keep me")
    const file = path.join(dir, "not-a-dir")
    const commands = [["run", "chain.ts"], ["plan", "chain.ts"], ["verify", "chain.ts"], ["show", "scaled"], ["ls"], ["gc"]]
    for (const command of commands) {
      await expectUsageError([...command, "--store", "not-a-dir"], "--store not-a-dir: is a file, not a directory")
      await expectUsageError([...command, "--store", "not-a-dir/store"], `--store not-a-dir/store: ${file} is a file, not a directory`)
    }
    expect(fs.readFileSync(file, "utf8")).toBe("keep me")
    fs.rmSync(file)
  })

  it("a pipeline file using TypeScript that needs a transform (an enum) still loads", async () => {
    writeFile(dir, "enum.ts", `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
enum Size { Small = 3 }
export default Pipeline.make("enum", () => source({ n: Size.Small }, { name: "numbers" }))
`)
    const result = await cli(["plan", "enum.ts"], dir)
    expect(result.stderr).toBe("")
    expect(result.stdout).toMatch(/✗ numbers\s+miss/)
  })

  it("--help on every command exits 0 and describes it", async () => {
    for (const command of ["run", "plan", "show", "ls", "verify", "gc"]) {
      const result = await cli([command, "--help"], dir)
      expect(result.code).toBe(0)
      expect(result.stdout).toContain(`pipeline ${command}`)
    }
    const help = (await cli(["--help"], dir)).stdout
    for (const command of ["run", "plan", "show", "ls", "verify", "gc", "fsck", "help"]) expect(help).toMatch(new RegExp(`^  ${command} `, "m"))
  })

  it("a failing node exits 1 and names the node", async () => {
    writeFile(dir, "fails.ts", `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { fails } from "./nodes/fails.ts"
export default Pipeline.make("fails", () => fails({ numbers: source({}, { name: "numbers" }) }, { name: "broken" }))
`)
    const result = await cli(["run", "fails.ts"], dir)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/broken\s+test\/fails\s+failed\s+this node always fails/)
    fs.rmSync(path.join(dir, ".ablate"), { recursive: true })
  })
})
