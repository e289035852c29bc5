/**
 * Process entry of the `pipeline` command. A `pipeline run` whose replay record still
 * holds is answered at once (Replay.ts), before Effect or the pipeline file loads.
 * Otherwise it runs the CLI, turning the first Ctrl-C into an interruption (running
 * nodes stop, locks and temp files are released, finished nodes stay cached) and a
 * second into an immediate exit. (A `run` that a resident process answered never gets
 * here: bin/pipeline.mjs, Resident.ts.) bin/pipeline.mjs calls `start` with the process's
 * recording Observer (runtime/Observer.ts), which the preparation reports to.
 */
import type { Observer } from "../Observer.ts"
import * as CtrlC from "./CtrlC.ts"
import * as Replay from "./Replay.ts"
import * as Resident from "./Resident.ts"

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
 * environment read without being observed. `resident` is what became of the resident process
 * a `run` went to first (bin/pipeline.mjs): there was none, or it had to end, and one starts
 * for the next command when this one is done.
 */
export const start = async (
  observer?: Observer,
  environment: NodeJS.ProcessEnv = process.env,
  resident?: Resident.Outcome
): Promise<void> => {
  const replayed = Replay.attempt(args, { out }, environment)
  if (replayed !== undefined) {
    if (resident !== undefined) Resident.startIfMissing(resident, environment)
    exitWith(replayed)
    return
  }

  // loaded only now: a replay needs none of them
  const [{ launch }, Observed] = await Promise.all([import("./main.ts"), import("../Observer.ts")])
  const command = launch(args, { out, err: { write: (text) => void stderrWrite(text) } }, observer ?? Observed.none)
  const ctrlC = CtrlC.handle(args[0] === "worker" ? CtrlC.notices.worker : CtrlC.notices.run, stderrWrite, command.interrupt)

  const code = await command.code
  if (resident !== undefined && !ctrlC.interrupted()) Resident.startIfMissing(resident, environment)
  exitWith(code)
}
