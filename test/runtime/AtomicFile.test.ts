// Files outside the store written whole or not at all (`-o FILE`), and directories made with their parents.
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { replaceFile } from "../../runtime/internal/AtomicFile.ts"
import { makeDirectory } from "../../runtime/internal/Directory.ts"
import { tempDir } from "../helpers.ts"

describe("replaceFile", () => {
  it("writes a new file and replaces an old one, leaving nothing beside it", () => {
    const dir = tempDir("atomic")
    const file = path.join(dir, "out.csv")
    replaceFile(file, new TextEncoder().encode("a,b\n"))
    replaceFile(file, new TextEncoder().encode("c\n"))
    expect(fs.readFileSync(file, "utf8")).toBe("c\n")
    expect(fs.readdirSync(dir)).toEqual(["out.csv"])
  })

  it("when the rename fails, the temp file is removed and the error thrown", () => {
    const dir = tempDir("atomic")
    const taken = path.join(dir, "taken")
    fs.mkdirSync(taken)
    fs.writeFileSync(path.join(taken, "inside"), "x")
    expect(() => replaceFile(taken, new TextEncoder().encode("data"))).toThrow(/EISDIR|ENOTEMPTY|EEXIST/)
    expect(fs.readdirSync(dir)).toEqual(["taken"])
    expect(fs.readdirSync(taken)).toEqual(["inside"])
  })
})

describe("makeDirectory", () => {
  it("makes a directory and its missing parents, and leaves an existing one as it is", () => {
    const dir = tempDir("mkdir")
    const deep = path.join(dir, "a", "b", "c")
    makeDirectory(deep)
    makeDirectory(deep)
    expect(fs.statSync(deep).isDirectory()).toBe(true)
    fs.writeFileSync(path.join(dir, "file"), "x")
    expect(() => makeDirectory(path.join(dir, "file", "sub"))).toThrow(/ENOTDIR/)
  })

  // Node's recursive mkdirSync retries this one forever at full CPU
  it.skipIf(!fs.existsSync("/proc/self"))("throws where a directory cannot be made inside an existing one (procfs)", () => {
    expect(() => makeDirectory("/proc/ablate-test/store")).toThrow(/ENOENT/)
  })
})
