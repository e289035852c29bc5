/**
 * The resident process (runtime/cli/Resident.ts, ResidentServer.ts): real `pipeline` processes,
 * each test with sockets of its own (TMPDIR), the resident process stopped when it ends.
 */
import type { ChildProcess } from "node:child_process"
import { EventEmitter } from "node:events"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it, onTestFinished } from "vitest"
import { isAlive } from "../../runtime/internal/Process.ts"
import * as Resident from "../../runtime/cli/Resident.ts"
import { helperInner, helperOuter, nodeModules } from "../fixtures/nodes.ts"
import { cli, linesSoFar, outputHashes, spawnCli, statuses, summary, tempDir, tempProject, writeFile } from "../helpers.ts"

const pipeline = (n: number) => `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { scaled } from "./nodes/scaled.ts"
export default Pipeline.make("resident", () => scaled({ numbers: source({ n: ${n} }, { name: "source" }) }, { name: "scaled" }))
`

const slowPipeline = `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { slow } from "./nodes/slow.ts"
export default Pipeline.make("slow", () => slow({ numbers: source({}, { name: "source" }), steps: 200, ms: 50 }, { name: "slow" }))
`

// a package of the project's own, which a node kind imports: packages stay loaded between commands
const packaged = {
  "lib/node_modules/verpkg/package.json": `{ "name": "verpkg", "version": "1.0.0", "type": "module", "main": "index.js" }`,
  "lib/node_modules/verpkg/index.js": "export const offset = 1\n",
  "packaged.ts": `
import { Pipeline } from "@ablate/dsl/index.ts"
import { source } from "./nodes/source.ts"
import { offset } from "./lib/node_modules/verpkg/index.js"
export default Pipeline.make("packaged", () => source({ n: 3 + offset }, { name: "source" }))
`
}

/** A project and the environment of its commands: a resident process wanted, its socket under a TMPDIR of the test's own. */
const setUp = () => {
  const dir = tempProject({
    ...nodeModules,
    "helpers/outer.ts": helperOuter,
    "helpers/inner.ts": helperInner,
    ...packaged,
    "p.ts": pipeline(4),
    "slow.ts": slowPipeline
  })
  const tmp = tempDir("resident")
  const env = { ABLATE_SERVER: "1", ABLATE_SERVER_IDLE: "120", TMPDIR: tmp }
  onTestFinished(() => stop(tmp))
  return { dir, tmp, env }
}

const socketsOf = (tmp: string): Array<string> => {
  const dir = Resident.socketDir(tmp)
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((name) => name.endsWith(".sock")).map((name) => path.join(dir, name)) : []
}

/** Send `request` to the resident process of `tmp`; its first reply, or undefined when none answers. */
const ask = (tmp: string, request: Resident.Request): Promise<Resident.Reply | undefined> => {
  const [socketFile] = socketsOf(tmp)
  return socketFile === undefined ? Promise.resolve(undefined) : Resident.ask(socketFile, request)
}

const status = async (tmp: string): Promise<{ readonly pid: number; readonly served: number; readonly busy: boolean } | undefined> => {
  const reply = await ask(tmp, { type: "status" })
  return reply?.type === "status" ? reply : undefined
}

/** The resident process's status once `holds` (it starts after the command that found none). */
const statusOnce = async (tmp: string, holds: (now: { readonly served: number; readonly busy: boolean }) => boolean) => {
  for (let i = 0; i < 300; i++) {
    const now = await status(tmp)
    if (now !== undefined && holds(now)) return now
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error("the resident process never got there")
}

/** The resident process's status once it answers (it starts after the command that found none). */
const started = async (tmp: string, other?: number) => {
  for (let i = 0; i < 300; i++) {
    const now = await status(tmp)
    if (now !== undefined && now.pid !== other) return now
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error("no resident process started")
}

/** Whether process `pid` ends within 10 s. */
const ended = async (pid: number): Promise<boolean> => {
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 100))
  return !isAlive(pid)
}

