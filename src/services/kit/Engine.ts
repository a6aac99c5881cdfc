/**
 * The engine runner: every engine process of the local services (flite, pocketsphinx, ffmpeg,
 * ffprobe, and the checks a service makes of them at start) is started here, with an argument
 * array, never a shell, through `@effect/platform`'s `Command`. A run that is interrupted (its
 * client went away, the service shuts down) kills the process and waits for it to exit.
 *
 * What a run writes on stdout is its answer and is kept whole; of stderr only the end is kept
 * (enough for an error message, bounded however much an engine logs), unless the caller reads
 * its results from stderr and asks for all of it.
 *
 * @module
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { ServiceStartFailed } from "./Errors.js"
import type { ServiceName } from "./ServerOptions.js"

/** One run of an engine. */
export interface Invocation {
  /** The engine's name in messages: `flite`, `pocketsphinx`, `ffmpeg`, `ffprobe`. */
  readonly engine: string
  /** The executable, a name looked up on PATH or a path. Default: `engine`. */
  readonly executable?: string | undefined
  readonly args: ReadonlyArray<string>
  /** The working directory (a job directory). Default: the service's. */
  readonly cwd?: string | undefined
}

/** How much of a run's stderr to keep. */
export interface RunOptions {
  /** `tail` (default): the last 64 KiB, for messages; `all`: everything (results read from stderr). */
  readonly stderr?: "tail" | "all"
}

/** What an engine printed. */
export interface EngineOutput {
  readonly stdout: string
  readonly stderr: string
}

const keptStderr = 64 * 1024

// The end of a message-sized text, marked as cut.
const tail = (text: string, max = 600): string => {
  const trimmed = text.trim()
  return trimmed.length > max ? `...${trimmed.slice(trimmed.length - max)}` : trimmed
}

/** An engine process could not be started or exited with an error. */
export class EngineError extends Data.TaggedError("EngineError")<{
  readonly engine: string
  /** The exit code when the process ran and failed; undefined when it could not be started. */
  readonly exitCode: number | undefined
  /** The end of what it wrote on stderr when it ran; why it could not be started otherwise. */
  readonly output: string
}> {
  override get message(): string {
    if (this.exitCode === undefined) return `${this.engine} could not be run: ${this.output}`
    const said = tail(this.output)
    return `${this.engine} exited with code ${this.exitCode}${said === "" ? "" : `: ${said}`}`
  }
}

const text = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, keep: "tail" | "all"): Effect.Effect<string, E, R> =>
  keep === "all"
    ? Stream.mkString(Stream.decodeText(stream))
    : Stream.runFold(Stream.decodeText(stream), "", (kept, chunk) => {
        const next = kept + chunk
        return next.length > keptStderr ? next.slice(next.length - keptStderr) : next
      })

/** Run an engine to completion. A non-zero exit fails with what it wrote on stderr (its end). */
export const run = (invocation: Invocation, options: RunOptions = {}): Effect.Effect<EngineOutput, EngineError, CommandExecutor.CommandExecutor> => {
  const command = Command.make(invocation.executable ?? invocation.engine, ...invocation.args)
  return Effect.scoped(
    Effect.gen(function* () {
      const process = yield* Command.start(invocation.cwd === undefined ? command : Command.workingDirectory(command, invocation.cwd))
      const [stdout, stderr, exitCode] = yield* Effect.all(
        [text(process.stdout, "all"), text(process.stderr, options.stderr ?? "tail"), process.exitCode],
        { concurrency: "unbounded" }
      )
      if (exitCode !== 0) return yield* new EngineError({ engine: invocation.engine, exitCode, output: stderr })
      return { stdout, stderr }
    })
  ).pipe(
    Effect.catchTag("SystemError", "BadArgument", (error) =>
      Effect.fail(new EngineError({ engine: invocation.engine, exitCode: undefined, output: error.message }))
    )
  )
}

/**
 * Whether an engine can be run at all, checked when `service` starts (`args` should make it exit
 * quickly). `anyExitCode` accepts an engine that only exits 0 when given work: started is enough.
 */
export const check = (
  service: ServiceName,
  invocation: Invocation,
  options: { readonly anyExitCode?: boolean } = {}
): Effect.Effect<EngineOutput, ServiceStartFailed, CommandExecutor.CommandExecutor> =>
  run(invocation).pipe(
    Effect.catchIf(
      (error) => options.anyExitCode === true && error.exitCode !== undefined,
      (error) => Effect.succeed({ stdout: "", stderr: error.output })
    ),
    Effect.mapError((error) => new ServiceStartFailed({ service, message: `${service}: ${error.message}` }))
  )
