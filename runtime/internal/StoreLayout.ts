/** Where an artifact store keeps its files (ArtifactStore.ts describes each). */
import * as path from "node:path"

/** The directories and file paths of the store at `root` (ArtifactStore, RunLog and Replay.ts agree through it). */
export const layout = (root: string) => {
  const dirs = {
    objects: path.join(root, "objects"),
    keys: path.join(root, "keys"),
    locks: path.join(root, "locks"),
    tmp: path.join(root, "tmp"),
    checkpoints: path.join(root, "checkpoints")
  }
  return {
    dirs,
    objectPath: (hash: string) => path.join(dirs.objects, hash.slice(0, 2), hash),
    keyPath: (key: string) => path.join(dirs.keys, `${key}.json`),
    checkpointPath: (key: string) => path.join(dirs.checkpoints, `${key}.safetensors`),
    runLog: path.join(root, "runs.db")
  }
}
