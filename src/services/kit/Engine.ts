/**
 * The engine runner: every engine process of the local services (flite, pocketsphinx, ffmpeg,
 * ffprobe, and the checks a service makes of them at start) is started here, with an argument
 * array, never a shell, through `@effect/platform`'s `Command`.
 *
 * No run outlives its service's limits (`Limits`, a runner made with `runner`): a run that takes
 * longer than `timeout` is stopped and fails as timed out, and a run that is interrupted (its
 * client went away, the service shuts down) is stopped and waited for. Stopping sends SIGTERM to
 * the engine's process group (the Node executor starts every command as the leader of a group of
 * its own) and, when the engine is still there after `killGrace` (ffmpeg ignores a first SIGTERM
 * while it waits to reload a live playlist), SIGKILL to the group. The executor's own release
 * signals once and then waits for the exit without end, so it is never left to do the stopping.
 *
 * A command line longer than the system takes is refused before anything is spawned (the
 * services answer it as a job too large, not as `spawn E2BIG`).
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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { ServiceStartFailed } from "./Errors.js"
import { defaultEngineTimeout, type ServiceName } from "./ServerOptions.js"

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

/** How long engine runs may take, and how long a stopped engine gets before it is killed. */
export interface Limits {
  /** Longest one run may take; past it the engine is stopped and the run fails as `timedOut`. */
  readonly timeout: Duration.DurationInput
  /** Between SIGTERM and SIGKILL when a run is stopped. Default 3 seconds. */
  readonly killGrace?: Duration.DurationInput | undefined
}

/** The limits of a runner made without any: 30 minutes a run, 3 seconds' grace. */
export const defaultLimits = { timeout: Duration.minutes(30), killGrace: Duration.seconds(3) } as const

/**
 * The longest single argument Linux takes (`MAX_ARG_STRLEN`, 32 pages, with its NUL), and what
 * this runner allows a whole command line (arguments, their NULs and pointers): half of the
 * usual 2 MiB `ARG_MAX`, which the environment shares.
 */
export const maxArgumentBytes = 128 * 1024 - 1
/** See `maxArgumentBytes`. */
export const maxCommandLineBytes = 1024 * 1024

/** Why a run failed. */
export type EngineFailure =
  /** It ran and exited with a non-zero code. */
  | "exited"
  /** It could not be started (a missing executable, a working directory that is gone). */
  | "unstartable"
  /** It took longer than the runner's timeout and was stopped. */
  | "timedOut"
  /** Its command line is longer than the system takes; nothing was started. */
  | "argumentsTooLong"

const keptStderr = 64 * 1024

// The end of a message-sized text, marked as cut.
const tail = (text: string, max = 600): string => {
  const trimmed = text.trim()
  return trimmed.length > max ? `...${trimmed.slice(trimmed.length - max)}` : trimmed
}

/** An engine process could not be started, exited with an error, or was stopped at its timeout. */
export class EngineError extends Data.TaggedError("EngineError")<{
  readonly engine: string
  readonly reason: EngineFailure
  /** The exit code when the process ran and failed; undefined otherwise. */
  readonly exitCode: number | undefined
  /**
   * The end of what it wrote on stderr when it ran; why it could not be started otherwise; the
   * timeout (formatted) when it was stopped; the size of the command line when it was too long.
   */
  readonly output: string
}> {
  override get message(): string {
    switch (this.reason) {
      case "unstartable":
        return `${this.engine} could not be run: ${this.output}`
      case "timedOut":
        return `${this.engine} took longer than ${this.output} and was stopped`
      case "argumentsTooLong":
        return `${this.engine}: the command line (${this.output}) is longer than this service runs`
      case "exited": {
        const said = tail(this.output)
        return `${this.engine} exited with code ${this.exitCode}${said === "" ? "" : `: ${said}`}`
      }
    }
  }
}

const text = <E, R>(stream: Stream.Stream<Uint8Array, E, R>, keep: "tail" | "all"): Effect.Effect<string, E, R> =>
  keep === "all"
    ? Stream.mkString(Stream.decodeText(stream))
    : Stream.runFold(Stream.decodeText(stream), "", (kept, chunk) => {
        const next = kept + chunk
        return next.length > keptStderr ? next.slice(next.length - keptStderr) : next
      })

/** Why a command line cannot be run (its size), or undefined when it can. */
const tooLong = (executable: string, args: ReadonlyArray<string>): string | undefined => {
  let total = 0
  for (const arg of [executable, ...args]) {
    const bytes = Buffer.byteLength(arg)
    if (bytes > maxArgumentBytes) return `one argument of ${bytes} bytes, at most ${maxArgumentBytes}`
    total += bytes + 1 + 8
  }
  return total > maxCommandLineBytes ? `${total} bytes, at most ${maxCommandLineBytes}` : undefined
}

/**
 * Stop a running engine: SIGTERM to its group, SIGKILL to the group when it has not exited after
 * `grace`. True when it is known to have exited; false when even SIGKILL did not end it within
 * another `grace` (a process stuck in the kernel), so that the caller does not wait on it.
 */
