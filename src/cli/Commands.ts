/**
 * The `automarket` command line, as `@effect/cli` commands over the `ProviderRegistry`: the
 * root command and its groups, one file each under `commands/`. The commands need only the
 * registry (and the platform), so tests run them in-process against a registry of test
 * providers; `main.ts` supplies the real one.
 *
 * @module
 */
import * as Command from "@effect/cli/Command"
import * as Demo from "./commands/Demo.js"
import * as Generate from "./commands/Generate.js"
import * as Jobs from "./commands/Jobs.js"
import * as Media from "./commands/Media.js"
import * as Providers from "./commands/Providers.js"
import * as Serve from "./commands/Serve.js"
import * as Services from "./commands/Services.js"

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
    Serve.serve,
    Services.services,
    Demo.demo
  ])
)

/** Run the command line on `argv` (as `process.argv`: node, script, arguments...). */
export const run = Command.run(root, { name: "automarket", version: "0.1.0" })
