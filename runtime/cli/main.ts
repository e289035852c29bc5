/**
 * The `pipeline` command line: run, plan, show, verify, fsck here; ls, runs and gc in
 * RunsCommands.ts, results and report in ResultsCommands.ts, metrics and cat in
 * ExportCommands.ts, compare in CompareCommand.ts, worker in WorkerCommand.ts. Options.preParse
 * reads a plain invocation, effect/cli (Commands.ts) everything else (help, the version,
 * completions, usage errors); each command's body here gets its flags and arguments and
 * returns the exit code.
 * Exit codes: 0 success, 1 a node failed (or fsck found problems it did not repair),
 * 2 usage or configuration error, a run log that needs `pipeline fsck --repair`, a store
 * that a writing command (run, runs rm, gc, fsck --repair) cannot write, or a job queue whose
 * Redis server does not answer.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as os from "node:os"
import * as path from "node:path"
import type { Json } from "../../dsl/Artifact.ts"
import { ArtifactStore, ensureWritable, KeyRecordReads } from "../ArtifactStore.ts"
import * as CacheKey from "../CacheKey.ts"
import { ConfigError, reasonOf } from "../Errors.ts"
import { Executor } from "../Executor.ts"
import { JobQueue } from "../JobQueue.ts"
import * as Observed from "../Observer.ts"
import type * as KeyRecordFile from "../internal/KeyRecordFile.ts"
import * as NodeOutput from "../internal/NodeOutput.ts"
import { layout } from "../internal/StoreLayout.ts"
import { RunLog, type NodeRecord } from "../RunLog.ts"
import * as Runner from "../Runner.ts"
import { WorkerPool } from "../WorkerPool.ts"
import type * as Commands from "./Commands.ts"
import { catCommand, historyLines, historyShown, metricsCommand } from "./ExportCommands.ts"
import * as NodeLookup from "./NodeLookup.ts"
import { type CommandName, preParse, type Values } from "./Options.ts"
import * as Text from "./Text.ts"
import * as Render from "./Render.ts"
import * as Replay from "./Replay.ts"
import { compareCommand } from "./CompareCommand.ts"
import { reportCommand, resultsCommand } from "./ResultsCommands.ts"
import { gcCommand, lsCommand, runsCommand } from "./RunsCommands.ts"
import { positiveInt, selectionOf, storeLayers, storeOf } from "./Selection.ts"
import { formatValue, maxShownOutputs, shortHash, type ShownOutput, showOutput, write as writeSummary } from "./Summary.ts"
import { queueOf, workerCommand } from "./WorkerCommand.ts"

/** Where the CLI writes; tests pass buffers. */
export interface Console {
  /** `writeBytes` writes binary output (`pipeline cat --format parquet`); without it, only text is printed */
  readonly out: Render.Output & { readonly isTTY?: boolean | undefined; readonly writeBytes?: (bytes: Uint8Array) => void }
  readonly err: { readonly write: (text: string) => void }
}

/**
 * The start `run` and `verify` share: the pipeline file, the selection (with the target
 * nodes the command names), the command's own options (parsed before the pipeline loads,
 * so a bad one fails fast), the prepared graph (with what preparing it depended on, when
 * the process is observed: see Replay.ts), its tensor backend, and the layers that execute it
 * in process (the store and the in-process executor on that backend: `run` uses a worker pool).
 */
const prepareCommand = <A>(
  values: Values,
  file: string,
  targets: ReadonlyArray<string>,
  root: string,
  own: Effect.Effect<A, ConfigError>
) =>
  Effect.gen(function*() {
    const { selection, backend } = yield* selectionOf(values)
    const options = yield* own
    const prepared = yield* Runner.prepare(file, { ...selection, targets })
    return { prepared, options, selection, backend, layers: Layer.mergeAll(storeLayers(root), Executor.inProcess(backend)) }
  })

