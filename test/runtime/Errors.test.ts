/**
 * Errors as data: each kind renders one line from its fields, and a node that fails reaches the
 * executor's `NodeFailed` with its label, the tag and fields of the error it failed with, and
 * that error as `cause` — whether it failed through the error channel or threw from a helper.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import * as Artifact from "../../dsl/Artifact.ts"
import { ArgumentError, InputError, InvariantError, taggedData } from "../../dsl/Errors.ts"
import * as Node from "../../dsl/Node.ts"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { data } from "../../nodes/index.ts"
import { gae } from "../../nodes/policy/math.ts"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import { ConfigError, NodeFailed } from "../../runtime/Errors.ts"
import { Executor } from "../../runtime/Executor.ts"
import { tempProject } from "../helpers.ts"

describe("error messages", () => {
  it("InputError names what it has of input, param, file, line or row, and field, in that order", () => {
    expect(new InputError({ reason: "no rows" }).message).toBe("no rows")
    expect(new InputError({ input: "pairs", row: 3, field: "chosen", reason: "too long" }).message).toBe(`input "pairs": row 3: field "chosen": too long`)
    const parsed = new InputError({ field: "chosen", reason: `has no "Assistant:" turn` })
    const located = parsed.at({ param: "path", file: "pairs.jsonl", line: 2 })
    expect(located.message).toBe(`param "path": pairs.jsonl: line 2: field "chosen": has no "Assistant:" turn`)
    expect(located).toBeInstanceOf(InputError)
    expect(taggedData(located)).toEqual({
      tag: "InputError",
      fields: { param: "path", file: "pairs.jsonl", line: 2, field: "chosen", reason: `has no "Assistant:" turn` }
    })
    expect(parsed.line).toBeUndefined()
  })

  it("ArgumentError and InvariantError render function, argument and reason; what and reason", () => {
    expect(new ArgumentError({ function: "gae", argument: "gamma", reason: "must be in [0, 1], got 2" }).message).toBe("gae: gamma must be in [0, 1], got 2")
    expect(new InvariantError({ what: "checkpoint", reason: `has no variable "w"` }).message).toBe(`checkpoint: has no variable "w"`)
  })

  it("ConfigError prefixes its reason with the flag, node, param and file it has", () => {
    expect(new ConfigError({ reason: "pipeline file x.ts does not exist" }).message).toBe("pipeline file x.ts does not exist")
    expect(new ConfigError({ flag: "--seeds", reason: `"x" is not a non-negative integer` }).message).toBe(`--seeds: "x" is not a non-negative integer`)
    expect(new ConfigError({ node: "reader", param: "path", file: "no/such.txt", reason: "no such file" }).message).toBe(
      `node "reader": param "path": no/such.txt: no such file`
    )
  })

  it("NodeFailed.of keeps a tagged error's tag and fields and the error itself, and an untagged one's message", () => {
    const error = new ArgumentError({ function: "gae", argument: "lambda", reason: "must be in [0, 1], got -1" })
    const failed = NodeFailed.of("advantages", error)
    expect(failed.message).toBe(`node "advantages" failed: gae: lambda must be in [0, 1], got -1`)
    expect(failed.reason).toBe("gae: lambda must be in [0, 1], got -1")
    expect(failed.tag).toBe("ArgumentError")
    expect(failed.fields).toEqual({ function: "gae", argument: "lambda", reason: "must be in [0, 1], got -1" })
    expect(failed.cause).toBe(error)
    const plain = NodeFailed.of("n", new Error("kaboom"))
    expect([plain.reason, plain.tag, plain.fields]).toEqual(["kaboom", undefined, undefined])
  })
})

/** Run the last node of `pipeline` (one with no inputs) on the in-process executor and return how it failed. */
const failureOf = (pipeline: Pipeline.Pipeline): Promise<NodeFailed> =>
  Effect.gen(function*() {
    const graph = yield* Pipeline.build(pipeline)
    const { node, label } = graph.nodes.at(-1)!
    const executor = yield* Executor
    const components = { kind: node.kind.kind, version: node.kind.version, code: { hash: "", files: {}, packages: {} }, params: node.params, inputs: {}, env: {} }
    const hooks = { input: () => Effect.die("the node has no inputs"), onStart: () => {}, onProgress: () => {}, onOutput: () => {} }
    const failed = yield* Effect.flip(executor.run({ node, label, key: "key", components, inputs: {}, log: undefined }, hooks))
    if (failed._tag !== "NodeFailed") throw new Error(`expected NodeFailed, got ${failed._tag}`)
    return failed
  }).pipe(Effect.provide(Layer.mergeAll(ArtifactStore.layerMemory(), Executor.inProcess("wasm"))), Effect.runPromise)

