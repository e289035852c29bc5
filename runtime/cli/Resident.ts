/**
 * The resident process: a `pipeline run` that must plan anew (its pipeline file changed, so
 * its replay record no longer holds) is answered by a process that already has Ablate,
 * Effect and their modules loaded and compiled, instead of loading them again — what Gradle's
 * daemon and Bazel's server do for their clients. This module is the client's side and the
 * protocol; ResidentServer.ts is the server.
 *
 * A resident process serves one working directory, Node and environment: the socket's name
 * is a digest of the three (every variable but `_` and `OLDPWD`, which a shell changes from
 * one command to the next), and the process compares them in full before it serves a
 * command, so a command is only ever served by a process started exactly as the command
 * itself was. It lives in `$TMPDIR/ablate-<uid>/`, a directory only its user
 * can enter. Each command imports the pipeline file and its local modules afresh; Ablate's
 * own modules and packages stay loaded, and a command is declined (and runs in its own process,
 * as without a resident one) when any of them changed since they loaded, or while another
 * command is being served.
 *
 * On by default where a person waits for the answer: `pipeline run` with its output on a
 * terminal and `CI` unset. `ABLATE_SERVER=1` uses one anyway, `ABLATE_SERVER=0` never.
 * A `pipeline run` that found none starts one when it is done; it exits after
 * `ABLATE_SERVER_IDLE` seconds (default 900) without a command.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as CtrlC from "./CtrlC.ts"

/** What the client sends: a command to run (its arguments and its terminal), and later its interruption. */
export type Request =
  | {
    readonly type: "command"
    readonly args: ReadonlyArray<string>
    readonly terminal: { readonly isTTY: boolean; readonly columns: number | undefined; readonly rows: number | undefined }
    /** the client's Node, flags, working directory and environment (`identity`): served only by a process of the same */
    readonly identity: string
  }
  | { readonly type: "interrupt" }
  | { readonly type: "status" }
  | { readonly type: "stop" }

/**
 * What the server sends: the command's output (on the wire, `bytes` raw bytes follow the
 * message: see `onMessages`), its exit code, or why it does not serve it.
 */
export type Reply =
  | { readonly type: "out"; readonly bytes: number }
  | { readonly type: "err"; readonly bytes: number }
  | { readonly type: "exit"; readonly code: number }
  | { readonly type: "declined"; readonly reason: "busy" | "stale" }
  | { readonly type: "status"; readonly pid: number; readonly served: number; readonly busy: boolean }

/** The server's entry script. */
export const serverEntry = fileURLToPath(new URL("../../bin/server.mjs", import.meta.url))

// Variables a shell changes between two commands, which no pipeline has reason to read.
const volatile = new Set(["_", "OLDPWD"])

/** Whether a command is to be served by (and, absent one, start) a resident process. */
export const wanted = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean => {
  if (args[0] !== "run" || process.platform === "win32" || env["ABLATE_SERVER"] === "0") return false
  return env["ABLATE_SERVER"] === "1" || (isTTY === true && env["CI"] === undefined)
}

/** The directory of this user's sockets, in temporary directory `tmp`. */
export const socketDir = (tmp: string = os.tmpdir()): string => path.join(tmp, `ablate-${process.getuid?.() ?? "user"}`)

/** Whether the sockets' directory is this user's alone (another user could otherwise put a socket there). */
export const privateDir = (dir: string): boolean => {
  const stat = fs.statSync(dir, { throwIfNoEntry: false })
  return stat !== undefined && stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o077) === 0
}

/**
 * What a command must share with the resident process that serves it: this Node and its flags,
 * the working directory `cwd` and the environment `env`, as text.
 */
