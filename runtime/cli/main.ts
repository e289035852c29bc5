/**
 * The `pipeline` command line: run, plan, show, ls, verify, gc, fsck.
 * Exit codes: 0 success, 1 a node failed (or fsck found problems it did not repair),
 * 2 usage or configuration error, or a run log that needs `pipeline fsck --repair`.
 */
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { parseArgs } from "node:util"
import type { Json } from "../../dsl/Artifact.ts"
import type * as Pipeline from "../../dsl/Pipeline.ts"
import { ArtifactStore, directoryProblem } from "../ArtifactStore.ts"
import * as CacheKey from "../CacheKey.ts"
import { ConfigError, reasonOf } from "../Errors.ts"
import { Executor } from "../Executor.ts"
import { layout } from "../internal/StoreLayout.ts"
import { RunLog, type NodeRecord } from "../RunLog.ts"
import { Observer } from "../Observer.ts"
import * as Runner from "../Runner.ts"
import * as TensorBackend from "../TensorBackend.ts"
import { type Options, runOptions, selectionFlags, storeFlag, storeRoot } from "./Options.ts"
import * as Render from "./Render.ts"
import * as Replay from "./Replay.ts"
import { formatValue, maxShownOutputs, shortHash, type ShownOutput, showOutput, table, write as writeSummary } from "./Summary.ts"

/** Where the CLI writes; tests pass buffers. */
export interface Console {
  readonly out: Render.Output & { readonly isTTY?: boolean | undefined }
  readonly err: { readonly write: (text: string) => void }
}

const selectionHelp = `  --seeds 0,1,2          build the pipeline once per seed (default 0)
  --set node.param=value override a param of every node with that name (repeatable)
  --force node           rerun that node even when cached (repeatable)
  --backend NAME         tensor backend: ${TensorBackend.names.join(", ")} (default $ABLATE_BACKEND or wasm)
  --store DIR            artifact store (default .ablate/ in the working directory)
  --json                 machine-readable output`

const commands = {
  run: {
    options: runOptions,
    usage: `pipeline run <file> [options]

Plan the pipeline, reuse every cached node, run the rest, and print a summary of its outputs.

${selectionHelp}
  --concurrency N        nodes run at once (default 2)

With --json, prints one JSON event per line and ends with a summary object.
Exit status: 0 all nodes succeeded, 1 a node failed, 2 usage or configuration error.`
  },
  plan: {
    options: { ...selectionFlags, explain: { type: "boolean" } } as Options,
    usage: `pipeline plan <file> [options]

Show which nodes are cached (hit) and which would run (miss), without running anything.

${selectionHelp}
  --explain              for each miss, say which component of its cache key changed since it last ran`
  },
  show: {
    options: storeFlag,
    usage: `pipeline show <node|key|hash> [options]

Show the latest run of a node (by label), or the node that produced a cache key or artifact hash
(by prefix): its params, output, metrics and lineage.

  --store DIR            artifact store (default .ablate/)
  --json                 machine-readable output`
  },
  ls: {
    options: { ...storeFlag, limit: { type: "string" } } as Options,
    usage: `pipeline ls [options]

List past runs, newest first.

  --limit N              how many runs (default 20)
  --store DIR            artifact store (default .ablate/)
  --json                 machine-readable output`
  },
  verify: {
    options: { ...selectionFlags } as Options,
    usage: `pipeline verify <file> [options]

Recompute every cached node of the pipeline from scratch, in memory, and compare its output
bytes with the stored ones. Reports each node whose bytes differ (it is not deterministic, or
its cached result is stale). Writes nothing to the store.

${selectionHelp}
Exit status: 0 all cached nodes reproduced, 1 a node differs or failed, 2 usage error.`
  },
  gc: {
    options: { ...storeFlag, checkpoints: { type: "boolean" } } as Options,
    usage: `pipeline gc [options]

Remove stored objects that no cache key and no run refers to (sparing those written in the last
minute), key records whose objects are gone, checkpoints of completed nodes, and files left by
killed runs. Prints how many objects and checkpoints it removed, and their bytes.

  --checkpoints          also remove the checkpoints of nodes that did not complete (a killed run
                         then restarts them from step 1), except those a running node holds
  --store DIR            artifact store (default .ablate/)
  --json                 machine-readable output`
  },
  fsck: {
    options: { ...storeFlag, repair: { type: "boolean" } } as Options,
    usage: `pipeline fsck [options]

Check the store: every object against its name (the sha256 of its bytes), every key record
against its objects (present, with the recorded size, not corrupt), and the run log (SQLite's
integrity check, and the objects its runs name). Prints each problem with the file, what is
wrong and the node that made it, then counts.

  --repair               move corrupt objects to quarantine/, remove key records whose objects are
                         gone, short or corrupt (their nodes are recomputed by the next run), and
                         move a corrupt run log aside and start a new one
  --store DIR            artifact store (default .ablate/)
  --json                 machine-readable output

Exit status: 0 the store is sound (or every problem was repaired), 1 problems remain, 2 usage error.`
  }
} as const

