/**
 * The TensorFlow.js backend nodes compute on. `wasm` (the default) and `cpu` come
 * with a plain `npm install`; `tensorflow`, `tensorflow-gpu` and `webgpu` need
 * optional packages and are loaded only when asked for. The backend name is part of
 * the cache key's environment for nodes that compute with tensors.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Semaphore from "effect/Semaphore"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { packageVersion } from "./internal/Packages.ts"
import * as WebGpu from "./internal/WebGpu.ts"
import * as Observer from "./Observer.ts"
import { ConfigError, reasonOf } from "./Errors.ts"

/** Backends `--backend` and `ABLATE_BACKEND` accept. */
export const names = ["wasm", "cpu", "tensorflow", "tensorflow-gpu", "webgpu"] as const
export type Name = (typeof names)[number]

/** The default: WebAssembly (works from a plain `npm install`, no GPU, no network), else pure JS. */
export const defaultName: Name = "WebAssembly" in globalThis ? "wasm" : "cpu"

/**
 * The package behind each backend. Those with `needs` are optional: not installed by
 * a plain `npm install`, and `needs` says what installing them takes; `with` names the
 * packages they need beside them.
 */
const backends: Record<Name, { readonly pkg: string; readonly needs?: string; readonly with?: ReadonlyArray<string> }> = {
  wasm: { pkg: "@tensorflow/tfjs-backend-wasm" },
  cpu: { pkg: "@tensorflow/tfjs-backend-cpu" },
  tensorflow: {
    pkg: "@tensorflow/tfjs-node",
    needs: "network access beyond the npm registry: its install script downloads libtensorflow"
  },
  "tensorflow-gpu": {
    pkg: "@tensorflow/tfjs-node-gpu",
    needs: "an NVIDIA GPU with CUDA and cuDNN, and network access beyond the npm registry: its install script downloads libtensorflow"
  },
  webgpu: {
    pkg: "@tensorflow/tfjs-backend-webgpu",
    needs: "a GPU with a Vulkan, Metal or Direct3D 12 driver; in Node, WebGPU comes from the `webgpu` package (Google's Dawn)",
    with: ["webgpu"]
  }
}

/** An optional backend's packages: its own, and those it needs beside it here. */
interface Optional {
  readonly pkg: string
  readonly needs: string
  readonly packages: ReadonlyArray<string>
}

/** The backend's optional package, if it needs one. */
const optionalPackage = (name: Name): Optional | undefined => {
  const { pkg, needs } = backends[name]
  // a process with WebGPU of its own (a browser, Deno) needs no Dawn
  const beside = name === "webgpu" && WebGpu.native() ? [] : backends[name].with ?? []
  return needs === undefined ? undefined : { pkg, needs, packages: [pkg, ...beside] }
}

/** The error for an optional package that is not installed: what to install and what it needs. */
const missingPackage = (name: Name, optional: Optional, missing: ReadonlyArray<string>) =>
  new ConfigError({
    reason: `tensor backend ${name} needs the optional package${missing.length > 1 ? "s" : ""} ${missing.join(" and ")}, ` +
      `which ${missing.length > 1 ? "are" : "is"} not installed. Install ${missing.length > 1 ? "them" : "it"} with ` +
      `\`npm install ${optional.packages.join(" ")}\`; it needs ${optional.needs}.`
  })

/** The error for a backend whose package is installed but would not load or initialise, with the underlying reason. */
const failedBackend = (name: Name, stage: "load" | "initialise", error: unknown) => {
  const optional = optionalPackage(name)
  const reason = reasonOf(error).split("\n")[0]
  return new ConfigError({
    reason: optional === undefined
      ? `tensor backend ${name} failed to ${stage}: ${reason}`
      : `tensor backend ${name}: the optional package ${optional.pkg} is installed but failed to ${stage}: ${reason}. ` +
        `It needs ${optional.needs}.`
  })
}

/** Whether `pkg` resolves from here. A package that resolves but fails to load is installed (and broken). */
const isInstalled = (pkg: string): boolean => {
  try {
    createRequire(import.meta.url).resolve(pkg)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND"
  }
}

const here = fileURLToPath(import.meta.url)
const installedVersion = (pkg: string, observer: Observer.Observer): string => packageVersion(pkg, here, observer) ?? "not installed"

/**
 * The cache-key environment of tensor nodes on backend `name`: the backend and the
 * versions of TensorFlow.js and of the backend's package (kernels change numerics), where
 * they were found reported to `observer`.
 */
export const env = (name: Name, observer: Observer.Observer = Observer.none): { readonly [key: string]: string } => ({
  backend: name,
  tfjs: installedVersion("@tensorflow/tfjs-core", observer),
  kernels: installedVersion(backends[name].pkg, observer),
  // the WebGPU implementation compiles the kernels' shaders: Dawn's version counts as theirs
  ...(name === "webgpu" && !WebGpu.native() ? { dawn: installedVersion("webgpu", observer) } : {})
})

