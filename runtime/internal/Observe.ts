/**
 * What a `pipeline` process's preparation (loading the pipeline file, building its
 * graph, fingerprinting its code, hashing its input files) depended on, observed while
 * it happens, so that a later identical command can be answered from the run log
 * without loading anything (runtime/cli/Replay.ts).
 *
 * `install` is called by bin/pipeline.mjs before the CLI loads; in any other process
 * (tests, the Runner API) nothing is observed and nothing is ever replayed. Observed:
 *  - every module loaded: local files by the hash of their bytes (and of the package.json
 *    that scopes them), package files by their package's directory and version, and each
 *    bare import of a local file by the package directory it finds;
 *  - every environment variable read by name, and the names of all of them if the
 *    environment is enumerated (not by Node itself); always the variables Node and ICU
 *    read outside JavaScript (time zone, locale, NODE_OPTIONS, ...);
 *  - the package versions, project roots and file hashes the cache key was computed from;
 *  - while the pipeline file is imported and its graph built: the files the project's code
 *    reads (`readFileSync`, `fs.promises.readFile`) and probes (`existsSync`), and any file
 *    outside node_modules whoever reads it (a package loading the project's config).
 * Anything else the build could depend on, called from the project's own code — the
 * clock, randomness, other file-system calls, processes, the network, facts about the
 * machine — taints the observation, and a tainted observation is never recorded.
 * Those calls made by package code alone (a package initialising itself) do not taint:
 * packages are identified by their versions, as in the cache key.
 */
import * as module from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { sha256 } from "../../dsl/internal/Canonical.ts"

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

const fs = process.getBuiltinModule("node:fs")
const readFileSync = fs.readFileSync
const existsSync = fs.existsSync
const realpathSync = fs.realpathSync
const here = fileURLToPath(import.meta.url)

let installed = false
let recording = false
let tainted: string | undefined
const env = new Map<string, string | null>()
let envNames: Array<string> | null = null
const files = new Map<string, string>()
const exists = new Map<string, boolean>()
const packages = new Map<string, string | null>()
const imports = new Map<string, Observation["imports"][number]>()
const roots = new Map<string, string>()
const originalEnv = process.env
// Variables Node and ICU read outside JavaScript, always part of an observation: the time zone
// and locale decide what dates, numbers and collation give; NODE_OPTIONS may preload modules
// before anything is observed; NODE_PATH and NODE_ICU_DATA change what is loaded.
const readOutsideJavaScript = ["TZ", "LANG", "LC_ALL", "LC_MESSAGES", "LC_COLLATE", "LC_CTYPE", "NODE_OPTIONS", "NODE_PATH", "NODE_ICU_DATA"]
// Variables Node's module loader reads for every module it loads (watch mode, coverage): they
// change how Node reports, not what a pipeline computes.
const nodeSettings = new Set(["WATCH_REPORT_DEPENDENCIES", "NODE_V8_COVERAGE"])

/** Nothing can make this observation usable any more: note why, and stop watching the build (its wrappers cost). */
const taint = (reason: string): void => {
  if (!recording || tainted !== undefined) return
  tainted = reason
  if (patches.length > 0) unguardBuild()
}

/** A file's hash as used: a second, different hash of the same file (it changed meanwhile) taints. */
const noteFile = (file: string, hash: string): void => {
  if (!recording) return
  const before = files.get(file)
  if (before !== undefined && before !== hash) taint(`${file} changed while the pipeline was prepared`)
  files.set(file, hash)
}

const isPackageFile = (file: string) => file.includes(`${path.sep}node_modules${path.sep}`)

/** The directory of the package a file under node_modules belongs to. */
const packageDirOf = (file: string): string => {
  const marker = `${path.sep}node_modules${path.sep}`
  const at = file.lastIndexOf(marker)
  const rest = file.slice(at + marker.length).split(path.sep)
  const name = rest[0]!.startsWith("@") ? rest.slice(0, 2).join(path.sep) : rest[0]!
  return file.slice(0, at + marker.length) + name
}

/** The version in a package directory's manifest ("" if it has none, null if it cannot be read). */
export const versionIn = (dir: string): string | null => {
  try {
    return (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { version?: string }).version ?? ""
  } catch {
    return null
  }
}

