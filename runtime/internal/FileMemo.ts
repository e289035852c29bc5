/**
 * Values a long-lived process (the resident one, ../cli/ResidentServer.ts) reads from files,
 * remembered with the stat of the file they were read from: while a file's stat is the same,
 * checking it costs a stat instead of a read. Key records (KeyRecordFile.readCached) and the
 * hashes of the files a replay record names (../cli/Replay.ts) are remembered this way.
 */
import * as fs from "node:fs"

/** What is remembered, by file: the value and the stat identity of the file it was read from. */
export type Remembered<A> = Map<string, { readonly identity: string; readonly value: A }>

export interface Options {
  /** what of a file's stat must stay the same for its value to be served again */
  readonly identity: (stat: fs.Stats) => string
  /** whether a value read under `stat` may be remembered (default: always) */
  readonly settled?: (stat: fs.Stats) => boolean
}

// past this many files it starts again (a process serving many large stores)
const maxRemembered = 200_000

/**
 * `read(file)`, from `known` when the file's stat identity is the one it was read under. The
 * stat is taken before the read, so a change in between is seen at the next lookup. A file
 * that is gone, or has no value, is forgotten.
 */
export const lookup = <A>(file: string, known: Remembered<A>, read: (file: string) => A | undefined, options: Options): A | undefined => {
  const stat = fs.statSync(file, { throwIfNoEntry: false })
  if (stat === undefined) {
    known.delete(file)
    return undefined
  }
  const identity = options.identity(stat)
  const remembered = known.get(file)
  if (remembered?.identity === identity) return remembered.value
  const value = read(file)
  if (value === undefined || options.settled?.(stat) === false) known.delete(file)
  else {
    if (known.size >= maxRemembered) known.clear()
    known.set(file, { identity, value })
  }
  return value
}