export const identity = (env: NodeJS.ProcessEnv, cwd: string): string => {
  const variables = Object.entries(env).filter(([name]) => !volatile.has(name)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return JSON.stringify({ node: process.execPath, flags: process.execArgv, entry: serverEntry, cwd, env: variables })
}

/**
 * 64 bits of `text` as 16 hex digits: FNV-1a (32-bit) from two offset bases. It only names a
 * socket: the server compares the whole identity before it serves a command, so a collision
 * costs a declined command, never a wrong one. (Loading node:crypto for it was ~13 ms of
 * every command's start.)
 */
const digest = (text: string): string =>
  [0x811c9dc5, 0x050c5d1f]
    .map((basis) => {
      let hash = basis
      for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
      return (hash >>> 0).toString(16).padStart(8, "0")
    })
    .join("")

/** The socket of the resident process of `identity` (Node, working directory, environment), in directory `sockets`. */
export const socketPath = (identity: string, sockets: string = socketDir()): string => path.join(sockets, `${digest(identity)}.sock`)

/** Where the resident process of `socketFile` writes what it prints itself (a crash's stack, say). */
export const logPath = (socketFile: string): string => socketFile.replace(/\.sock$/, ".log")

/**
 * The messages from a socket, handed to `each` in order: a JSON line each, and a message with a
 * `bytes` field is followed by that many raw bytes, its payload (output goes as it is, not
 * escaped into JSON: a run's 1,000 `--json` lines are ~0.5 MB).
 */
export const onMessages = <A>(
  socket: { readonly on: (event: "data", listener: (chunk: Buffer) => void) => unknown },
  each: (message: A, payload: Buffer) => void
): void => {
  // what has arrived and is not handed on yet, in pieces: a payload's are joined once it is whole
  let pieces: Array<Buffer> = []
  let size = 0
  const joined = (): Buffer => {
    if (pieces.length !== 1) pieces = [Buffer.concat(pieces, size)]
    return pieces[0]!
  }
  /** The first `bytes` of what has arrived, handed on. */
  const take = (bytes: number): Buffer => {
    const all = joined()
    pieces = [all.subarray(bytes)]
    size -= bytes
    return all.subarray(0, bytes)
  }
  // the message whose payload is still arriving
  let waiting: { readonly message: A; readonly bytes: number } | undefined
  socket.on("data", (chunk: Buffer) => {
    pieces.push(chunk)
    size += chunk.length
    while (true) {
      if (waiting !== undefined) {
        if (size < waiting.bytes) return
        const { message, bytes } = waiting
        waiting = undefined
        each(message, take(bytes))
        continue
      }
      const end = joined().indexOf(10)
      if (end < 0) return
      const message = JSON.parse(take(end + 1).toString("utf8", 0, end)) as A & { readonly bytes?: unknown }
      if (typeof message.bytes === "number") waiting = { message, bytes: message.bytes }
      else each(message, Buffer.alloc(0))
    }
  })
}

/** Send `message`, and after it `payload` (`message.bytes` long), unless the socket is closed. */
export const send = (socket: net.Socket, message: Request | Reply, payload?: Buffer): void => {
  if (!socket.writable) return
  const header = Buffer.from(`${JSON.stringify(message)}\n`)
  socket.write(payload === undefined ? header : Buffer.concat([header, payload]))
}

/**
 * Send one request (a status, a stop) to the resident process listening on `socketFile`: its
 * first reply, or undefined when none answers.
 */
export const ask = (socketFile: string, request: Request): Promise<Reply | undefined> =>
  new Promise((resolve) => {
    const socket = net.connect(socketFile)
    socket.on("error", () => resolve(undefined))
    socket.on("close", () => resolve(undefined))
    socket.on("connect", () => send(socket, request))
    onMessages<Reply>(socket, (reply) => {
      resolve(reply)
      socket.destroy()
    })
  })

/**
 * How a command went to the resident process: answered (its exit code), or not served and
 * why: none is wanted for it or none can be used (`off`), there is none (`absent`), or it declined: it serves
 * another command (`busy`) or what it loaded changed (`stale`: it is ending).
 */
export type Outcome =
  | { readonly served: true; readonly code: number }
  | { readonly served: false; readonly reason: "off" | "absent" | "busy" | "stale" }

/**
 * Have the resident process for this working directory and `env` (its socket in `sockets`) run
 * `args`, a command of this process: its output is relayed to this process's stdout and stderr,
 * and its first Ctrl-C passed on (a second exits at once). A resident process that ends
 * mid-command fails the command (exit 1), saying so.
 */
export const relay = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, sockets: string = socketDir()): Promise<Outcome> =>
  new Promise((resolve) => {
    if (!wanted(args, env, process.stdout.isTTY)) return resolve({ served: false, reason: "off" })
    if (!fs.existsSync(sockets)) return resolve({ served: false, reason: "absent" })
    // another user's, or open to others: no resident process is started or asked there
    if (!privateDir(sockets)) return resolve({ served: false, reason: "off" })
    const own = identity(env, process.cwd())
    const socket = net.connect(socketPath(own, sockets))
    let printed = false
    let settled = false
    let ctrlC: { readonly remove: () => void } | undefined
    const settle = (outcome: Outcome) => {
      if (settled) return
      settled = true
      ctrlC?.remove()
      socket.destroy()
      resolve(outcome)
    }
    socket.on("error", () => {})
    socket.on("connect", () => {
      ctrlC = CtrlC.handle(CtrlC.notices.run, (text) => process.stderr.write(text), () => send(socket, { type: "interrupt" }))
      const { isTTY, columns, rows } = process.stdout
      send(socket, { type: "command", args, terminal: { isTTY: isTTY === true, columns, rows }, identity: own })
    })
    onMessages<Reply>(socket, (reply, payload) => {
      if (reply.type === "out" || reply.type === "err") {
        printed = true
        ;(reply.type === "out" ? process.stdout : process.stderr).write(payload)
      } else if (reply.type === "exit") settle({ served: true, code: reply.code })
      else if (reply.type === "declined") settle({ served: false, reason: reply.reason })
    })
    socket.on("close", () => {
      if (settled) return
      if (!printed) return settle({ served: false, reason: "absent" })
      process.stderr.write("the resident Ablate process ended before the command finished; finished nodes stay cached, rerun it\n")
      settle({ served: true, code: 1 })
    })
  })

/** Start a resident process after a command that found none, or one that is ending. */
export const startIfMissing = (outcome: Outcome, env: NodeJS.ProcessEnv): void => {
  if (!outcome.served && (outcome.reason === "absent" || outcome.reason === "stale")) start(env)
}

/**
 * Start a resident process for this working directory and `env`, detached: it outlives this
 * command and serves the next ones. Nothing waits for it.
 */
export const start = (env: NodeJS.ProcessEnv): void => {
  const socket = socketPath(identity(env, process.cwd()))
  // what it prints itself (not its commands' output, which goes to their clients)
  let log: number | "ignore" = "ignore"
  try {
    if (privateDir(socketDir())) log = fs.openSync(logPath(socket), "w")
  } catch {
    // no log then
  }
  // loaded here, not with this module: a relayed command never needs it
  const { spawn } = process.getBuiltinModule("node:child_process")
  const child = spawn(process.execPath, [...process.execArgv, serverEntry, socket], {
    cwd: process.cwd(),
    env,
    detached: true,
    stdio: ["ignore", log, log]
  })
  if (typeof log === "number") fs.closeSync(log)
  child.on("error", () => {})
  child.unref()
  if (process.stderr.isTTY) {
    process.stderr.write("(a resident process keeps Ablate loaded for the next runs here; ABLATE_SERVER=0 turns it off: docs/cli.md)\n")
  }
}