/** The first thing `found` finds in the directories above `file`, nearest first (the way Node looks for packages and scopes). */
export const nearestAbove = <A>(file: string, found: (dir: string) => A | undefined): A | undefined => {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const result = found(dir)
    if (result !== undefined || path.dirname(dir) === dir) return result
  }
}

/** The path `name` has in `dir` if it exists there. */
export const existing = (dir: string, ...name: Array<string>): string | undefined => {
  const candidate = path.join(dir, ...name)
  return existsSync(candidate) ? candidate : undefined
}

/** Where a bare import of `name` from `file` looks first: the real path of the nearest `node_modules/<name>` ("" when none). */
export const packageDirFor = (name: string, file: string): string => {
  const dir = nearestAbove(file, (above) => existing(above, "node_modules", name))
  return dir === undefined ? "" : realpathSync(dir)
}

/** Note which copy of package `name` a module in `from` finds (the same for every module of its directory); returns it. */
const noteImport = (name: string, from: string): string => {
  const id = `${path.dirname(from)}\0${name}`
  const known = imports.get(id)
  if (known !== undefined) return known.dir
  const dir = packageDirFor(name, from)
  if (recording) imports.set(id, { name, from, dir })
  return dir
}

const notePackage = (file: string): void => {
  const dir = packageDirOf(file)
  if (!packages.has(dir)) packages.set(dir, versionIn(dir))
}

/** The nearest package.json above a local module decides how it loads and resolves: it counts as read. */
const noteScope = (file: string): void => {
  const manifest = nearestAbove(file, (dir) => existing(dir, "package.json"))
  if (manifest !== undefined && !files.has(manifest)) hashFile(manifest)
}

// Inside a wrapped call or a module hook: the calls the original makes (fs.readFileSync
// opening its file, the module loader reading a module) are part of what is observed already.
let busy = false

/** Run `f` with nested observed calls ignored. */
const quietly = <A>(f: () => A): A => {
  if (busy) return f()
  busy = true
  try {
    return f()
  } finally {
    busy = false
  }
}

type Frame = { readonly node: "loader" | "other" } | { readonly file: string }

/** The innermost `depth` frames of the current stack outside this module: Node's own (its module loader or other), or a file's. */
const callers = (depth: number): Array<Frame> => {
  const { prepareStackTrace, stackTraceLimit } = Error
  Error.stackTraceLimit = depth + 8
  Error.prepareStackTrace = (_, sites) => sites
  const holder: { stack?: ReadonlyArray<NodeJS.CallSite> } = {}
  Error.captureStackTrace(holder, callers)
  const sites = holder.stack ?? []
  Error.prepareStackTrace = prepareStackTrace
  Error.stackTraceLimit = stackTraceLimit
  const frames: Array<Frame> = []
  for (const site of sites) {
    const name = site.getFileName() ?? site.getScriptNameOrSourceURL()
    if (name === undefined || name === null || name === "") continue
    if (name.startsWith("node:")) {
      frames.push({ node: name.startsWith("node:internal/modules/") ? "loader" : "other" })
      continue
    }
    const file = name.startsWith("file:") ? fileURLToPath(name) : name
    if (file !== here) frames.push({ file })
  }
  return frames
}

const isProjectFrame = (frame: Frame) => "file" in frame && !isPackageFile(frame.file)

/**
 * Whether the current call comes from the project's own code: a frame of a local
 * module (not a package's, not Node's) is on the stack before Node's module loader is.
 * What the loader does itself (resolving and reading modules, running a package's
 * top-level code) is not the project's: modules are observed by the hooks.
 */
const fromProjectCode = (): boolean => {
  if (busy) return false
  for (const frame of callers(200)) {
    if ("node" in frame && frame.node === "loader") return false
    if (isProjectFrame(frame)) return true
  }
  return false
}

/** Who made the current call: the first frame outside this module. */
const directCaller = (): "node" | "package" | "project" => {
  const first = callers(4)[0]
  return first === undefined || "node" in first ? "node" : isProjectFrame(first) ? "project" : "package"
}

type Fn = (...args: Array<unknown>) => unknown

const patches: Array<() => void> = []

