/**
 * Every patch of Node's globals that observing a preparation needs, in one place; each
 * install returns the restore that undoes it, and Recording.ts runs it whatever happens.
 *
 *  - `watchEnvironment`: `process.env` as a proxy that reports each variable read by name
 *    (and all names if it is enumerated) to the recording, and taints on writes; Node's own
 *    reads (copying the environment for a child process) do not count.
 *  - `guardBuild`, while the pipeline file is imported and its graph built: the files the
 *    project's code reads (`readFileSync`, `fs.promises.readFile`) and probes (`existsSync`),
 *    and any file outside node_modules whoever reads it (a package loading the project's
 *    config), are recorded; anything else the build could depend on, called from the
 *    project's own code — the clock, randomness, other file-system calls, processes, the
 *    network, facts about the machine — taints the recording. Such calls made by package
 *    code alone (a package initialising itself) do not: packages count by their versions.
 */
import * as module from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { sha256 } from "../../../dsl/internal/Canonical.ts"
import { isPackageFile, type Recording } from "./Recording.ts"

/** Undoes what an install did. */
export type Restore = () => void

// frames of the observation's own modules are not the caller's
const observeDir = path.dirname(fileURLToPath(import.meta.url)) + path.sep

type Frame = { readonly node: "loader" | "other" } | { readonly file: string }

/** The innermost `depth` frames of the current stack outside the observation: Node's own (its module loader or other), or a file's. */
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
    if (!file.startsWith(observeDir)) frames.push({ file })
  }
  return frames
}

const isProjectFrame = (frame: Frame) => "file" in frame && !isPackageFile(frame.file)

/**
 * Whether the current call comes from the project's own code: a frame of a local
 * module (not a package's, not Node's) is on the stack before Node's module loader is.
 * What the loader does itself (resolving and reading modules, running a package's
 * top-level code) is not the project's: modules are observed by ModuleHooks.ts.
 */
const fromProjectCode = (recording: Recording): boolean => {
  if (recording.busy()) return false
  for (const frame of callers(200)) {
    if ("node" in frame && frame.node === "loader") return false
    if (isProjectFrame(frame)) return true
  }
  return false
}

/** Who made the current call: the first frame outside the observation. */
const directCaller = (): "node" | "package" | "project" => {
  const first = callers(4)[0]
  return first === undefined || "node" in first ? "node" : isProjectFrame(first) ? "project" : "package"
}

// Variables Node's module loader reads for every module it loads (watch mode, coverage): they
// change how Node reports, not what a pipeline computes.
const nodeSettings = new Set(["WATCH_REPORT_DEPENDENCIES", "NODE_V8_COVERAGE"])

/** Observe `process.env` (reads by name, enumeration; writes taint) until the returned restore. */
export const watchEnvironment = (recording: Recording): Restore => {
  const before = process.env
  const original = recording.environment
  const observed = (name: string | symbol): name is string =>
    recording.recording() && typeof name === "string" && !recording.knowsEnv(name) && !nodeSettings.has(name) && directCaller() !== "node"
  process.env = new Proxy(original, {
    get(target, name) {
      const value = target[name as string]
      if (observed(name)) recording.noteEnv(name, value ?? null)
      return value
    },
    has(target, name) {
      if (observed(name)) recording.noteEnv(name, target[name] ?? null)
      return name in target
    },
    ownKeys(target) {
      if (recording.recording() && directCaller() !== "node") recording.noteEnvNames(Object.keys(target))
      return Reflect.ownKeys(target)
    },
    set(target, name, value) {
      recording.taint(`the environment variable ${String(name)} was set`)
      target[name as string] = value as string
      return true
    },
    deleteProperty(target, name) {
      recording.taint(`the environment variable ${String(name)} was deleted`)
      delete target[name as string]
      return true
    }
  })
  return () => {
    process.env = before
  }
}

type Fn = (...args: Array<unknown>) => unknown

const pathOf = (value: unknown): string | undefined =>
  typeof value === "string" ? path.resolve(value) : value instanceof URL && value.protocol === "file:" ? fileURLToPath(value) : undefined

