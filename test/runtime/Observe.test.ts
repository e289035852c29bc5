import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Recording from "../../runtime/internal/observe/Recording.ts"
import { guardBuild, watchEnvironment } from "../../runtime/internal/observe/Tripwires.ts"
import * as Observer from "../../runtime/Observer.ts"

// The observation in this process: a recording with the build's tripwires, on a copy of the environment.
const recording = (env: NodeJS.ProcessEnv = { ...process.env }) => Recording.make(env, guardBuild)

const globals = () => ({ random: Math.random, now: performance.now, date: globalThis.Date, env: process.env, readdir: fs.readdirSync, pid: Object.getOwnPropertyDescriptor(process, "pid") })

describe("observing a preparation", () => {
  it("records the files the build reads and restores every patched global when it stops", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-observe-"))
    try {
      const file = path.join(dir, "config.json")
      fs.writeFileSync(file, "{}")
      const before = globals()
      const observed = recording()
      const stop = observed.watchBuild()
      expect(Math.random).not.toBe(before.random)
      expect(fs.readFileSync(file, "utf8")).toBe("{}")
      expect(fs.existsSync(path.join(dir, "missing.json"))).toBe(false)
      stop()
      expect(globals()).toEqual(before)
      const result = observed.finish()
      expect("observation" in result && result.observation.exists).toEqual({ [path.join(dir, "missing.json")]: false })
      // sha256("{}")
      expect("observation" in result && result.observation.files[file]).toBe("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("is tainted by the clock, randomness or an unrecordable file-system call, and stops watching at once", () => {
    const before = globals()
    for (const [call, reason] of [
      [() => Math.random(), "the pipeline called Math.random"],
      [() => Date.now(), "the pipeline called Date.now"],
      [() => new Date(), "the pipeline read the clock (new Date())"],
      [() => performance.now(), "the pipeline called performance.now"],
      [() => fs.readdirSync("."), "the pipeline called fs.readdirSync"],
      [() => process.pid, "the pipeline read process.pid"]
    ] as const) {
      const observed = recording()
      const stop = observed.watchBuild()
      try {
        call()
        // a tainted recording has nothing left to watch: its patches are gone already
        expect(globals()).toEqual(before)
      } finally {
        stop()
      }
      expect(observed.finish()).toEqual({ notReplayable: reason })
    }
    expect(globals()).toEqual(before)
  })

  it("records the variables read by name, and restores process.env when it finishes", () => {
    const original = process.env
    const observed = recording({ FACTOR: "3", OTHER: "x" })
    observed.onFinish(watchEnvironment(observed))
    try {
      expect(process.env["FACTOR"]).toBe("3")
      expect(process.env["UNSET"]).toBeUndefined()
    } finally {
      const result = observed.finish()
      expect(process.env).toBe(original)
      expect("observation" in result && result.observation.env).toMatchObject({ FACTOR: "3", UNSET: null })
      expect("observation" in result && result.observation.env["OTHER"]).toBeUndefined()
    }
  })

  it("observes nothing by default, and a run prepared so is never replayed", () => {
    expect(Observer.none.watchBuild()).toBeTypeOf("function")
    expect(Math.random).toBe(globals().random)
    expect(Observer.none.finish()).toEqual({ notReplayable: "not started by the pipeline command" })
  })
})