/** Replace `target[name]` for the build (as an own property, whatever it was); `wrap` gets the original. */
const patch = (target: object, name: string, wrap: (original: Fn) => Fn): void => {
  const original = (target as Record<string, unknown>)[name]
  if (typeof original !== "function") return
  const own = Object.getOwnPropertyDescriptor(target, name)
  Object.defineProperty(target, name, { value: Object.assign(wrap(original as Fn), original), writable: true, configurable: true, enumerable: own?.enumerable ?? false })
  patches.push(() => {
    if (own === undefined) delete (target as Record<string, unknown>)[name]
    else Object.defineProperty(target, name, own)
  })
}

/** The call taints when made from the project's own code. */
const tripwire = (label: string) => (original: Fn): Fn => {
  const wrapper = function(this: unknown, ...args: Array<unknown>): unknown {
    if (fromProjectCode()) taint(`the pipeline called ${label}`)
    // `new Worker(...)` builds a Worker (a subclass defined meanwhile keeps its own prototype)
    const target: Fn | undefined = new.target === wrapper ? original : new.target as Fn | undefined
    return quietly((): unknown => target === undefined ? original.apply(this, args) : Reflect.construct(original, args, target))
  }
  return wrapper
}

const pathOf = (value: unknown): string | undefined =>
  typeof value === "string" ? path.resolve(value) : value instanceof URL && value.protocol === "file:" ? fileURLToPath(value) : undefined

const bytesOf = (value: unknown, options: unknown): Uint8Array => {
  if (typeof value !== "string") return value as Uint8Array
  const encoding = (typeof options === "string" ? options : (options as { encoding?: string } | undefined)?.encoding) as BufferEncoding | undefined
  return Buffer.from(value, encoding ?? "utf8")
}

/** A file the project's code read: its bytes count (a read by descriptor or handle cannot be tied to a file). */
const noteRead = (target: unknown, result: unknown, options: unknown): void => {
  const file = pathOf(target)
  if (file === undefined) taint("the pipeline read a file by descriptor")
  else noteFile(file, sha256(bytesOf(result, options)))
}

/** A read that failed: a missing file counts as absent (it may appear later); any other failure taints. */
const noteFailedRead = (target: unknown, error: unknown): void => {
  const file = pathOf(target)
  if (file !== undefined && (error as NodeJS.ErrnoException).code === "ENOENT") {
    if (recording) exists.set(file, false)
  } else {
    taint(`the pipeline's read of ${String(target)} failed`)
  }
}

/**
 * Whether a read of `target` counts: made by the project's own code, or of a file outside
 * node_modules whoever reads it (a package reading the project's config as it is imported).
 */
const counts = (target: unknown): boolean => {
  if (busy) return false
  const file = pathOf(target)
  return (file !== undefined && !isPackageFile(file)) || fromProjectCode()
}

/** A file read as the build makes it (`args` of readFileSync or fs.promises.readFile): how it ended is noted if it counts. */
const reading = (args: ReadonlyArray<unknown>) => {
  const counted = counts(args[0])
  return {
    done: (result: unknown): unknown => {
      if (counted) noteRead(args[0], result, args[1])
      return result
    },
    failed: (error: unknown): never => {
      if (counted) noteFailedRead(args[0], error)
      throw error
    }
  }
}

const functionNames = (target: object) =>
  Object.keys(target).filter((name) => /^[a-z]/.test(name) && typeof (target as Record<string, unknown>)[name] === "function")

const guardedModules = ["child_process", "cluster", "dgram", "dns", "http", "http2", "https", "net", "os", "tls", "worker_threads"]
const randomFunctions = ["randomBytes", "randomFill", "randomFillSync", "randomInt", "randomUUID", "generateKey", "generateKeyPair", "generateKeyPairSync", "generateKeySync", "generatePrime", "generatePrimeSync"]

