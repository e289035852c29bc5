/**
 * The TensorFlow.js backend nodes compute on. `wasm` (the default) and `cpu` come
 * with a plain `npm install`; `tensorflow`, `tensorflow-gpu` and `webgpu` need
 * optional packages and are loaded only when asked for. The backend name is part of
 * the cache key's environment for nodes that compute with tensors.
 */
import { Context, Effect, Layer, Semaphore } from "effect"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { packageVersion } from "./internal/Packages.ts"
import { ConfigError, reasonOf } from "./Errors.ts"

/** Backends `--backend` and `ABLATE_BACKEND` accept. */
export const names = ["wasm", "cpu", "tensorflow", "tensorflow-gpu", "webgpu"] as const
export type Name = (typeof names)[number]

/** The default: WebAssembly (works from a plain `npm install`, no GPU, no network), else pure JS. */
export const defaultName: Name = "WebAssembly" in globalThis ? "wasm" : "cpu"

/**
 * The package behind each backend. Those with `needs` are optional: not installed by
 * a plain `npm install`, and `needs` says what installing them takes.
 */
const backends: Record<Name, { readonly pkg: string; readonly needs?: string }> = {
  wasm: { pkg: "@tensorflow/tfjs-backend-wasm" },
  cpu: { pkg: "@tensorflow/tfjs-backend-cpu" },
  tensorflow: {
    pkg: "@tensorflow/tfjs-node",
    needs: "its install script downloads libtensorflow from outside the npm registry"
  },
  "tensorflow-gpu": {
    pkg: "@tensorflow/tfjs-node-gpu",
    needs: "an NVIDIA GPU with CUDA and cuDNN, and its install script downloads libtensorflow from outside the npm registry"
  },
  webgpu: { pkg: "@tensorflow/tfjs-backend-webgpu", needs: "a WebGPU implementation (navigator.gpu) in the process" }
}

/** The backend's optional package, if it needs one. */
const optionalPackage = (name: Name): { readonly pkg: string; readonly needs: string } | undefined => {
  const { pkg, needs } = backends[name]
  return needs === undefined ? undefined : { pkg, needs }
}

/** The error for an optional package that is missing; `detail` says how it failed to load, if it was tried. */
const missingPackage = (name: Name, optional: { readonly pkg: string; readonly needs: string }, detail?: string) =>
  new ConfigError({
    reason: `tensor backend ${name} needs the optional package ${optional.pkg}, which is not installed` +
      (detail === undefined ? ". " : ` or failed to load (${detail}). `) +
      `Install it with \`npm install ${optional.pkg}\`; it needs ${optional.needs}.`
  })

const here = fileURLToPath(import.meta.url)
const installedVersion = (pkg: string): string => packageVersion(pkg, here) ?? "not installed"

/**
 * The cache-key environment of tensor nodes on backend `name`: the backend and the
 * versions of TensorFlow.js and of the backend's package (kernels change numerics).
 */
export const env = (name: Name): { readonly [key: string]: string } => ({
  backend: name,
  tfjs: installedVersion("@tensorflow/tfjs-core"),
  kernels: installedVersion(backends[name].pkg)
})

/** Parse a backend name from a flag or the environment. */
export const parse = (value: string, source: string): Effect.Effect<Name, ConfigError> =>
  (names as ReadonlyArray<string>).includes(value)
    ? Effect.succeed(value as Name)
    : Effect.fail(new ConfigError({ reason: `${source}: unknown tensor backend "${value}" (one of: ${names.join(", ")})` }))

const tfBackendName = (name: Name): string => (name === "tensorflow" || name === "tensorflow-gpu" ? "tensorflow" : name)

const load = (name: Name): Effect.Effect<void, ConfigError> =>
  Effect.tryPromise({
    try: async () => {
      // The umbrella package registers the gradients of every op (tfjs-core alone does not) and the cpu backend.
      await import("@tensorflow/tfjs")
      const tf = await import("@tensorflow/tfjs-core")
      if (name === "wasm") {
        const pkg = backends.wasm.pkg
        const wasm = (await import(pkg)) as typeof import("@tensorflow/tfjs-backend-wasm")
        wasm.setWasmPaths(path.join(path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), "dist/"))
      } else if (optionalPackage(name) !== undefined) {
        await import(backends[name].pkg)
      }
      if (!(await tf.setBackend(tfBackendName(name)))) throw new Error(`TensorFlow.js could not initialise the ${name} backend`)
    },
    catch: (error) => {
      const optional = optionalPackage(name)
      return optional === undefined
        ? new ConfigError({ reason: `tensor backend ${name}: ${reasonOf(error)}` })
        : missingPackage(name, optional, reasonOf(error).split("\n")[0])
    }
  })

/**
 * Fail early, before anything runs, when an optional backend's package is not
 * installed. Cheap: resolves the package without loading TensorFlow.js.
 */
export const check = (name: Name): Effect.Effect<void, ConfigError> => {
  const optional = optionalPackage(name)
  if (optional === undefined) return Effect.void
  return Effect.try({
    try: () => void createRequire(import.meta.url).resolve(optional.pkg),
    catch: () => missingPackage(name, optional)
  })
}

/**
 * The tensor backend of a run. TensorFlow.js is loaded and initialised by the first
 * `ensure`, i.e. only when a node that computes with tensors actually runs, so an
 * all-cached run never pays for it.
 */
export class TensorBackend extends Context.Service<TensorBackend, {
  readonly name: Name
  /** Load and initialise TensorFlow.js (once). */
  readonly ensure: Effect.Effect<void, ConfigError>
  /**
   * Run a node that computes with tensors: one at a time (TensorFlow.js has one
   * engine per process), inside an engine scope. Tensors and variables the node
   * created and did not free are freed when it ends, so no tensor outlives it.
   */
  readonly scoped: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ConfigError, R>
}>()("ablate/runtime/TensorBackend") {
  static readonly layer = (name: Name) =>
    Layer.effect(
      TensorBackend,
      Effect.gen(function*() {
        const ensure = yield* Effect.cached(load(name))
        const exclusive = yield* Semaphore.make(1)
        const scoped = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
          exclusive.withPermits(1)(
            Effect.gen(function*() {
              yield* ensure
              const tf = yield* Effect.promise(() => import("@tensorflow/tfjs-core"))
              const engine = tf.engine()
              const variablesBefore = new Set(Object.keys(engine.registeredVariables))
              return yield* Effect.acquireUseRelease(
                Effect.sync(() => engine.startScope()),
                () => effect,
                () =>
                  Effect.sync(() => {
                    engine.endScope()
                    for (const [name, variable] of Object.entries(engine.registeredVariables)) {
                      if (!variablesBefore.has(name)) variable.dispose()
                    }
                  })
              )
            })
          )
        return TensorBackend.of({ name, ensure, scoped })
      })
    )
}
