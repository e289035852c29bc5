/**
 * A store this user cannot write (a read-only mount, another user's store) still serves the
 * commands that only read it, writing nothing, and the commands that write it are refused at
 * once with exit 2 and a message naming the store.
 *
 * Tests run as root here and in CI, and root ignores permission bits: there the CLI runs as
 * `nobody`, to whom the a-w store is unwritable. The project stays readable to everyone. A
 * read-only file system, which stops root too, is a read-only bind mount in a mount namespace
 * of the child's own, where this process may make one.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { chainProject } from "../fixtures/nodes.ts"
import { cli, repo, type RunAs, summary, tempProject } from "../helpers.ts"

const nobody: RunAs | undefined = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined

/** The project's own Node, which has node:sqlite (the tests may run on an older one). */
const projectNode = path.join(repo, "node_modules", "node", "bin", "node")

/**
 * Whether `nobody` can run the CLI from this checkout: not where the checkout lies under a
 * directory only root may enter (a `mktemp -d` clone, mode 700). Those tests are skipped then,
 * saying why; the read-only mount's run as root regardless.
 */
const nobodyCanRun = nobody === undefined ||
  spawnSync(projectNode, [path.join(repo, "bin", "pipeline.mjs"), "--version"], { ...nobody, cwd: os.tmpdir(), timeout: 60_000 }).status === 0
if (!nobodyCanRun) {
  console.log(`skipped: the unwritable-store tests run the CLI as nobody, who cannot read this checkout (${repo}); make its directories world-readable to run them`)
}

/**
 * Run `pipeline <args>` in `cwd` with directory `store` bind-mounted read-only in a mount
 * namespace of its own (nothing outside the child sees the mount).
 */
const onReadOnlyMount = (store: string, args: ReadonlyArray<string>, cwd: string) =>
  spawnSync("unshare", ["-m", "sh", "-c", "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\"", store, projectNode, path.join(repo, "bin", "pipeline.mjs"), ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, FORCE_COLOR: "0" }
  })

/** Whether this process may make a read-only bind mount (root with CAP_SYS_ADMIN, as here; not every CI runner). */
const canMountReadOnly = spawnSync("unshare", ["-m", "sh", "-c", "mount --bind -o ro \"$0\" \"$0\"", os.tmpdir()]).status === 0

/**
 * Close the run log the way its last writer does when it closes it (the CLI's processes exit
 * without closing it): SQLite folds the write-ahead log into the database and removes it.
 */
const closeRunLog = (store: string) => {
  // (the connection opens the file on its first statement)
  const close = "const db = new (process.getBuiltinModule('node:sqlite').DatabaseSync)(process.argv[1]); db.exec('SELECT 1'); db.close()"
  const closed = spawnSync(projectNode, ["-e", close, path.join(store, "runs.db")])
  expect(closed.status, String(closed.stderr)).toBe(0)
}

/** Every entry under `dir` with its size and modification time: what a write would change. */
const snapshot = (dir: string): Array<string> =>
  (fs.readdirSync(dir, { recursive: true }) as Array<string>).sort().map((entry) => {
    const stat = fs.statSync(path.join(dir, entry))
    return `${entry} ${stat.isDirectory() ? "dir" : stat.size} ${stat.mtimeMs}`
  })

/** chmod every entry under and including `dir`. */
const chmodAll = (dir: string, mode: (isDirectory: boolean) => number) => {
  for (const entry of ["", ...(fs.readdirSync(dir, { recursive: true }) as Array<string>)]) {
    const file = path.join(dir, entry)
    fs.chmodSync(file, mode(fs.statSync(file).isDirectory()))
  }
}

