import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as FileMemo from "../../runtime/internal/FileMemo.ts"
import { tempDir } from "../helpers.ts"

describe("FileMemo.lookup", () => {
  const counting = () => {
    const reads: Array<string> = []
    return { reads, read: (file: string) => (reads.push(file), fs.readFileSync(file, "utf8")) }
  }
  const identity = (stat: fs.Stats) => `${stat.ino}:${stat.size}:${stat.mtimeMs}`

  it("reads a file once while its stat identity holds, again once it changes, and forgets it when gone", () => {
    const file = path.join(tempDir("memo"), "a.txt")
    fs.writeFileSync(file, "one")
    const known: FileMemo.Remembered<string> = new Map()
    const { reads, read } = counting()
    expect(FileMemo.lookup(file, known, read, { identity })).toBe("one")
    expect(FileMemo.lookup(file, known, read, { identity })).toBe("one")
    expect(reads).toHaveLength(1)
    fs.writeFileSync(file, "three")
    expect(FileMemo.lookup(file, known, read, { identity })).toBe("three")
    expect(reads).toHaveLength(2)
    fs.rmSync(file)
    expect(FileMemo.lookup(file, known, read, { identity })).toBeUndefined()
    expect(known.size).toBe(0)
  })

  it("remembers nothing read under a stat that is not settled", () => {
    const file = path.join(tempDir("memo"), "a.txt")
    fs.writeFileSync(file, "one")
    const known: FileMemo.Remembered<string> = new Map()
    const { reads, read } = counting()
    for (let i = 0; i < 3; i++) expect(FileMemo.lookup(file, known, read, { identity, settled: () => false })).toBe("one")
    expect(reads).toHaveLength(3)
    expect(known.size).toBe(0)
  })
})
