/**
 * The node a command names, as `show`, `metrics` and `cat` take it: a node label (its latest
 * run), or a prefix of a cache key or output hash (the node that produced it). A name that
 * matches nothing is a usage error that says what the store does hold: the labels nearest
 * the name, the cells a sweep ran the name in, or some of the labels the run log holds.
 */
import * as Effect from "effect/Effect"
import * as Suggest from "../../dsl/internal/Suggest.ts"
import { ArtifactStore } from "../ArtifactStore.ts"
import { ConfigError } from "../Errors.ts"
import { RunLog } from "../RunLog.ts"

/** The latest entry matching `query` that did not fail (else the latest that did); undefined when none matches. */
export const latestEntry = (query: string) =>
  Effect.gen(function*() {
    const entries = yield* (yield* RunLog).find(query)
    return entries.find((e) => e.status !== "failed") ?? entries[0]
  })

/** How many labels a failed lookup lists. */
const listedLabels = 8

const listOf = (labels: ReadonlyArray<string>): string =>
  `${labels.slice(0, listedLabels).join(", ")}${labels.length > listedLabels ? `, … (${labels.length} in all)` : ""}`

/** What to say after "no node matching `query`", given the labels the run log holds. */
export const hint = (query: string, labels: ReadonlyArray<string>): string => {
  if (labels.length === 0) return "; no run is logged there yet (pipeline run <file> first)"
  const cells = labels.filter((label) => label.startsWith(`${query}[`))
  if (cells.length > 0) return `; it ran in sweep cells, each its own node: ${listOf(cells)}`
  return Suggest.didYouMean(query, labels) || `; nodes logged there: ${listOf(labels)}`
}

/** Fail with the usage error for a `query` that names no node, key or artifact of the store. */
export const notFound = (command: string, query: string) =>
  Effect.gen(function*() {
    const root = (yield* ArtifactStore).root
    const labels = yield* (yield* RunLog).labels()
    return yield* new ConfigError({ reason: `pipeline ${command}: no node, key or artifact matching "${query}" in ${root}${hint(query, labels)}` })
  })

/** The latest entry matching `query` (see `latestEntry`), or `notFound`'s error. */
export const entryOf = (command: string, query: string) =>
  Effect.gen(function*() {
    return (yield* latestEntry(query)) ?? (yield* notFound(command, query))
  })