const guardBuild = (): void => {
  const fsPromises = fs.promises
  for (const name of functionNames(fs)) {
    if (name === "readFileSync") {
      patch(fs, name, (original) =>
        function(this: unknown, ...args: Array<unknown>) {
          const read = reading(args)
          try {
            return read.done(quietly(() => original.apply(this, args)))
          } catch (error) {
            return read.failed(error)
          }
        })
    } else if (name === "existsSync") {
      patch(fs, name, (original) =>
        function(this: unknown, ...args: Array<unknown>) {
          const counted = counts(args[0])
          const result = quietly(() => original.apply(this, args) as boolean)
          const file = pathOf(args[0])
          if (recording && counted) file === undefined ? taint("the pipeline probed a file by descriptor") : exists.set(file, result)
          return result
        })
    } else {
      patch(fs, name, tripwire(`fs.${name}`))
    }
  }
  for (const name of functionNames(fsPromises)) {
    if (name === "readFile") {
      patch(fsPromises, name, (original) =>
        function(this: unknown, ...args: Array<unknown>) {
          const read = reading(args)
          return (quietly(() => original.apply(this, args)) as Promise<unknown>).then(read.done, read.failed)
        })
    } else {
      patch(fsPromises, name, tripwire(`fs.promises.${name}`))
    }
  }
  for (const id of guardedModules) {
    const target = process.getBuiltinModule(`node:${id}`) as object
    for (const name of functionNames(target)) patch(target, name, tripwire(`${id}.${name}`))
  }
  patch(process.getBuiltinModule("node:worker_threads"), "Worker", tripwire("new Worker"))
  const crypto = process.getBuiltinModule("node:crypto")
  for (const name of randomFunctions) patch(crypto, name, tripwire(`crypto.${name}`))
  const webCrypto = Object.getPrototypeOf(globalThis.crypto) as object
  for (const name of ["getRandomValues", "randomUUID"]) patch(webCrypto, name, tripwire(`crypto.${name}`))
  patch(Math, "random", tripwire("Math.random"))
  patch(performance, "now", tripwire("performance.now"))
  for (const name of ["hrtime", "uptime", "cpuUsage", "memoryUsage", "resourceUsage"]) patch(process, name, tripwire(`process.${name}`))
  patch(process.hrtime, "bigint", tripwire("process.hrtime.bigint"))
  patch(globalThis, "fetch", tripwire("fetch"))
  for (const name of ["pid", "ppid"]) {
    const own = Object.getOwnPropertyDescriptor(process, name)
    if (own?.configurable !== true) continue
    Object.defineProperty(process, name, {
      get: () => {
        if (fromProjectCode()) taint(`the pipeline read process.${name}`)
        return own.get === undefined ? own.value : own.get.call(process)
      },
      configurable: true,
      enumerable: own.enumerable ?? true
    })
    patches.push(() => Object.defineProperty(process, name, own))
  }
  const RealDate = Date
  patch(RealDate, "now", tripwire("Date.now"))
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      if (args.length === 0 && fromProjectCode()) taint("the pipeline read the clock (new Date())")
      return Reflect.construct(target, args, newTarget) as object
    },
    apply(target) {
      if (fromProjectCode()) taint("the pipeline read the clock (Date())")
      return target()
    }
  })
  patches.push(() => {
    globalThis.Date = RealDate
  })
  module.syncBuiltinESMExports()
}

const unguardBuild = (): void => {
  for (const undo of patches.splice(0).reverse()) undo()
  module.syncBuiltinESMExports()
}

/**
 * Start observing this process: module loads, environment reads. Called once by the
 * `pipeline` command before it loads the CLI.
 */
