/**
 * The observation service: what the cache-key code (CodeFingerprint, InputFiles,
 * TensorBackend's package lookup, Loader) tells about what preparing a pipeline depended
 * on, so that the `pipeline` command can later answer an identical, unchanged run from
 * its run log (cli/Replay.ts).
 *
 * The key code receives an `Observer` (this Effect reference, or a parameter) instead of
 * reaching for process-wide state. Its default, `none`, observes nothing and never
 * allows a replay: tests, benchmarks and the Runner API get it. Only bin/pipeline.mjs
 * makes a recording one (internal/observe/Install.ts) and provides it to the CLI.
 */
import * as Context from "effect/Context"
import { readFileSync } from "node:fs"
import { sha256 } from "../dsl/internal/Canonical.ts"
import { packageDirFor } from "./internal/Packages.ts"

/** Everything a preparation depended on; Replay.ts checks each entry against the present. */
export interface Observation {
  /** environment variable → value when first read (null: unset) */
  readonly env: { readonly [name: string]: string | null }
  /** every variable name, sorted, if the environment was enumerated */
  readonly envNames: ReadonlyArray<string> | null
  /** absolute path → sha256 of the bytes that were used */
  readonly files: { readonly [file: string]: string }
  /** absolute path → whether it existed */
  readonly exists: { readonly [file: string]: boolean }
  /** package directory → version of the package loaded from it (null: no readable manifest) */
  readonly packages: { readonly [dir: string]: string | null }
  /**
   * a local module's import of a package, or a lookup of one by name (CodeFingerprint,
   * TensorBackend) → the real path of the nearest `node_modules/<name>` ("" when none)
   */
  readonly imports: ReadonlyArray<{ readonly name: string; readonly from: string; readonly dir: string }>
  /** file → the project root (nearest directory with a package.json) found for it */
  readonly roots: { readonly [file: string]: string }
}

/** The end of an observation: what was observed, or why nothing may be replayed. */
export type Observed = { readonly observation: Observation } | { readonly notReplayable: string }

export interface Observer {
  /** sha256 of a file whose bytes the cache key uses (a code fingerprint, an input file); throws if it cannot be read */
  readonly hashFile: (absolute: string) => string
  /** where a bare import of package `name` from file `from` finds it ("" when nowhere): Packages.packageDirFor */
  readonly lookup: (name: string, from: string) => string
  /** the project root found for a file */
  readonly root: (file: string, dir: string) => void
  /** something the observation cannot account for happened (e.g. the pipeline needed tsx) */
  readonly markTainted: (reason: string) => void
  /** watch the pipeline file's import and graph build (reads recorded, other side channels taint); returns what stops it */
  readonly watchBuild: () => () => void
  /** stop observing (idempotent): what was observed, or why it cannot be replayed */
  readonly finish: () => Observed
}

/** Observes nothing; a run prepared with it is never replayed. */
export const none: Observer = {
  hashFile: (absolute) => sha256(readFileSync(absolute)),
  lookup: packageDirFor,
  root: () => {},
  markTainted: () => {},
  watchBuild: () => () => {},
  finish: () => ({ notReplayable: "not started by the pipeline command" })
}

/** The observer of the current preparation: `none` unless one is provided. */
export const Observer: Context.Reference<Observer> = Context.Reference<Observer>("ablate/runtime/Observer", { defaultValue: () => none })
