/**
 * What nodes print, kept out of the CLI's output. While `capture` runs, `console.log` /
 * `info` / `debug` / `error` / `warn` and every write to `process.stdout` / `process.stderr`
 * go to the log of the node whose code printed them (`logs/<key>.log` in the store), and
 * are reported to `onPrint` for a live display; `--json` output stays NDJSON because nothing
 * a node prints reaches stdout.
 *
 * Attribution follows the code, not the clock: `attribute` runs a node's effect in its own
 * fiber started inside an AsyncLocalStorage context, and Effect 4 carries that context
 * across the fiber's suspensions (it resumes a fiber in the async context it yielded in),
 * to the fibers it forks and to the promises it awaits. So two nodes running at once each
 * get their own prints. Output no node can be credited with (a library's timer, the
 * runtime's own warnings) goes to the run's log, `logs/run-<id>.log`.
 *
 * This is the one module that replaces those globals. It installs them once however many
 * captures overlap (bookkeeping on `globalThis` under a registered symbol) and restores
 * them when the last one ends, whether it succeeds, fails or is interrupted. The CLI's own
 * writes bypass it: they hold the streams' original `write` (cli/bin.ts). `tail` reads a log
 * back for `pipeline show`.
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { AsyncLocalStorage } from "node:async_hooks"
import * as fs from "node:fs"
import * as path from "node:path"
import { formatWithOptions } from "node:util"
import { makeDirectory } from "./Directory.ts"

export type Stream = "stdout" | "stderr"

/** One captured print: the node that made it (undefined for output of the run itself). */
export interface Printed {
  readonly id: string | undefined
  readonly label: string | undefined
  readonly stream: Stream
  readonly text: string
}

/** A log file, created on its first write (a node that prints nothing leaves none). */
interface LogFile {
  readonly write: (text: string) => void
  readonly close: () => void
}

const logFile = (file: string): LogFile => {
  let fd: number | undefined
  let closed = false
  return {
    write: (text) => {
      // a write after the owner finished (a stray timer) is appended, not lost
      if (closed) return fs.appendFileSync(file, text)
      if (fd === undefined) {
        makeDirectory(path.dirname(file))
        fd = fs.openSync(file, "a")
      }
      fs.writeSync(fd, text)
    },
    close: () => {
      closed = true
      if (fd !== undefined) fs.closeSync(fd)
      fd = undefined
    }
  }
}

/** Where prints made in one async context go. */
interface Target {
  readonly id: string | undefined
  readonly label: string | undefined
  readonly log: LogFile
  readonly onPrint: ((printed: Printed) => void) | undefined
}

const current = new AsyncLocalStorage<Target>()

const consoleMethods = { log: "stdout", info: "stdout", debug: "stdout", error: "stderr", warn: "stderr" } as const
type ConsoleMethod = keyof typeof consoleMethods

/** The patches in force: the runs capturing (newest last) and how to put the originals back. */
interface Installed {
  readonly runs: Array<Target>
  readonly restore: () => void
}

const installedKey = Symbol.for("ablate/runtime/NodeOutput")
const registry = globalThis as { [installedKey]?: Installed }

const route = (stream: Stream, chunk: unknown, encoding?: unknown): void => {
  const target = current.getStore() ?? registry[installedKey]?.runs.at(-1)
  if (target === undefined) return
  const text = typeof chunk === "string"
    ? chunk
    : chunk instanceof Uint8Array
    ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString(typeof encoding === "string" ? encoding as BufferEncoding : "utf8")
    : String(chunk)
  target.log.write(text)
  target.onPrint?.({ id: target.id, label: target.label, stream, text })
}

