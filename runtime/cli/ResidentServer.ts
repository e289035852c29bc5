/**
 * The resident `pipeline` process (Resident.ts says when and for whom): it loads the CLI once,
 * then serves the `pipeline run` commands that reach its socket, one at a time, each as a
 * process of its own would run it.
 *
 * - What a command loads afresh: every local module outside Ablate's own library (`dsl/`,
 *   `runtime/`, `nodes/`, `bin/`) and outside `node_modules` — the pipeline file and whatever
 *   it imports of the project — gets a URL of its own for each command (CommandTag.ts), so an
 *   edit is always seen and nothing of the previous command's pipeline remains in use.
 * - What stays loaded: Ablate, Effect and every package. This process's own recording notes
 *   each of them as it loads (Install.installResident); before every command they are checked
 *   against the disk as a replay record is (Replay.unchanged), and a change of any declines
 *   the command and ends this process: the client runs it itself and starts a new one.
 * - Observed as a process of its own: each command's recording starts from those modules
 *   (Install.installCommand), so its replay record lists everything a process would have loaded.
 *
 * It ends after `ABLATE_SERVER_IDLE` seconds (default 900) without a command, after 200
 * commands or 2 GiB of memory (the modules of each command's pipeline stay in memory), when
 * another process took its socket's name, when asked to stop, or when a command needed tsx
 * (whose hooks, once registered, would stay).
 */
import * as fs from "node:fs"
import * as module from "node:module"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as CommandTag from "../internal/CommandTag.ts"
import type * as KeyRecordFile from "../internal/KeyRecordFile.ts"
import { installCommand, installResident } from "../internal/observe/Install.ts"
import type { Observed } from "../Observer.ts"
import { identity, logPath, onMessages, privateDir, type Reply, type Request, send } from "./Resident.ts"

// This module and what it imports of Ablate's, loaded before its recording starts (the CLI loads after).
const preloaded = ["./ResidentServer.ts", "../internal/CommandTag.ts"].map((relative) =>
  fileURLToPath(new URL(relative, import.meta.url))
)

const maxCommands = 200
const maxRss = 2 * 1024 ** 3

const root = new URL("../../", import.meta.url).href
const library = ["dsl/", "runtime/", "nodes/", "bin/"].map((dir) => root + dir)

/** Whether a module stays loaded between commands: a package's, a built-in, or Ablate's library. */
const kept = (url: string): boolean =>
  !url.startsWith("file:") || url.includes("/node_modules/") || library.some((dir) => url.startsWith(dir))

/**
 * The output of one command, written to its socket once per turn of the event loop: what was
 * written to each stream in a row goes as one message (a run's 1,000 `--json` lines, one).
 */
const outputOf = (socket: net.Socket) => {
  type Pending =
    | { readonly type: "out"; readonly text: string }
    | { readonly type: "err"; readonly text: string }
    | Exclude<Reply, { readonly bytes: number }>
  let pending: Array<Pending> = []
  const flush = () => {
    let stream: "out" | "err" | undefined
    let text = ""
    const release = () => {
      if (stream !== undefined) {
        const payload = Buffer.from(text)
        send(socket, { type: stream, bytes: payload.length }, payload)
      }
      stream = undefined
      text = ""
    }
    for (const reply of pending) {
      if (reply.type !== "out" && reply.type !== "err") {
        release()
        send(socket, reply)
        continue
      }
      if (reply.type !== stream) release()
      stream = reply.type
      text += reply.text
    }
    release()
    pending = []
  }
  return {
    write: (reply: Pending) => {
      if (pending.length === 0) setImmediate(flush)
      pending.push(reply)
    },
    flush
  }
}

/**
 * What this process keeps loaded, observed from now on (its own recording), and the hook that
 * gives every other module a URL of the current command's. `next` starts a command's modules.
 */
const observeKept = (entry: string) => {
  let command = 0
  const recording = installResident(entry, kept)
  for (const file of preloaded) recording.noteModule(file)
  module.registerHooks({
    resolve: (specifier, context, next) => {
      const resolved = next(specifier, context)
      return kept(resolved.url) ? resolved : { ...resolved, url: CommandTag.tag(resolved.url, command) }
    }
  })
  return { snapshot: recording.snapshot, next: () => void (command += 1) }
}

/**
 * Listen on `socketFile`, taking the name at once, whole, by renaming a socket made beside it:
 * a client finds this process listening or not at all. `owned` says whether the name is still
 * this process's (another resident process started for it takes it); `close` stops listening and
 * gives the name up, with the log of that name.
 */
const listen = async (socketFile: string, onConnection: (socket: net.Socket) => void) => {
  const server = net.createServer(onConnection)
  const temporary = `${socketFile}.${process.pid}`
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(temporary, resolve)
  })
  fs.renameSync(temporary, socketFile)
  const inode = fs.statSync(socketFile).ino
  const owned = () => fs.statSync(socketFile, { throwIfNoEntry: false })?.ino === inode
  return {
    owned,
    // its log too: a process that ends this way has nothing to tell
    close: () => {
      server.close()
      if (!owned()) return
      fs.rmSync(socketFile, { force: true })
      fs.rmSync(logPath(socketFile), { force: true })
    }
  }
}

