/**
 * What the commands that build a pipeline share: the selection their flags make (seeds,
 * `--set` overrides, `--force`, the tensor backend), positive-integer flags, `--format`, the
 * file `-o` names, and the store directory with the layers that serve it.
 */
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseArgs } from "node:util"
import type { Json } from "../../dsl/Artifact.ts"
import type * as Pipeline from "../../dsl/Pipeline.ts"
import { ArtifactStore, directoryProblem } from "../ArtifactStore.ts"
import { ConfigError, reasonOf } from "../Errors.ts"
import * as AtomicFile from "../internal/AtomicFile.ts"
import { Observer } from "../Observer.ts"
import { RunLog } from "../RunLog.ts"
import type * as Runner from "../Runner.ts"
import * as TensorBackend from "../TensorBackend.ts"
import { parseArgsOptions, storeRoot, type Values } from "./Options.ts"

/** The seeds of a run not given `--seeds`. */
export const defaultSeeds: ReadonlyArray<number> = [0]

/** The seeds `--seeds 0,1,2` names (each once), or its first item that is not a non-negative integer. */
export const seedList = (value: string): { readonly seeds: ReadonlyArray<number> } | { readonly bad: string } => {
  const items = value.split(",").map((s) => s.trim())
  const bad = items.find((s) => !/^\d+$/.test(s))
  return bad === undefined ? { seeds: [...new Set(items.map(Number))] } : { bad }
}

/**
 * The seeds a `pipeline run` was given, read from its command line (`run <file> --seeds 0,1`;
 * the default seed without the flag); undefined for a run not started by that command, or
 * whose seeds do not parse.
 */
export const seedsOfArgv = (argv: string): ReadonlyArray<number> | undefined => {
  const [command, ...args] = argv.split(" ")
  if (command !== "run") return undefined
  const { values } = parseArgs({ args, options: parseArgsOptions("run"), strict: false, allowPositionals: true })
  const seeds = values["seeds"]
  if (seeds === undefined) return defaultSeeds
  const list = typeof seeds === "string" ? seedList(seeds) : undefined
  return list !== undefined && "seeds" in list ? list.seeds : undefined
}

/** The seeds a run's nodes were built for, from their sweep coordinates (only runs of several seeds have them). */
export const seedsOfCoords = (coords: ReadonlyArray<Readonly<Record<string, Json>> | undefined>): ReadonlyArray<number> | undefined => {
  const seeds = [...new Set(coords.flatMap((c) => (typeof c?.["seed"] === "number" ? [c["seed"]] : [])))]
  return seeds.length === 0 ? undefined : seeds
}

/** `--seeds 0,1,2` (default: seed 0). */
const parseSeeds = (value: string | undefined) =>
  Effect.suspend(() => {
    if (value === undefined) return Effect.succeed(defaultSeeds)
    const list = seedList(value)
    return "seeds" in list
      ? Effect.succeed(list.seeds)
      : Effect.fail(new ConfigError({ reason: `--seeds ${value}: "${list.bad}" is not a non-negative integer (example: --seeds 0,1,2)` }))
  })

/** One `--set node.param=value`; the value is JSON when it parses as JSON, else the string. */
const parseOverride = (text: string): Effect.Effect<Pipeline.Override, ConfigError> => {
  const eq = text.indexOf("=")
  const target = eq < 0 ? text : text.slice(0, eq)
  const dot = target.lastIndexOf(".")
  if (eq < 0 || dot <= 0 || dot === target.length - 1) {
    return Effect.fail(new ConfigError({ reason: `--set ${text}: expected node.param=value (example: --set rm.steps=500)` }))
  }
  const raw = text.slice(eq + 1)
  let value: unknown = raw
  try {
    value = JSON.parse(raw)
  } catch {
    // Not JSON: the value is the string as typed.
  }
  return Effect.succeed({ node: target.slice(0, dot), field: target.slice(dot + 1), value })
}

