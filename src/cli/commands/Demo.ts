/**
 * `automarket demo [script.md] [--out demo.mp4] [--width W --height H]`: the main job (see
 * `demo/Demo.ts`) as a durable workflow on the state folder's engine (`demo/DemoWorkflow.ts`), with
 * a live progress display and a summary of which provider did each step and what it cost. Stopped
 * (Ctrl-C, a crash, a failed step) and run again with the same script and options, it continues
 * from its last finished step.
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

/** A frame size option: a positive number of pixels, refused in one line before anything runs. */
const pixels = (name: "width" | "height", fallback: number) =>
  Options.integer(name).pipe(
    Options.withDescription(`The video's ${name} in pixels (default ${fallback})`),
    Options.filterMap((n) => (n > 0 ? Option.some(n) : Option.none()), `--${name} must be a positive number of pixels`),
    Options.optional
  )

/** `automarket demo`. */
export const demo = Command.make(
  "demo",
  {
    script: Args.path({ name: "script.md" }).pipe(Args.withDescription("The script (default: the one shipped)"), Args.optional),
    out: Options.file("out").pipe(Options.withAlias("o"), Options.withDescription("The video to write"), Options.withDefault("demo.mp4")),
    width: pixels("width", 1280),
    height: pixels("height", 720)
  },
  ({ height, out, script, width }) =>
    Effect.gen(function* () {
      const file = Option.getOrElse(script, () => defaultScriptPath)
      // Checked first: a directory or a file of another user would otherwise be a defect of the read.
      yield* readable(file)
      const scriptText = yield* Effect.sync(() => fs.readFileSync(file, "utf8"))
      const parsed = parse(scriptText)
      if (parsed instanceof ScriptError) return yield* parsed
      const progress = yield* Progress.make({
        live: process.stderr.isTTY === true,
        write: (text) => void process.stderr.write(text)
      })
      // The workflow engine (cluster, SQL) is loaded by this command only (start-up time of every other command).
      const DemoWorkflow = yield* Effect.promise(() => import("../demo/DemoWorkflow.js"))
      const summary = yield* DemoWorkflow.run({
        script: parsed,
        scriptText,
        out,
        progress,
        ...(Option.isSome(width) ? { width: width.value } : {}),
        ...(Option.isSome(height) ? { height: height.value } : {})
      })
      yield* Console.log(formatSummary(summary))
    }).pipe(Effect.scoped)
).pipe(
  Command.withDescription(
    "Turn a script into a narrated, subtitled video (local engines unless keys are set); a demo that was stopped continues from its last finished step when run again with the same script and options"
  )
)
