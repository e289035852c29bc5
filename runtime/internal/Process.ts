/**
 * This process and its machine, as the store's temp files and locks and the run log
 * record them, so a later process can tell whether the writer is still alive.
 */
import { hostname } from "node:os"

/** The machine's host name, read once: pids are compared only between processes of the same host. */
export const host: string = hostname()

/** Whether a process of this machine is alive (signal 0 only checks; EPERM means it exists under another user). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}
