/**
 * The cost of checking an object's hash when it is read as an input (ArtifactStore.read).
 *
 * For a table (1M rows of two numbers, Parquet zstd) and a model (16M float32 weights,
 * safetensors), prints: the object's size, the read from the store's file, the sha256 of its
 * bytes (MB/s), and the decode into the node's value — the time a consumer spends on the input
 * either way, so the check's share of it. Each figure is the median of 5 rounds, with the
 * file in the page cache (a rerun's usual case).
 *
 * Run: npx tsx bench/integrity.ts
 */
import * as Schema from "effect/Schema"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Artifact from "../dsl/Artifact.ts"
import * as Codec from "../runtime/internal/Codec.ts"

const rows = 1_000_000
const weights = 16 * 1024 * 1024
const Rows = Artifact.table("Rows", Schema.Struct({ i: Schema.Number, x: Schema.Number }))
const Weights = Artifact.model("Weights")

const objects: ReadonlyArray<readonly [string, Artifact.ArtifactType, unknown]> = [
  ["table, 1M rows", Rows, Array.from({ length: rows }, (_, i) => ({ i, x: Math.sin(i) }))],
  ["model, 16M float32", Weights, {
    config: { layers: 2 },
    tensors: { w: { shape: [4096, 4096], data: Float32Array.from({ length: weights }, (_, i) => Math.sin(i)) } }
  }]
]

const median = (f: () => void): number => {
  const times: Array<number> = []
  for (let round = 0; round < 5; round++) {
    const started = performance.now()
    f()
    times.push(performance.now() - started)
  }
  return times.sort((a, b) => a - b)[2]!
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-bench-integrity-"))
try {
  console.log(`node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}`)
  console.log("object               size      read      sha256            decode    check/(read+decode)")
  for (const [name, type, value] of objects) {
    const bytes = Codec.encode(type, value)
    const file = path.join(work, "object")
    fs.writeFileSync(file, bytes)
    const read = median(() => void fs.readFileSync(file))
    const hash = median(() => void createHash("sha256").update(bytes).digest("hex"))
    const decode = median(() => void Codec.decode(type, bytes))
    const mb = bytes.length / 1e6
    console.log(
      `${name.padEnd(20)} ${`${mb.toFixed(1)} MB`.padStart(8)} ${`${read.toFixed(1)} ms`.padStart(9)} ${
        `${hash.toFixed(1)} ms (${(mb / (hash / 1000)).toFixed(0)} MB/s)`.padStart(20)
      } ${`${decode.toFixed(1)} ms`.padStart(9)} ${`${((100 * hash) / (read + decode)).toFixed(0)}%`.padStart(8)}`
    )
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true })
}