/** Parse a backend name from a flag or the environment. */
export const parse = (value: string, source: string): Effect.Effect<Name, ConfigError> =>
  (names as ReadonlyArray<string>).includes(value)
    ? Effect.succeed(value as Name)
    : Effect.fail(new ConfigError({ reason: `${source}: unknown tensor backend "${value}" (one of: ${names.join(", ")})` }))

const tfBackendName = (name: Name): string => (name === "tensorflow" || name === "tensorflow-gpu" ? "tensorflow" : name)

type TensorFlow = typeof import("@tensorflow/tfjs-core")

/** Why the package of backend `name` registered no TensorFlow.js backend. */
const unregistered = (name: Name, tfName: string): string => `${backends[name].pkg} registered no "${tfName}" backend with TensorFlow.js`

/**
 * Import the package of backend `name` (registering its backend); wasm also learns where its
 * binaries are. Why the backend cannot run here (webgpu without a GPU adapter), or undefined.
 */
const importBackend = async (tf: TensorFlow, name: Name): Promise<string | undefined> => {
  if (name === "webgpu") return WebGpu.register(tf)
  const pkg = backends[name].pkg
  const module: unknown = await import(pkg)
  if (name === "wasm") {
    const wasm = module as typeof import("@tensorflow/tfjs-backend-wasm")
    wasm.setWasmPaths(path.join(path.dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), "dist/"))
  }
  return undefined
}

/**
 * `tf.setBackend`, holding back what TensorFlow.js logs while it tries: when the backend's
 * factory fails it only logs "Initialization of backend … failed" and the error's stack, and
 * returns false. On success the held warnings are passed on; on failure the error's first line
 * is thrown, so the user sees one clear message and no stack.
 */
const setBackend = async (tf: TensorFlow, tfName: string): Promise<void> => {
  const warn = console.warn
  const held: Array<ReadonlyArray<unknown>> = []
  console.warn = (...args: Array<unknown>) => void held.push(args)
  let initialised: boolean
  try {
    initialised = await tf.setBackend(tfName)
  } finally {
    console.warn = warn
  }
  if (initialised) {
    for (const args of held) console.warn(...args)
    return
  }
  const reason = held.map((args) => args.map(String).join(" ")).find((line) => !line.startsWith("Initialization of backend"))
  throw new Error(reason?.split("\n")[0]!.replace(/^Error: /, "") ?? `TensorFlow.js could not initialise the ${tfName} backend`)
}

/** Make the imported package's backend TensorFlow.js's backend; throws the reason when it cannot. */
const initialise = async (tf: TensorFlow, name: Name): Promise<void> => {
  const tfName = tfBackendName(name)
  if (tf.findBackendFactory(tfName) === null) throw new Error(unregistered(name, tfName))
  await setBackend(tf, tfName)
  // In Node the cpu backend prints a banner on its first tensor recommending tfjs-node. Here cpu
  // is a deliberate choice and the banner is advice, not a warning: mark the first use as past
  // (a private field) rather than silence TensorFlow.js's warnings as a whole (`enableProdMode`).
  if (name === "cpu") Object.assign(tf.backend(), { firstUse: false })
}

/**
 * Load TensorFlow.js and initialise backend `name`. For an optional backend, a package
 * that is not installed says what to install; one that is installed but fails to load
 * or initialise says why.
 */
const load = (name: Name): Effect.Effect<void, ConfigError> =>
  Effect.gen(function*() {
    const tf = yield* Effect.tryPromise({
      try: async () => {
        // core with every op's gradient and the chained ops registered (core's entry alone has neither)
        await import("./internal/TensorFlow.ts")
        return await import("@tensorflow/tfjs-core")
      },
      catch: (error) => new ConfigError({ reason: `TensorFlow.js failed to load: ${reasonOf(error).split("\n")[0]}` })
    })
    const cannotRun = yield* Effect.tryPromise({ try: () => importBackend(tf, name), catch: (error) => error }).pipe(
      // a package that is not installed says what to install (`check`); an installed one, why it would not load
      Effect.catch((error) => Effect.andThen(check(name), Effect.fail(failedBackend(name, "load", error))))
    )
    if (cannotRun !== undefined) return yield* Effect.fail(new ConfigError({ reason: `tensor backend ${name} cannot run here: ${cannotRun}` }))
    yield* Effect.tryPromise({ try: () => initialise(tf, name), catch: (error) => failedBackend(name, "initialise", error) })
  })

/**
 * Fail early, before anything runs, when an optional backend's package is not
 * installed. Cheap: resolves the package without loading TensorFlow.js.
 */
export const check = (name: Name): Effect.Effect<void, ConfigError> => {
  const optional = optionalPackage(name)
  if (optional === undefined) return Effect.void
  const missing = optional.packages.filter((pkg) => !isInstalled(pkg))
  return missing.length === 0 ? Effect.void : Effect.fail(missingPackage(name, optional, missing))
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
