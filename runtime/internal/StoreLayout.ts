/** Where an artifact store keeps its files (ArtifactStore.ts describes each). */
import * as path from "node:path"

const checkpointSuffix = ".safetensors"
const logSuffix = ".log"
const runLogPrefix = "run-"

/**
 * The directories and file paths of the store at `root` (an absolute path): ArtifactStore,
 * RunLog and cli/Replay.ts agree through it. Paths are joined by hand: cli/Replay.ts builds
 * thousands of them on its fast path.
 */
export const layout = (root: string) => {
  const dirs = {
    objects: path.join(root, "objects"),
    keys: path.join(root, "keys"),
    locks: path.join(root, "locks"),
    tmp: path.join(root, "tmp"),
    checkpoints: path.join(root, "checkpoints"),
    quarantine: path.join(root, "quarantine"),
    logs: path.join(root, "logs")
  }
  return {
    dirs,
    objectPath: (hash: string) => `${dirs.objects}${path.sep}${hash.slice(0, 2)}${path.sep}${hash}`,
    keyPath: (key: string) => `${dirs.keys}${path.sep}${key}.json`,
    /** Where a corrupt object is moved to, out of the way of every reader. */
    quarantinePath: (hash: string) => `${dirs.quarantine}${path.sep}${hash}`,
    /**
     * What the node computing `key` printed when it last ran (internal/NodeOutput.ts): by key,
     * like its checkpoint, so a cached node's log is that of the run that computed it.
     */
    logPath: (key: string) => `${dirs.logs}${path.sep}${key}${logSuffix}`,
    /** What run `runId` printed that no node can be credited with. */
    runLogPath: (runId: number) => `${dirs.logs}${path.sep}${runLogPrefix}${runId}${logSuffix}`,
    /** The key whose node log a file in `logs/` is (undefined for a run's log and any other file). */
    logKey: (name: string): string | undefined =>
      name.endsWith(logSuffix) && !name.startsWith(runLogPrefix) ? name.slice(0, -logSuffix.length) : undefined,
    lockPath: (key: string) => `${dirs.locks}${path.sep}${key}.lock`,
    checkpointPath: (key: string) => `${dirs.checkpoints}${path.sep}${key}${checkpointSuffix}`,
    /** The key whose checkpoint a file in `checkpoints/` is (undefined for any other file). */
    checkpointKey: (name: string): string | undefined =>
      name.endsWith(checkpointSuffix) ? name.slice(0, -checkpointSuffix.length) : undefined,
    runLog: path.join(root, "runs.db")
  }
}

