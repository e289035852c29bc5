/**
 * Loading a pipeline file: importing it (through tsx when Node's type stripping cannot)
 * and checking that it exports a pipeline. Nothing here writes anything, so a bad
 * pipeline fails before the store is touched. A module that does not parse is reported
 * at file:line:column with the offending line (internal/SyntaxLocation.ts).
 */
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { BuildError } from "../dsl/Errors.ts"
import * as Pipeline from "../dsl/Pipeline.ts"
import { ConfigError, reasonOf } from "./Errors.ts"
import * as SyntaxLocation from "./internal/SyntaxLocation.ts"
import { Observer } from "./Observer.ts"

// Errors of Node's built-in type stripping that tsx's full TypeScript transform does not have:
// syntax that needs a transform (enums, parameter properties) and .ts files under node_modules.
const needsTsx = new Set([
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX",
  "ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING",
  "ERR_UNKNOWN_FILE_EXTENSION"
])

/** Why a run whose pipeline file needs tsx is never replayed. */
export const tsxReason = "the pipeline file needs tsx"

/** Import a TypeScript module, falling back to tsx when Node's type stripping cannot load it. */
const importTypeScript = async (url: string, observer: Observer): Promise<{ readonly default?: unknown }> => {
  try {
    return await import(url)
  } catch (error) {
    if (!needsTsx.has((error as NodeJS.ErrnoException).code ?? "")) throw error
    // tsx loads modules off the main thread, where they cannot be observed: such a run is never replayed
    observer.markTainted(tsxReason)
    const tsx = await import("tsx/esm/api")
    tsx.register()
    return await import(`${url}?tsx`)
  }
}

/** The absolute path of a pipeline file that exists. */
export const locate = (file: string): Effect.Effect<string, ConfigError> =>
  Effect.gen(function*() {
    const absolute = path.resolve(file)
    if (!fs.existsSync(absolute)) return yield* new ConfigError({ reason: `pipeline file ${file} does not exist` })
    if (!fs.statSync(absolute).isFile()) return yield* new ConfigError({ reason: `pipeline file ${file} is not a file` })
    return absolute
  })

// A module as the user would name it: the pipeline file as given, another relative to the working directory.
const shownPath = (file: string, absolute: string, module: string): string =>
  module === absolute ? file : path.relative(process.cwd(), module)

/** Import a located pipeline file (`file` as the user gave it, for messages) and return its default export. */
export const load = (file: string, absolute: string): Effect.Effect<Pipeline.Pipeline, ConfigError | BuildError> =>
  Effect.gen(function*() {
    const observer = yield* Observer
    const module = yield* Effect.tryPromise({
      try: () => importTypeScript(pathToFileURL(absolute).href, observer),
      catch: (error) => {
        const syntax = SyntaxLocation.of(error)
        return syntax === undefined
          ? new BuildError({ pipeline: file, reason: `loading ${file} threw: ${reasonOf(error)}` })
          : new ConfigError({ reason: `${file} cannot be loaded: syntax error at ${SyntaxLocation.describe(syntax, shownPath(file, absolute, syntax.file))}` })
      }
    })
    if (!Pipeline.isPipeline(module.default)) {
      return yield* new ConfigError({
        reason: `${file} must \`export default Pipeline.make(...)\`; its default export is ${module.default === undefined ? "missing" : typeof module.default}`
      })
    }
    return module.default
  })
