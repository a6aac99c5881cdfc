/**
 * The AutoMarket FFmpeg service, defined once with `HttpApi`: the server (Server.ts) implements
 * this definition and the provider's typed client (providers/ffmpeg/FFmpegClient.ts) is derived
 * from it, so the routes, the JSON specs and the answers cannot drift apart.
 *
 * Every job route takes `multipart/form-data`: the uploaded files, each under a field name the
 * caller chooses (its *key*), plus one text field `spec` holding the job's JSON. Inside a spec,
 * media are referenced by key (or by an http(s) URL that the service fetches itself), so a
 * composition of N clips, overlay images and audio tracks travels in one request:
 *
 * ```
 * spec  = {"clips":[{"src":"intro"},{"src":"main"}],"overlays":[{"_tag":"image","src":"logo"}]}
 * intro = (file) intro.mp4
 * main  = (file) main.mp4
 * logo  = (file) logo.png
 * ```
 *
 * The generating routes (`POST /image/slide`, `POST /audio/ambient`) have no inputs: they take
 * their spec as a JSON body (`application/json`).
 *
 * Answers use the envelope `{ success, data?, error? }` (failures add a machine-readable `code`):
 * the failures are the kit's error classes (`kit/Errors.ts`), declared here in this encoding.
 * Results are files kept by the service until fetched with `GET /outputs/:name` and released
 * with `DELETE /outputs/:name` (or until they expire).
 *
 * @module
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Schema from "effect/Schema"
import { Composition } from "../../domain/Composition.js"
import {
  BadRequest,
  EngineFailed,
  Forbidden,
  Internal,
  type MessageErrorClass,
  NotFound,
  PayloadTooLarge,
  statuses,
  Unauthorized,
  Unavailable,
  UnsupportedMedia
} from "../kit/Errors.js"
import { compositionIssues, limits } from "./Limits.js"

// ---------------------------------------------------------------------------------------------
// failures
// ---------------------------------------------------------------------------------------------

/** The machine-readable reason of a failed answer. */
export const FailureCode = Schema.Literal(
  "bad-request",
  "unauthorized",
  "forbidden",
  "not-found",
  "payload-too-large",
  "unsupported-media",
  "ffmpeg-failed",
  "unavailable",
  "internal"
)
/** The machine-readable reason of a failed answer. */
export type FailureCode = typeof FailureCode.Type

/** Every failure the service answers with: the kit's classes it uses. */
export type ServiceFailure = BadRequest | Unauthorized | Forbidden | NotFound | PayloadTooLarge | UnsupportedMedia | EngineFailed | Internal | Unavailable

// The `code` of each failure: it tells apart the failures that share a status (500).
const codes = {
  BadRequest: "bad-request",
  Unauthorized: "unauthorized",
  Forbidden: "forbidden",
  NotFound: "not-found",
  PayloadTooLarge: "payload-too-large",
  UnsupportedMedia: "unsupported-media",
  EngineFailed: "ffmpeg-failed",
  Internal: "internal",
  Unavailable: "unavailable"
} as const satisfies { readonly [Tag in ServiceFailure["_tag"]]: FailureCode }

/** A failure class as an `HttpApi` error schema in the envelope: its status, body `{success: false, error, code}`. */
const envelope = <E extends ServiceFailure>(errorClass: MessageErrorClass<E>) => {
  const code: FailureCode = codes[errorClass._tag]
  return Schema.transform(Schema.Struct({ success: Schema.Literal(false), error: Schema.String, code: Schema.Literal(code) }), errorClass, {
    strict: true,
    decode: (body) => ({ _tag: errorClass._tag, message: body.error }),
    encode: (error) => ({ success: false as const, error: error.message, code })
  }).annotations(HttpApiSchema.annotations({ status: statuses[errorClass._tag] }))
}

/** The failures as `HttpApi` error schemas in the envelope; the endpoints declare these. */
export const failures = {
  BadRequest: envelope(BadRequest),
  Unauthorized: envelope(Unauthorized),
  Forbidden: envelope(Forbidden),
  NotFound: envelope(NotFound),
  PayloadTooLarge: envelope(PayloadTooLarge),
  UnsupportedMedia: envelope(UnsupportedMedia),
  EngineFailed: envelope(EngineFailed),
  Internal: envelope(Internal),
  Unavailable: envelope(Unavailable)
}

