/**
 * What the FFmpeg service knows of its engines beyond running them (the kit's engine runner runs
 * them): what ffprobe says a file is (`probe`, `parseProbe`), and how the service words a failed
 * run of ffmpeg or ffprobe in its answers (`describeFailure`: the program, its exit code and the
 * last lines it wrote).
 *
 * @module
 */
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Engine from "../kit/Engine.js"
import * as MediaInput from "../kit/MediaInput.js"
import type { MediaFacts } from "./FilterGraph.js"

/** The last `count` non-empty lines of a text. */
export const lastLines = (text: string, count: number): string =>
  text
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line !== "")
    .slice(-count)
    .join("\n")

// What a failed run said: its last lines, why it could not be started, or why it was stopped.
const saidBy = (error: Engine.EngineError, lines: number): string =>
  error.reason === "exited" ? lastLines(error.output, lines) : error.reason === "unstartable" ? error.output : error.message

/**
 * A failed run in the service's words: `ffmpeg failed (exit 1): <its last lines>` (8 by default);
 * a run stopped at its timeout, or refused for its size, as the runner says it.
 */
export const describeFailure = (error: Engine.EngineError, lines = 8): string => {
  if (error.reason === "timedOut" || error.reason === "argumentsTooLong") return error.message
  const said = saidBy(error, lines)
  const code = error.exitCode === undefined ? "could not run" : `exit ${error.exitCode}`
  return `${error.engine} failed (${code})${said === "" ? "" : `: ${said}`}`
}

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

/**
 * Probe a file with `runner`, reading it only as a self-contained media file (the kit's
 * `MediaInput` whitelists). Fails with `NotMedia` when ffprobe cannot read it or finds no audio or
 * video; a file the whitelists refuse (a playlist) fails with the same reason whatever it names.
 */
export const probe = (runner: Engine.Runner, path: string): Effect.Effect<Probe, NotMedia, CommandExecutor.CommandExecutor> =>
  runner.run({ engine: "ffprobe", args: MediaInput.guardProbe(["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path]) }).pipe(
    Effect.mapError((error) =>
      error.reason === "exited" && MediaInput.refusedByPolicy(error.output)
        ? new NotMedia({ reason: MediaInput.refusedReason })
        : new NotMedia({ reason: saidBy(error, 3) === "" ? describeFailure(error, 3) : saidBy(error, 3) })
    ),
    Effect.flatMap(({ stdout }) =>
      Option.match(parseProbe(stdout), {
        onNone: () => Effect.fail(new NotMedia({ reason: "ffprobe gave no readable answer" })),
        onSome: (facts) =>
          facts.hasVideo || facts.hasAudio ? Effect.succeed(facts) : Effect.fail(new NotMedia({ reason: "no audio or video stream found" }))
      })
    )
  )