/** `ABLATE_SERVER_IDLE`, in milliseconds: a positive number of seconds, else 900. */
const idleMsOf = (text: string | undefined): number => {
  const seconds = Number(text)
  return 1000 * (text !== undefined && Number.isFinite(seconds) && seconds > 0 ? seconds : 900)
}

/** Serve the commands that reach `socketFile` until this process ends; `entry` is its own script. */
export const serve = async (socketFile: string, entry: string): Promise<void> => {
  const dir = path.dirname(socketFile)
  try {
    fs.mkdirSync(dir, { mode: 0o700 })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
  }
  // another user could reach a socket there: no resident process
  if (!privateDir(dir)) return

  // what a command must share with this process to be served by it, as it was when it started
  const own = identity(process.env, process.cwd())
  const modules = observeKept(entry)
  const [{ launch }, Replay, { tsxReason }] = await Promise.all([import("./main.ts"), import("./Replay.ts"), import("../Loader.ts")])

  // the key records its commands' plans read, kept across them (a stat each instead of a read)
  const keyRecordReads: KeyRecordFile.ReadCache = new Map()
  // the hashes of the files that what it keeps loaded and its commands' replay records name, likewise
  const hashes = Replay.rememberedHashes()
  let busy = false
  // asked to stop while serving a command: it ends after that one
  let stopping = false
  let served = 0
  let idle: NodeJS.Timeout | undefined
  /** Stop serving and exit, once the client on `last` (if any) has had all of its answer. */
  const end = (last?: net.Socket) => {
    clearTimeout(idle)
    clearInterval(watch)
    socket.close()
    if (last === undefined || last.closed) process.exit(0)
    last.once("close", () => process.exit(0))
    setTimeout(() => process.exit(0), 2000).unref()
  }
  const idleMs = idleMsOf(process.env["ABLATE_SERVER_IDLE"])
  const rest = () => {
    clearTimeout(idle)
    idle = setTimeout(() => end(), idleMs)
  }

  /** Run a command for the client on `socket`; returns what interrupts it (none: not running). */
  const run = (client: net.Socket, request: Extract<Request, { type: "command" }>): (() => void) | undefined => {
    const decline = (reason: "busy" | "stale") => {
      send(client, { type: "declined", reason })
      client.end()
    }
    if (busy) {
      decline("busy")
      return undefined
    }
    const loaded = modules.snapshot()
    // another command's process (the digest naming the socket collided), or what it loaded changed
    if (request.identity !== own || !Replay.unchanged(loaded, process.env, hashes)) {
      decline("stale")
      end(client)
      return undefined
    }
    busy = true
    clearTimeout(idle)
    const output = outputOf(client)
    const { isTTY, columns, rows } = request.terminal
    const console = {
      out: { write: (text: string) => output.write({ type: "out", text }), isTTY, columns, rows },
      err: { write: (text: string) => output.write({ type: "err", text }) }
    }
    const answer = (code: number, observed?: Observed) => {
      output.write({ type: "exit", code })
      output.flush()
      client.end()
      busy = false
      served += 1
      const tsx = observed !== undefined && "notReplayable" in observed && observed.notReplayable === tsxReason
      if (stopping || tsx || served >= maxCommands || process.memoryUsage.rss() > maxRss || !socket.owned()) end(client)
      else rest()
    }
    // as a process of its own would: a replay first
    const replayed = Replay.attempt(request.args, console, process.env, hashes)
    if (replayed !== undefined) {
      answer(replayed)
      return undefined
    }
    modules.next()
    const recording = installCommand(loaded)
    const running = launch(request.args, console, recording, keyRecordReads)
    // a client gone (killed, say) is a Ctrl-C
    client.on("close", running.interrupt)
    void running.code.then((code) => answer(code, recording.finish()))
    return running.interrupt
  }

  const socket = await listen(socketFile, (client) => {
    client.on("error", () => {})
    let interrupt: (() => void) | undefined
    let first = true
    onMessages<Request>(client, (message) => {
      if (message.type === "interrupt") return interrupt?.()
      if (!first) return
      first = false
      if (message.type === "command") interrupt = run(client, message)
      else if (message.type === "status") {
        send(client, { type: "status", pid: process.pid, served, busy })
        client.end()
      } else if (message.type === "stop") {
        client.end()
        stopping = true
        if (!busy) end(client)
      }
    })
  })
  // another resident process started for the same socket took its name: this one can no longer be reached
  const watch = setInterval(() => {
    if (!busy && !socket.owned()) end()
  }, 5000)
  watch.unref()
  rest()
}
