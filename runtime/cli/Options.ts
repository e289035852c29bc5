/**
 * The `pipeline` commands and their flags, declared once as plain data. Commands.ts turns
 * this table into effect/cli commands (parsing, help, completions, usage errors); the
 * `node:util` parseArgs spec of `preParse` is derived from it too, which reads a plain
 * invocation without loading effect/cli (and lets Replay.ts answer `pipeline run` before
 * Effect loads). One table serves both so the two parsers cannot drift apart.
 * Nothing here imports Effect: Replay's start-up stays light.
 */
import { parseArgs, type ParseArgsConfig } from "node:util"

/** A flag: its value (a string, or a switch), whether it repeats, its metavar and help line. */
export interface FlagSpec {
  readonly type: "string" | "boolean"
  readonly multiple?: true
  /** the value's placeholder in help (`DIR`, `N`) */
  readonly metavar?: string
  /** a one-letter alias (`-o`) */
  readonly short?: string
  readonly description: string
}

/** Every flag a command may take; a command names the ones it accepts. */
export const flags = {
  seeds: { type: "string", metavar: "LIST", description: "build the pipeline once per seed, e.g. 0,1,2 (default 0)" },
  set: {
    type: "string",
    multiple: true,
    metavar: "NODE.PARAM=VALUE",
    description: "override a param of every node with that name (repeatable)"
  },
  force: { type: "string", multiple: true, metavar: "NODE", description: "rerun that node even when cached (repeatable)" },
  backend: {
    type: "string",
    metavar: "NAME",
    // TensorBackend.names (not imported: it loads Effect; test/cli/commands.test.ts checks they agree)
    description: "tensor backend: wasm, cpu, tensorflow, tensorflow-gpu, webgpu (default $ABLATE_BACKEND or wasm)"
  },
  concurrency: {
    type: "string",
    metavar: "N",
    description: "nodes run at once (default: the number of cores): run: nodes with tensors (or marked heavy) run in a pool of N " +
      "worker processes; worker: the jobs it runs at once"
  },
  executor: {
    type: "string",
    metavar: "URL",
    description: "run the nodes that compute on the workers of a job queue on Redis (redis://host:6379; see pipeline worker), " +
      "or local: in this machine's worker pool (default $ABLATE_REDIS_URL, else local)"
  },
  redis: { type: "string", metavar: "URL", description: "the job queue's Redis server, redis://host:6379 (default $ABLATE_REDIS_URL)" },
  queue: {
    type: "string",
    metavar: "NAME",
    description: "the queue to serve: cpu (default; every node job may go there) or gpu (nodes with tensors go there while a gpu worker serves)"
  },
  explain: { type: "boolean", description: "for each miss, say which component of its cache key changed since it last ran" },
  limit: { type: "string", metavar: "N", description: "how many runs (default 20)" },
  "keep-last": {
    type: "string",
    metavar: "N",
    description: "first forget every run but the newest N (as pipeline runs rm does; runs in progress are kept), then collect what only they referred to"
  },
  checkpoints: {
    type: "boolean",
    description:
      "also remove the checkpoints of nodes that did not complete (a killed run then restarts them from step 1), except those a running node holds"
  },
  repair: {
    type: "boolean",
    description:
      "move corrupt objects to quarantine/, remove key records whose objects are gone, short or corrupt (their nodes are recomputed by the next run), and move a corrupt run log aside and start a new one"
  },
  format: {
    type: "string",
    metavar: "FORMAT",
    description: "results: table (default), md, csv or json; metrics: table (default), csv or json; " +
      "cat: csv (default for tables), json or parquet (a model: json)"
  },
  output: {
    type: "string",
    short: "o",
    metavar: "FILE",
    description: "the file to write, whole or not at all (report: default report.html; metrics, cat: default stdout)"
  },
  store: {
    type: "string",
    metavar: "DIR",
    description: "artifact store (default .ablate/ in the working directory; worker: the store's path each job names)"
  },
  json: { type: "boolean", description: "machine-readable output" }
} as const satisfies Readonly<Record<string, FlagSpec>>

export type FlagName = keyof typeof flags

/**
 * A positional argument. Only a command's last argument may repeat (`<node>...`); one with
 * `choices` takes one of those words (the action of `runs rm`).
 */
export interface ArgumentSpec {
  readonly name: string
  readonly description: string
  /** the argument repeats: at least `min` values */
  readonly repeats?: { readonly min: 0 | 1 }
  readonly choices?: ReadonlyArray<string>
}

/** A command: what it does, its positional arguments in order, and its flags. */
export interface CommandSpec {
  /** one line, for the list of commands */
  readonly summary: string
  /** paragraphs of its own help */
  readonly description: string
  readonly arguments?: ReadonlyArray<ArgumentSpec>
  readonly flags: ReadonlyArray<FlagName>
  readonly examples?: ReadonlyArray<string>
}

