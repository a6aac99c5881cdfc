/**
 * Where the command line's results go: text to stdout and progress to stderr (`CliOutput`, which
 * tests replace), and files, which are only ever seen whole. Every file the commands write (a
 * generated asset, a job's ticket, a transcript, the demo's video and subtitles) goes through
 * `writeAtomically`: it is written under a temporary name beside the target and renamed into place
 * when complete, so a failure, a Ctrl-C or a crash never leaves a truncated file under the name
 * the user asked for.
 *
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { WriteFailed } from "./Errors.js"
import type * as Progress from "./Progress.js"

/** Where the commands write: stdout for results, stderr for progress. */
export interface CliOutputService {
  /** Write result text (resolves when the text is handed to the stream, so deltas keep their order). */
  readonly stdout: (text: string) => Effect.Effect<void>
  /** The progress display's output (live when stderr is a terminal). */
  readonly progress: Progress.ProgressOutput
}

/** The output of the commands; the process's stdout and stderr when absent (tests provide one). */
export class CliOutput extends Context.Tag("automarket/cli/CliOutput")<CliOutput, CliOutputService>() {}

const processOutput: CliOutputService = {
  stdout: (chunk) => Effect.async<void>((resume) => void process.stdout.write(chunk, () => resume(Effect.void))),
  progress: { live: process.stderr.isTTY === true, write: (chunk) => void process.stderr.write(chunk) }
}

/** The output in use: the `CliOutput` given, else the process's stdout and stderr. */
export const output: Effect.Effect<CliOutputService> = Effect.map(Effect.serviceOption(CliOutput), Option.getOrElse(() => processOutput))

/** A file system call on behalf of the output `file`; what it throws becomes `WriteFailed`. */
export const attempt = <A>(file: string, f: () => A): Effect.Effect<A, WriteFailed> =>
  Effect.try({ try: f, catch: (cause) => new WriteFailed({ path: file, cause }) })

/**
 * Write `target` whole or not at all: `fill` writes the content to the temporary file it is
 * given (hidden, beside the target, so the rename stays on one file system), which is renamed
 * onto the target when `fill` succeeds and removed when it fails or is interrupted. The target's
 * folder is created if missing. Gives the target's absolute path.
 */
export const writeAtomically = <E, R>(
  target: string,
  fill: (temp: string) => Effect.Effect<void, E, R>
): Effect.Effect<string, E | WriteFailed, R> =>
  Effect.suspend(() => {
    const file = path.resolve(target)
    // A name of its own per write: two processes writing the same target do not share a temporary file.
    const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID().slice(0, 8)}.part`)
    return attempt(file, () => fs.mkdirSync(path.dirname(file), { recursive: true })).pipe(
      Effect.zipRight(fill(temp)),
      Effect.zipRight(attempt(file, () => fs.renameSync(temp, file))),
      // Removing can fail too (the folder was never made): the write's own failure is the one to report.
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(Effect.try(() => fs.rmSync(temp, { force: true }))))),
      Effect.as(file)
    )
  })

/** Write `content` to `target`, atomically. */
export const writeFile = (target: string, content: string | Uint8Array): Effect.Effect<string, WriteFailed> =>
  writeAtomically(target, (temp) => attempt(path.resolve(target), () => fs.writeFileSync(temp, content)))

/** Copy the file `source` to `target`, atomically. */
export const copyFile = (target: string, source: string): Effect.Effect<string, WriteFailed> =>
  writeAtomically(target, (temp) => attempt(path.resolve(target), () => fs.copyFileSync(source, temp)))
