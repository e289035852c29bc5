/**
 * The `pipeline` command line on effect/cli: the commands and flags of Options.ts become
 * effect/cli commands, which parse the arguments, generate help and shell completions,
 * print the version, suggest near names for unknown commands and flags, and set the log
 * level. A command's handler (main.ts) receives its flags as `Values` (the shape
 * Options.preParse gives for a plain invocation, which skips this module) and its
 * argument, and returns the exit code.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as FileSystem from "effect/FileSystem"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Path from "effect/Path"
import * as Ref from "effect/Ref"
import * as Stdio from "effect/Stdio"
import * as Terminal from "effect/Terminal"
import { Argument, CliConfig, CliError, CliOutput, Command, Flag, GlobalFlag } from "effect/cli"
import { ChildProcessSpawner } from "effect/process"
import * as fs from "node:fs"
import * as Help from "./Help.ts"
import { type ArgumentSpec, type CommandName, commandNames, commands, type CommandSpec, type FlagName, flags, type FlagSpec, type Values } from "./Options.ts"

/** Runs one command: its flags, its positional arguments in order; resolves to the exit code. */
export type Handler<E, R> = (values: Values, positionals: ReadonlyArray<string>) => Effect.Effect<number, E, R>

export type Handlers<E, R> = { readonly [C in CommandName]: Handler<E, R> }

/** The version `pipeline --version` prints: package.json's. */
export const version = (): string => {
  const parsed: unknown = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
  const value = typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined
  return typeof value === "string" ? value : "unknown"
}

const flagOf = (name: FlagName): Flag.Flag<Values[string]> => {
  const spec: FlagSpec = flags[name]
  const described = <A>(flag: Flag.Flag<A>) => {
    const named = spec.short === undefined ? flag : Flag.withAlias(flag, spec.short)
    return Flag.withDescription(spec.metavar === undefined ? named : Flag.withMetavar(named, spec.metavar), spec.description)
  }
  if (spec.type === "boolean") return described(Flag.withDefault(Flag.Boolean(name), false))
  if (spec.multiple === true) {
    return described(Flag.map(Flag.atLeast(Flag.String(name), 0), (all) => (all.length === 0 ? undefined : all)))
  }
  return described(Flag.map(Flag.optional(Flag.String(name)), Option.getOrUndefined))
}

/** A positional argument as effect/cli parses it, always as the list of its values (one, unless it repeats). */
const argumentOf = (spec: ArgumentSpec): Argument.Argument<ReadonlyArray<string>> => {
  const one = spec.choices === undefined ? Argument.String(spec.name) : Argument.Literals(spec.name, spec.choices)
  const described = Argument.withDescription(one, spec.description)
  return spec.repeats === undefined
    ? Argument.map(described, (value) => [value])
    : Argument.variadic(described, { min: spec.repeats.min })
}

const commandOf = <E, R>(name: CommandName, handler: Handler<E, R>, done: (code: number) => Effect.Effect<void>) => {
  const spec: CommandSpec = commands[name]
  const config = Object.fromEntries(spec.flags.map((flag) => [flag, flagOf(flag)]))
  return Command.make(
    name,
    { flags: config, positionals: (spec.arguments ?? []).map(argumentOf) },
    (input) => Effect.flatMap(handler(input.flags, input.positionals.flat()), done)
  ).pipe(
    Command.withDescription(spec.description),
    Command.withShortDescription(spec.summary),
    Command.withExamples((spec.examples ?? []).map((example) => ({ command: example })))
  )
}

/** effect/cli's built-in global flags, less `--wizard` (interactive prompts have no place in a pipeline command). */
const builtIns = [GlobalFlag.Help, GlobalFlag.Version, GlobalFlag.Completions, GlobalFlag.LogLevel]

/** What effect/cli needs to run; nothing here touches the file system or spawns. */
const environment = (sink: Help.Sink) =>
  Layer.mergeAll(
    FileSystem.layerNoop({}),
    Path.layer,
    Stdio.layerTest({}),
    Layer.succeed(
      Terminal.Terminal,
      Terminal.make({
        columns: Effect.succeed(sink.width),
        rows: Effect.succeed(24),
        size: Effect.die("pipeline does not watch the terminal size"),
        readInput: Effect.die("pipeline reads no terminal input"),
        readLine: Effect.die("pipeline reads no terminal input"),
        display: (text) => Effect.sync(() => sink.out(text))
      })
    ),
    Layer.succeed(ChildProcessSpawner.ChildProcessSpawner, ChildProcessSpawner.make(() => Effect.die("pipeline spawns no process through effect/cli"))),
    CliConfig.layer({ builtIns }),
    CliOutput.layerPresenter(Help.presenter(sink)),
    // completion scripts are printed with Console.log
    Layer.succeed(Console.Console, {
      ...globalThis.console,
      log: (...parts: ReadonlyArray<unknown>) => sink.out(`${parts.join(" ")}\n`),
      error: (...parts: ReadonlyArray<unknown>) => sink.err(`${parts.join(" ")}\n`)
    })
  )

/**
 * The `pipeline` command: one subcommand per entry of Options.ts, each running its handler
 * and handing its exit code to `done`, and `help [command]`, which runs `rerun` with
 * `[command, "--help"]`.
 */
export const tree = <E, R>(
  handlers: Handlers<E, R>,
  done: (code: number) => Effect.Effect<void>,
  rerun: (args: ReadonlyArray<string>) => Effect.Effect<void, E | CliError.CliError, R>
) => {
  const help = Command.make(
    "help",
    { command: Argument.optional(Argument.withDescription(Argument.Literals("command", commandNames), "the command to describe")) },
    ({ command }) => rerun(Option.match(command, { onNone: () => ["--help"], onSome: (name) => [name, "--help"] }))
  ).pipe(
    Command.withDescription("Show the help of a command, as `pipeline <command> --help` does."),
    Command.withShortDescription("the help of a command")
  )
  return Command.make("pipeline").pipe(
    Command.withDescription("Typed, cached, resumable RLHF experiment pipelines."),
    Command.withSubcommands([...commandNames.map((name) => commandOf(name, handlers[name], done)), help])
  )
}

/**
 * Runs `pipeline <args>`: the handler of the command named, or help, the version or a
 * completion script. Resolves to the handler's exit code (0 for help, version and
 * completions); fails with the handler's error, or with effect/cli's `ShowHelp` once it
 * has presented a usage error (or the help of `pipeline` alone).
 */
export const run = <E, R>(args: ReadonlyArray<string>, sink: Help.Sink, handlers: Handlers<E, R>) =>
  Effect.gen(function*() {
    const code = yield* Ref.make(0)
    const runArgs = (argv: ReadonlyArray<string>): Effect.Effect<void, E | CliError.CliError, R> =>
      Command.runWith(root, { version: version() })(argv).pipe(Effect.provide(environment(sink)))
    const root = tree(handlers, (value) => Ref.set(code, value), runArgs)
    yield* runArgs(args)
    return yield* Ref.get(code)
  })