const selection = ["seeds", "set", "force", "backend", "store", "json"] as const satisfies ReadonlyArray<FlagName>
const storeOnly = ["store", "json"] as const satisfies ReadonlyArray<FlagName>
const fileOrRun: ArgumentSpec = { name: "file|run", description: "a pipeline file (with --seeds, --set), or the id of a run (pipeline ls lists them)" }
const pipelineFile: ArgumentSpec = { name: "file", description: "the pipeline file (a module whose default export is Pipeline.make(...))" }
const targets: ArgumentSpec = {
  name: "node",
  description: "only these nodes (a name: every seed and cell of it; or a label such as rm[seed=1]) and what they need (default: every node)",
  repeats: { min: 0 }
}

export const commands = {
  run: {
    summary: "run a pipeline (cached nodes are reused)",
    description: "Plan the pipeline, reuse every cached node, run the rest, and print a summary of its outputs. " +
      "Given nodes, only those and the nodes they need are planned and run.\n\n" +
      "With --json, prints one JSON event per line and ends with a summary object.\n" +
      "Exit status: 0 all nodes succeeded, 1 a node failed, 2 usage or configuration error.",
    arguments: [pipelineFile, targets],
    flags: [...selection, "concurrency", "executor"],
    examples: [
      "pipeline run pipelines/quickstart.ts",
      "pipeline run pipelines/quickstart.ts --seeds 0,1,2 --set rm.steps=500",
      "pipeline run pipelines/quickstart.ts rm --seeds 0,1",
      "pipeline run pipelines/quickstart.ts --seeds 0,1,2,3 --executor redis://10.0.0.5:6379"
    ]
  },
  worker: {
    summary: "run node jobs from a job queue on Redis, for pipeline run --executor",
    description: "Serve a job queue on Redis: take node jobs that pipeline run --executor redis://… sent, run them here in a " +
      "pool of worker processes (--concurrency at once) against the store every machine mounts, and report their " +
      "progress, prints and results back through the queue. Runs until Ctrl-C or SIGTERM, which stop the nodes running " +
      "here and hand their jobs back to the queue (another worker resumes them from their checkpoints).\n\n" +
      "With --json, prints one JSON event per line.\n" +
      "Exit status: 130 stopped by a signal, 2 usage error, or a Redis server that does not answer.",
    flags: ["redis", "queue", "store", "concurrency", "json"],
    examples: [
      "pipeline worker --redis redis://10.0.0.5:6379",
      "pipeline worker --redis redis://10.0.0.5:6379 --queue gpu --concurrency 1 --store /mnt/ablate"
    ]
  },
  plan: {
    summary: "show hits and misses without running",
    description: "Show which nodes are cached (hit) and which would run (miss), without running anything. " +
      "Given nodes, only those and the nodes they need.",
    arguments: [pipelineFile, targets],
    flags: [...selection, "explain"]
  },
  show: {
    summary: "lineage, params and metrics of a node or artifact",
    description: "Show the latest run of a node (by label), or the node that produced a cache key or artifact hash " +
      "(by prefix): its params, output, metrics and lineage.",
    arguments: [{ name: "node", description: "a node label, or a prefix of a cache key or artifact hash" }],
    flags: storeOnly
  },
  metrics: {
    summary: "every step of a node's per-step metrics, as a table, csv or json",
    description: "Print the per-step metrics a node recorded (its latest run, by label; or the node that produced a " +
      "cache key or artifact hash, by prefix): one row per step, a column per metric. --format csv keeps every " +
      "digit; --format json (or --json) gives {\"<metric>\": [{\"step\", \"value\"}, …]} with every point.\n\n" +
      "Exit status: 0 printed, 2 usage error, no such node, or a node that recorded no per-step metrics.",
    arguments: [{ name: "node", description: "a node label, or a prefix of a cache key or artifact hash" }],
    flags: ["format", "output", "store", "json"],
    examples: ["pipeline metrics rm", "pipeline metrics rm --format csv -o rm-metrics.csv"]
  },
  cat: {
    summary: "a node's output (or any stored object) exported: csv, json or parquet",
    description: "Export the output of a node (its latest run, by label; or the node that produced a cache key, by " +
      "prefix), or any stored object by a prefix of its hash (a node's metrics table too). A table prints as CSV " +
      "(default; lists as JSON arrays) or as a JSON array of rows, or is written as its Parquet file (-o FILE, or " +
      "stdout when it is not a terminal). A model prints as JSON: its config and each tensor's shape and size.\n\n" +
      "Exit status: 0 exported, 1 the stored object is corrupt, 2 usage error, no such node or object, or a format " +
      "its artifact does not take.",
    arguments: [{ name: "node|hash", description: "a node label, or a prefix of a cache key or of a stored object's hash" }],
    flags: ["format", "output", "store"],
    examples: ["pipeline cat labels | head", "pipeline cat labels --format parquet -o labels.parquet", "pipeline cat rm"]
  },
  ls: {
    summary: "past runs",
    description: "List past runs, newest first: pipeline, start, status, seeds, how many nodes ran, were cached and " +
      "failed, the first result of its results table, and its file. With --json, one object per run with its whole " +
      "results table.",
    flags: ["limit", ...storeOnly]
  },
  runs: {
    summary: "forget runs: pipeline runs rm <id>...",
    description: "Remove runs from the run log: their node entries, replay records and logs. What only they " +
      "referred to stays in the store until pipeline gc removes it; the cached results other runs use stay cached. " +
      "A run id that does not exist, or a run still in progress, is refused and nothing is removed.\n\n" +
      "Exit status: 0 removed, 2 usage error (nothing removed).",
    arguments: [
      { name: "action", choices: ["rm"], description: "rm: remove the runs" },
      { name: "id", repeats: { min: 1 }, description: "a run id, as pipeline ls lists them" }
    ],
    flags: storeOnly,
    examples: ["pipeline runs rm 3 4", "pipeline runs rm 3 && pipeline gc"]
  },
  verify: {
    summary: "recompute cached nodes and report any whose bytes differ",
    description: "Recompute every cached node of the pipeline (given nodes, of those and what they need) from " +
      "scratch, in memory, and compare its output bytes with the stored ones. Reports each node whose bytes differ (it is not deterministic, or " +
      "its cached result is stale). Writes nothing to the store.\n\n" +
      "Exit status: 0 all cached nodes reproduced, 1 a node differs or failed, 2 usage error.",
    arguments: [pipelineFile, targets],
    flags: selection
  },
  gc: {
    summary: "remove what no run refers to",
    description: "Remove the cached results only forgotten runs (pipeline runs rm, --keep-last) referred to — their " +
      "key records and logs — then stored objects that no kept key record and no run refers to (sparing those " +
      "written in the last minute), key records whose objects are gone, checkpoints of completed nodes, and files " +
      "left by killed runs. While a run is in progress, the key records of forgotten runs are kept (it may be " +
      "using them). Prints what it removed, and the bytes.",
    flags: ["keep-last", "checkpoints", ...storeOnly],
    examples: ["pipeline gc", "pipeline gc --keep-last 5"]
  },
  results: {
    summary: "the results table of a pipeline or a run: mean ± 95% CI over seeds, Δ vs the baseline",
    description: "Print the results table: one row per sweep cell (and split), each result metric a node declares " +
      "as its mean over seeds with a 95% Student-t interval, and its difference from the pipeline's baseline " +
      "cell with Welch's interval. Given a pipeline file, from the stored results of its nodes for these seeds " +
      "(nothing runs; nodes not yet computed are left out); given a run id (see pipeline ls), the table that " +
      "run kept.\n\n" +
      "Exit status: 0 a table was printed, 2 usage error or nothing to show.",
    arguments: [fileOrRun],
    flags: ["seeds", "set", "backend", "format", "store", "json"],
    examples: ["pipeline results pipelines/overoptimization.ts --seeds 0,1,2 --format md", "pipeline results 12 --format csv"]
  },
  report: {
    summary: "an HTML report of a pipeline or a run: results, charts, curves and the graph",
    description: "Write one self-contained HTML file (it opens offline): the results table; each result metric " +
      "against the sweep's main factor with interval bars; the reward–KL frontier when an output reports gold " +
      "reward, proxy reward and KL; training curves per cell (mean over seeds with a 95% band); and the " +
      "pipeline's graph with each node's params and cache status. Given a pipeline file, from what the store " +
      "holds for these seeds; given a run id, from that run.",
    arguments: [fileOrRun],
    flags: ["seeds", "set", "backend", "output", "store", "json"],
    examples: ["pipeline report pipelines/overoptimization.ts --seeds 0,1,2 -o overoptimization.html"]
  },
  compare: {
    summary: "what changed between two runs, node by node, and their results side by side",
    description: "Compare two runs of the run log: the nodes only one of them has, and for each node whose cache key " +
      "differs what changed (params, code files, upstream artifacts, backend); nodes with the same key are counted. " +
      "Then both results tables side by side: each cell's mean ± 95% CI in each run and the difference B − A with " +
      "Welch's 95% interval (where both runs pooled at least two seeds). --format md writes Markdown, --json (or " +
      "--format json) the whole comparison as data; csv is not a format of compare.\n\n" +
      "Exit status: 0 compared (also when nothing differs), 2 usage error or an unknown run.",
    arguments: [
      { name: "runA", description: "the first run: its id as pipeline ls lists it, latest or previous" },
      { name: "runB", description: "the second run, compared with the first (Δ = B − A)" }
    ],
    flags: ["format", "store", "json"],
    examples: ["pipeline compare 3 4", "pipeline compare previous latest --format md"]
  },
  fsck: {
    summary: "check every object, key record and the run log; --repair fixes them",
    description: "Check the store: every object against its name (the sha256 of its bytes), every key record " +
      "against its objects (present, with the recorded size, not corrupt), and the run log (SQLite's " +
      "integrity check, and the objects its runs name). Prints each problem with the file, what is " +
      "wrong and the node that made it, then counts.\n\n" +
      "Exit status: 0 the store is sound (or every problem was repaired), 1 problems remain, 2 usage error.",
    flags: ["repair", ...storeOnly]
  }
} as const satisfies Readonly<Record<string, CommandSpec>>

