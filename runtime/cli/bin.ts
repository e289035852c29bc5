/**
 * Process entry of the `pipeline` command: runs the CLI, turns the first Ctrl-C into
 * an interruption (running nodes stop, locks and temp files are released, finished
 * nodes stay cached) and a second into an immediate exit.
 */
import { Effect, Exit, Fiber } from "effect"
import { main } from "./main.ts"

const fiber = Effect.runFork(
  main(process.argv.slice(2), {
    out: {
      write: (text) => void process.stdout.write(text),
      isTTY: process.stdout.isTTY,
      columns: process.stdout.columns,
      rows: process.stdout.rows
    },
    err: { write: (text) => void process.stderr.write(text) }
  })
)

let interrupted = false
const onSignal = () => {
  if (interrupted) process.exit(130)
  interrupted = true
  process.stderr.write("\ninterrupting: finished nodes stay cached; press Ctrl-C again to exit at once\n")
  Effect.runFork(Fiber.interrupt(fiber))
}
process.on("SIGINT", onSignal)
process.on("SIGTERM", onSignal)

const exit = await Effect.runPromise(Fiber.await(fiber))
const code = Exit.isSuccess(exit) ? exit.value : 130
process.stdout.write("", () => process.exit(code))