const bytesOf = (value: unknown, options: unknown): Uint8Array => {
  if (typeof value !== "string") return value as Uint8Array
  const encoding = (typeof options === "string" ? options : (options as { encoding?: string } | undefined)?.encoding) as BufferEncoding | undefined
  return Buffer.from(value, encoding ?? "utf8")
}

const functionNames = (target: object) =>
  Object.keys(target).filter((name) => /^[a-z]/.test(name) && typeof (target as Record<string, unknown>)[name] === "function")

const guardedModules = ["child_process", "cluster", "dgram", "dns", "http", "http2", "https", "net", "os", "tls", "worker_threads"]
const randomFunctions = ["randomBytes", "randomFill", "randomFillSync", "randomInt", "randomUUID", "generateKey", "generateKeyPair", "generateKeyPairSync", "generateKeySync", "generatePrime", "generatePrimeSync"]

type Patch = (target: object, name: string, wrap: (original: Fn) => Fn) => void

/** Replaces `target[name]` (as an own property, whatever it was; `wrap` gets the original), pushing its undo on `undos`. */
const patcher = (undos: Array<Restore>): Patch => (target, name, wrap) => {
  const original = (target as Record<string, unknown>)[name]
  if (typeof original !== "function") return
  const own = Object.getOwnPropertyDescriptor(target, name)
  Object.defineProperty(target, name, { value: Object.assign(wrap(original as Fn), original), writable: true, configurable: true, enumerable: own?.enumerable ?? false })
  undos.push(() => {
    if (own === undefined) delete (target as Record<string, unknown>)[name]
    else Object.defineProperty(target, name, own)
  })
}

/** A call that taints when made from the project's own code. */
const tripwire = (recording: Recording, label: string) => (original: Fn): Fn => {
  const wrapper = function(this: unknown, ...args: Array<unknown>): unknown {
    if (fromProjectCode(recording)) recording.taint(`the pipeline called ${label}`)
    // `new Worker(...)` builds a Worker (a subclass defined meanwhile keeps its own prototype)
    const target: Fn | undefined = new.target === wrapper ? original : new.target as Fn | undefined
    return recording.quietly((): unknown => target === undefined ? original.apply(this, args) : Reflect.construct(original, args, target))
  }
  return wrapper
}

/** Whether a read of `target` counts: made by the project's own code, or of a file outside node_modules whoever reads it. */
const counts = (recording: Recording, target: unknown): boolean => {
  if (recording.busy()) return false
  const file = pathOf(target)
  return (file !== undefined && !isPackageFile(file)) || fromProjectCode(recording)
}

/** A file read as the build makes it (`args` of readFileSync or fs.promises.readFile): how it ended is noted if it counts. */
const reading = (recording: Recording, args: ReadonlyArray<unknown>) => {
  const counted = counts(recording, args[0])
  const file = pathOf(args[0])
  return {
    done: (result: unknown): unknown => {
      if (!counted) return result
      // a read by descriptor or handle cannot be tied to a file
      if (file === undefined) recording.taint("the pipeline read a file by descriptor")
      else recording.noteFile(file, sha256(bytesOf(result, args[1])))
      return result
    },
    failed: (error: unknown): never => {
      // a missing file counts as absent (it may appear later); any other failure taints
      if (counted && file !== undefined && (error as NodeJS.ErrnoException).code === "ENOENT") recording.noteExists(file, false)
      else if (counted) recording.taint(`the pipeline's read of ${String(args[0])} failed`)
      throw error
    }
  }
}