export type CommandName = keyof typeof commands

/** The command names, in the order help lists them. */
export const commandNames = Object.keys(commands) as ReadonlyArray<CommandName>

/** The help lines of the flags effect/cli adds to every command (its own are generic). */
export const globalFlagDescriptions: { readonly [name: string]: string } = {
  help: "show this help (also: pipeline help <command>)",
  version: "print the version of pipeline (package.json's)",
  completions: "print a completion script for that shell (docs/cli.md says how to install it)",
  "log-level":
    "Effect's minimum log level for the run: messages nodes and libraries log with Effect.log* below it are dropped (default info)"
}

/** The flags a command accepts, as `node:util`'s parseArgs takes them. */
export type ParseArgsOptions = NonNullable<ParseArgsConfig["options"]>

/** The parseArgs spec of a command, derived from the table. */
export const parseArgsOptions = (command: CommandName): ParseArgsOptions =>
  Object.fromEntries(commands[command].flags.map((name) => {
    const flag: FlagSpec = flags[name]
    return [name, {
      type: flag.type,
      ...(flag.multiple === true ? { multiple: true } : {}),
      ...(flag.short === undefined ? {} : { short: flag.short })
    }]
  }))

/** A command's flags by name, as parseArgs gives them: absent flags are undefined. */
export type Values = { readonly [name: string]: string | boolean | ReadonlyArray<string | boolean> | undefined }

