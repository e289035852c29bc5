/**
 * A training node stopped right after a checkpoint resumes from it and ends bit-identical
 * to an uninterrupted run. The node here, reward.latentUser, draws from its batch
 * generator every step (a shuffle of each annotator's pairs and the latent noise), so
 * the resumed run matches only if the checkpoint restored the generator's state (with
 * Train.loop's `random.restore` skipped, the output hashes differ). The kill-and-resume
 * CLI test trains full-batch and draws nothing.
 */
import { Effect, Layer } from "effect"
import { describe, expect, it } from "vitest"
import * as Pipeline from "../../dsl/Pipeline.ts"
import { data, label, reward } from "../../nodes/index.ts"
import { ArtifactStore } from "../../runtime/ArtifactStore.ts"
import { StoreError } from "../../runtime/Errors.ts"
import { Executor } from "../../runtime/Executor.ts"
import type * as Scheduler from "../../runtime/Scheduler.ts"
import * as CheckpointCodec from "../../runtime/internal/CheckpointCodec.ts"
import * as TensorBackend from "../../runtime/TensorBackend.ts"
import { schedule } from "../helpers.ts"

const steps = 120 // Train.loop checkpoints every 50 steps by default

const pipeline = Pipeline.make("resume", () => {
  const task = data.preferenceTask({ items: 60, features: 4 })
  const pairs = data.pairFeatures({ pairs: label.annotators({ task, annotators: 12, pairs: 16, testPairs: 4 }), task })
  return reward.latentUser({ pairs, hidden: 8, context: 4, targets: 4, steps }, { name: "vpl" })
})

/** The store, with every checkpoint write failing the node once written: a run stopped right after its first checkpoint. */
const stoppingAfterCheckpoint = (store: ArtifactStore["Service"]): ArtifactStore["Service"] => ({
  ...store,
  writeCheckpoint: (key, bytes) =>
    store.writeCheckpoint(key, bytes).pipe(Effect.andThen(Effect.fail(new StoreError({ path: key, reason: "stopped after the checkpoint" }))))
})

/** Run the pipeline on `store` and return the training node's result and its progress events. */
const runOn = (store: ArtifactStore["Service"], backend: TensorBackend.Name) =>
  Effect.gen(function*() {
    const progress: Array<Extract<Scheduler.Event, { type: "progress" }>> = []
    const outcome = yield* schedule(pipeline, {
      env: TensorBackend.env(backend),
      onEvent: (event) => void (event.type === "progress" && event.label === "vpl" && progress.push(event))
    }).pipe(Effect.provideService(ArtifactStore, store))
    return { result: outcome.results.find((r) => r.label === "vpl")!, progress }
  })

/** Run `effect` on a fresh in-memory store with the in-process executor on `backend`. */
const withStore = <A, E>(backend: TensorBackend.Name, effect: (store: ArtifactStore["Service"]) => Effect.Effect<A, E, Executor>) =>
  Effect.gen(function*() {
    return yield* effect(yield* ArtifactStore)
  }).pipe(Effect.provide(Layer.mergeAll(ArtifactStore.layerMemory(), Executor.inProcess(backend))), Effect.runPromise)

describe.each(["wasm", "cpu"] as const)("a training node that draws random batches, on the %s backend", (backend) => {
  it("stopped after a checkpoint, resumes from it and ends bit-identical to an uninterrupted run", async () => {
    const uninterrupted = (await withStore(backend, (store) => runOn(store, backend))).result
    expect(uninterrupted.status).toBe("ran")

    const { stopped, checkpoint, resumed, left } = await withStore(backend, (store) =>
      Effect.gen(function*() {
        const stopped = yield* runOn(stoppingAfterCheckpoint(store), backend)
        const checkpoint = yield* store.readCheckpoint(uninterrupted.key!)
        const resumed = yield* runOn(store, backend)
        return { stopped, checkpoint, resumed, left: yield* store.readCheckpoint(uninterrupted.key!) }
      }))
    expect(stopped.result.status).toBe("failed")
    expect(stopped.result.error).toContain("stopped after the checkpoint")
    expect(CheckpointCodec.decode(checkpoint!).checkpoint.step).toBe(50)
    expect(resumed.result.status).toBe("ran")
    // the first progress event always passes the display's throttle: the run went on from step 51
    expect(resumed.progress[0]!.step).toBe(51)
    expect(resumed.result.key).toBe(uninterrupted.key)
    expect(resumed.result.record!.output.hash).toBe(uninterrupted.record!.output.hash)
    expect(resumed.result.record!.metrics.hash).toBe(uninterrupted.record!.metrics.hash)
    expect(left).toBeUndefined()
  })
})