type Command = keyof typeof commands

const mainUsage = `pipeline — typed, cached, resumable RLHF experiment pipelines

Usage:
  pipeline run <file>     run a pipeline (cached nodes are reused)
  pipeline plan <file>    show hits and misses without running
  pipeline show <node>    lineage, params and metrics of a node or artifact
  pipeline ls             past runs
  pipeline verify <file>  recompute cached nodes and report any whose bytes differ
  pipeline gc             remove unreferenced objects
  pipeline fsck           check every object, key record and the run log; --repair fixes them

Run \`pipeline <command> --help\` for a command's options.`

type Values = { readonly [name: string]: string | boolean | ReadonlyArray<string | boolean> | undefined }

const parseCommand = (command: Command, args: ReadonlyArray<string>) =>
  Effect.try({
    try: () => parseArgs({ args: [...args], options: commands[command].options, allowPositionals: true, strict: true }),
    catch: (error) => new ConfigError({ reason: `pipeline ${command}: ${reasonOf(error)}` })
  })

const parseSeeds = (value: string | undefined) =>
  Effect.suspend(() => {
    if (value === undefined) return Effect.succeed([0])
    const seeds = value.split(",").map((s) => s.trim())
    const bad = seeds.find((s) => !/^\d+$/.test(s))
    return bad === undefined
      ? Effect.succeed([...new Set(seeds.map(Number))])
      : Effect.fail(new ConfigError({ reason: `--seeds ${value}: "${bad}" is not a non-negative integer (example: --seeds 0,1,2)` }))
  })

const parseOverride = (text: string): Effect.Effect<Pipeline.Override, ConfigError> => {
  const eq = text.indexOf("=")
  const target = eq < 0 ? text : text.slice(0, eq)
  const dot = target.lastIndexOf(".")
  if (eq < 0 || dot <= 0 || dot === target.length - 1) {
    return Effect.fail(new ConfigError({ reason: `--set ${text}: expected node.param=value (example: --set rm.steps=500)` }))
  }
  const raw = text.slice(eq + 1)
  let value: unknown = raw
  try {
    value = JSON.parse(raw)
  } catch {
    // Not JSON: the value is the string as typed.
  }
  return Effect.succeed({ node: target.slice(0, dot), field: target.slice(dot + 1), value })
}

const positiveInt = (flag: string, value: string | undefined, fallback: number) =>
  value === undefined
    ? Effect.succeed(fallback)
    : /^[1-9]\d*$/.test(value)
    ? Effect.succeed(Number(value))
    : Effect.fail(new ConfigError({ reason: `--${flag} ${value}: expected a positive integer` }))

