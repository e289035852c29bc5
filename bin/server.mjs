// The resident `pipeline` process (runtime/cli/ResidentServer.ts), started by a `pipeline run`
// (runtime/cli/Resident.ts) with the path of its socket.
import { fileURLToPath } from "node:url"

await import("./setup.mjs")
const { serve } = await import("../runtime/cli/ResidentServer.ts")
await serve(process.argv[2], fileURLToPath(import.meta.url))