describe("a failing node's error reaches NodeFailed typed", () => {
  const dirs: Array<string> = []
  afterAll(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })))

  it("a bad preferences file: the node, param, file, line and field", async () => {
    const dir = tempProject({
      "pairs.jsonl": `{"chosen": "\\n\\nHuman: a\\n\\nAssistant: b", "rejected": "\\n\\nHuman: a\\n\\nAssistant: c"}\n\n{"chosen": 3, "rejected": "x"}\n`
    })
    dirs.push(dir)
    const file = path.join(dir, "pairs.jsonl")
    const failed = await failureOf(Pipeline.make("load", () => data.loadPreferences({ path: file }, { name: "load" })))
    expect(failed.node).toBe("load")
    expect(failed.tag).toBe("InputError")
    expect(failed.fields).toEqual({ param: "path", file, line: 3, field: "chosen", reason: "must be a string, got number" })
    expect(failed.cause).toBeInstanceOf(InputError)
    expect(failed.message).toBe(`node "load" failed: param "path": ${file}: line 3: field "chosen": must be a string, got number`)
  })

  it("a line that is not JSON, and a file with no pairs, name the file too", async () => {
    const dir = tempProject({ "broken.jsonl": `{"chosen": \n`, "empty.jsonl": `\n` })
    dirs.push(dir)
    const broken = await failureOf(Pipeline.make("load", () => data.loadPreferences({ path: path.join(dir, "broken.jsonl") })))
    expect(broken.fields).toMatchObject({ param: "path", file: path.join(dir, "broken.jsonl"), line: 1 })
    expect(broken.reason).toMatch(/line 1: not valid JSON \(/)
    const empty = await failureOf(Pipeline.make("load", () => data.loadPreferences({ path: path.join(dir, "empty.jsonl") })))
    expect(empty.fields).toEqual({ param: "path", file: path.join(dir, "empty.jsonl"), reason: "no preference pairs" })
  })

  it("a param a node refuses at run time names the param", async () => {
    const failed = await failureOf(Pipeline.make("task", () =>
      data.sequenceTask({ gold: "markers", vocab: 4, markers: 4 }, { name: "task" })))
    expect(failed.tag).toBe("InputError")
    expect(failed.fields).toEqual({ param: "markers", reason: "4 must be fewer than the vocabulary (4)" })
  })

  it("a math function's argument check, thrown inside a node: the function and the argument", async () => {
    const Advantages = Artifact.table("Advantages", Schema.Struct({ a: Schema.Number }))
    const advantages = Node.make({
      kind: "test/advantages",
      version: 1,
      description: "GAE of a reward sequence with a bad γ",
      params: Schema.Struct({}),
      inputs: {},
      output: Advantages,
      run: () => Effect.sync(() => gae([1, 2], [0, 0], { gamma: 1.5, lambda: 1 }).advantages.map((a) => ({ a })))
    })
    const failed = await failureOf(Pipeline.make("gae", () => advantages({}, { name: "gae" })))
    expect(failed.node).toBe("gae")
    expect(failed.tag).toBe("ArgumentError")
    expect(failed.fields).toEqual({ function: "gae", argument: "gamma", reason: "must be in [0, 1], got 1.5" })
    expect(failed.message).toBe(`node "gae" failed: gae: gamma must be in [0, 1], got 1.5`)
  })
})