describe.skipIf(!nobodyCanRun)("a read-only store", () => {
  let dir: string
  let store: string
  let before: Array<string>
  // a compile cache the CLI's user can write, so each command starts as fast as usual
  const as = (args: ReadonlyArray<string>) => cli(args, dir, { NODE_COMPILE_CACHE: path.join(dir, "compile-cache") }, nobody)

  beforeAll(async () => {
    dir = tempProject(chainProject)
    store = path.join(dir, ".ablate")
    const first = await cli(["run", "chain.ts", "--json"], dir)
    expect(first.code).toBe(0)
    fs.chmodSync(dir, 0o755)
    fs.mkdirSync(path.join(dir, "compile-cache"), { mode: 0o777 })
    fs.chmodSync(path.join(dir, "compile-cache"), 0o777)
    chmodAll(store, (isDirectory) => (isDirectory ? 0o555 : 0o444))
    before = snapshot(store)
  })
  afterAll(() => {
    chmodAll(store, (isDirectory) => (isDirectory ? 0o755 : 0o644))
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("serves ls, show, plan, verify and fsck, and writes nothing (its run log open by a writer that did not close it)", async () => {
    expect(fs.existsSync(path.join(store, "runs.db-wal"))).toBe(true)
    const ls = await as(["ls", "--json"])
    expect(ls.stderr).toBe("")
    expect(ls.code).toBe(0)
    expect(ls.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: string })).toMatchObject([{ status: "succeeded" }])

    const show = await as(["show", "sum"])
    expect(show.code).toBe(0)
    expect(show.stdout).toContain("sum  (test/sum)")
    expect(show.stdout).toMatch(/output\s+Numbers \(table/)

    const plan = await as(["plan", "chain.ts", "--json"])
    expect(plan.stderr).toBe("")
    expect(plan.code).toBe(0)
    const planned = JSON.parse(plan.stdout) as { nodes: ReadonlyArray<{ label: string; status: string }> }
    expect(planned.nodes.map((n) => [n.label, n.status])).toEqual([["source", "hit"], ["scaled", "hit"], ["sum", "hit"], ["lines", "hit"]])

    const verify = await as(["verify", "chain.ts"])
    expect(verify.code).toBe(0)
    expect(verify.stdout).toContain("4 cached nodes recomputed, 0 differ")

    const fsck = await as(["fsck"])
    expect(fsck.code).toBe(0)
    expect(fsck.stdout).toContain("no problems")

    expect(snapshot(store)).toEqual(before)
  })

  it("reads a run log its last writer closed (no write-ahead log) as well", async () => {
    fs.chmodSync(store, 0o755)
    closeRunLog(store)
    fs.chmodSync(store, 0o555)
    expect(fs.existsSync(path.join(store, "runs.db-wal"))).toBe(false)
    before = snapshot(store)
    const ls = await as(["ls", "--json"])
    expect(ls.code).toBe(0)
    expect(ls.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: string })).toMatchObject([{ status: "succeeded" }])
    const plan = await as(["plan", "chain.ts"])
    expect(plan.code).toBe(0)
    expect(plan.stdout).toContain("chain: 4 nodes, 4 cached, 0 to run")
    expect(snapshot(store)).toEqual(before)
  })

  it("refuses run, gc and fsck --repair before any work: exit 2, one message naming the store, nothing written", async () => {
    for (const args of [["run", "chain.ts", "--json"], ["gc"], ["fsck", "--repair"]]) {
      const result = await as(args)
      expect(result.code, args.join(" ")).toBe(2)
      const message =
        `store ${store} cannot be written: it is not writable by this user${nobody === undefined ? ` (uid ${process.getuid?.()})` : " (uid 65534)"}; \`pipeline ${args[0]}\` writes to the store (ls, show, plan and verify only read it)`
      expect(result.stderr).toBe(`error: ${message}\n`)
      // with --json, the error is also the one event on stdout
      if (args.includes("--json")) {
        expect(JSON.parse(result.stdout)).toMatchObject({ type: "error", tag: "StoreUnavailable", message, path: store })
        expect(result.stdout.trim().split("\n")).toHaveLength(1)
      } else {
        expect(result.stdout, args.join(" ")).toBe("")
      }
    }
    expect(snapshot(store)).toEqual(before)
  })

  it("a store yet to be made in a directory that cannot be written: ls has no runs, run is refused naming that directory", async () => {
    const inside = path.join(store, "nested")
    const ls = await as(["ls", "--store", inside])
    expect(ls.code).toBe(0)
    expect(ls.stdout).toBe("no runs yet\n")
    const run = await as(["run", "chain.ts", "--store", inside])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`error: store ${inside} cannot be written: ${store} is not writable by this user`)
    expect(fs.existsSync(inside)).toBe(false)
  })

  it("once writable again, the same store runs and answers from its cache", async () => {
    chmodAll(store, (isDirectory) => (isDirectory ? 0o777 : 0o666))
    try {
      const rerun = await as(["run", "chain.ts", "--json"])
      expect(rerun.code).toBe(0)
      expect(summary(rerun.stdout).nodes.map((n) => n.status)).toEqual(["cached", "cached", "cached", "cached"])
    } finally {
      chmodAll(store, (isDirectory) => (isDirectory ? 0o555 : 0o444))
    }
  })
})

describe.skipIf(!canMountReadOnly)("a store on a read-only file system", () => {
  let dir: string
  beforeAll(async () => {
    dir = tempProject(chainProject)
    expect((await cli(["run", "chain.ts"], dir)).code).toBe(0)
  })
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

  it("serves ls and plan, and refuses run with exit 2 saying the file system is read-only", () => {
    const store = path.join(dir, ".ablate")
    const ls = onReadOnlyMount(store, ["ls", "--json"], dir)
    expect(ls.stderr).toBe("")
    expect(ls.status).toBe(0)
    expect(ls.stdout.trim().split("\n")).toHaveLength(1)
    const plan = onReadOnlyMount(store, ["plan", "chain.ts"], dir)
    expect(plan.status).toBe(0)
    expect(plan.stdout).toContain("chain: 4 nodes, 4 cached, 0 to run")
    const run = onReadOnlyMount(store, ["run", "chain.ts"], dir)
    expect(run.status).toBe(2)
    expect(run.stdout).toBe("")
    expect(run.stderr).toBe(
      `error: store ${store} cannot be written: it is on a read-only file system; \`pipeline run\` writes to the store (ls, show, plan and verify only read it)\n`
    )
  })
})

// (on Linux) procfs lets nothing be made in it but says ENOENT, not EACCES: only trying tells
describe.skipIf(!fs.existsSync("/proc/self"))("a store where no directory can be made", () => {
  it("refuses run with exit 2 naming the store, and does not hang", async () => {
    const run = await cli(["run", "chain.ts", "--store", "/proc/ablate-test/store"], tempProject(chainProject))
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(new RegExp(
      "^error: store /proc/ablate-test/store cannot be written: no directory can be made in /proc " +
        "\\(ENOENT: no such file or directory, mkdir '/proc/\\.ablate-probe-[^']+'\\); " +
        "`pipeline run` writes to the store \\(ls, show, plan and verify only read it\\)\n$"
    ))
  }, 60_000)
})
