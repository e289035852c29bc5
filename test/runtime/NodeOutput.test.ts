import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as NodeOutput from "../../runtime/internal/NodeOutput.ts"
import { tempDir } from "../helpers.ts"

const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "")

// A node that prints `tag`ged lines every way it can, yielding in between so nodes interleave:
// console in its fiber, the stream directly, after an await in a promise, and in a forked fiber.
const chatty = (tag: string) =>
  Effect.gen(function*() {
    for (let i = 0; i < 3; i++) {
      console.log(`log ${tag} ${i}`)
      yield* Effect.sleep(2)
      process.stdout.write(`write ${tag} ${i}\n`)
      console.warn(`warn ${tag} ${i}`)
      yield* Effect.promise(async () => {
        await new Promise((resolve) => setTimeout(resolve, 1))
        console.info(`async ${tag} ${i}`)
      })
      yield* Fiber.join(yield* Effect.forkChild(Effect.sync(() => console.error(`child ${tag} ${i}`))))
    }
  })

const expectedLines = (tag: string) =>
  [0, 1, 2].flatMap((i) => [`log ${tag} ${i}`, `write ${tag} ${i}`, `warn ${tag} ${i}`, `async ${tag} ${i}`, `child ${tag} ${i}`])

describe("node output capture", () => {
  it("puts what each of two concurrent nodes prints in its own log, and the rest in the run's", async () => {
    const dir = tempDir("output")
    const printed: Array<NodeOutput.Printed> = []
    const file = (name: string) => path.join(dir, "logs", `${name}.log`)
    await Effect.runPromise(
      NodeOutput.capture(
        { runLog: file("run"), onPrint: (p) => void printed.push(p) },
        Effect.gen(function*() {
          console.log("before the nodes")
          yield* Effect.all([
            NodeOutput.attribute({ id: "a", label: "left", file: file("left") }, chatty("left")),
            NodeOutput.attribute({ id: "b", label: "right", file: file("right") }, chatty("right"))
          ], { concurrency: "unbounded" })
        })
      )
    )
    expect(read(file("left")).trimEnd().split("\n")).toEqual(expectedLines("left"))
    expect(read(file("right")).trimEnd().split("\n")).toEqual(expectedLines("right"))
    expect(read(file("run"))).toBe("before the nodes\n")
    // the two really ran interleaved, and each print was reported with its node and stream
    const labels = printed.map((p) => p.label)
    expect(labels.indexOf("right")).toBeLessThan(labels.lastIndexOf("left"))
    expect(printed).toContainEqual({ id: "b", label: "right", stream: "stderr", text: "warn right 1\n" })
    expect(printed).toContainEqual({ id: undefined, label: undefined, stream: "stdout", text: "before the nodes\n" })
  })

  it("restores console and the streams when the run fails or is interrupted, and a node that prints nothing leaves no log", async () => {
    const dir = tempDir("output")
    const originals = [console.log, console.error, console.warn, console.info, console.debug, process.stdout.write, process.stderr.write]
    const current = () => [console.log, console.error, console.warn, console.info, console.debug, process.stdout.write, process.stderr.write]
    const runLog = path.join(dir, "run.log")
    const silent = path.join(dir, "silent.log")
    fs.writeFileSync(silent, "a previous attempt's output\n")
    const failed = await Effect.runPromise(Effect.flip(NodeOutput.capture(
      { runLog },
      Effect.gen(function*() {
        expect(current()).not.toEqual(originals)
        yield* NodeOutput.attribute({ id: "s", label: "silent", file: silent }, Effect.void)
        return yield* Effect.fail("boom")
      })
    )))
    expect(failed).toBe("boom")
    expect(current()).toEqual(originals)
    expect(fs.existsSync(silent)).toBe(false)

    const fiber = Effect.runFork(NodeOutput.capture({ runLog }, Effect.never))
    await Effect.runPromise(Effect.sleep(5))
    expect(current()).not.toEqual(originals)
    await Effect.runPromise(Fiber.interrupt(fiber))
    expect(current()).toEqual(originals)
    expect(fs.existsSync(runLog)).toBe(false)
  })

  it("two overlapping captures each keep their own nodes' prints; the globals come back when the last ends", async () => {
    const dir = tempDir("output")
    const file = (name: string) => path.join(dir, `${name}.log`)
    const originalLog = console.log
    const run = (name: string, ms: number) =>
      NodeOutput.capture(
        { runLog: file(`run-${name}`) },
        Effect.sleep(ms).pipe(Effect.andThen(NodeOutput.attribute({ id: name, label: name, file: file(name) }, Effect.sync(() => console.log(name)))))
      )
    await Effect.runPromise(Effect.all([run("short", 1), run("long", 20)], { concurrency: "unbounded" }))
    expect([read(file("short")), read(file("long"))]).toEqual(["short\n", "long\n"])
    expect(console.log).toBe(originalLog)
  })

  it("tail gives the last lines of a log, read from its end", () => {
    const dir = tempDir("output")
    const small = path.join(dir, "small.log")
    fs.writeFileSync(small, "one\ntwo\n")
    expect(NodeOutput.tail(small, 20)).toEqual({ lines: ["one", "two"], omitted: false })
    const large = path.join(dir, "large.log")
    const lines = Array.from({ length: 20_000 }, (_, i) => `line ${i}`)
    fs.writeFileSync(large, `${lines.join("\n")}\n`)
    expect(NodeOutput.tail(large, 20)).toEqual({ lines: lines.slice(-20), omitted: true })
    expect(NodeOutput.tail(path.join(dir, "none.log"), 20)).toBeUndefined()
  })
})
