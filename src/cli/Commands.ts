/**
 * The `automarket` command line, as `@effect/cli` commands over the `ProviderRegistry`: the
 * root command and its groups, one file each under `commands/`. The commands need only the
 * registry (and the platform), so tests run them in-process against a registry of test
 * providers; `main.ts` supplies the real one.
 *
 * What `@effect/cli` prints itself goes through a console of its own (`parserConsole`): its
 * account of bad arguments is not printed (the `ValidationError` fails the command and `main.ts`
 * prints it as the one line every failure is), and its help is plain text into a pipe. The
 * commands print through the console they were given.
 *
 * @module
 */
import * as Command from "@effect/cli/Command"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Costs from "./commands/Costs.js"
import * as Demo from "./commands/Demo.js"
import * as Generate from "./commands/Generate.js"
import * as Jobs from "./commands/Jobs.js"
import * as Keys from "./commands/Keys.js"
import * as Media from "./commands/Media.js"
import * as Providers from "./commands/Providers.js"
import * as Serve from "./commands/Serve.js"
import * as Services from "./commands/Services.js"
import * as Worker from "./commands/Worker.js"

/** The root command with its subcommands, in the order `--help` lists them. */
export const root = Command.make("automarket").pipe(
  Command.withDescription("Every AI media service behind one typed interface"),
  Command.withSubcommands([
    Providers.providers,
    Providers.models,
    Media.speak,
    Media.transcribe,
    Media.compose,
    Generate.generate,
    Jobs.jobs,
    Keys.keys,
    Costs.costs,
    Serve.serve,
    Worker.worker,
    Services.services,
    Demo.demo
  ])
)

/**
 * Whether output is plain text, without ANSI styles: stdout is not a terminal (a pipe, a file) or
 * `NO_COLOR` is set to anything but the empty string (https://no-color.org).
 */
export const plainOutput = (stdoutIsTTY: boolean | undefined, noColor: string | undefined): boolean =>
  stdoutIsTTY !== true || (noColor ?? "") !== ""

// The escape sequences of ANSI styles and cursor moves (CSI ... final byte).
const ansiEscape = /\u001b\[[0-9;?]*[ -/]*[@-~]/g

/** `text` without its ANSI escape sequences. */
export const stripAnsi = (text: string): string => text.replace(ansiEscape, "")

/**
 * The console `@effect/cli` prints through while it parses and answers `--help`, `--version` and
 * `--completions`: what it would print on stderr (bad arguments, as a help document followed by a
 * blank line) is dropped, since the `ValidationError` it fails with is printed by `main.ts`; what
 * it prints on stdout loses its ANSI styles when `plain`.
 */
export const parserConsole = (console: Console.Console, plain: boolean): Console.Console => ({
  ...console,
  error: () => Effect.void,
  log: (...args) => console.log(...(plain ? args.map((arg) => (typeof arg === "string" ? stripAnsi(arg) : arg)) : args))
})

const app = { name: "automarket", version: "0.1.0" } as const

/** Run the command line on `argv` (as `process.argv`: node, script, arguments...). */
export const run = (argv: ReadonlyArray<string>) =>
  Effect.flatMap(Effect.console, (console) => {
    // The commands get the console in use back: only the parser's own printing is changed.
    const commands = Command.transformHandler(root, (handler) => Effect.withConsole(handler, console))
    return Command.run(commands, app)(argv).pipe(Effect.withConsole(parserConsole(console, plainOutput(process.stdout.isTTY, process.env.NO_COLOR))))
  })
