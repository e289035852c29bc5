/**
 * The programmatic API, `ablate/runner`: what `pipeline plan` and `pipeline run` do, as
 * Effects a program can run (see docs/using.md). `Runner.prepare` loads a pipeline file,
 * `Runner.plan` plans it against a store and `Runner.execute` runs it; the store
 * (`ArtifactStore.layer`, `RunLog.layer`) and the executor (`Executor.inProcess`, or
 * `Executor.pool` with `WorkerPool.layer`, as `pipeline run` does, or `Executor.queue` with
 * `JobQueue.layer`, as `pipeline run --executor` does) are layers.
 */
export { ArtifactStore } from "./ArtifactStore.ts"
export { Executor } from "./Executor.ts"
export { connectionOf, JobQueue } from "./JobQueue.ts"
export { RunLog } from "./RunLog.ts"
export * as Runner from "./Runner.ts"
export * as TensorBackend from "./TensorBackend.ts"
export { WorkerPool } from "./WorkerPool.ts"
