/**
 * Starting the observation of a `pipeline` process (called once by bin/pipeline.mjs, before
 * the CLI loads): a new Recording, the module hooks, and the environment's watch, which the
 * recording removes when it finishes. The returned recording is the Observer the CLI
 * provides to the preparation (Runner.prepare); whoever installs it calls `finish`.
 */
import { fileURLToPath } from "node:url"
import * as Recording from "./Recording.ts"
import { observeModules } from "./ModuleHooks.ts"
import { guardBuild, watchEnvironment } from "./Tripwires.ts"

// The local modules loaded before the hooks were registered: this module and what it imports.
const preloaded = [
  "./Install.ts",
  "./Recording.ts",
  "./ModuleHooks.ts",
  "./Tripwires.ts",
  "../Packages.ts",
  "../../../dsl/internal/Canonical.ts"
].map((relative) => fileURLToPath(new URL(relative, import.meta.url)))

/** Observe this process from now on; `entry` is the command's own script (loaded before this). */
export const install = (entry: string): Recording.Recording => {
  const recording = Recording.make(process.env, guardBuild)
  for (const file of [entry, ...preloaded]) recording.noteModule(file)
  recording.onFinish(observeModules(recording))
  recording.onFinish(watchEnvironment(recording))
  return recording
}
