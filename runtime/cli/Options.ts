/** The flags of the `pipeline` commands, shared by the CLI and Replay.ts (which must parse `run` alike). */
import type { ParseArgsConfig } from "node:util"

/** The flags a command accepts, as `node:util`'s parseArgs takes them. */
export type Options = NonNullable<ParseArgsConfig["options"]>

/** Flags of every command that opens the store. */
export const storeFlag: Options = { store: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } }

/** Flags of the commands that build a pipeline (run, plan, verify). */
export const selectionFlags: Options = {
  ...storeFlag,
  seeds: { type: "string" },
  set: { type: "string", multiple: true },
  force: { type: "string", multiple: true },
  backend: { type: "string" }
}

/** Flags of `pipeline run`. */
export const runOptions: Options = { ...selectionFlags, concurrency: { type: "string" } }

/** The store directory the flags name (default `.ablate/` in the working directory). */
export const storeRoot = (values: { readonly [name: string]: unknown }): string =>
  (values["store"] as string | undefined) ?? ".ablate"
