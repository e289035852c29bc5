#!/usr/bin/env node
// The `pipeline` command. Runs on the project's own Node 26 (the `node` dev
// dependency): started by a Node older than 22, it re-executes itself with that one.
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const major = Number(process.versions.node.split(".")[0])
if (major < 22) {
  const local = join(here, "..", "node_modules", "node", "bin", "node")
  if (!existsSync(local)) {
    // a checkout gets Node 26 from `npm install` (the `node` dev dependency); an installed package does not
    process.stderr.write(`pipeline needs Node 22.18 or newer (this is ${process.version})\n`)
    process.exit(2)
  }
  const child = spawn(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" })
  // the child does the work: pass it our signals, and end the way it ended
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal))
  const [code, signal] = await new Promise((resolve) => child.on("exit", (c, s) => resolve([c, s])))
  if (signal !== null) {
    process.removeAllListeners(signal)
    process.kill(process.pid, signal)
  }
  process.exit(code ?? 1)
}

await import("./setup.mjs")
const bin = () => import("../runtime/cli/bin.ts")
if (process.features.typescript && process.argv[2] === "run") {
  // A resident process, where one is wanted and running, answers at once
  // (runtime/cli/Resident.ts): nothing more is loaded here.
  const { relay } = await import("../runtime/cli/Resident.ts")
  const resident = await relay(process.argv.slice(2), process.env)
  if (resident.served) {
    process.stdout.write("", () => process.exit(resident.code))
  } else {
    // What preparing the pipeline depends on is observed from here on (runtime/cli/Replay.ts;
    // only a `run` keeps a replay record); the recording is the CLI's Observer, and whatever
    // happens its patches are undone.
    const { install } = await import("../runtime/internal/observe/Install.ts")
    const recording = install(fileURLToPath(import.meta.url))
    try {
      await (await bin()).start(recording, recording.environment, resident)
    } finally {
      recording.finish()
    }
  }
} else {
  await (await bin()).start()
}