const stop = async (tmp: string) => {
  const pid = (await status(tmp))?.pid
  await ask(tmp, { type: "stop" })
  if (pid !== undefined) await ended(pid)
}

/** Run slow.ts, calling `onProgress` once its first progress event is out; its exit code and stderr. */
const runSlowUntilProgress = (dir: string, env: Record<string, string>, onProgress: (child: ChildProcess) => void) =>
  new Promise<{ readonly code: number | null; readonly stderr: string }>((resolve) => {
    const child = spawnCli(["run", "slow.ts", "--json", "--store", "store"], dir, env)
    let stdout = ""
    let stderr = ""
    let called = false
    child.stderr.on("data", (chunk) => (stderr += chunk))
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      if (called || child.exitCode !== null || !linesSoFar(stdout).some((e) => e["type"] === "progress")) return
      called = true
      onProgress(child)
    })
    child.on("close", (code) => resolve({ code, stderr }))
  })

const run = (file: string, dir: string, env: Record<string, string>) => cli(["run", file, "--json", "--store", "store"], dir, env)

describe("the resident process", () => {
  it("answers a rerun after an edit like a process of its own, and its replay record serves the next process", async () => {
    const { dir, tmp, env } = setUp()
    const first = await run("p.ts", dir, env)
    expect(first.code).toBe(0)
    expect(statuses(first.stdout)).toEqual({ source: "ran", scaled: "ran" })
    expect((await started(tmp)).served).toBe(0)

    writeFile(dir, "p.ts", pipeline(6))
    const edited = await run("p.ts", dir, env)
    expect(edited.stderr).toBe("")
    expect(edited.code).toBe(0)
    expect((await status(tmp))?.served).toBe(1)
    // the edit was seen: the pipeline file was imported anew
    expect(statuses(edited.stdout)).toEqual({ source: "ran", scaled: "ran" })

    // a process of its own, without the resident process, replays what it recorded, with the same outputs
    const own = await run("p.ts", dir, { ...env, ABLATE_SERVER: "0" })
    expect(own.code).toBe(0)
    expect(summary(own.stdout).replayOf).toBe(summary(edited.stdout).runId)
    expect(outputHashes(own.stdout)).toEqual(outputHashes(edited.stdout))
    // planning anew in a process of its own agrees as well
    const planned = await run("p.ts", dir, { ...env, ABLATE_SERVER: "0", ABLATE_REPLAY: "0" })
    expect(statuses(planned.stdout)).toEqual({ source: "cached", scaled: "cached" })
    expect(outputHashes(planned.stdout)).toEqual(outputHashes(edited.stdout))
  })

  it("declines once a package it keeps loaded has changed, and the command runs in its own process", async () => {
    const { dir, tmp, env } = setUp()
    expect((await run("packaged.ts", dir, env)).code).toBe(0)
    const before = await started(tmp)
    // an edit that changes nothing planned: the resident process plans anew, loading the package
    writeFile(dir, "packaged.ts", `${packaged["packaged.ts"]}// edited\n`)
    const served = await run("packaged.ts", dir, env)
    expect(served.code).toBe(0)
    expect(statuses(served.stdout)).toEqual({ source: "cached" })
    expect(summary(served.stdout).replayOf).toBeUndefined()
    // the resident process loaded version 1.0.0 (offset 1) for that command; a new version is installed
    expect((await status(tmp))?.served).toBe(1)
    writeFile(dir, "lib/node_modules/verpkg/package.json", `{ "name": "verpkg", "version": "1.0.1", "type": "module", "main": "index.js" }`)
    writeFile(dir, "lib/node_modules/verpkg/index.js", "export const offset = 2\n")
    const after = await run("packaged.ts", dir, env)
    expect(after.code).toBe(0)
    // n = 3 + 2: the new offset, not the one the resident process had loaded
    expect(statuses(after.stdout)).toEqual({ source: "ran" })
    expect(await ended(before.pid)).toBe(true)
    // the command that found it stale started another
    expect((await started(tmp, before.pid)).served).toBe(0)
  })

  it("passes Ctrl-C on to the command, and a client killed with kill -9 interrupts its command", async () => {
    const { dir, tmp, env } = setUp()
    expect((await run("p.ts", dir, env)).code).toBe(0)
    await started(tmp)
    for (const [i, signal] of (["SIGINT", "SIGKILL"] as const).entries()) {
      const { code, stderr } = await runSlowUntilProgress(dir, env, (child) => child.kill(signal))
      if (signal === "SIGINT") {
        expect(code).toBe(130)
        expect(stderr).toContain("interrupting: finished nodes stay cached")
      }
      // the resident process stopped the node, released its lock and logged the run as interrupted
      await statusOnce(tmp, (now) => now.served === i + 1 && !now.busy)
    }
    const log = await cli(["ls", "--json", "--store", "store"], dir)
    const runs = log.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: string; pipeline: string })
    expect(runs.filter((r) => r.pipeline === "slow").map((r) => r.status)).toEqual(["interrupted", "interrupted"])
    expect((await status(tmp))?.served).toBe(2)
  })

  it("killed with kill -9 mid-command: the command fails saying so, and the next completes in a process of its own", async () => {
    const { dir, tmp, env } = setUp()
    expect((await run("p.ts", dir, env)).code).toBe(0)
    const resident = await started(tmp)
    const { code, stderr } = await runSlowUntilProgress(dir, env, () => process.kill(resident.pid, "SIGKILL"))
    expect(code).toBe(1)
    expect(stderr).toContain("the resident Ablate process ended before the command finished")
    const rerun = await run("slow.ts", dir, env)
    expect(rerun.code).toBe(0)
    // the source finished before the kill: cached; the slow node, stopped midway, ran again
    expect(statuses(rerun.stdout)).toEqual({ source: "cached", slow: "ran" })
    // and the rerun, which found none, started another
    expect((await started(tmp, resident.pid)).served).toBe(0)
  })

  it("runs a command that arrives while it serves another in the command's own process, and ends after it when asked to stop", async () => {
    const { dir, tmp, env } = setUp()
    expect((await run("p.ts", dir, env)).code).toBe(0)
    await started(tmp)
    const slow = run("slow.ts", dir, env)
    await statusOnce(tmp, (now) => now.busy)
    const meanwhile = await run("p.ts", dir, env)
    expect(meanwhile.code).toBe(0)
    expect(statuses(meanwhile.stdout)).toEqual({ source: "cached", scaled: "cached" })
    // asked to stop while it serves a command, it ends once that command is done
    const { pid, served } = (await status(tmp))!
    expect(served).toBe(0)
    await ask(tmp, { type: "stop" })
    expect(isAlive(pid)).toBe(true)
    const done = await slow
    expect(done.code).toBe(0)
    expect(statuses(done.stdout)).toEqual({ source: "ran", slow: "ran" })
    expect(await ended(pid)).toBe(true)
  })

  it("declines a command whose Node, working directory or environment is not its own, and ends", async () => {
    const { dir, tmp, env } = setUp()
    expect((await run("p.ts", dir, env)).code).toBe(0)
    const resident = await started(tmp)
    const [socketFile] = socketsOf(tmp)
    const terminal = { isTTY: false, columns: undefined, rows: undefined }
    const reply = await Resident.ask(socketFile!, { type: "command", args: ["run", "p.ts"], terminal, identity: Resident.identity({ ...env, FACTOR: "3" }, dir) })
    expect(reply).toEqual({ type: "declined", reason: "stale" })
    expect(await ended(resident.pid)).toBe(true)
  })

  it("never listens where its socket directory is open to other users", async () => {
    const { dir, tmp, env } = setUp()
    fs.mkdirSync(Resident.socketDir(tmp), { mode: 0o777 })
    fs.chmodSync(Resident.socketDir(tmp), 0o777)
    expect((await run("p.ts", dir, env)).code).toBe(0)
    expect((await run("p.ts", dir, env)).code).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 2000))
    expect(fs.readdirSync(Resident.socketDir(tmp))).toEqual([])
  })

  it("ends after ABLATE_SERVER_IDLE seconds without a command, removing its socket and log", async () => {
    const { dir, tmp, env } = setUp()
    expect((await run("p.ts", dir, { ...env, ABLATE_SERVER_IDLE: "1" })).code).toBe(0)
    const resident = await started(tmp)
    expect(await ended(resident.pid)).toBe(true)
    expect(fs.readdirSync(Resident.socketDir(tmp))).toEqual([])
  })
})