const runCommand = (values: Values, file: string, targets: ReadonlyArray<string>, root: string, console: Console, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { prepared, options: concurrency, selection, backend } = yield* prepareCommand(
      values,
      file,
      targets,
      root,
      positiveInt("concurrency", values["concurrency"] as string | undefined, os.availableParallelism())
    )
    // nodes that compute run in a pool of `concurrency` worker processes, started as needed, or
    // on the workers of a job queue, whose connection notices are the run's own output: on
    // stderr, or with --json a `notice` event among the others
    const json = values["json"] === true
    const notify = (text: string) => {
      if (json) console.out.write(Render.jsonLine({ type: "notice", text: text.trimEnd() }))
      else console.err.write(text)
    }
    const queue = yield* queueOf(values, "executor")
    const jobs = { file: path.resolve(prepared.file), seeds: selection.seeds, overrides: selection.overrides, backend }
    const executor = queue === undefined
      ? Executor.pool(jobs).pipe(Layer.provide(WorkerPool.layer({ size: concurrency, backend })))
      : Executor.queue(jobs).pipe(Layer.provide(JobQueue.layer({ ...queue, notify })))
    // the store's layers serve the run, the outputs shown and the replay record alike
    return yield* Effect.gen(function*() {
      const started = performance.now()
      const renderer = Render.make(
        Render.modeOf(json, console.out),
        console.out,
        prepared.graph.nodes.map((n) => ({ label: n.label, kind: n.node.kind.kind })),
        { concurrency }
      )
      const outcome = yield* Runner.execute(prepared, { concurrency, onEvent: renderer.onEvent, argv: args.join(" "), logs: root }).pipe(
        Effect.ensuring(Effect.sync(renderer.finish))
      )
      const wallMs = performance.now() - started
      const outputs: Array<ShownOutput> = []
      // Output values are shown for small result sets (an evaluation per cell); a graph
      // whose outputs are hundreds of artifacts lists their hashes instead of decoding them all.
      if (prepared.graph.outputs.length <= maxShownOutputs) {
        for (const id of prepared.graph.outputs) {
          const value = yield* outcome.value(id)
          outputs.push(showOutput(id, prepared.graph.byId.get(id)!.label, value))
        }
      }
      const nodes = outcome.results.map((r) => ({
        id: r.id,
        label: r.label,
        kind: r.kind,
        status: r.status,
        key: r.key ?? null,
        hash: r.record?.output.hash ?? null,
        type: r.record?.output.type ?? "",
        durationMs: r.durationMs,
        error: r.error,
        metricsHash: r.record?.metrics.hash
      }))
      // A run that can be replayed leaves its record (nothing is recorded with --force:
      // a forced rerun is asked for precisely because the cache is not trusted).
      const replay = Replay.recordOf(
        root,
        { pipeline: prepared.graph.pipeline, file: prepared.file, nodes, outputs, results: outcome.table, forced: selection.force.length > 0 },
        prepared.observation,
        outcome.keyRecordRead
      )
      if ("record" in replay) {
        yield* (yield* RunLog).remember(Replay.signature(args, process.cwd()), outcome.runId, JSON.stringify(replay.record))
      }
      return writeSummary(console.out, json, {
        pipeline: prepared.graph.pipeline,
        runId: outcome.runId,
        wallMs,
        nodes,
        outputs,
        notReplayable: "notReplayable" in replay ? replay.notReplayable : undefined,
        results: outcome.table
      })
    }).pipe(Effect.provide(Layer.mergeAll(storeLayers(root), executor)))
  })

