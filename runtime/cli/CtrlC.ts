/**
 * What Ctrl-C (SIGINT, and SIGTERM alike) does to a `pipeline` command, wherever the command
 * runs (in this process: bin.ts; in the resident one: Resident.ts): the first prints what
 * happens and interrupts the command (running nodes stop, locks and temp files are released,
 * finished nodes stay cached), a second exits at once (130).
 */

/** What the first Ctrl-C of a command prints. */
export const notices = {
  run: "\ninterrupting: finished nodes stay cached; press Ctrl-C again to exit at once\n",
  worker: "\nstopping: the jobs running here go back to the queue; press Ctrl-C again to exit at once\n"
} as const

/**
 * Turn Ctrl-C into `interrupt`, printing `notice` through `print` the first time. Returns whether
 * it came (`interrupted`) and the handlers' removal (`remove`).
 */
export const handle = (notice: string, print: (text: string) => void, interrupt: () => void) => {
  let interrupted = false
  const onSignal = () => {
    if (interrupted) process.exit(130)
    interrupted = true
    print(notice)
    interrupt()
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  return {
    interrupted: () => interrupted,
    remove: () => {
      process.off("SIGINT", onSignal)
      process.off("SIGTERM", onSignal)
    }
  }
}
