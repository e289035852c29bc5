// A worker process of `pipeline run`'s pool (runtime/WorkerPool.ts forks it with the CLI's own
// Node): the module setup of bin/pipeline.mjs, then the worker's loop.
import "./setup.mjs"

const { main } = await import("../runtime/internal/PoolWorker.ts")
main()
