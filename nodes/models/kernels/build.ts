/**
 * Builds kernels.c into binary.ts, the module's bytes as base64, with clang and lld for
 * the wasm32 target (Debian: `apt-get install clang lld`). A plain `npm install` needs no
 * compiler: binary.ts is committed, and test/nodes/kernels.test.ts checks that rebuilding
 * gives its bytes wherever the same clang is installed. The bytes live in a TypeScript
 * module rather than a .wasm file so that the code fingerprint of every node that uses
 * the kernels covers them: a rebuilt kernel changes exactly those nodes' cache keys.
 *
 * Run: npm run build:kernels
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
export const source = path.join(here, "kernels.c")
export const output = path.join(here, "binary.ts")

/**
 * The module imports TensorFlow.js's memory (`env.memory`) and exports its stack pointer,
 * which the loader points at a stack it allocates on that heap: wasm-ld's default stack and
 * data addresses belong to TensorFlow.js there.
 */
export const flags = [
  "--target=wasm32",
  "-O3",
  "-msimd128",
  "-mmutable-globals",
  "-nostdlib",
  "-fno-builtin",
  "-Wall",
  "-Wextra",
  "-Werror",
  "-Wl,--no-entry",
  "-Wl,--import-memory",
  "-Wl,--export=__stack_pointer",
  "-Wl,--strip-debug"
]

/** `clang --version`'s first line, or undefined when clang is not installed. */
export const clangVersion = (): string | undefined => {
  try {
    return execFileSync("clang", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0]
  } catch {
    return undefined
  }
}

/** The ids of a module's sections, in order (WebAssembly binary format: id byte, LEB128 size). */
const sectionIds = (bytes: Uint8Array): Array<number> => {
  const ids: Array<number> = []
  let at = 8
  while (at < bytes.length) {
    const id = bytes[at++]!
    let size = 0
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++]!
      size |= (byte & 0x7f) << shift
      if ((byte & 0x80) === 0) break
    }
    ids.push(id)
    at += size
  }
  return ids
}

/**
 * Why a built module would be unsafe on TensorFlow.js's heap, or undefined: it must import
 * only the memory, export its stack pointer, and hold no data segment (one would be copied
 * over TensorFlow.js's own data when the module is instantiated).
 */
export const unsafe = (bytes: Uint8Array): string | undefined => {
  const module = new WebAssembly.Module(bytes)
  const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`)
  if (imports.join() !== "env.memory") return `imports ${imports.join(", ")}, expected only env.memory`
  if (!WebAssembly.Module.exports(module).some((e) => e.name === "__stack_pointer" && e.kind === "global")) {
    return "does not export __stack_pointer"
  }
  if (sectionIds(bytes).includes(11)) return "has a data section"
  return undefined
}

/** Compile kernels.c; the module's bytes (clang's messages go to stderr; it throws when clang fails). */
export const build = (): Uint8Array => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ablate-kernels-"))
  try {
    const wasm = path.join(dir, "kernels.wasm")
    execFileSync("clang", [...flags, "-o", wasm, source], { stdio: ["ignore", "inherit", "inherit"] })
    return new Uint8Array(fs.readFileSync(wasm))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** binary.ts's text for a module's bytes. */
export const render = (bytes: Uint8Array): string =>
  [
    "// Generated from kernels.c by build.ts (npm run build:kernels): do not edit.",
    `// ${bytes.length} bytes, ${clangVersion() ?? "unknown clang"}, flags: ${flags.join(" ")}`,
    `export const wasm = "${Buffer.from(bytes).toString("base64")}"`,
    ""
  ].join("\n")

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (clangVersion() === undefined) {
    console.error("clang is not installed (Debian: apt-get install clang lld)")
    process.exit(1)
  }
  const bytes = build()
  const problem = unsafe(bytes)
  if (problem !== undefined) {
    console.error(`kernels.c built into a module that ${problem}; binary.ts is left as it was`)
    process.exit(1)
  }
  fs.writeFileSync(output, render(bytes))
  console.log(`wrote ${path.relative(process.cwd(), output)}: ${bytes.length} bytes`)
}
