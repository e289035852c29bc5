// The module setup every process of the `pipeline` command makes before loading Ablate's
// TypeScript: the CLI (bin/pipeline.mjs) and its pool's workers (bin/worker.mjs). Needs Node 22.18+.
import * as module from "node:module"

// V8's code cache for the modules the CLI loads (validated against their sources by
// Node): a command starts ~50 ms sooner once the cache is warm.
module.enableCompileCache?.()

// Node ≥ 22.18 runs TypeScript by stripping types (fast start); older ones go through tsx,
// whose off-thread loader cannot be watched: such a process records nothing to replay.
if (!process.features.typescript) (await import("tsx/esm/api")).register()
// installed under node_modules, this package's own types are stripped by a hook (register.mjs)
else await import("./register.mjs")