/** A failure as a response in the envelope, for answers made before the `HttpApi` runs (the guard's). */
export const respond = (failure: ServiceFailure): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson({ success: false, error: failure.message, code: codes[failure._tag] }, { status: statuses[failure._tag] })

/** The body of any failure answer (what a client decodes when it only knows the status). */
export const FailureBody = Schema.Struct({
  success: Schema.Literal(false),
  /** What went wrong, for people. */
  error: Schema.String,
  code: FailureCode
})
/** The body of any failure answer. */
export type FailureBody = typeof FailureBody.Type

/** The HTTP status each failure answers with. */
export const failureStatus = (failure: ServiceFailure): number => statuses[failure._tag]

// ---------------------------------------------------------------------------------------------
// specs (the JSON in the `spec` field)
// ---------------------------------------------------------------------------------------------

// Bounded, not only finite: 1e308 seconds became `Infinity` in a filter.
const Seconds = Schema.NonNegative.pipe(Schema.finite(), Schema.lessThanOrEqualTo(limits.seconds)).annotations({ description: "seconds" })
const Pixels = Schema.Int.pipe(Schema.between(1, 8192)).annotations({ description: "pixels" })
const SampleRate = Schema.Int.pipe(Schema.between(8000, 192000)).annotations({ description: "Hz" })

/** A reference to an input: the key of an uploaded file, or an http(s) URL the service fetches. */
export const SourceRef = Schema.NonEmptyString.pipe(Schema.maxLength(2048))

/**
 * The spec of `POST /video/compose`: a `Composition` whose `src`s are keys of uploaded files (or
 * URLs), within the service's limits (`Limits.ts`: output size and pixels, times, clip, overlay
 * and track counts); beyond them it is refused naming the field and the limit.
 */
export const ComposeSpec = Composition.pipe(
  Schema.filter((composition) => {
    const issues = compositionIssues(composition)
    return issues.length === 0 ? undefined : issues
  })
)
/** The spec of `POST /video/compose`, as sent. */
export type ComposeSpec = typeof ComposeSpec.Encoded

/** Audio container/codec of a result: wav (PCM), mp3, opus (in Ogg), flac, aac (in .m4a). */
export const AudioFormat = Schema.Literal("wav", "mp3", "opus", "flac", "aac")
/** Audio format of a result. */
export type AudioFormat = typeof AudioFormat.Type

/** The spec of `POST /video/extractAudio`. The input is the one uploaded file, or `src`. */
export const ExtractAudioSpec = Schema.Struct({
  src: Schema.optional(SourceRef),
  format: Schema.optional(AudioFormat),
  sampleRate: Schema.optional(SampleRate),
  channels: Schema.optional(Schema.Literal(1, 2)),
  start: Schema.optional(Seconds),
  end: Schema.optional(Seconds)
})
/** The spec of `POST /video/extractAudio`. */
export type ExtractAudioSpec = typeof ExtractAudioSpec.Type

/** Loudness normalisation (EBU R128, two-pass loudnorm). */
export const LoudnessTarget = Schema.Struct({
  /** Integrated loudness to reach, in LUFS, e.g. -16 (podcasts) or -23 (broadcast). */
  targetLufs: Schema.Number.pipe(Schema.between(-70, -5)),
  /** Maximum true peak in dBTP. Default -1.5. */
  truePeak: Schema.optional(Schema.Number.pipe(Schema.between(-9, 0))),
  /** Loudness range target in LU. Default 11. */
  range: Schema.optional(Schema.Number.pipe(Schema.between(1, 50)))
})
/** Loudness normalisation. */
export type LoudnessTarget = typeof LoudnessTarget.Type

/**
 * The spec of `POST /audio/convert`: optional enhancement (denoise with afftdn, then loudness
 * normalisation) and conversion (format, sample rate, channels). The input is the one uploaded
 * file, or `src`.
 */
export const AudioConvertSpec = Schema.Struct({
  src: Schema.optional(SourceRef),
  format: Schema.optional(AudioFormat),
  sampleRate: Schema.optional(SampleRate),
  channels: Schema.optional(Schema.Literal(1, 2)),
  denoise: Schema.optional(Schema.Boolean),
  loudness: Schema.optional(LoudnessTarget)
})
/** The spec of `POST /audio/convert`. */
export type AudioConvertSpec = typeof AudioConvertSpec.Type

