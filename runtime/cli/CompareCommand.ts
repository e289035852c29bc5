/**
 * `pipeline compare <runA> <runB>`: what changed between two runs of the run log, node by
 * node, and their results tables side by side (Compare.ts decides, CompareFormat.ts prints).
 * A run is named by its id as `pipeline ls` lists it, or `latest` / `previous` (the newest
 * run of the store and the one before it).
 */
import * as Effect from "effect/Effect"
import * as Compare from "../Compare.ts"
import { ConfigError } from "../Errors.ts"
import * as ResultsJson from "../ResultsJson.ts"
import { RunLog } from "../RunLog.ts"
import * as CompareFormat from "./CompareFormat.ts"
import type { Console } from "./main.ts"
import type { Values } from "./Options.ts"
import { formatOf, seedsOfArgv, seedsOfCoords, storeLayers } from "./Selection.ts"

/** How many of the latest run ids an unknown run id's error lists. */
const listedRuns = 5

/** The id a run argument names: a number, or `latest` / `previous` among the newest runs. */
const runIdOf = (argument: string, newest: ReadonlyArray<number>): number | undefined =>
  argument === "latest" ? newest[0] : argument === "previous" ? newest[1] : /^\d+$/.test(argument) ? Number(argument) : undefined

/** Why `argument` names no run of a store whose newest runs are `newest`. */
const unknownRun = (argument: string, newest: ReadonlyArray<number>): string => {
  const listed = newest.length === 0 ? "the store has no runs yet" : `the latest are ${newest.join(", ")}; pipeline ls lists them`
  if (argument === "latest" || argument === "previous") return `compare: no ${argument} run (${listed})`
  if (!/^\d+$/.test(argument)) return `compare: "${argument}" is not a run id: a run's number, latest or previous (${listed})`
  return `compare: no run ${argument} in this store (${listed})`
}

/** The run `argument` names, with its node entries and the results table it kept. */
const runData = (argument: string) =>
  Effect.gen(function*() {
    const runLog = yield* RunLog
    const newest = (yield* runLog.runs(listedRuns)).map((r) => r.id)
    const id = runIdOf(argument, newest)
    const run = id === undefined ? undefined : yield* runLog.run(id)
    if (run === undefined) return yield* new ConfigError({ reason: unknownRun(argument, newest) })
    const kept = yield* runLog.resultsOf(run.id)
    const nodes = yield* runLog.nodesOf(run.id)
    const seeds = seedsOfArgv(run.argv) ?? seedsOfCoords(nodes.map((node) => node.coords))
    return { run, nodes, seeds, results: kept === undefined ? undefined : ResultsJson.fromJson(kept) }
  })

export const compareCommand = (values: Values, runA: string, runB: string, root: string, console: Console) =>
  Effect.gen(function*() {
    const format = yield* formatOf(values, "compare", CompareFormat.formats, "table")
    const a = yield* runData(runA)
    const b = yield* runData(runB)
    console.out.write(`${CompareFormat.render(Compare.compare(a, b), format)}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))