/** node:fs: reads (`readFileSync`, `fs.promises.readFile`) and probes (`existsSync`) recorded, every other function a tripwire. */
const guardFiles = (recording: Recording, patch: Patch): void => {
  const fs = process.getBuiltinModule("node:fs")
  for (const name of functionNames(fs)) {
    if (name === "readFileSync") {
      patch(fs, name, (original) =>
        function(this: unknown, ...args: Array<unknown>) {
          const read = reading(recording, args)
          try {
            return read.done(recording.quietly(() => original.apply(this, args)))
          } catch (error) {
            return read.failed(error)
          }
        })
    } else if (name === "existsSync") {
      patch(fs, name, (original) =>
        function(this: unknown, ...args: Array<unknown>) {
          const counted = counts(recording, args[0])
          const result = recording.quietly(() => original.apply(this, args) as boolean)
          const file = pathOf(args[0])
          if (counted) file === undefined ? recording.taint("the pipeline probed a file by descriptor") : recording.noteExists(file, result)
          return result
        })
    } else {
      patch(fs, name, tripwire(recording, `fs.${name}`))
    }
  }
  const fsPromises = fs.promises
  for (const name of functionNames(fsPromises)) {
    if (name === "readFile") {
      patch(fsPromises, name, (original) =>
        function(this: unknown, ...args: Array<unknown>) {
          const read = reading(recording, args)
          return (recording.quietly(() => original.apply(this, args)) as Promise<unknown>).then(read.done, read.failed)
        })
    } else {
      patch(fsPromises, name, tripwire(recording, `fs.promises.${name}`))
    }
  }
}

/** Processes, workers, the network, the machine, randomness, the clock and the process id: tripwires. */
const guardSideChannels = (recording: Recording, patch: Patch, undos: Array<Restore>): void => {
  for (const id of guardedModules) {
    const target = process.getBuiltinModule(`node:${id}`) as object
    for (const name of functionNames(target)) patch(target, name, tripwire(recording, `${id}.${name}`))
  }
  patch(process.getBuiltinModule("node:worker_threads"), "Worker", tripwire(recording, "new Worker"))
  const crypto = process.getBuiltinModule("node:crypto")
  for (const name of randomFunctions) patch(crypto, name, tripwire(recording, `crypto.${name}`))
  const webCrypto = Object.getPrototypeOf(globalThis.crypto) as object
  for (const name of ["getRandomValues", "randomUUID"]) patch(webCrypto, name, tripwire(recording, `crypto.${name}`))
  patch(Math, "random", tripwire(recording, "Math.random"))
  patch(performance, "now", tripwire(recording, "performance.now"))
  for (const name of ["hrtime", "uptime", "cpuUsage", "memoryUsage", "resourceUsage"]) patch(process, name, tripwire(recording, `process.${name}`))
  patch(process.hrtime, "bigint", tripwire(recording, "process.hrtime.bigint"))
  patch(globalThis, "fetch", tripwire(recording, "fetch"))
  for (const name of ["pid", "ppid"]) {
    const own = Object.getOwnPropertyDescriptor(process, name)
    if (own?.configurable !== true) continue
    Object.defineProperty(process, name, {
      get: () => {
        if (fromProjectCode(recording)) recording.taint(`the pipeline read process.${name}`)
        return own.get === undefined ? own.value : own.get.call(process)
      },
      configurable: true,
      enumerable: own.enumerable ?? true
    })
    undos.push(() => Object.defineProperty(process, name, own))
  }
  const RealDate = Date
  patch(RealDate, "now", tripwire(recording, "Date.now"))
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      if (args.length === 0 && fromProjectCode(recording)) recording.taint("the pipeline read the clock (new Date())")
      return Reflect.construct(target, args, newTarget) as object
    },
    apply(target) {
      if (fromProjectCode(recording)) recording.taint("the pipeline read the clock (Date())")
      return target()
    }
  })
  undos.push(() => {
    globalThis.Date = RealDate
  })
}

/** Record the build's file reads and taint on its other side channels (see the header) until the returned restore. */
export const guardBuild = (recording: Recording): Restore => {
  const undos: Array<Restore> = []
  const restore: Restore = () => {
    for (const undo of undos.splice(0).reverse()) undo()
    module.syncBuiltinESMExports()
  }
  try {
    const patch = patcher(undos)
    guardFiles(recording, patch)
    guardSideChannels(recording, patch, undos)
    module.syncBuiltinESMExports()
  } catch (error) {
    // a patch that could not be made: none of them stays
    restore()
    throw error
  }
  return restore
}