const planCommand = (values: Values, file: string, targets: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    const { selection } = yield* selectionOf(values)
    const prepared = yield* Runner.prepare(file, { ...selection, targets })
    const { plan } = yield* Runner.plan(prepared).pipe(Effect.provide(storeLayers(root)))
    const explain = values["explain"] === true
    if (values["json"] === true) {
      console.out.write(`${JSON.stringify({
        pipeline: prepared.graph.pipeline,
        nodes: plan.nodes.map((n) => ({
          id: n.id,
          label: n.label,
          kind: prepared.graph.byId.get(n.id)!.node.kind.kind,
          status: n.status,
          reasons: n.reasons,
          key: n.key ?? null,
          changes: n.changes.map((c) => ({ ...c, text: CacheKey.describe(c) })),
          upstreamMisses: n.upstreamMisses
        }))
      })}\n`)
      return 0
    }
    const misses = plan.nodes.filter((n) => n.status === "miss").length
    const width = Math.min(40, Math.max(...plan.nodes.map((n) => n.label.length)))
    const lines = [`${prepared.graph.pipeline}: ${plan.nodes.length} nodes, ${plan.nodes.length - misses} cached, ${misses} to run`]
    for (const n of plan.nodes) {
      const kind = prepared.graph.byId.get(n.id)!.node.kind.kind
      lines.push(`  ${n.status === "hit" ? "✓" : "✗"} ${n.label.padEnd(width)}  ${n.status === "hit" ? "hit " : "miss"}  ${kind}${
        n.status === "miss" ? `  (${n.reasons.join(", ")})` : ""
      }`)
      if (!explain || n.status === "hit") continue
      for (const change of n.changes) lines.push(`      ${CacheKey.describe(change)}`)
      if (n.upstreamMisses.length > 0) lines.push(`      upstream will run: ${n.upstreamMisses.join(", ")}`)
      if (n.reasons.includes("forced")) lines.push("      forced with --force")
      if (n.reasons.includes("new")) lines.push("      never ran in this pipeline before")
      if (n.reasons.length === 0) lines.push("      same key components as its last run, but the store no longer holds its result")
    }
    console.out.write(`${lines.join("\n")}\n`)
    return 0
  })

/** How many of its last lines `show` prints of a node's log. */
const logTailLines = 20

/** A failed node's stack down to where Effect's runtime called its code (the frames below are the runtime's). */
const nodeFrames = (stack: string): Array<string> => {
  const lines = stack.split("\n")
  const runtime = lines.findIndex((line) => /^\s+at .*node_modules[\\/]effect[\\/]/.test(line))
  return runtime < 0 ? lines : lines.slice(0, runtime)
}

/**
 * The inputs of a node entry and theirs, as its run recorded them: each input is the entry of
 * the same run with that label (not whichever node last made byte-identical output). Logs written
 * before runs kept every entry fall back to the latest entry that made the input's bytes.
 */
const lineage = (entry: NodeRecord, depth: number, seen: Set<string>): Effect.Effect<Array<string>, never, RunLog> =>
  Effect.gen(function*() {
    const runLog = yield* RunLog
    const sameRun = new Map((yield* runLog.nodesOf(entry.runId).pipe(Effect.orElseSucceed(() => []))).map((e) => [e.label, e]))
    const lines: Array<string> = []
    for (const [name, input] of Object.entries(entry.inputs)) {
      lines.push(`${"  ".repeat(depth)}${name} ← ${input.label} ${shortHash(input.hash)}`)
      if (input.hash === undefined || seen.has(`${entry.runId}:${input.label}`)) continue
      seen.add(`${entry.runId}:${input.label}`)
      const upstream = sameRun.get(input.label) ?? (yield* runLog.find(input.hash).pipe(Effect.orElseSucceed(() => [])))[0]
      if (upstream !== undefined) lines.push(...(yield* lineage(upstream, depth + 1, seen)))
    }
    return lines
  })

/** The run that computed a cached entry's key (the latest that ran it), if the log still has it. */
const computedBy = (entry: NodeRecord) =>
  Effect.gen(function*() {
    if (entry.status !== "cached" || entry.key === undefined) return undefined
    const entries = yield* (yield* RunLog).find(entry.key)
    return entries.find((e) => e.status === "ran" && e.key === entry.key)?.runId
  })