export const install = (entry: string): void => {
  if (installed) return
  installed = true
  recording = true
  // the modules loaded before the hooks were registered
  const canonical = fileURLToPath(new URL("../../dsl/internal/Canonical.ts", import.meta.url))
  for (const loaded of [entry, here, canonical]) hashFile(loaded)
  module.registerHooks({
    resolve: (specifier, context, next) => quietly(() => {
      const parent = context.parentURL?.startsWith("file:") ? fileURLToPath(context.parentURL) : undefined
      if (!recording || parent === undefined || isPackageFile(parent)) return next(specifier, context)
      const name = bareName(specifier)
      // a local file's import of a package: which copy it finds (or that none is there) is part of what ran
      if (name !== undefined) noteImport(name, parent)
      try {
        return next(specifier, context)
      } catch (error) {
        // a local module that is not there (an import the code tolerates failing) may appear later
        if ((error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && /^(file:|\.{0,2}\/)/.test(specifier)) {
          exists.set(fileURLToPath(new URL(specifier, context.parentURL)), false)
        }
        throw error
      }
    }),
    load: (url, context, next) => quietly(() => {
      const loaded = next(url, context)
      if (!recording || !url.startsWith("file:")) return loaded
      const file = fileURLToPath(url)
      if (isPackageFile(file)) {
        notePackage(file)
      } else {
        // the file's bytes (for TypeScript, `source` may already be stripped)
        hashFile(file)
        noteScope(file)
      }
      return loaded
    })
  })
  const observed = (name: string | symbol): name is string =>
    recording && typeof name === "string" && !env.has(name) && !nodeSettings.has(name) && directCaller() !== "node"
  process.env = new Proxy(originalEnv, {
    // Reads by name and enumerating count unless Node itself makes them (copying the
    // environment for a child process).
    get(target, name) {
      const value = target[name as string]
      if (observed(name)) env.set(name, value ?? null)
      return value
    },
    has(target, name) {
      if (observed(name)) env.set(name, target[name] ?? null)
      return name in target
    },
    ownKeys(target) {
      if (recording && envNames === null && directCaller() !== "node") envNames = Object.keys(target).sort()
      return Reflect.ownKeys(target)
    },
    set(target, name, value) {
      taint(`the environment variable ${String(name)} was set`)
      target[name as string] = value as string
      return true
    },
    deleteProperty(target, name) {
      taint(`the environment variable ${String(name)} was deleted`)
      delete target[name as string]
      return true
    }
  })
}

/**
 * The package an import specifier names (`@scope/name/sub` → `@scope/name`), or undefined
 * for one that names no package: a relative, absolute, `file:` or `data:` URL, a `#`
 * import map entry, or a Node builtin.
 */
export const bareName = (specifier: string): string | undefined => {
  if (/^(node:|data:|file:|\.{0,2}\/|#)/.test(specifier) || path.isAbsolute(specifier) || module.isBuiltin(specifier)) return undefined
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!
}

/** Observe the pipeline file's import and graph build: file reads are recorded, other side channels taint. */
export const beginBuild = (): void => {
  if (recording) guardBuild()
}

/** End what `beginBuild` started. */
export const endBuild = (): void => {
  if (patches.length > 0) unguardBuild()
}

/** Something the observation cannot account for happened (e.g. the pipeline needed tsx). */
export const markTainted = (reason: string): void => taint(reason)

/** Hash a file whose bytes the preparation uses (a code fingerprint, an input file), noting it; throws if it cannot be read. */
export const hashFile = (absolute: string): string => {
  const hash = sha256(readFileSync(absolute))
  noteFile(absolute, hash)
  return hash
}

/**
 * Where package `name` is found from `from` (`packageDirFor`), noted with the version there:
 * a lookup by name (CodeFingerprint, TensorBackend) depends on both, as an import does.
 */
export const lookup = (name: string, from: string): string => {
  const dir = noteImport(name, from)
  if (recording && dir !== "" && !packages.has(dir)) packages.set(dir, versionIn(dir))
  return dir
}

/** The project root found for a file. */
export const root = (file: string, dir: string): void => {
  if (recording) roots.set(file, dir)
}

/**
 * Stop observing and return what was observed: undefined when not installed (a test, the
 * Runner API) or when something tainted it (the reason is in `taintedBy`).
 */
export const finish = (): Observation | undefined => {
  endBuild()
  if (!recording) return undefined
  recording = false
  process.env = originalEnv
  if (tainted !== undefined) return undefined
  for (const name of readOutsideJavaScript) if (!env.has(name)) env.set(name, originalEnv[name] ?? null)
  return {
    env: Object.fromEntries(env),
    envNames,
    files: Object.fromEntries(files),
    exists: Object.fromEntries(exists),
    packages: Object.fromEntries(packages),
    imports: [...imports.values()],
    roots: Object.fromEntries(roots)
  }
}

/** Why the observation was tainted, if it was. */
export const taintedBy = (): string | undefined => tainted

/** The process environment itself, read without being observed. */
export const environment = (): NodeJS.ProcessEnv => originalEnv
