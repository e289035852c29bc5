/**
 * The state of one observation: what a `pipeline` process's preparation read and
 * loaded so far, or why it can no longer be trusted. `make` creates it (Install.ts, once
 * per process); ModuleHooks.ts and Tripwires.ts report into it, and it is the process's
 * Observer (../../Observer.ts) that the key code reports to. Nothing here is global: the
 * state lives in the object `make` returns.
 */
import * as path from "node:path"
import { sha256 } from "../../../dsl/internal/Canonical.ts"
import type { Observation, Observed, Observer } from "../../Observer.ts"
import { existing, nearestAbove, packageDirFor, versionIn } from "../Packages.ts"

// the originals, whatever Tripwires.ts does to node:fs meanwhile
const { readFileSync } = process.getBuiltinModule("node:fs")

// Variables Node and ICU read outside JavaScript, always part of an observation: the time zone
// and locale decide what dates, numbers and collation give; NODE_OPTIONS may preload modules
// before anything is observed; NODE_PATH and NODE_ICU_DATA change what is loaded.
const readOutsideJavaScript = ["TZ", "LANG", "LC_ALL", "LC_MESSAGES", "LC_COLLATE", "LC_CTYPE", "NODE_OPTIONS", "NODE_PATH", "NODE_ICU_DATA"]

export const isPackageFile = (file: string): boolean => file.includes(`${path.sep}node_modules${path.sep}`)

/** The directory of the package a file under node_modules belongs to. */
const packageDirOf = (file: string): string => {
  const marker = `${path.sep}node_modules${path.sep}`
  const at = file.lastIndexOf(marker)
  const rest = file.slice(at + marker.length).split(path.sep)
  const name = rest[0]!.startsWith("@") ? rest.slice(0, 2).join(path.sep) : rest[0]!
  return file.slice(0, at + marker.length) + name
}

// an import of package `name` finds the same copy from every module of one directory
const importId = (name: string, from: string): string => `${path.dirname(from)}\0${name}`

export interface Recording extends Observer {
  /** whether it still records (until `finish`) */
  readonly recording: () => boolean
  /** whether an observed call is in progress (what it calls itself is part of it) */
  readonly busy: () => boolean
  /** run `f` with nested observed calls ignored */
  readonly quietly: <A>(f: () => A) => A
  /** nothing can make this observation usable any more */
  readonly taint: (reason: string) => void
  /** the bytes of a file used, by hash: a second, different hash of the same file taints */
  readonly noteFile: (file: string, hash: string) => void
  readonly noteExists: (file: string, existed: boolean) => void
  /** which copy of package `name` a module in `from` finds (the same for every module of its directory); returns it */
  readonly noteImport: (name: string, from: string) => string
  /** a module loaded from a package: its package's version */
  readonly notePackage: (file: string) => void
  /** a local module loaded: its bytes, and the nearest package.json above it (it decides how the module loads) */
  readonly noteModule: (file: string) => void
  /** whether variable `name` was read already */
  readonly knowsEnv: (name: string) => boolean
  readonly noteEnv: (name: string, value: string | null) => void
  /** the environment was enumerated: every name counts */
  readonly noteEnvNames: (names: ReadonlyArray<string>) => void
  /** the process's environment, read without being observed */
  readonly environment: NodeJS.ProcessEnv
  /** run `undo` when the recording ends (restoring what observing it installed) */
  readonly onFinish: (undo: () => void) => void
  /** what was observed so far (tainted or not), without ending the recording */
  readonly snapshot: () => Observation
}

/**
 * A new recording of this process, observing `environment`. `guard` installs the build's
 * tripwires (Tripwires.guardBuild) and returns their restore. `seed` is what the recording
 * starts from, as if observed already (a resident process's modules, loaded before it:
 * ../../cli/Resident.ts).
 */