const stop = (process: CommandExecutor.Process, grace: Duration.Duration): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    if (!(yield* Effect.orElseSucceed(process.isRunning, () => false))) return true
    // `kill` signals, then waits for the exit; the wait is made interruptible so the grace can end it.
    const signalled = (signal: "SIGTERM" | "SIGKILL") =>
      process.kill(signal).pipe(Effect.interruptible, Effect.timeoutOption(grace), Effect.orElseSucceed(() => Option.none()))
    if (Option.isSome(yield* signalled("SIGTERM"))) return true
    return Option.isSome(yield* signalled("SIGKILL"))
  })

/** A runner of engines within `limits`: the `run` and `check` of one service. */
export interface Runner {
  /** The limits this runner holds every run to. */
  readonly limits: { readonly timeout: Duration.Duration; readonly killGrace: Duration.Duration }
  /** Run an engine to completion. A non-zero exit fails with what it wrote on stderr (its end). */
  readonly run: (invocation: Invocation, options?: RunOptions) => Effect.Effect<EngineOutput, EngineError, CommandExecutor.CommandExecutor>
}

/** A runner whose every run is held to `limits` (`killGrace` defaulting to 3 seconds). */
export const runner = (limits: Limits): Runner => {
  const timeout = Duration.decode(limits.timeout)
  const killGrace = Duration.decode(limits.killGrace ?? defaultLimits.killGrace)

  const run = (invocation: Invocation, options: RunOptions = {}): Effect.Effect<EngineOutput, EngineError, CommandExecutor.CommandExecutor> => {
    const executable = invocation.executable ?? invocation.engine
    const refused = tooLong(executable, invocation.args)
    if (refused !== undefined) {
      return Effect.fail(new EngineError({ engine: invocation.engine, reason: "argumentsTooLong", exitCode: undefined, output: refused }))
    }
    const command = Command.make(executable, ...invocation.args)
    const started = Command.start(invocation.cwd === undefined ? command : Command.workingDirectory(command, invocation.cwd))
    const once = Effect.suspend(() => {
      let process: CommandExecutor.Process | undefined
      return Effect.acquireUseRelease(
        // The executor's release (its SIGTERM, then a wait without end) goes in a scope of our
        // own, closed once the process is known to be gone (or else left to close in the background).
        Scope.make(),
        (processScope) =>
          Effect.gen(function* () {
            process = yield* Scope.extend(started, processScope)
            return yield* Effect.all(
              [text(process.stdout, "all"), text(process.stderr, options.stderr ?? "tail"), process.exitCode],
              { concurrency: "unbounded" }
            )
          }),
        (processScope, exit) =>
          Effect.gen(function* () {
            // Whatever ended the run (its exit, an interruption, a failure reading its output).
            const ended = process === undefined ? true : yield* stop(process, killGrace)
            if (ended) return yield* Scope.close(processScope, exit)
            yield* Effect.logError(`${invocation.engine} (pid ${process?.pid}) did not end after SIGKILL; not waiting for it`)
            yield* Effect.forkDaemon(Scope.close(processScope, exit))
          })
      )
    })
    return once.pipe(
      Effect.flatMap(([stdout, stderr, exitCode]) =>
        exitCode === 0
          ? Effect.succeed({ stdout, stderr })
          : Effect.fail(new EngineError({ engine: invocation.engine, reason: "exited", exitCode, output: stderr }))
      ),
      Effect.catchTag("SystemError", "BadArgument", (error) =>
        Effect.fail(new EngineError({ engine: invocation.engine, reason: "unstartable", exitCode: undefined, output: error.message }))
      ),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new EngineError({ engine: invocation.engine, reason: "timedOut", exitCode: undefined, output: Duration.format(timeout) })
      })
    )
  }

  return { limits: { timeout, killGrace }, run }
}

const defaultRunner = runner(defaultLimits)
// A start-up check is a quick question (`-version`): a minute is plenty.
const checkRunner = runner({ timeout: Duration.minutes(1) })

/** The runner of a service started with `options`: its `engineTimeout`, or `defaultEngineTimeout`. */
export const serviceRunner = (options: { readonly engineTimeout?: Duration.DurationInput | undefined }): Runner =>
  runner({ timeout: options.engineTimeout ?? defaultEngineTimeout })

/** Run an engine within `defaultLimits` (a service runs its engines with its own `runner`). */
export const run = defaultRunner.run

/**
 * Whether an engine can be run at all, checked when `service` starts (`args` should make it exit
 * quickly; it is stopped after a minute). `anyExitCode` accepts an engine that only exits 0 when
 * given work: started is enough.
 */
export const check = (
  service: ServiceName,
  invocation: Invocation,
  options: { readonly anyExitCode?: boolean } = {}
): Effect.Effect<EngineOutput, ServiceStartFailed, CommandExecutor.CommandExecutor> =>
  checkRunner.run(invocation).pipe(
    Effect.catchIf(
      (error) => options.anyExitCode === true && error.reason === "exited",
      (error) => Effect.succeed({ stdout: "", stderr: error.output })
    ),
    Effect.mapError((error) => new ServiceStartFailed({ service, message: `${service}: ${error.message}` }))
  )
