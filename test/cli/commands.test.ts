import * as Effect from "effect/Effect"
import { Completions } from "effect/cli"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Commands from "../../runtime/cli/Commands.ts"
import { main } from "../../runtime/cli/main.ts"
import * as Options from "../../runtime/cli/Options.ts"
import * as Render from "../../runtime/cli/Render.ts"
import * as TensorBackend from "../../runtime/TensorBackend.ts"
import { chainProject } from "../fixtures/nodes.ts"
import { cli, repo, tempProject, writeFile } from "../helpers.ts"

/** `pipeline <args>` in this process, writing to buffers (nothing here opens a store). */
const inProcess = async (args: ReadonlyArray<string>) => {
  let stdout = ""
  let stderr = ""
  const code = await Effect.runPromise(main(args, {
    out: { write: (text) => void (stdout += text), isTTY: false },
    err: { write: (text) => void (stderr += text) }
  }))
  return { code, stdout, stderr }
}

const packageVersion = (JSON.parse(fs.readFileSync(path.join(repo, "package.json"), "utf8")) as { version: string }).version

// The command tree as effect/cli sees it (handlers are never called here).
const exitZero = () => Effect.succeed(0)
/** The same handler for every command. */
const every = <H>(handler: H) => Object.fromEntries(Options.commandNames.map((name) => [name, handler])) as { readonly [C in Options.CommandName]: H }
const descriptor = Completions.fromCommand(Commands.tree(
  every(exitZero),
  () => Effect.void,
  () => Effect.void
))

describe("pipeline's declarations", () => {
  it("Replay's pre-parse spec and effect/cli's commands have the same flags, of the same kinds", () => {
    const subcommands = new Map(descriptor.subcommands.map((sub) => [sub.name, sub]))
    expect([...subcommands.keys()].sort()).toEqual([...Options.commandNames, "help"].sort())
    for (const name of Options.commandNames) {
      const declared = subcommands.get(name)!.flags.map((flag) => [flag.name, flag.type._tag === "Boolean" ? "boolean" : "string"] as const)
      const preParse = Object.entries(Options.parseArgsOptions(name)).map(([flag, spec]) => [flag, spec.type] as const)
      expect(new Map(preParse), name).toEqual(new Map(declared))
    }
  })

  it("a plain invocation reads the same through the pre-parse as through effect/cli", async () => {
    const repeatable = new Set(Object.entries(Options.flags).filter(([, spec]) => "multiple" in spec).map(([name]) => name))
    const set = (values: Options.Values) => Object.entries(values).filter(([, v]) => v !== undefined && v !== false).sort()
    for (const sub of descriptor.subcommands.filter((sub) => sub.name !== "help")) {
      const spec: Options.CommandSpec = Options.commands[sub.name as Options.CommandName]
      // a choice takes its first word; a repeated argument is given twice
      const args = [sub.name, ...(spec.arguments ?? []).flatMap((arg) => arg.repeats === undefined ? [arg.choices?.[0] ?? "x.ts"] : ["n1", "n2"])]
      for (const flag of sub.flags) {
        if (flag.type._tag === "Boolean") args.push(`--${flag.name}`)
        else if (repeatable.has(flag.name)) {
          args.push(`--${flag.name}`, "v1", `--${flag.name}=v=2`)
        } else args.push(`--${flag.name}=v=1`)
      }
      const plain = Options.preParse(args)
      expect(plain, args.join(" ")).toBeDefined()
      let seen: { values: Options.Values; positionals: ReadonlyArray<string> } | undefined
      const capture = (values: Options.Values, positionals: ReadonlyArray<string>) => Effect.sync(() => (seen = { values, positionals }, 0))
      const sink = { out: () => {}, err: (text: string) => expect.fail(text), width: 80 }
      await Effect.runPromise(Commands.run(args, sink, every(capture)))
      expect(set(plain!.values), args.join(" ")).toEqual(set(seen!.values))
      expect(plain!.positionals).toEqual(seen!.positionals)
    }
    expect(Options.preParse(["run", "x.ts", "--set", "a.b=1", "--set", "c.d=2"])?.values["set"]).toEqual(["a.b=1", "c.d=2"])
  })

  it("leaves everything but a plain invocation to effect/cli", () => {
    for (
      const args of [
        [], ["frobnicate"], ["help", "run"], ["--help"], ["run", "x.ts", "--help"], ["run", "x.ts", "-h"], ["run", "x.ts", "--version"],
        ["plan", "x.ts", "--log-level", "debug"], ["ls", "--completions", "bash"], ["run", "x.ts", "--bogus"], ["run"],
        ["show", "a", "b"], ["ls", "extra"], ["run", "x.ts", "--no-json"], ["run", "x.ts", "--json=false"], ["ls", "--explain"],
        ["run", "x.ts", "--seeds", "1", "--seeds", "2"]
      ]
    ) expect(Options.preParse(args), args.join(" ")).toBeUndefined()
  })

  it("the --backend help names every tensor backend", () => {
    for (const name of TensorBackend.names) expect(Options.flags.backend.description).toContain(name)
  })
})

