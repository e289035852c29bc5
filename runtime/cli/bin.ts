/**
 * Process entry of the `pipeline` command. A `pipeline run` whose replay record still
 * holds is answered at once (Replay.ts), before Effect or the pipeline file loads.
 * Otherwise it runs the CLI, turning the first Ctrl-C into an interruption (running
 * nodes stop, locks and temp files are released, finished nodes stay cached) and a
 * second into an immediate exit.
 */
import * as Replay from "./Replay.ts"

const args = process.argv.slice(2)
// The streams' own write, taken before a run captures what nodes print (internal/NodeOutput.ts):
// the CLI's output never goes to a node's log.
const stdoutWrite = process.stdout.write.bind(process.stdout)
const stderrWrite = process.stderr.write.bind(process.stderr)
const out = {
  write: (text: string) => void stdoutWrite(text),
  isTTY: process.stdout.isTTY,
  columns: process.stdout.columns,
  rows: process.stdout.rows
}

const exitWith = (code: number) => stdoutWrite("", () => process.exit(code))

const replayed = Replay.attempt(args, { out })
if (replayed !== undefined) {
  exitWith(replayed)
} else {
  const [{ Effect, Exit, Fiber }, { main }] = await Promise.all([import("effect"), import("./main.ts")])
  const fiber = Effect.runFork(main(args, { out, err: { write: (text) => void stderrWrite(text) } }))

  let interrupted = false
  const onSignal = () => {
    if (interrupted) process.exit(130)
    interrupted = true
    stderrWrite("\ninterrupting: finished nodes stay cached; press Ctrl-C again to exit at once\n")
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)

  const exit = await Effect.runPromise(Fiber.await(fiber))
  exitWith(Exit.isSuccess(exit) ? exit.value : 130)
}