/** A plain invocation of a command: its flags, and its positional arguments in order. */
export interface Invocation {
  readonly command: CommandName
  readonly values: Values
  readonly positionals: ReadonlyArray<string>
}

/** Whether `positionals` fit a command's arguments: their count, and the words of a choice. */
export const fitsArguments = (specs: ReadonlyArray<ArgumentSpec>, positionals: ReadonlyArray<string>): boolean => {
  const last = specs.at(-1)
  const fixed = last?.repeats === undefined ? specs.length : specs.length - 1
  const count = positionals.length === fixed ||
    (last?.repeats !== undefined && positionals.length >= fixed + last.repeats.min)
  return count && specs.every((spec, i) =>
    spec.choices === undefined || (positionals[i] !== undefined && spec.choices.includes(positionals[i]))
  )
}

const isCommand = (name: string | undefined): name is CommandName => name !== undefined && Object.hasOwn(commands, name)

/**
 * `pipeline <args>` parsed with the command's parseArgs spec, if it is a plain invocation:
 * a known command, only its own flags, and the arguments it takes. Anything else —
 * help, the version, completions, `--log-level`, and every usage error — is undefined, and
 * left to effect/cli (Commands.ts), which is loaded only then: a plain command starts
 * without it, and Replay.ts answers `run` before Effect loads at all.
 */
export const preParse = (args: ReadonlyArray<string>): Invocation | undefined => {
  const [command, ...rest] = args
  if (!isCommand(command)) return undefined
  try {
    const options = parseArgsOptions(command)
    const { values, positionals, tokens } = parseArgs({ args: rest, options, allowPositionals: true, strict: true, tokens: true })
    // a flag that does not repeat, given twice, is an error effect/cli reports (parseArgs would keep the last)
    const given = tokens.flatMap((token) => (token.kind === "option" ? [token.name] : []))
    const repeated = given.some((name, i) => options[name]?.multiple !== true && given.indexOf(name) !== i)
    const spec: CommandSpec = commands[command]
    return fitsArguments(spec.arguments ?? [], positionals) && !repeated ? { command, values, positionals } : undefined
  } catch {
    return undefined
  }
}

/** The store directory the flags name (default `.ablate/` in the working directory). */
export const storeRoot = (values: { readonly [name: string]: unknown }): string => {
  const store = values["store"]
  return typeof store === "string" ? store : ".ablate"
}