/** The spec of `POST /video/extractFrame`: the frame at `time` seconds, as png or jpg, optionally scaled. */
export const ExtractFrameSpec = Schema.Struct({
  src: Schema.optional(SourceRef),
  time: Schema.optional(Seconds),
  format: Schema.optional(Schema.Literal("png", "jpg")),
  width: Schema.optional(Pixels),
  height: Schema.optional(Schema.Int.pipe(Schema.between(1, 8192)))
})
/** The spec of `POST /video/extractFrame`. */
export type ExtractFrameSpec = typeof ExtractFrameSpec.Type

/**
 * The spec of `POST /image/upscale`: one picture `factor` times larger on each side, resampled
 * with a Lanczos filter (no detail is invented), as png or jpg. The result is held to the
 * service's picture limits (`Limits.limits`).
 */
export const UpscaleSpec = Schema.Struct({
  src: Schema.optional(SourceRef),
  factor: Schema.Number.pipe(Schema.between(1, 8)),
  format: Schema.optional(Schema.Literal("png", "jpg"))
})
/** The spec of `POST /image/upscale`. */
export type UpscaleSpec = typeof UpscaleSpec.Type

/** The spec of `POST /video/metadata`. */
export const MetadataSpec = Schema.Struct({ src: Schema.optional(SourceRef) })
/** The spec of `POST /video/metadata`. */
export type MetadataSpec = typeof MetadataSpec.Type

/** One step of `POST /video/filter`. Typed steps only: no caller text reaches ffmpeg's filter parser. */
export const FilterOperation = Schema.Union(
  Schema.TaggedStruct("trim", { start: Schema.optional(Seconds), end: Schema.optional(Seconds) }),
  Schema.TaggedStruct("scale", { width: Schema.optional(Pixels), height: Schema.optional(Pixels) }),
  Schema.TaggedStruct("crop", {
    width: Pixels,
    height: Pixels,
    x: Schema.optional(Schema.Int.pipe(Schema.between(0, 8192))),
    y: Schema.optional(Schema.Int.pipe(Schema.between(0, 8192)))
  }),
  Schema.TaggedStruct("fps", { fps: Schema.Number.pipe(Schema.between(1, 120)) }),
  Schema.TaggedStruct("rotate", { degrees: Schema.Literal(90, 180, 270) }),
  Schema.TaggedStruct("flip", { direction: Schema.Literal("horizontal", "vertical") }),
  Schema.TaggedStruct("grayscale", {}),
  Schema.TaggedStruct("speed", { factor: Schema.Number.pipe(Schema.between(0.25, 4)) }),
  Schema.TaggedStruct("fade", { in: Schema.optional(Seconds), out: Schema.optional(Seconds) }),
  Schema.TaggedStruct("volume", { gain: Schema.Number.pipe(Schema.between(0, 4)) }),
  Schema.TaggedStruct("mute", {})
)
/** One step of `POST /video/filter`. */
export type FilterOperation = typeof FilterOperation.Type

/** The spec of `POST /video/filter`: steps applied in order to one video. */
export const FilterSpec = Schema.Struct({
  src: Schema.optional(SourceRef),
  operations: Schema.Array(FilterOperation).pipe(Schema.minItems(1), Schema.maxItems(32)),
  output: Schema.optional(
    Schema.Struct({
      format: Schema.optional(Schema.Literal("mp4", "webm", "mkv")),
      videoCodec: Schema.optional(Schema.Literal("h264", "vp9")),
      audioCodec: Schema.optional(Schema.Literal("aac", "opus", "mp3"))
    })
  )
})
/** The spec of `POST /video/filter`. */
export type FilterSpec = typeof FilterSpec.Type