const install = (): Installed => {
  const streams = { stdout: process.stdout, stderr: process.stderr }
  // the streams' write is their prototype's unless something set one of their own
  const ownWrites = {
    stdout: Object.getOwnPropertyDescriptor(process.stdout, "write"),
    stderr: Object.getOwnPropertyDescriptor(process.stderr, "write")
  }
  const originalConsole = Object.fromEntries(Object.keys(consoleMethods).map((m) => [m, console[m as ConsoleMethod]]))
  for (const stream of ["stdout", "stderr"] as const) {
    // the signature of Writable.write: (chunk, encoding?, callback?) or (chunk, callback?)
    streams[stream].write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
      route(stream, chunk, encoding)
      const done = typeof encoding === "function" ? encoding : callback
      if (typeof done === "function") process.nextTick(done as () => void)
      return true
    }) as typeof process.stdout.write
  }
  for (const [method, stream] of Object.entries(consoleMethods)) {
    console[method as ConsoleMethod] = (...args: Array<unknown>) => route(stream, `${formatWithOptions({ colors: false }, ...args)}\n`)
  }
  return {
    runs: [],
    restore: () => {
      for (const stream of ["stdout", "stderr"] as const) {
        const own = ownWrites[stream]
        if (own === undefined) delete (streams[stream] as { write?: unknown }).write
        else Object.defineProperty(streams[stream], "write", own)
      }
      for (const [method, original] of Object.entries(originalConsole)) console[method as ConsoleMethod] = original!
    }
  }
}

/** Run `effect` in a fiber of its own whose async context (and its children's) is `target`. */
const within = <A, E, R>(target: Target, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.contextWith((context: Context.Context<R>) => {
    const fiber = current.run(target, () => Effect.runForkWith(context)(effect))
    return Fiber.join(fiber).pipe(Effect.onInterrupt(() => Fiber.interrupt(fiber)))
  })

/**
 * Run `effect` (a pipeline run) with prints captured: nodes run through `attribute` print to
 * their own logs, anything else to `runLog`. Every print is also passed to `onPrint`.
 */
export const capture = <A, E, R>(
  options: {
    readonly runLog: string
    readonly onPrint?: (printed: Printed) => void
    /** the node credited with output no node's code made (none: the run's) */
    readonly owner?: { readonly id: string; readonly label: string }
  },
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const installed = registry[installedKey] ??= install()
      const run: Target = { id: options.owner?.id, label: options.owner?.label, log: logFile(options.runLog), onPrint: options.onPrint }
      installed.runs.push(run)
      return run
    }),
    (run) => within(run, effect),
    (run) =>
      Effect.sync(() => {
        run.log.close()
        const installed = registry[installedKey]
        if (installed === undefined) return
        installed.runs.splice(installed.runs.indexOf(run), 1)
        if (installed.runs.length > 0) return
        installed.restore()
        delete registry[installedKey]
      })
  )

/**
 * Run node `label`'s effect with what it prints going to `file` (replaced, not appended to:
 * the log of a rerun is the rerun's). Outside `capture` its prints go where they always do.
 */
export const attribute = <A, E, R>(
  node: { readonly id: string; readonly label: string; readonly file: string },
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    fs.rmSync(node.file, { force: true })
    const log = logFile(node.file)
    const target: Target = { id: node.id, label: node.label, log, onPrint: current.getStore()?.onPrint }
    return within(target, effect).pipe(Effect.ensuring(Effect.sync(log.close)))
  })

/**
 * Run node `label`'s effect as the one thing this process runs (a pool worker, Job.ts): all
 * the process prints meanwhile goes to `file` (replaced, as by `attribute`) and to `onPrint`.
 */
export const captureAll = <A, E, R>(
  node: { readonly id: string; readonly label: string; readonly file: string },
  onPrint: (printed: Printed) => void,
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    fs.rmSync(node.file, { force: true })
    return capture({ runLog: node.file, onPrint, owner: node }, effect)
  })

/**
 * The last `count` lines of a log file (read from its end: a log can be large), and whether
 * earlier lines were left out; undefined when there is no such file.
 */
export const tail = (file: string, count: number): { readonly lines: Array<string>; readonly omitted: boolean } | undefined => {
  if (!fs.existsSync(file)) return undefined
  const size = fs.statSync(file).size
  const window = Math.min(size, 64 * 1024)
  const bytes = Buffer.alloc(window)
  const fd = fs.openSync(file, "r")
  try {
    fs.readSync(fd, bytes, 0, window, size - window)
  } finally {
    fs.closeSync(fd)
  }
  const all = bytes.toString("utf8").replace(/\n$/, "").split("\n")
  // a window that starts mid-file starts mid-line: that partial line is dropped
  const whole = window < size ? all.slice(1) : all
  return { lines: whole.slice(-count), omitted: window < size || whole.length > count }
}
