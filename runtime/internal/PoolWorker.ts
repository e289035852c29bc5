/**
 * A worker process of the local pool (WorkerPool.ts forks bin/worker.mjs, which calls `main`).
 * It runs the jobs its parent sends over the IPC channel, one at a time (Job.run), on the
 * tensor backend named by its first argument, and sends back what each job reports and how
 * it ended.
 *
 * It never outlives its parent: it exits when the IPC channel closes (the parent exited,
 * however it died). SIGTERM is the parent stopping it, and it exits at once: a job's objects
 * are written atomically and its key record is the parent's to commit, so nothing is left
 * half-written. Ctrl-C in a terminal reaches every process of its group, workers included:
 * they ignore SIGINT and let the parent decide.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Schema from "effect/Schema"
import { ArtifactStore } from "../ArtifactStore.ts"
import * as Job from "../Job.ts"
import * as TensorBackend from "../TensorBackend.ts"

const decodeRequest = Schema.decodeUnknownOption(Job.Request)

/** Send a message to the parent (over a channel that closed, it is dropped: this process is exiting). */
const send = (message: Job.Message) => {
  if (process.connected) process.send?.(message)
}

/** What a job ended with, as the message that reports it. */
const outcomeOf = (exit: Exit.Exit<Job.Done, Job.Failure>): Job.Message =>
  Exit.isSuccess(exit)
    ? { type: "done", done: exit.value }
    : { type: "failed", failure: Job.failureOfCause(exit.cause) }

/** Serve jobs until the parent goes away. */
export const main = (): void => {
  process.on("disconnect", () => process.exit(0))
  process.on("SIGTERM", () => process.exit(143))
  process.on("SIGINT", () => {})
  const backend = TensorBackend.names.find((name) => name === process.argv[2]) ?? TensorBackend.defaultName
  const workspace = Job.workspace()
  const serve = Effect.gen(function*() {
    const requests = yield* Queue.unbounded<unknown>()
    process.on("message", (raw) => Queue.offerUnsafe(requests, raw))
    while (true) {
      const request = decodeRequest(yield* Queue.take(requests))
      if (Option.isNone(request)) {
        send({ type: "failed", failure: Job.nodeFailure("the worker received a request it cannot read") })
        continue
      }
      const { job } = request.value
      const exit = yield* Effect.exit(Job.run(job, workspace, send).pipe(Effect.provide(ArtifactStore.layer(job.store))))
      send(outcomeOf(exit))
    }
  })
  Effect.runFork(serve.pipe(Effect.provide(TensorBackend.TensorBackend.layer(backend))))
}
