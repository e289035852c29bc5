/**
 * Process entry of the `pipeline` command. A `pipeline run` whose replay record still
 * holds is answered at once (Replay.ts), before Effect or the pipeline file loads.
 * Otherwise it runs the CLI, turning the first Ctrl-C into an interruption (running
 * nodes stop, locks and temp files are released, finished nodes stay cached) and a
 * second into an immediate exit. bin/pipeline.mjs calls `start` with the process's
 * recording Observer (runtime/Observer.ts), which the preparation reports to.
 */
import type { Observer } from "../Observer.ts"
import * as Replay from "./Replay.ts"

const args = process.argv.slice(2)
// The streams' own write, taken before a run captures what nodes print (internal/NodeOutput.ts):
// the CLI's output never goes to a node's log.
const stdoutWrite = process.stdout.write.bind(process.stdout)
const stderrWrite = process.stderr.write.bind(process.stderr)
const out = {
  write: (text: string) => void stdoutWrite(text),
  writeBytes: (bytes: Uint8Array) => void stdoutWrite(bytes),
  isTTY: process.stdout.isTTY,
  columns: process.stdout.columns,
  rows: process.stdout.rows
}

const exitWith = (code: number) => stdoutWrite("", () => process.exit(code))

/**
 * Run the command of this process's arguments; resolves when it is done. `observer` (none:
 * nothing is observed) is what the preparation reports to, `environment` the process's
 * environment read without being observed.
 */
export const start = async (observer?: Observer, environment: NodeJS.ProcessEnv = process.env): Promise<void> => {
  const replayed = Replay.attempt(args, { out }, environment)
  if (replayed !== undefined) {
    exitWith(replayed)
    return
  }

  // loaded only now: a replay needs none of them
  const [Effect, Exit, Fiber, { main }, Observed] = await Promise.all([
    import("effect/Effect"),
    import("effect/Exit"),
    import("effect/Fiber"),
    import("./main.ts"),
    import("../Observer.ts")
  ])
  const fiber = Effect.runFork(
    main(args, { out, err: { write: (text) => void stderrWrite(text) } }).pipe(
      Effect.provideService(Observed.Observer, observer ?? Observed.none)
    )
  )

  let interrupted = false
  const onSignal = () => {
    if (interrupted) process.exit(130)
    interrupted = true
    stderrWrite(
      args[0] === "worker"
        ? "\nstopping: the jobs running here go back to the queue; press Ctrl-C again to exit at once\n"
        : "\ninterrupting: finished nodes stay cached; press Ctrl-C again to exit at once\n"
    )
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)

  const exit = await Effect.runPromise(Fiber.await(fiber))
  exitWith(Exit.isSuccess(exit) ? exit.value : 130)
}
