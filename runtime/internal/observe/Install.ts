/**
 * Starting the observation of a `pipeline` process (called once by bin/pipeline.mjs, before
 * the CLI loads): a new Recording, the module hooks, and the environment's watch, which the
 * recording removes when it finishes. The returned recording is the Observer the CLI
 * provides to the preparation (Runner.prepare); whoever installs it calls `finish`.
 * A resident process (../../cli/ResidentServer.ts) keeps one recording of the modules it
 * keeps loaded (`installResident`), and observes each command it serves as a process of its
 * own would be, from those modules on (`installCommand`).
 */
import { fileURLToPath } from "node:url"
import type { Observation } from "../../Observer.ts"
import * as Recording from "./Recording.ts"
import { observeModules } from "./ModuleHooks.ts"
import { guardBuild, watchEnvironment } from "./Tripwires.ts"

// The local modules loaded before the hooks were registered: the resident process's client
// (bin/pipeline.mjs asks it first), this module and what they import.
const preloaded = [
  "../../cli/Resident.ts",
  "../../cli/CtrlC.ts",
  "./Install.ts",
  "./Recording.ts",
  "./ModuleHooks.ts",
  "./Tripwires.ts",
  "../Packages.ts",
  "../../../dsl/internal/Canonical.ts"
].map((relative) => fileURLToPath(new URL(relative, import.meta.url)))

/** Observe this process from now on; `entry` is the command's own script (loaded before this). */
export const install = (entry: string): Recording.Recording => watched(started(entry))

/**
 * A resident process's own recording, from its start on: the modules `kept` takes (those
 * it keeps loaded between commands). Never finished: it seeds each command's (`snapshot`).
 */
export const installResident = (entry: string, kept: (url: string) => boolean): Recording.Recording => {
  const recording = started(entry)
  observeModules(recording, kept)
  return recording
}

/** One command of a resident process, observed from `loaded` (the resident recording's snapshot) on. */
export const installCommand = (loaded: Observation): Recording.Recording => watched(Recording.make(process.env, guardBuild, loaded))

const started = (entry: string): Recording.Recording => {
  const recording = Recording.make(process.env, guardBuild)
  for (const file of [entry, ...preloaded]) recording.noteModule(file)
  return recording
}

const watched = (recording: Recording.Recording): Recording.Recording => {
  recording.onFinish(observeModules(recording))
  recording.onFinish(watchEnvironment(recording))
  return recording
}