const selectionOf = (values: Values) =>
  Effect.gen(function*() {
    const seeds = yield* parseSeeds(values["seeds"] as string | undefined)
    const overrides = yield* Effect.forEach((values["set"] as ReadonlyArray<string> | undefined) ?? [], parseOverride)
    const backendText = (values["backend"] as string | undefined) ?? process.env["ABLATE_BACKEND"]
    const backend = backendText === undefined || backendText === ""
      ? TensorBackend.defaultName
      : yield* TensorBackend.parse(backendText, values["backend"] === undefined ? "ABLATE_BACKEND" : "--backend")
    yield* TensorBackend.check(backend)
    return {
      selection: {
        seeds,
        overrides,
        force: (values["force"] as ReadonlyArray<string> | undefined) ?? [],
        env: TensorBackend.env(backend, yield* Observer)
      } satisfies Runner.Selection,
      backend
    }
  })

/** The one positional argument of a command that takes one (`what` it is, for the messages). */
const oneArgument = (command: Command, what: string, positionals: ReadonlyArray<string>) =>
  positionals.length === 1
    ? Effect.succeed(positionals[0]!)
    : Effect.fail(
      new ConfigError({
        reason: positionals.length === 0
          ? `pipeline ${command}: missing ${what} (usage: ${commands[command].usage.split("\n")[0]})`
          : `pipeline ${command}: unexpected argument "${positionals[1]}" (expected one ${what})`
      })
    )

const fileArgument = (command: Command, positionals: ReadonlyArray<string>) => oneArgument(command, "pipeline file", positionals)

/** For a command that takes no positional argument. */
const noArguments = (command: Command, positionals: ReadonlyArray<string>) =>
  positionals.length === 0
    ? Effect.void
    : Effect.fail(new ConfigError({ reason: `pipeline ${command}: unexpected argument "${positionals[0]}" (it takes none)` }))

/**
 * The store directory the flags name, as an absolute path. A path that is, or lies under,
 * something other than a directory is a configuration error, reported before any command
 * reads or writes the store.
 */
const storeOf = (values: Values) =>
  Effect.suspend(() => {
    const given = storeRoot(values)
    const root = path.resolve(given)
    const problem = directoryProblem(root)
    return problem === undefined
      ? Effect.succeed(root)
      : Effect.fail(
        new ConfigError({
          reason: `${values["store"] === undefined ? `store ${given} (the default; choose another with --store)` : `--store ${given}`}: ${problem}`
        })
      )
  })

const storeLayers = (root: string) => Layer.mergeAll(ArtifactStore.layer(root), RunLog.layer(root))

/**
 * The start `run` and `verify` share: the pipeline file, the selection, the command's
 * own options (parsed before the pipeline loads, so a bad one fails fast), the
 * prepared graph (with what preparing it depended on, when the process is observed:
 * see Replay.ts), and the layers that execute it (the store and the in-process executor
 * on the selected backend).
 */
const prepareCommand = <A>(
  command: Command,
  values: Values,
  positionals: ReadonlyArray<string>,
  root: string,
  own: Effect.Effect<A, ConfigError>
) =>
  Effect.gen(function*() {
    const file = yield* fileArgument(command, positionals)
    const { selection, backend } = yield* selectionOf(values)
    const options = yield* own
    const prepared = yield* Runner.prepare(file, selection)
    return { prepared, options, selection, layers: Layer.mergeAll(storeLayers(root), Executor.inProcess(backend)) }
  })

const runCommand = (values: Values, positionals: ReadonlyArray<string>, root: string, console: Console, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const { prepared, options: concurrency, selection, layers } = yield* prepareCommand(
      "run",
      values,
      positionals,
      root,
      positiveInt("concurrency", values["concurrency"] as string | undefined, 2)
    )
    // the store's layers serve the run, the outputs shown and the replay record alike
    return yield* Effect.gen(function*() {
      const json = values["json"] === true
      const started = performance.now()
      const renderer = Render.make(
        Render.modeOf(json, console.out),
        console.out,
        prepared.graph.nodes.map((n) => n.label)
      )
      const outcome = yield* Runner.execute(prepared, { concurrency, onEvent: renderer.onEvent, argv: args.join(" ") }).pipe(
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
        { pipeline: prepared.graph.pipeline, file: prepared.file, nodes, outputs, forced: selection.force.length > 0 },
        prepared.observation
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
        notReplayable: "notReplayable" in replay ? replay.notReplayable : undefined
      })
    }).pipe(Effect.provide(layers))
  })