/** A colour as `#rrggbb`. */
export const HexColour = Schema.String.pipe(Schema.pattern(/^#[0-9a-fA-F]{6}$/)).annotations({ description: "a colour as #rrggbb" })

/** A slide's background: one colour, or a vertical gradient from `top` to `bottom`. */
export const SlideBackground = Schema.Union(HexColour, Schema.Struct({ top: HexColour, bottom: HexColour }))
/** A slide's background. */
export type SlideBackground = typeof SlideBackground.Type

/**
 * The spec of `POST /image/slide` (a JSON body): a PNG of `width` x `height` (default
 * 1280x720) with `title` large near the top and `body` word-wrapped below it, centred, in
 * DejaVu Sans. `text` stands in for `body` when `body` is absent. Text that does not fit is
 * drawn smaller, then cut with an ellipsis. At least one of them must hold more than spaces.
 * Background default: a dark blue gradient; `color` (of the text) default `#ffffff`.
 */
export const SlideSpec = Schema.Struct({
  title: Schema.optional(Schema.String.pipe(Schema.maxLength(300))),
  body: Schema.optional(Schema.String.pipe(Schema.maxLength(4000))),
  text: Schema.optional(Schema.String.pipe(Schema.maxLength(4000))),
  width: Schema.optional(Schema.Int.pipe(Schema.between(64, 4096))),
  height: Schema.optional(Schema.Int.pipe(Schema.between(64, 4096))),
  background: Schema.optional(SlideBackground),
  color: Schema.optional(HexColour)
})
/** The spec of `POST /image/slide`. */
export type SlideSpec = typeof SlideSpec.Type

/** The chord pairs `POST /audio/ambient` can play. */
export const AmbientMood = Schema.Literal("calm", "dark", "bright")
/** A mood of the ambient pad. */
export type AmbientMood = typeof AmbientMood.Type

/**
 * The spec of `POST /audio/ambient` (a JSON body): `duration` seconds (at most 600) of a
 * synthesized pad (sine partials of two slowly alternating chords, gently modulated, with echo
 * and fades), 48 kHz stereo wav. Synthesized by a formula, not AI music. `seed` varies key and
 * motion (same seed, same sound, default 1); `volume` in (0, 1] scales the level, the peak
 * staying below it (default 0.7: about -25 dBFS mean); `mood` picks the chords (default `calm`).
 */
export const AmbientSpec = Schema.Struct({
  duration: Schema.Number.pipe(Schema.finite(), Schema.greaterThan(0), Schema.lessThanOrEqualTo(600)).annotations({ description: "seconds" }),
  seed: Schema.optional(Schema.Int.pipe(Schema.between(0, 2147483647))),
  volume: Schema.optional(Schema.Number.pipe(Schema.greaterThan(0), Schema.lessThanOrEqualTo(1))),
  mood: Schema.optional(AmbientMood)
})
/** The spec of `POST /audio/ambient`. */
export type AmbientSpec = typeof AmbientSpec.Type

// ---------------------------------------------------------------------------------------------
// answers
// ---------------------------------------------------------------------------------------------

/** A result file kept by the service: fetch it from `url` (relative to the service), then delete it. */
export const OutputFile = Schema.Struct({
  name: Schema.String,
  /** `/outputs/<name>`. */
  url: Schema.String,
  mimeType: Schema.String,
  size: Schema.Number,
  duration: Schema.optional(Schema.Number),
  width: Schema.optional(Schema.Number),
  height: Schema.optional(Schema.Number),
  fps: Schema.optional(Schema.Number),
  sampleRate: Schema.optional(Schema.Number),
  channels: Schema.optional(Schema.Number),
  videoCodec: Schema.optional(Schema.String),
  audioCodec: Schema.optional(Schema.String)
})
/** A result file kept by the service. */
export type OutputFile = typeof OutputFile.Type

/** What a job produced. `measuredLufs` is the input's integrated loudness when loudness was normalised. */
export const JobResult = Schema.Struct({
  output: OutputFile,
  measuredLufs: Schema.optional(Schema.Number)
})
/** What a job produced. */
export type JobResult = typeof JobResult.Type

/** What ffprobe says about a file. */
export const MediaInfo = Schema.Struct({
  format: Schema.String,
  size: Schema.Number,
  duration: Schema.optional(Schema.Number),
  bitRate: Schema.optional(Schema.Number),
  hasVideo: Schema.Boolean,
  hasAudio: Schema.Boolean,
  width: Schema.optional(Schema.Number),
  height: Schema.optional(Schema.Number),
  fps: Schema.optional(Schema.Number),
  videoCodec: Schema.optional(Schema.String),
  audioCodec: Schema.optional(Schema.String),
  sampleRate: Schema.optional(Schema.Number),
  channels: Schema.optional(Schema.Number)
})
/** What ffprobe says about a file. */
export type MediaInfo = typeof MediaInfo.Type

/** The success envelope `{ success: true, data }`. */
export const Envelope = <A, I, R>(data: Schema.Schema<A, I, R>) => Schema.Struct({ success: Schema.Literal(true), data })

/** The answer of `GET /health`. */
export const Health = Schema.Struct({
  status: Schema.Literal("healthy"),
  service: Schema.Literal("ffmpeg"),
  /** Milliseconds since the service started. */
  uptime: Schema.Number,
  activeJobs: Schema.Number,
  queuedJobs: Schema.Number,
  /** What the service accepts, so a client can check before uploading. */
  limits: Schema.optional(Schema.Struct({ maxBodyBytes: Schema.Number, concurrency: Schema.Number }))
})
/** The answer of `GET /health`. */
export type Health = typeof Health.Type

/** The fields of a job request: `spec` (JSON text) and any number of files under keys of the caller's choice. */
export const JobUpload = HttpApiSchema.MultipartStream(
  Schema.Struct({
    spec: Schema.optional(Schema.String.annotations({ description: "the job's JSON spec" }))
  }).annotations({ description: "multipart/form-data: a `spec` field and files under the keys the spec references" })
)

const OutputName = Schema.Struct({ name: Schema.String })

// ---------------------------------------------------------------------------------------------
// the API
// ---------------------------------------------------------------------------------------------

// A route that does a job: `payload` in, `{ success, data }` out, the failures every job shares.
const jobRoute = <const Name extends string, P, PI, A, I>(
  name: Name,
  path: HttpApiEndpoint.PathSegment,
  payload: Schema.Schema<P, PI>,
  data: Schema.Schema<A, I>
) =>
  HttpApiEndpoint.post(name, path)
    .setPayload(payload)
    .addSuccess(Envelope(data))
    .addError(failures.BadRequest)
    .addError(failures.PayloadTooLarge)
    .addError(failures.UnsupportedMedia)
    .addError(failures.EngineFailed)
    .addError(failures.Internal)
    .addError(failures.Unavailable)

// A job route: multipart upload in (`spec` and files).
const job = <const Name extends string, A, I>(name: Name, path: HttpApiEndpoint.PathSegment, data: Schema.Schema<A, I>) =>
  jobRoute(name, path, JobUpload, data)

// A generating route: a JSON spec in.
const generator = jobRoute

/** The paths of the generating routes (JSON bodies). */
export const generatorPaths = {
  slide: "/image/slide",
  ambient: "/audio/ambient"
} as const

/**
 * The paths of the job routes. Clients that cannot send `FormData` through the generated client
 * (a streamed multipart body works with every `HttpClient`) post to these.
 */
export const jobPaths = {
  compose: "/video/compose",
  extractAudio: "/video/extractAudio",
  filter: "/video/filter",
  metadata: "/video/metadata",
  extractFrame: "/video/extractFrame",
  convert: "/audio/convert",
  upscale: "/image/upscale"
} as const

/** The video routes. */
export class VideoGroup extends HttpApiGroup.make("video")
  .add(job("compose", jobPaths.compose, JobResult))
  .add(job("extractAudio", jobPaths.extractAudio, JobResult))
  .add(job("filter", jobPaths.filter, JobResult))
  .add(job("metadata", jobPaths.metadata, MediaInfo))
  .add(job("extractFrame", jobPaths.extractFrame, JobResult)) {}

/** The audio routes: conversion and enhancement, and the ambient pad. */
export class AudioGroup extends HttpApiGroup.make("audio")
  .add(job("convert", jobPaths.convert, JobResult))
  .add(generator("ambient", generatorPaths.ambient, AmbientSpec, JobResult)) {}

/** The image routes: text slides, and a picture upscaled (Lanczos). */
export class ImageGroup extends HttpApiGroup.make("image")
  .add(generator("slide", generatorPaths.slide, SlideSpec, JobResult))
  .add(job("upscale", jobPaths.upscale, JobResult)) {}

/** Fetching and releasing results. */
export class OutputsGroup extends HttpApiGroup.make("outputs")
  .add(
    HttpApiEndpoint.get("download", "/outputs/:name")
      .setPath(OutputName)
      .addSuccess(HttpApiSchema.Uint8Array({ contentType: "application/octet-stream" }))
      .addError(failures.NotFound)
  )
  .add(
    HttpApiEndpoint.del("remove", "/outputs/:name")
      .setPath(OutputName)
      .addSuccess(Envelope(Schema.Struct({ deleted: Schema.String })))
      .addError(failures.NotFound)
  ) {}

/** Health. */
export class SystemGroup extends HttpApiGroup.make("system").add(HttpApiEndpoint.get("health", "/health").addSuccess(Health)) {}

/** The AutoMarket FFmpeg service (default port 8006). */
export class FFmpegApi extends HttpApi.make("ffmpeg").add(VideoGroup).add(AudioGroup).add(ImageGroup).add(OutputsGroup).add(SystemGroup) {}
