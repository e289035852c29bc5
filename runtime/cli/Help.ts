/**
 * How the `pipeline` command shows what effect/cli hands it: help generated from the
 * command declarations (Options.ts), the version, and parse errors. Help is wrapped to the
 * terminal at word boundaries (Text.ts); errors go to stderr as one `error:` paragraph
 * naming the command, with a "did you mean" where effect/cli found a near name, and a
 * pointer to the command's help — not the whole help, which would bury the message.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { CliError, CliOutput, HelpDoc } from "effect/cli"
import { globalFlagDescriptions } from "./Options.ts"
import * as Text from "./Text.ts"

/** Where help, the version (stdout) and usage errors (stderr) are written, and how wide. */
export interface Sink {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly width: number
}

const section = (title: string, body: string) => `${title}\n${body}`

const argumentName = (arg: HelpDoc.ArgDoc) => `<${arg.name}>${arg.variadic ? "..." : ""}`

const flagRow = (flag: HelpDoc.FlagDoc): readonly [string, string] => [
  [...flag.aliases, `--${flag.name}`].join(", ") + (flag.type === "boolean" ? "" : ` ${flag.type}`),
  Option.getOrElse(flag.description, () => "")
]

// effect/cli's built-in flags, described as `pipeline` uses them
const globalFlagRow = (flag: HelpDoc.FlagDoc): readonly [string, string] => {
  const [names] = flagRow(flag)
  return [names, globalFlagDescriptions[flag.name] ?? flagRow(flag)[1]]
}

/** The help of one command (or of `pipeline` itself), as plain text fitted to `width`. */
export const render = (doc: HelpDoc.HelpDoc, width: number): string => {
  const sections = [section("USAGE", Text.wrap(`  ${doc.usage}`, width, 4))]
  if (doc.description !== "") sections.push(Text.wrap(doc.description, width))
  const args = doc.args ?? []
  if (args.length > 0) {
    sections.push(section("ARGUMENTS", Text.twoColumns(args.map((arg) => [argumentName(arg), Option.getOrElse(arg.description, () => "")]), width)))
  }
  if (doc.flags.length > 0) sections.push(section("FLAGS", Text.twoColumns(doc.flags.map(flagRow), width)))
  const global = doc.globalFlags ?? []
  if (global.length > 0) sections.push(section("GLOBAL FLAGS", Text.twoColumns(global.map(globalFlagRow), width)))
  for (const group of doc.subcommands ?? []) {
    sections.push(section(
      group.group ?? "COMMANDS",
      Text.twoColumns(group.commands.map((sub) => [sub.name, sub.shortDescription ?? sub.description]), width)
    ))
  }
  if (doc.examples !== undefined && doc.examples.length > 0) {
    sections.push(section("EXAMPLES", doc.examples.map((example) => Text.wrap(`  ${example.command}`, width, 4)).join("\n")))
  }
  if ((doc.subcommands ?? []).length > 0) {
    sections.push(Text.wrap("Run `pipeline help <command>` (or `pipeline <command> --help`) for a command's flags.", width))
  }
  return sections.join("\n\n")
}

const didYouMean = (suggestions: ReadonlyArray<string>) =>
  suggestions.length === 0 ? "" : ` (did you mean ${suggestions.map((s) => `"${s}"`).join(" or ")}?)`

/** One parse error as a sentence; `doc` is the help of the command it concerns. */
export const describe = (error: CliError.NonShowHelpErrors, doc: HelpDoc.HelpDoc): string => {
  const args = doc.args ?? []
  switch (error._tag) {
    case "UnknownSubcommand":
      return `unknown command "${error.subcommand}"${didYouMean(error.suggestions)}`
    case "UnrecognizedOption":
      return `unknown flag ${error.option}${didYouMean(error.suggestions)}`
    case "MissingArgument": {
      const arg = args.find((a) => a.name === error.argument)
      const what = arg === undefined ? "" : Option.getOrElse(Option.map(arg.description, (d) => `: ${d}`), () => "")
      return `missing <${error.argument}>${what} (usage: ${doc.usage})`
    }
    case "UnexpectedArgument":
      return `unexpected argument ${error.arguments.map((a) => JSON.stringify(a)).join(", ")} (${
        args.length === 0 ? "it takes none" : `expected one ${args.map(argumentName).join(" ")}`
      })`
    default:
      return error.message
  }
}

/** The presenter the CLI installs: help and version to stdout, usage errors to stderr. */
export const presenter = (sink: Sink): CliOutput.Presenter => ({
  present: (event) =>
    Effect.sync(() => {
      switch (event._tag) {
        case "Help":
          return sink.out(`${render(event.helpDoc, sink.width)}\n`)
        case "Version":
          return sink.out(`${event.name} ${event.version}\n`)
        case "InvalidInvocation": {
          const command = event.commandPath.join(" ")
          const lines = event.errors.map((error) => Text.wrap(`error: ${command}: ${describe(error, event.helpDoc)}`, sink.width, 2))
          const help = event.commandPath.length > 1 ? `pipeline help ${event.commandPath.slice(1).join(" ")}` : "pipeline --help"
          return sink.err(`${lines.join("\n")}\n${Text.wrap(`Run \`${help}\` for usage.`, sink.width)}\n`)
        }
      }
    })
})