describe("which commands a resident process serves", () => {
  it("is wanted for `run` on a terminal outside CI, or when ABLATE_SERVER=1, and never with ABLATE_SERVER=0", () => {
    expect(Resident.wanted(["run", "p.ts"], {}, true)).toBe(true)
    expect(Resident.wanted(["run", "p.ts"], {}, false)).toBe(false)
    expect(Resident.wanted(["run", "p.ts"], { CI: "true" }, true)).toBe(false)
    expect(Resident.wanted(["run", "p.ts"], { ABLATE_SERVER: "1" }, false)).toBe(true)
    expect(Resident.wanted(["run", "p.ts"], { ABLATE_SERVER: "0" }, true)).toBe(false)
    expect(Resident.wanted(["ls"], { ABLATE_SERVER: "1" }, true)).toBe(false)
  })

  it("is not asked, nor started, where its socket directory is open to other users", async () => {
    const sockets = Resident.socketDir(tempDir("sockets"))
    const env = { ABLATE_SERVER: "1" }
    expect(await Resident.relay(["run", "p.ts"], env, sockets)).toEqual({ served: false, reason: "absent" })
    fs.mkdirSync(sockets, { mode: 0o700 })
    fs.chmodSync(sockets, 0o777)
    expect(await Resident.relay(["run", "p.ts"], env, sockets)).toEqual({ served: false, reason: "off" })
  })

  it("is one per working directory and environment, whatever the shell's own `_` and `OLDPWD` say", () => {
    const socketOf = (env: NodeJS.ProcessEnv, cwd: string) => Resident.socketPath(Resident.identity(env, cwd))
    const base = socketOf({ PATH: "/bin", _: "/usr/bin/npx", OLDPWD: "/a" }, "/p")
    expect(socketOf({ PATH: "/bin", _: "/usr/local/bin/pipeline", OLDPWD: "/b" }, "/p")).toBe(base)
    expect(socketOf({ PATH: "/bin" }, "/q")).not.toBe(base)
    expect(socketOf({ PATH: "/bin", FACTOR: "3" }, "/p")).not.toBe(base)
    expect(path.basename(base)).toMatch(/^[0-9a-f]{16}\.sock$/)
    expect(path.dirname(base)).toBe(Resident.socketDir())
  })

  it("reads messages and their payloads however the bytes are split", () => {
    const output = Buffer.from(`{"type":"summary","text":"é\\n"}\nlast line\n`)
    const wire = Buffer.concat([
      Buffer.from(`${JSON.stringify({ type: "out", bytes: output.length })}\n`),
      output,
      Buffer.from(`${JSON.stringify({ type: "exit", code: 3 })}\n`)
    ])
    for (const size of [1, 2, 7, wire.length]) {
      const socket = new EventEmitter()
      const received: Array<[Resident.Reply, string]> = []
      Resident.onMessages<Resident.Reply>(socket, (reply, payload) => received.push([reply, payload.toString()]))
      for (let at = 0; at < wire.length; at += size) socket.emit("data", wire.subarray(at, at + size))
      expect(received).toEqual([[{ type: "out", bytes: output.length }, output.toString()], [{ type: "exit", code: 3 }, ""]])
    }
  })
})