/** A flag whose value must be a positive integer (`fallback` when absent). */
export const positiveInt = (flag: string, value: string | undefined, fallback: number) =>
  value === undefined
    ? Effect.succeed(fallback)
    : /^[1-9]\d*$/.test(value)
    ? Effect.succeed(Number(value))
    : Effect.fail(new ConfigError({ reason: `--${flag} ${value}: expected a positive integer` }))

/**
 * The format `--format` names for `command`, one of `formats` (`json` with `--json`, which
 * wins; `fallback` when neither is given). Anything else fails naming the formats there are.
 */
export const formatOf = <F extends string, D extends F | undefined>(
  values: Values,
  command: string,
  formats: ReadonlyArray<F>,
  fallback: D
): Effect.Effect<F | D, ConfigError> =>
  Effect.suspend((): Effect.Effect<F | D, ConfigError> => {
    const given = values["json"] === true ? "json" : values["format"]
    if (typeof given !== "string") return Effect.succeed(fallback)
    const format = formats.find((f) => f === given)
    return format !== undefined
      ? Effect.succeed(format)
      : Effect.fail(new ConfigError({ flag: "--format", reason: `"${given}" is not a format of pipeline ${command} (one of: ${formats.join(", ")})` }))
  })

/** The selection of `run`, `plan`, `verify`, `results` and `report`, and the tensor backend it names. */
export const selectionOf = (values: Values) =>
  Effect.gen(function*() {
    const seeds = yield* parseSeeds(values["seeds"] as string | undefined)
    const overrides = yield* Effect.forEach((values["set"] as ReadonlyArray<string> | undefined) ?? [], parseOverride)
    const backendText = (values["backend"] as string | undefined) ?? process.env["ABLATE_BACKEND"]
    const backend = backendText === undefined || backendText === ""
      ? TensorBackend.defaultName
      : yield* TensorBackend.parse(backendText, values["backend"] === undefined ? "ABLATE_BACKEND" : "--backend")
    yield* TensorBackend.check(backend)
    return {
      selection: {
        seeds,
        overrides,
        force: (values["force"] as ReadonlyArray<string> | undefined) ?? [],
        env: TensorBackend.env(backend, yield* Observer)
      } satisfies Runner.Selection,
      backend
    }
  })

/**
 * The store directory the flags name, as an absolute path. A path that is, or lies under,
 * something other than a directory is a configuration error, reported before any command
 * reads or writes the store.
 */
export const storeOf = (values: Values) =>
  Effect.suspend(() => {
    const given = storeRoot(values)
    const root = path.resolve(given)
    const problem = directoryProblem(root)
    return problem === undefined
      ? Effect.succeed(root)
      : Effect.fail(
        new ConfigError({
          reason: `${values["store"] === undefined ? `store ${given} (the default; choose another with --store)` : `--store ${given}`}: ${problem}`
        })
      )
  })

/**
 * Write `bytes` to the file `-o` names (`given`, relative to the working directory), whole or
 * not at all (internal/AtomicFile.ts); resolves to its absolute path. A directory, or a file
 * that cannot be written, is the user's to fix: the error names the file.
 */
export const writeOutput = (given: string, bytes: Uint8Array) =>
  Effect.suspend(() => {
    const file = path.resolve(given)
    if (fs.statSync(file, { throwIfNoEntry: false })?.isDirectory() === true) {
      return Effect.fail(new ConfigError({ flag: "--output", file, reason: "is a directory: name the file to write" }))
    }
    if (fs.statSync(path.dirname(file), { throwIfNoEntry: false })?.isDirectory() !== true) {
      return Effect.fail(new ConfigError({ flag: "--output", file, reason: `cannot write it: its directory ${path.dirname(file)} does not exist` }))
    }
    return Effect.try({
      try: () => {
        AtomicFile.replaceFile(file, bytes)
        return file
      },
      catch: (error) => new ConfigError({ flag: "--output", file, reason: `cannot write it: ${reasonOf(error)}` })
    })
  })

/** The file store and the run log at `root`. */
export const storeLayers = (root: string) => Layer.mergeAll(ArtifactStore.layer(root), RunLog.layer(root))
