/**
 * Running the real engines: `ffprobe` to learn what an input is, `ffmpeg` to do the work. Both
 * run as child processes with an argument array (no shell) through `@effect/platform`'s
 * `Command`; a run that is interrupted (a client went away, the service shuts down) kills the
 * process and waits for it to exit. Only the last lines of stderr are kept, for error messages.
 *
 * @module
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { MediaFacts } from "./FilterGraph.js"

/** ffmpeg exited with an error (or could not be started). `stderr` holds its last lines. */
export class EngineFailed extends Data.TaggedError("EngineFailed")<{
  readonly program: "ffmpeg" | "ffprobe"
  readonly exitCode: number | undefined
  readonly stderr: string
}> {
  override get message(): string {
    const code = this.exitCode === undefined ? "could not run" : `exit ${this.exitCode}`
    return `${this.program} failed (${code})${this.stderr === "" ? "" : `: ${this.stderr}`}`
  }
}

/** The last `count` non-empty lines of a text. */
export const lastLines = (text: string, count: number): string =>
  text
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line !== "")
    .slice(-count)
    .join("\n")

const maxKeptStderr = 64 * 1024

// Keep at most the tail of a byte stream, decoded as text.
const tail = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<string, E, R> =>
  Stream.runFold(stream, "", (kept, chunk) => {
    const next = kept + Buffer.from(chunk).toString("utf8")
    return next.length > maxKeptStderr ? next.slice(next.length - maxKeptStderr) : next
  })

/** What a finished run printed on stderr (its tail). */
export interface RunResult {
  readonly stderr: string
}

/**
 * Run `program` with `args` in `cwd`. Succeeds with its stderr when it exits 0; fails with
 * `EngineFailed` (holding the last `stderrLines` lines) otherwise.
 */
export const run = (
  program: "ffmpeg" | "ffprobe",
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string | undefined; readonly stderrLines?: number } = {}
): Effect.Effect<RunResult & { readonly stdout: string }, EngineFailed, CommandExecutor.CommandExecutor> =>
  Effect.scoped(
    Effect.gen(function* () {
      let command = Command.make(program, ...args)
      if (options.cwd !== undefined) command = Command.workingDirectory(command, options.cwd)
      const process = yield* Command.start(command)
      const [stdout, stderr, exitCode] = yield* Effect.all(
        [
          Stream.runCollect(process.stdout).pipe(Effect.map((chunks) => Buffer.concat(Chunk.toArray(chunks)).toString("utf8"))),
          tail(process.stderr),
          process.exitCode
        ],
        { concurrency: "unbounded" }
      )
      if (exitCode !== 0) {
        return yield* new EngineFailed({ program, exitCode, stderr: lastLines(stderr, options.stderrLines ?? 8) })
      }
      return { stdout, stderr }
    })
  ).pipe(
    Effect.catchTag("SystemError", "BadArgument", (error) =>
      Effect.fail(new EngineFailed({ program, exitCode: undefined, stderr: error.message }))
    )
  )

// ---------------------------------------------------------------------------------------------
// ffprobe
// ---------------------------------------------------------------------------------------------

const NumberFromText = Schema.Union(Schema.Number, Schema.NumberFromString)

const ProbeStream = Schema.Struct({
  codec_type: Schema.optional(Schema.String),
  codec_name: Schema.optional(Schema.String),
  width: Schema.optional(Schema.Number),
  height: Schema.optional(Schema.Number),
  avg_frame_rate: Schema.optional(Schema.String),
  r_frame_rate: Schema.optional(Schema.String),
  duration: Schema.optional(NumberFromText),
  sample_rate: Schema.optional(NumberFromText),
  channels: Schema.optional(Schema.Number),
  disposition: Schema.optional(Schema.Struct({ attached_pic: Schema.optional(Schema.Number) }))
})

const ProbeOutput = Schema.Struct({
  streams: Schema.optionalWith(Schema.Array(ProbeStream), { default: () => [] }),
  format: Schema.optional(
    Schema.Struct({
      format_name: Schema.optional(Schema.String),
      duration: Schema.optional(NumberFromText),
      size: Schema.optional(NumberFromText),
      bit_rate: Schema.optional(NumberFromText)
    })
  )
})

/** Everything the service uses from ffprobe. */
export interface Probe extends MediaFacts {
  readonly format: string
  readonly size: number | undefined
  readonly bitRate: number | undefined
  readonly fps: number | undefined
  readonly videoCodec: string | undefined
  readonly audioCodec: string | undefined
  readonly sampleRate: number | undefined
  readonly channels: number | undefined
}

const rate = (text: string | undefined): number | undefined => {
  if (text === undefined) return undefined
  const [n, d] = text.split("/").map(Number)
  if (n === undefined || !Number.isFinite(n)) return undefined
  const value = d === undefined ? n : d === 0 ? Number.NaN : n / d
  return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) / 1000 : undefined
}

const positive = (value: number | undefined): number | undefined =>
  value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined

/** Turn ffprobe's JSON into `Probe` facts. A video stream needs a real frame size to count. */
export const parseProbe = (json: string): Option.Option<Probe> => {
  let raw: unknown
  try {
    raw = JSON.parse(json)
  } catch {
    return Option.none()
  }
  return Option.map(Schema.decodeUnknownOption(ProbeOutput)(raw), (probe) => {
    const video = probe.streams.find(
      (s) => s.codec_type === "video" && (s.width ?? 0) > 0 && (s.height ?? 0) > 0 && s.disposition?.attached_pic !== 1
    )
    const audio = probe.streams.find((s) => s.codec_type === "audio")
    const format = probe.format?.format_name ?? "unknown"
    // Still images (png_pipe, jpeg_pipe, webp_pipe, image2 ...) report no duration, or a single
    // frame's; they are not timed media.
    const still = /(_pipe|image2|image2pipe)$/.test(format)
    const duration = still ? undefined : positive(probe.format?.duration ?? video?.duration ?? audio?.duration)
    return {
      format,
      still: still && video !== undefined,
      duration,
      size: probe.format?.size,
      bitRate: probe.format?.bit_rate,
      hasVideo: video !== undefined,
      hasAudio: audio !== undefined,
      width: video?.width,
      height: video?.height,
      fps: still ? undefined : rate(video?.avg_frame_rate) ?? rate(video?.r_frame_rate),
      videoCodec: video?.codec_name,
      audioCodec: audio?.codec_name,
      sampleRate: audio?.sample_rate,
      channels: audio?.channels
    }
  })
}

/** ffprobe could not read the file as media. */
export class NotMedia extends Data.TaggedError("NotMedia")<{ readonly reason: string }> {}

/** Probe a file. Fails with `NotMedia` when ffprobe cannot read it or finds no audio or video. */
export const probe = (path: string): Effect.Effect<Probe, NotMedia, CommandExecutor.CommandExecutor> =>
  run("ffprobe", ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path], { stderrLines: 3 }).pipe(
    Effect.mapError((error) => new NotMedia({ reason: error.stderr === "" ? error.message : error.stderr })),
    Effect.flatMap(({ stdout }) =>
      Option.match(parseProbe(stdout), {
        onNone: () => Effect.fail(new NotMedia({ reason: "ffprobe gave no readable answer" })),
        onSome: (facts) =>
          facts.hasVideo || facts.hasAudio ? Effect.succeed(facts) : Effect.fail(new NotMedia({ reason: "no audio or video stream found" }))
      })
    )
  )
