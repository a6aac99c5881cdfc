/**
 * `automarket demo [script.md] [--out demo.mp4]`: the main job (see `demo/Demo.ts`), with a live
 * progress display and a summary of which provider did each step and what it cost.
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as Demo from "../demo/Demo.js"
import { defaultScriptPath, parse, ScriptError } from "../demo/Script.js"
import { price, table } from "../Format.js"
import { readable } from "../InputFiles.js"
import * as Progress from "../Progress.js"

/** The summary as text: one row a step, then the total. */
export const formatSummary = (summary: Demo.DemoSummary): string =>
  [
    table(
      ["STEP", "PROVIDER", "MODEL", "COST", "FELL BACK FROM"],
      summary.lines.map((line) => [line.step, line.provider, line.model, price(line.costUsd), line.fellBackFrom.join(", ")])
    ),
    "",
    `video:     ${summary.video} (${summary.duration.toFixed(2)} s)`,
    `subtitles: ${summary.srt}`,
    `total cost: ${price(summary.totalCostUsd)}`
  ].join("\n")

/** `automarket demo`. */
export const demo = Command.make(
  "demo",
  {
    script: Args.path({ name: "script.md" }).pipe(Args.withDescription("The script (default: the one shipped)"), Args.optional),
    out: Options.file("out").pipe(Options.withAlias("o"), Options.withDescription("The video to write"), Options.withDefault("demo.mp4"))
  },
  ({ out, script }) =>
    Effect.gen(function* () {
      const file = Option.getOrElse(script, () => defaultScriptPath)
      // Checked first: a directory or a file of another user would otherwise be a defect of the read.
      yield* readable(file)
      const parsed = parse(yield* Effect.sync(() => fs.readFileSync(file, "utf8")))
      if (parsed instanceof ScriptError) return yield* parsed
      const progress = yield* Progress.make({
        live: process.stderr.isTTY === true,
        write: (text) => void process.stderr.write(text)
      })
      const summary = yield* Demo.run({ script: parsed, out, progress })
      yield* Console.log(formatSummary(summary))
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Turn a script into a narrated, subtitled video (local engines unless keys are set)"))
