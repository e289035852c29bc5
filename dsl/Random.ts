/**
 * Seeded random numbers for nodes. Every draw a node makes comes from a generator
 * derived from the node's identity, so a rerun draws the same numbers.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting generator,
 * from PractRand): 128 bits of state, passes BigCrush, and its state can be saved
 * and restored exactly, which checkpoints need.
 */
import { createHash } from "node:crypto"
import { hashValue } from "./internal/Canonical.ts"

/** A seeded generator. Not shared between nodes: derive one per purpose with `split`. */
export interface Random {
  /** Uniform in [0, 1) with 32 bits of randomness. */
  readonly uniform: () => number
  /** Uniform integer in [0, n). */
  readonly int: (n: number) => number
  /** Standard normal draw (Box–Muller). */
  readonly normal: () => number
  /** A new independent generator for a named purpose ("init", "shuffle", ...). */
  readonly split: (label: string) => Random
  /** Fisher–Yates shuffle of a copy of `items`. */
  readonly shuffle: <A>(items: ReadonlyArray<A>) => Array<A>
  /** The generator's state, for checkpoints. */
  readonly state: () => State
  /** Continue from a saved state (same stream as when `state()` was taken). */
  readonly restore: (state: State) => void
}

/** The 128-bit state of a generator. */
export type State = readonly [number, number, number, number]

const wordsOf = (seed: string): [number, number, number, number] => {
  const digest = createHash("sha256").update(seed).digest()
  return [digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)]
}

/** What a node's seed is derived from: the cache key's components less code, version and environment. */
export interface SeedComponents {
  readonly kind: string
  readonly params: { readonly [field: string]: unknown }
  /** input name → content hash of the upstream artifact */
  readonly inputs: { readonly [name: string]: string }
}

/**
 * The seed of a node's generator: its kind, params and the content hashes of its
 * inputs — what the cache key hashes except code, version and environment — so a
 * node whose upstream reproduced the same bytes draws the same numbers, and a comment
 * edit does not change its stream. It lives here, not in the runtime, because it
 * decides outputs: this module is part of every node's code fingerprint.
 */
const seedOf = (components: SeedComponents): string =>
  `ablate/${hashValue({ kind: components.kind, params: components.params, inputs: components.inputs })}`

/** The generator of a node with these components (`make(seedOf(components))`). */
export const forComponents = (components: SeedComponents): Random => make(seedOf(components))

/**
 * A generator seeded by a string: equal strings give equal streams.
 *
 * @example
 * const rng = Random.make("task/seed=0")
 * const x = rng.normal()
 */
export const make = (label: string): Random => {
  let [a, b, c, d] = wordsOf(label)
  const next = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    let t = (a + b) | 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) | 0
    c = (c << 21) | (c >>> 11)
    d = (d + 1) | 0
    t = (t + d) | 0
    c = (c + t) | 0
    return (t >>> 0) / 4294967296
  }
  for (let i = 0; i < 12; i++) next()
  // One normal per call (the Box–Muller twin is dropped) so `state()` alone restores the stream.
  const normal = (): number => {
    let u = next()
    while (u === 0) u = next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next())
  }
  return {
    uniform: next,
    int: (n) => Math.floor(next() * n),
    normal,
    split: (sub) => make(`${label}/${sub}`),
    shuffle: (items) => {
      const out = items.slice()
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1))
        const tmp = out[i]!
        out[i] = out[j]!
        out[j] = tmp
      }
      return out
    },
    state: () => [a >>> 0, b >>> 0, c >>> 0, d >>> 0] as const,
    restore: (state) => {
      ;[a, b, c, d] = state
    }
  }
}