const showCommand = (values: Values, query: string, root: string, console: Console) =>
  Effect.gen(function*() {
    const store = yield* ArtifactStore
    const entry = yield* NodeLookup.entryOf("show", query)
    const record = entry.key === undefined ? undefined : yield* store.lookup(entry.key)
    // a cached entry shows the log of the run that computed its key
    const logFile = entry.log !== undefined
      ? path.join(store.root, entry.log)
      : entry.key === undefined
      ? undefined
      : layout(store.root).logPath(entry.key)
    const log = logFile === undefined ? undefined : NodeOutput.tail(logFile, logTailLines)
    const history = yield* historyShown(entry)
    if (values["json"] === true) {
      console.out.write(`${JSON.stringify({
        ...entry,
        output: record?.output ?? null,
        metricHistory: history ?? null,
        logFile: log === undefined ? null : logFile,
        logTail: log?.lines ?? []
      })}\n`)
      return 0
    }
    const computed = yield* computedBy(entry).pipe(Effect.orElseSucceed(() => undefined))
    const params = Object.entries(entry.params as Record<string, Json>).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ")
    const metrics = Object.entries(entry.metrics).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ")
    const output = record?.output
    const lines = [
      `${entry.label}  (${entry.kind})  run ${entry.runId} of ${entry.pipeline}, ${entry.startedAt}`,
      `  status   ${entry.status}${entry.status === "ran" ? ` in ${(entry.durationMs / 1000).toFixed(2)}s` : ""}${
        computed === undefined ? "" : ` (computed by run ${computed})`
      }${entry.error === undefined ? "" : `: ${entry.error}`}`,
      `  key      ${entry.key ?? "-"}`,
      `  output   ${output === undefined ? "-" : `${output.type} (${output.format}, ${output.bytes} bytes) ${output.hash}`}`,
      ...(output === undefined ? [] : [`           ${layout(store.root).objectPath(output.hash)}`]),
      `  params   ${params || "-"}`,
      `  metrics  ${metrics || "-"}`,
      ...(history === undefined ? [] : historyLines(history, entry.label, " ".repeat(11))),
      "  lineage",
      ...(yield* lineage(entry, 2, new Set())).map((line) => `  ${line}`),
      ...(log === undefined ? [] : [`  log      ${logFile}${log.omitted ? ` (last ${log.lines.length} lines)` : ""}`, ...log.lines.map((line) => `    ${line}`)]),
      ...(entry.failure?.stack === undefined ? [] : ["  stack", ...nodeFrames(entry.failure.stack).map((line) => `    ${line}`)])
    ]
    console.out.write(`${lines.join("\n")}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))

const verifyCommand = (values: Values, file: string, targets: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    const { prepared, layers } = yield* prepareCommand(values, file, targets, root, Effect.void)
    const { checked, mismatches } = yield* Runner.verify(prepared, { concurrency: 1, onEvent: () => {} }).pipe(
      Effect.provide(layers)
    )
    if (values["json"] === true) {
      console.out.write(`${JSON.stringify({ checked, mismatches })}\n`)
    } else {
      const lines = mismatches.map((m) =>
        `  ✗ ${m.label}  (${m.kind})  stored ${shortHash(m.stored)}, recomputed ${m.error === undefined ? shortHash(m.recomputed) : `failed: ${m.error}`}`
      )
      console.out.write(
        `${prepared.graph.pipeline}: ${checked.length} cached nodes recomputed, ${mismatches.length} differ${lines.length > 0 ? `\n${lines.join("\n")}` : ""}\n`
      )
    }
    return mismatches.length > 0 ? 1 : 0
  })

const fsckCommand = (values: Values, root: string, console: Console) =>
  Effect.gen(function*() {
    const repair = values["repair"] === true
    const store = yield* ArtifactStore
    const checked = yield* store.check({ repair })
    const log = yield* (yield* RunLog).check({ repair, stored: (hash) => checked.intact.has(hash), recorded: (key) => checked.keys.has(key) })
    const relative = (file: string) => (path.isAbsolute(file) ? path.relative(store.root, file) : file)
    const problems = [
      ...checked.problems.map((p) => ({ ...p, path: relative(p.path) })),
      ...(log.state === "corrupt"
        ? [{
          path: relative(log.path),
          what: `the run log is corrupt (${log.reason})`,
          node: undefined,
          key: undefined,
          repaired: log.movedTo === undefined ? undefined : `moved to ${relative(log.movedTo)}; a new, empty run log replaces it`
        }]
        : [])
    ]
    // History whose bytes are gone, or a run log that is gone: reported, nothing to repair.
    const warnings = [
      ...(log.state === "missing" && checked.records > 0
        ? [`${relative(log.path)} is missing: the history of past runs is gone (cached results are kept; the next run starts a new log)`]
        : []),
      ...log.unrecorded.map((u) =>
        `key ${shortHash(u.key)}… of node "${u.label}" in the run log has no key record (removed: the node is recomputed by the next run)`
      ),
      ...log.dangling.map((d) =>
        `run ${d.runId} node "${d.label}" names object ${shortHash(d.hash)}…, which is no longer stored (rerun it to recompute it)`
      )
    ]
    const unrepaired = problems.filter((p) => p.repaired === undefined).length
    if (values["json"] === true) {
      console.out.write(`${JSON.stringify({
        store: store.root,
        objects: checked.objects,
        keyRecords: checked.records,
        runLog: { state: log.state, runs: log.runs },
        problems,
        repaired: problems.length - unrepaired,
        warnings
      })}\n`)
    } else {
      const lines = [
        `fsck ${store.root}: ${Text.count(checked.objects, "object")}, ${Text.count(checked.records, "key record")}, run log ${
          log.state === "sound" ? `with ${Text.count(log.runs, "run")}` : log.state
        }`,
        ...problems.flatMap((p) => [
          `  ✗ ${p.path}: ${p.what}${p.node === undefined ? "" : ` (made by node ${p.node})`}`,
          ...(p.repaired === undefined ? [] : [`      repaired: ${p.repaired}`])
        ]),
        ...warnings.map((w) => `  ! ${w}`),
        problems.length === 0
          ? `no problems${warnings.length > 0 ? `, ${Text.count(warnings.length, "warning")}` : ""}`
          : `${Text.count(problems.length, "problem")}, ${problems.length - unrepaired} repaired${
            unrepaired > 0 && !repair ? " (run `pipeline fsck --repair` to repair them)" : ""
          }${warnings.length > 0 ? `, ${Text.count(warnings.length, "warning")}` : ""}`
      ]
      console.out.write(`${lines.join("\n")}\n`)
    }
    return unrepaired > 0 ? 1 : 0
  }).pipe(Effect.provide(storeLayers(root)))

/** Each command's body, given the store its flags name (checked before the body runs). */
const handlers = (console: Console, args: ReadonlyArray<string>) => {
  type Body<E, R> = (values: Values, positionals: ReadonlyArray<string>, root: string) => Effect.Effect<number, E, R>
  const inStore = <E, R>(body: Body<E, R>) => (values: Values, positionals: ReadonlyArray<string>) =>
    Effect.flatMap(storeOf(values), (root) => body(values, positionals, root))
  // a command that writes the store is refused before any work when it cannot be written
  const writing = <E, R>(command: CommandName, body: Body<E, R>) =>
    inStore((values, positionals, root) => Effect.andThen(ensureWritable(root, command), body(values, positionals, root)))
  return {
    run: writing("run", (values, [file = "", ...targets], root) => runCommand(values, file, targets, root, console, args)),
    worker: (values: Values) => workerCommand(values, console.out),
    plan: inStore((values, [file = "", ...targets], root) => planCommand(values, file, targets, root, console)),
    show: inStore((values, [query = ""], root) => showCommand(values, query, root, console)),
    metrics: inStore((values, [query = ""], root) => metricsCommand(values, query, root, console)),
    cat: inStore((values, [query = ""], root) => catCommand(values, query, root, console)),
    ls: inStore((values, _, root) => lsCommand(values, root, console)),
    runs: writing("runs", (values, [, ...ids], root) => runsCommand(values, ids, root, console)),
    verify: inStore((values, [file = "", ...targets], root) => verifyCommand(values, file, targets, root, console)),
    results: inStore((values, [source = ""], root) => resultsCommand(values, source, root, console)),
    report: inStore((values, [source = ""], root) => reportCommand(values, source, root, console)),
    compare: inStore((values, [runA = "", runB = ""], root) => compareCommand(values, runA, runB, root, console)),
    gc: writing("gc", (values, _, root) => gcCommand(values, root, console)),
    fsck: inStore((values, _, root) =>
      values["repair"] === true ? Effect.andThen(ensureWritable(root, "fsck"), fsckCommand(values, root, console)) : fsckCommand(values, root, console)
    )
  } satisfies { readonly [C in CommandName]: unknown }
}

/**
 * Run the CLI on `args` (without `node pipeline`); resolves to the exit code. A plain
 * invocation goes straight to its command; anything else (help, version, completions,
 * --log-level, a usage error) to effect/cli, loaded only then (Commands.ts).
 */
export const main = (args: ReadonlyArray<string>, console: Console): Effect.Effect<number> => {
  const commands = handlers(console, args)
  const plain = preParse(args)
  // known even when the flags do not parse: a failed `--json` command reports its error as JSON too
  const json = args.includes("--json")
  const sink = { out: console.out.write, err: console.err.write, width: Text.widthOf(console.out, process.env["COLUMNS"]) }
  return (plain !== undefined
    ? commands[plain.command](plain.values, plain.positionals)
    : Effect.flatMap(Effect.promise((): Promise<typeof Commands> => import("./Commands.ts")), (cli) => cli.run(args, sink, commands))).pipe(
    // effect/cli has shown the usage error (or the help of `pipeline` alone)
    Effect.catchTag("ShowHelp", () => Effect.succeed(2)),
    Effect.catch((error) => {
      const tag = (error as { _tag?: string })._tag
      // a damaged run log is the user's to repair (with fsck), like a configuration error; so is
      // a store a writing command cannot write
      const usage = tag === "ConfigError" || tag === "ParamError" || tag === "OverrideError" || tag === "BuildError" ||
        tag === "RunLogCorrupt" || tag === "StoreUnavailable" || tag === "QueueUnavailable"
      console.err.write(`error: ${reasonOf(error)}\n`)
      if (json) console.out.write(Render.errorLine(error, "Error"))
      return Effect.succeed(usage ? 2 : 1)
    }),
    Effect.catchDefect((defect) => {
      console.err.write(`internal error: ${reasonOf(defect)}\n`)
      if (json) console.out.write(Render.errorLine(defect, "InternalError"))
      return Effect.succeed(1)
    })
  )
}

/**
 * Start the command `args`, with `observer` for what its preparation depends on (and the key
 * records read already, when the process keeps them: ArtifactStore.KeyRecordReads): its exit
 * code (130 if interrupted) and what interrupts it (running nodes stop, locks and temp files
 * are released, finished nodes stay cached).
 */
export const launch = (
  args: ReadonlyArray<string>,
  console: Console,
  observer: Observed.Observer,
  keyRecordReads?: KeyRecordFile.ReadCache
): { readonly code: Promise<number>; readonly interrupt: () => void } => {
  const fiber = Effect.runFork(
    main(args, console).pipe(Effect.provideService(Observed.Observer, observer), Effect.provideService(KeyRecordReads, keyRecordReads))
  )
  return {
    code: Effect.runPromise(Fiber.await(fiber)).then((exit) => (Exit.isSuccess(exit) ? exit.value : 130)),
    interrupt: () => void Effect.runFork(Fiber.interrupt(fiber))
  }
}
