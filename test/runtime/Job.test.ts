/**
 * The worker side of a node job (Job.run), in this process: it computes the bytes the scheduler
 * computes in process, and refuses a job it cannot run faithfully — a node its file no longer
 * builds, code edited since the run planned, another tensor backend, code newer than what the
 * process imported before (for a fresh process to run) — and reports an input it
 * finds corrupt as such, for the scheduler to repair, and a store it cannot read as the store's
 * failure.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import * as CodeFingerprint from "../../runtime/CodeFingerprint.ts"
import { Executor } from "../../runtime/Executor.ts"
import * as Job from "../../runtime/Job.ts"
import { RunLog } from "../../runtime/RunLog.ts"
import * as Runner from "../../runtime/Runner.ts"
import * as TensorBackend from "../../runtime/TensorBackend.ts"
import { helperInner, helperOuter, nodeModules } from "../fixtures/nodes.ts"
import { corruptObject, tempProject } from "../helpers.ts"

const project = {
  ...nodeModules,
  "helpers/outer.ts": helperOuter,
  "helpers/inner.ts": helperInner,
  "two.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { scaled } from "./nodes/scaled.ts"
export default Pipeline.make("two", () => scaled({ numbers: source({ n: 4 }, { name: "source" }), factor: 3 }, { name: "scaled" }))
`
}

/** A project whose pipeline ran in process, and the job that runs its `scaled` node again. */
const ranInProcess = async () => {
  const dir = tempProject(project)
  const file = path.join(dir, "two.ts")
  const root = path.join(dir, ".ablate")
  const selection: Runner.Selection = { seeds: [0], overrides: [], force: [], env: TensorBackend.env("wasm") }
  const outcome = await Runner.prepare(file, selection).pipe(
    Effect.flatMap((prepared) => Runner.execute(prepared, { concurrency: 1, onEvent: () => {}, argv: "test" })),
    Effect.provide(Layer.mergeAll(ArtifactStore.layer(root), RunLog.layer(root), Executor.inProcess("wasm"))),
    Effect.runPromise
  )
  const [source, scaled] = outcome.results
  const job: Job.Job = {
    store: root,
    file,
    seeds: [0],
    overrides: [],
    backend: "wasm",
    node: scaled!.id,
    label: "scaled",
    key: scaled!.key!,
    components: scaled!.record!.components,
    inputs: { numbers: source!.record!.output }
  }
  return { dir, root, job, expected: scaled!.record!.output.hash, input: source!.record!.output.hash }
}

/** Run `job` on a fresh workspace with the wasm backend: how it ended, and what it reported. */
const runJob = (job: Job.Job) => {
  const reported: Array<Job.Message["type"]> = []
  return Job.run(job, Job.workspace(), (message) => void reported.push(message.type)).pipe(
    Effect.exit,
    Effect.map((exit) => ({ exit, reported })),
    Effect.provide(Layer.mergeAll(ArtifactStore.layer(job.store), TensorBackend.TensorBackend.layer("wasm"))),
    Effect.runPromise
  )
}

const failureOf = (exit: Exit.Exit<Job.Done, Job.Failure>): Job.Failure => {
  if (Exit.isSuccess(exit)) throw new Error("the job succeeded")
  const failure = Exit.findErrorOption(exit)
  if (failure._tag === "None") throw new Error(`the job died: ${String(exit.cause)}`)
  return failure.value
}

describe("a node job run by a worker", () => {
  it("stores the bytes the in-process run stored, and reports its start", async () => {
    const { expected, job } = await ranInProcess()
    const { exit, reported } = await runJob(job)
    expect(Exit.isSuccess(exit) && exit.value.output.hash).toBe(expected)
    expect(reported).toContain("started")
  })

  it("refuses a node its file no longer builds, another backend, and code edited since the run planned", async () => {
    const { dir, job } = await ranInProcess()
    expect(failureOf((await runJob({ ...job, node: "0".repeat(64) })).exit)).toMatchObject({
      _tag: "NodeFailed",
      reason: expect.stringContaining("no longer builds this node (the file or what it imports changed since the run planned it); run again")
    })
    expect(failureOf((await runJob({ ...job, backend: "cpu" })).exit)).toEqual(
      Job.nodeFailure("the worker computes on tensor backend wasm, the job on cpu")
    )
    fs.writeFileSync(path.join(dir, "helpers", "inner.ts"), helperInner.replace("a * b", "b * a"))
    expect(failureOf((await runJob(job)).exit)).toEqual(
      Job.nodeFailure("its code changed since the run planned it (code: helpers/inner.ts edited); run again")
    )
  })

  it("in a process that imported the code before, a job naming code edited since is for a fresh process (Outdated)", async () => {
    const { dir, job } = await ranInProcess()
    const workspace = Job.workspace()
    const layers = Layer.mergeAll(ArtifactStore.layer(job.store), TensorBackend.TensorBackend.layer("wasm"))
    const runHere = (j: Job.Job) => Job.run(j, workspace, () => {}).pipe(Effect.exit, Effect.provide(layers), Effect.runPromise)
    expect(Exit.isSuccess(await runHere(job))).toBe(true)
    fs.writeFileSync(path.join(dir, "helpers", "inner.ts"), helperInner.replace("a * b", "b * a"))
    // the run that planned after the edit names the code as it is now
    const module = path.join(dir, "nodes", "scaled.ts")
    const code = (await Effect.runPromise(CodeFingerprint.fingerprintAll([module]))).get(module)!
    expect(code.hash).not.toBe(job.components.code.hash)
    expect(failureOf(await runHere({ ...job, components: { ...job.components, code } }))).toEqual({
      _tag: "Outdated",
      reason: "its code changed since the run planned it (code: helpers/inner.ts edited); run again"
    })
  })

  it("reports an input object that does not hash to its name as a corrupt input", async () => {
    const { input, job, root } = await ranInProcess()
    corruptObject(root, input)
    expect(failureOf((await runJob(job)).exit)).toMatchObject({ _tag: "CorruptInput", input: "numbers", hash: input })
  })

  it("reports a store it cannot read as the store's failure, which fails the run as in process, not as the node's", async () => {
    const { input, job, root } = await ranInProcess()
    const file = path.join(root, "objects", input.slice(0, 2), input)
    fs.rmSync(file)
    fs.mkdirSync(file)
    expect(failureOf((await runJob(job)).exit)).toMatchObject({ _tag: "StoreError", path: file })
  })
})