export const make = (
  environment: NodeJS.ProcessEnv,
  guard: (recording: Recording) => () => void,
  seed?: Observation
): Recording => {
  let recording = true
  let busy = false
  let tainted: string | undefined
  let unguard: (() => void) | undefined
  const undos: Array<() => void> = []
  const env = new Map<string, string | null>(Object.entries(seed?.env ?? {}))
  let envNames: Array<string> | null = seed?.envNames === undefined || seed.envNames === null ? null : [...seed.envNames]
  const files = new Map<string, string>(Object.entries(seed?.files ?? {}))
  const exists = new Map<string, boolean>(Object.entries(seed?.exists ?? {}))
  const packages = new Map<string, string | null>(Object.entries(seed?.packages ?? {}))
  const imports = new Map<string, Observation["imports"][number]>(
    (seed?.imports ?? []).map((entry) => [importId(entry.name, entry.from), entry])
  )
  const roots = new Map<string, string>(Object.entries(seed?.roots ?? {}))

  const endBuild = () => {
    const undo = unguard
    unguard = undefined
    undo?.()
  }
  const taint = (reason: string) => {
    if (!recording || tainted !== undefined) return
    tainted = reason
    // nothing left to watch for: the build's wrappers only cost
    endBuild()
  }
  const noteFile = (file: string, hash: string) => {
    if (!recording) return
    const before = files.get(file)
    if (before !== undefined && before !== hash) taint(`${file} changed while the pipeline was prepared`)
    files.set(file, hash)
  }
  const hashFile = (absolute: string) => {
    const hash = sha256(readFileSync(absolute))
    noteFile(absolute, hash)
    return hash
  }
  const noteImport = (name: string, from: string) => {
    const id = importId(name, from)
    const known = imports.get(id)
    if (known !== undefined) return known.dir
    const dir = packageDirFor(name, from)
    if (recording) imports.set(id, { name, from, dir })
    return dir
  }
  const snapshot = (): Observation => ({
    env: Object.fromEntries(env),
    envNames,
    files: Object.fromEntries(files),
    exists: Object.fromEntries(exists),
    packages: Object.fromEntries(packages),
    imports: [...imports.values()],
    roots: Object.fromEntries(roots)
  })
  const finish = (): Observed => {
    endBuild()
    if (recording) {
      recording = false
      for (const undo of undos.splice(0).reverse()) undo()
      for (const name of readOutsideJavaScript) if (!env.has(name)) env.set(name, environment[name] ?? null)
    }
    return tainted !== undefined ? { notReplayable: tainted } : { observation: snapshot() }
  }

  const self: Recording = {
    recording: () => recording,
    busy: () => busy,
    quietly: (f) => {
      if (busy) return f()
      busy = true
      try {
        return f()
      } finally {
        busy = false
      }
    },
    taint,
    markTainted: taint,
    noteFile,
    hashFile,
    noteExists: (file, existed) => {
      if (recording) exists.set(file, existed)
    },
    noteImport,
    lookup: (name, from) => {
      const dir = noteImport(name, from)
      if (recording && dir !== "" && !packages.has(dir)) packages.set(dir, versionIn(dir))
      return dir
    },
    notePackage: (file) => {
      const dir = packageDirOf(file)
      if (recording && !packages.has(dir)) packages.set(dir, versionIn(dir))
    },
    noteModule: (file) => {
      hashFile(file)
      const manifest = nearestAbove(file, (dir) => existing(dir, "package.json"))
      if (manifest !== undefined && !files.has(manifest)) hashFile(manifest)
    },
    root: (file, dir) => {
      if (recording) roots.set(file, dir)
    },
    knowsEnv: (name) => env.has(name),
    noteEnv: (name, value) => {
      if (recording) env.set(name, value)
    },
    noteEnvNames: (names) => {
      if (recording && envNames === null) envNames = [...names].sort()
    },
    environment,
    onFinish: (undo) => void undos.push(undo),
    snapshot,
    watchBuild: () => {
      if (recording && tainted === undefined && unguard === undefined) unguard = guard(self)
      return endBuild
    },
    finish
  }
  return self
}