const planCommand = (values: Values, positionals: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    const file = yield* fileArgument("plan", positionals)
    const { selection } = yield* selectionOf(values)
    const prepared = yield* Runner.prepare(file, selection)
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

const lineage = (entry: NodeRecord, depth: number, seen: Set<string>): Effect.Effect<Array<string>, never, RunLog> =>
  Effect.gen(function*() {
    const runLog = yield* RunLog
    const lines: Array<string> = []
    for (const [name, input] of Object.entries(entry.inputs)) {
      lines.push(`${"  ".repeat(depth)}${name} ← ${input.label} ${shortHash(input.hash)}`)
      if (input.hash === undefined || seen.has(input.hash)) continue
      seen.add(input.hash)
      const upstream = (yield* runLog.find(input.hash).pipe(Effect.orElseSucceed(() => [])))[0]
      if (upstream !== undefined) lines.push(...(yield* lineage(upstream, depth + 1, seen)))
    }
    return lines
  })

const showCommand = (values: Values, positionals: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    const query = yield* oneArgument("show", "node label, cache key or artifact hash", positionals)
    const runLog = yield* RunLog
    const store = yield* ArtifactStore
    const entry = (yield* runLog.find(query)).find((e) => e.status !== "failed") ?? (yield* runLog.find(query))[0]
    if (entry === undefined) {
      return yield* new ConfigError({ reason: `pipeline show: no node, key or artifact matching "${query}" in ${store.root}` })
    }
    const record = entry.key === undefined ? undefined : yield* store.lookup(entry.key)
    if (values["json"] === true) {
      console.out.write(`${JSON.stringify({ ...entry, output: record?.output ?? null })}\n`)
      return 0
    }
    const params = Object.entries(entry.params as Record<string, Json>).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ")
    const metrics = Object.entries(entry.metrics).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ")
    const output = record?.output
    const lines = [
      `${entry.label}  (${entry.kind})  run ${entry.runId} of ${entry.pipeline}, ${entry.startedAt}`,
      `  status   ${entry.status}${entry.status === "ran" ? ` in ${(entry.durationMs / 1000).toFixed(2)}s` : ""}${entry.error === undefined ? "" : `: ${entry.error}`}`,
      `  key      ${entry.key ?? "-"}`,
      `  output   ${output === undefined ? "-" : `${output.type} (${output.format}, ${output.bytes} bytes) ${output.hash}`}`,
      ...(output === undefined ? [] : [`           ${layout(store.root).objectPath(output.hash)}`]),
      `  params   ${params || "-"}`,
      `  metrics  ${metrics || "-"}`,
      "  lineage",
      ...(yield* lineage(entry, 2, new Set())).map((line) => `  ${line}`)
    ]
    console.out.write(`${lines.join("\n")}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))

const lsCommand = (values: Values, positionals: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    yield* noArguments("ls", positionals)
    const limit = yield* positiveInt("limit", values["limit"] as string | undefined, 20)
    const runs = yield* (yield* RunLog).runs(limit)
    if (values["json"] === true) {
      console.out.write(`${runs.map((r) => JSON.stringify(r)).join("\n")}${runs.length > 0 ? "\n" : ""}`)
      return 0
    }
    if (runs.length === 0) {
      console.out.write("no runs yet\n")
      return 0
    }
    console.out.write(`${table([
      ["run", "pipeline", "started", "status", "nodes", "ran", "cached", "failed", "file"],
      ...runs.map((r) => [
        String(r.id), r.pipeline, r.startedAt, r.replayOf === null ? r.status : `${r.status} (replayed run ${r.replayOf})`,
        String(r.nodes), String(r.ran ?? 0), String(r.cached ?? 0),
        String(r.failed ?? 0), r.file
      ])
    ])}\n`)
    return 0
  }).pipe(Effect.provide(storeLayers(root)))

const verifyCommand = (values: Values, positionals: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    const { prepared, layers } = yield* prepareCommand("verify", values, positionals, root, Effect.void)
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

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

const gcCommand = (values: Values, positionals: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    yield* noArguments("gc", positionals)
    const store = yield* ArtifactStore
    const keys = yield* store.keys()
    const referenced = new Set(yield* (yield* RunLog).referencedHashes())
    for (const record of keys.values()) {
      referenced.add(record.output.hash)
      referenced.add(record.metrics.hash)
    }
    const removed = yield* store.gc(referenced, { checkpoints: values["checkpoints"] === true })
    console.out.write(
      values["json"] === true
        ? `${JSON.stringify(removed)}\n`
        : `removed ${count(removed.objects, "unreferenced object")} (${removed.bytes} bytes) and ${count(removed.checkpoints, "checkpoint")} (${removed.checkpointBytes} bytes) from ${store.root}\n`
    )
    return 0
  }).pipe(Effect.provide(storeLayers(root)))

const fsckCommand = (values: Values, positionals: ReadonlyArray<string>, root: string, console: Console) =>
  Effect.gen(function*() {
    yield* noArguments("fsck", positionals)
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
        `fsck ${store.root}: ${count(checked.objects, "object")}, ${count(checked.records, "key record")}, run log ${
          log.state === "sound" ? `with ${count(log.runs, "run")}` : log.state
        }`,
        ...problems.flatMap((p) => [
          `  ✗ ${p.path}: ${p.what}${p.node === undefined ? "" : ` (made by node ${p.node})`}`,
          ...(p.repaired === undefined ? [] : [`      repaired: ${p.repaired}`])
        ]),
        ...warnings.map((w) => `  ! ${w}`),
        problems.length === 0
          ? `no problems${warnings.length > 0 ? `, ${count(warnings.length, "warning")}` : ""}`
          : `${count(problems.length, "problem")}, ${problems.length - unrepaired} repaired${
            unrepaired > 0 && !repair ? " (run `pipeline fsck --repair` to repair them)" : ""
          }${warnings.length > 0 ? `, ${count(warnings.length, "warning")}` : ""}`
      ]
      console.out.write(`${lines.join("\n")}\n`)
    }
    return unrepaired > 0 ? 1 : 0
  }).pipe(Effect.provide(storeLayers(root)))

/** Run the CLI on `args` (without `node pipeline`); resolves to the exit code. */
export const main = (args: ReadonlyArray<string>, console: Console): Effect.Effect<number> => {
  const [name, ...rest] = args
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    console.out.write(`${mainUsage}\n`)
    return Effect.succeed(name === undefined ? 2 : 0)
  }
  if (!(name in commands)) {
    console.err.write(`pipeline: unknown command "${name}"\n\n${mainUsage}\n`)
    return Effect.succeed(2)
  }
  const command = name as Command
  return Effect.gen(function*() {
    const { values, positionals } = yield* parseCommand(command, rest)
    if (values["help"] === true) {
      console.out.write(`${commands[command].usage}\n`)
      return 0
    }
    const root = yield* storeOf(values)
    switch (command) {
      case "run":
        return yield* runCommand(values, positionals, root, console, args)
      case "plan":
        return yield* planCommand(values, positionals, root, console)
      case "show":
        return yield* showCommand(values, positionals, root, console)
      case "ls":
        return yield* lsCommand(values, positionals, root, console)
      case "verify":
        return yield* verifyCommand(values, positionals, root, console)
      case "gc":
        return yield* gcCommand(values, positionals, root, console)
      case "fsck":
        return yield* fsckCommand(values, positionals, root, console)
    }
  }).pipe(
    Effect.catch((error) => {
      const tag = (error as { _tag?: string })._tag
      // a damaged run log is the user's to repair (with fsck), like a configuration error
      const usage = tag === "ConfigError" || tag === "ParamError" || tag === "OverrideError" || tag === "BuildError" ||
        tag === "RunLogCorrupt"
      console.err.write(`error: ${reasonOf(error)}\n`)
      return Effect.succeed(usage ? 2 : 1)
    }),
    Effect.catchDefect((defect) => {
      console.err.write(`internal error: ${reasonOf(defect)}\n`)
      return Effect.succeed(1)
    })
  )
}