describe("pipeline help, version and completions", () => {
  it("--version prints package.json's version", async () => {
    expect(await inProcess(["--version"])).toEqual({ code: 0, stdout: `pipeline ${packageVersion}\n`, stderr: "" })
    expect((await inProcess(["plan", "--version"])).stdout).toBe(`pipeline ${packageVersion}\n`)
  })

  it("`pipeline help <command>` prints what `pipeline <command> --help` does", async () => {
    for (const command of Options.commandNames) {
      const viaHelp = await inProcess(["help", command])
      expect(viaHelp.code).toBe(0)
      expect(viaHelp.stdout).toBe((await inProcess([command, "--help"])).stdout)
      expect(viaHelp.stdout).toContain(Options.commands[command].description.split("\n")[0]!.split(" ").slice(0, 4).join(" "))
      for (const flag of Options.commands[command].flags) expect(viaHelp.stdout).toContain(`--${flag}`)
    }
    expect((await inProcess(["help"])).stdout).toBe((await inProcess(["--help"])).stdout)
  })

  it("help of an unknown command is a usage error", async () => {
    const result = await inProcess(["help", "frobnicate"])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain("frobnicate")
  })

  it("`pipeline` alone prints the list of commands and exits 2", async () => {
    const result = await inProcess([])
    expect(result.code).toBe(2)
    expect(result.stdout).toMatch(/^ {2}run +run a pipeline/m)
  })

  it("prints completion scripts for bash, zsh and fish naming every command and flag", async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const result = await inProcess(["--completions", shell])
      expect(result.code, shell).toBe(0)
      for (const command of Options.commandNames) expect(result.stdout, shell).toContain(command)
      for (const flag of ["concurrency", "explain", "checkpoints", "repair", "seeds"]) expect(result.stdout, shell).toContain(flag)
    }
    expect((await inProcess(["--completions", "tcsh"])).code).toBe(2)
  })
})

/** The words of `text`, in order, whatever the line breaks. */
const words = (text: string) => text.split(/\s+/).filter((w) => w !== "")

describe("narrow terminals", () => {
  it("help wrapped to COLUMNS=20 keeps every word whole, and COLUMNS=0 means the default width", async () => {
    const wide = await cli(["run", "--help"], repo, { COLUMNS: "1000" })
    const narrow = await cli(["run", "--help"], repo, { COLUMNS: "20" })
    const zero = await cli(["run", "--help"], repo, { COLUMNS: "0" })
    expect(narrow.code).toBe(0)
    expect(words(narrow.stdout)).toEqual(words(wide.stdout))
    expect(words(zero.stdout)).toEqual(words(wide.stdout))
    // a line over 20 columns is a single word (a flag with its metavar), never a cut one
    for (const line of narrow.stdout.split("\n")) if (line.length > 20) expect(words(line).length, line).toBeLessThanOrEqual(2)
    for (const line of zero.stdout.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80)
    expect(narrow.stdout.split("\n").length).toBeGreaterThan(wide.stdout.split("\n").length)
  })

  it("usage errors are wrapped without cutting words too", async () => {
    const narrow = await cli(["run"], repo, { COLUMNS: "20" })
    const wide = await cli(["run"], repo, { COLUMNS: "1000" })
    expect(narrow.code).toBe(2)
    expect(words(narrow.stderr)).toEqual(words(wide.stderr))
  })

  it("live progress lines on a narrow terminal drop whole words; a zero width cuts nothing", () => {
    const draw = (columns: number) => {
      let text = ""
      const renderer = Render.make("tty", { write: (t) => void (text += t), columns }, [{ label: "reward-model", kind: "reward/bradleyTerry" }])
      renderer.onEvent({ type: "failed", id: "n", label: "reward-model", error: "the loss diverged at step 12" })
      renderer.finish()
      // the node's line of the last drawing (the run's line follows it), without cursor movements
      return text.replace(/\x1b\[[0-9]*[A-Z]/g, "").trimEnd().split("\n").at(-2)!
    }
    const full = draw(0)
    expect(full).toBe("  ✗ reward-model  failed: the loss diverged at step 12")
    for (const columns of [10, 20, 30, 45]) {
      const line = draw(columns)
      expect(full.startsWith(line), `${columns}: ${line}`).toBe(true)
      expect(line.length <= columns - 1 || words(line).length === 2, `${columns}: ${line}`).toBe(true)
      expect(full[line.length] ?? " ", `${columns}: ${line}`).toBe(" ") // it ends where a word ends
    }
  })
})

describe("flags of `pipeline run` that effect/cli answers", () => {
  const dir = tempProject(chainProject)
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("--help and --version are answered even when the run could be replayed", async () => {
    expect((await cli(["run", "chain.ts"], dir)).code).toBe(0)
    expect((await cli(["run", "chain.ts"], dir)).stdout).toContain("replayed run 1")
    const version = await cli(["run", "chain.ts", "--version"], dir)
    expect(version).toMatchObject({ code: 0, stdout: `pipeline ${packageVersion}\n` })
    const help = await cli(["run", "chain.ts", "-h"], dir)
    expect(help.code).toBe(0)
    expect(help.stdout).toContain("pipeline run [flags] <file>")
  })
})

describe("--log-level", () => {
  const dir = tempProject(chainProject)
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
  writeFile(dir, "nodes/logs.ts", `import { Effect, Schema } from "effect"
import { Node } from "@ablate/dsl/index.ts"
import { Numbers } from "./artifacts.ts"
export const logs = Node.make({
  kind: "test/logs", version: 1, description: "logs at two levels", params: Schema.Struct({}), inputs: {}, output: Numbers,
  run: () => Effect.gen(function*() {
    yield* Effect.logDebug("a debug message")
    yield* Effect.logWarning("a warning")
    return [{ i: 0, x: 1 }]
  })
})
`)
  writeFile(dir, "logs.ts", `import { Pipeline } from "@ablate/dsl/index.ts"
import { logs } from "./nodes/logs.ts"
export default Pipeline.make("logs", () => logs({}, { name: "logs" }))
`)

  it("sets Effect's minimum log level for what the nodes log (default info)", async () => {
    const logged = async (...level: ReadonlyArray<string>) => {
      const result = await cli(["run", "logs.ts", "--force", "logs", ...level], dir)
      expect(result.code).toBe(0)
      const output = result.stdout + result.stderr
      return ["a debug message", "a warning"].filter((message) => output.includes(message))
    }
    expect(await logged()).toEqual(["a warning"])
    expect(await logged("--log-level", "debug")).toEqual(["a debug message", "a warning"])
    expect(await logged("--log-level", "error")).toEqual([])
  })
})
