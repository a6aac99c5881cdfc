/**
 * The ffmpeg commands of the single-input jobs (extract audio, filter, extract a frame, convert
 * and enhance audio), as pure functions from a typed spec and the probed input to an argument
 * array, like `FilterGraph` does for compositions. Every value placed in a filter is a number
 * formatted here or a literal of the spec's schema.
 *
 * @module
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { AudioConvertSpec, AudioFormat, ExtractAudioSpec, ExtractFrameSpec, FilterSpec, LoudnessTarget, UpscaleSpec } from "./Api.js"
import { limits } from "./Limits.js"
import type { Probe } from "./Probe.js"
import { audioEncoders, containers, num, videoEncoders } from "./FilterGraph.js"

/** An ffmpeg command and what its output is. */
export interface Recipe {
  readonly args: ReadonlyArray<string>
  readonly mimeType: string
  readonly extension: string
}

const head = ["-nostdin", "-hide_banner", "-loglevel", "error", "-y"] as const

/** Container, codec and media type of each audio format. */
export const audioFormats: {
  readonly [F in AudioFormat]: { readonly codec: ReadonlyArray<string>; readonly muxer: string; readonly extension: string; readonly mimeType: string }
} = {
  wav: { codec: ["-c:a", "pcm_s16le"], muxer: "wav", extension: "wav", mimeType: "audio/wav" },
  mp3: { codec: ["-c:a", "libmp3lame", "-b:a", "192k"], muxer: "mp3", extension: "mp3", mimeType: "audio/mpeg" },
  opus: { codec: ["-c:a", "libopus", "-b:a", "96k"], muxer: "ogg", extension: "opus", mimeType: "audio/ogg" },
  flac: { codec: ["-c:a", "flac"], muxer: "flac", extension: "flac", mimeType: "audio/flac" },
  aac: { codec: ["-c:a", "aac", "-b:a", "160k"], muxer: "ipod", extension: "m4a", mimeType: "audio/mp4" }
}

// [start, end) of a trim, checked against the input's duration.
const window = (
  start: number | undefined,
  end: number | undefined,
  duration: number | undefined
): Either.Either<{ readonly options: ReadonlyArray<string>; readonly length: number | undefined }, string> => {
  const from = start ?? 0
  if (duration !== undefined && from >= duration) return Either.left(`start (${num(from)} s) is past the end of the input (${num(duration)} s)`)
  if (end !== undefined && end <= from) return Either.left(`end (${num(end)}) must be after start (${num(from)})`)
  const to = end !== undefined && duration !== undefined ? Math.min(end, duration) : end
  const length = to !== undefined ? to - from : duration !== undefined ? duration - from : undefined
  return Either.right({
    options: [...(from > 0 ? ["-ss", num(from)] : []), ...(to !== undefined ? ["-t", num(to - from)] : [])],
    length
  })
}

/** The sample rate of an audio result: asked for, else what the codec or loudnorm needs, else the input's. */
export const outputSampleRate = (format: AudioFormat, asked: number | undefined, input: number | undefined, loudnorm: boolean): number | undefined => {
  if (asked !== undefined) return asked
  if (format === "opus") return 48000
  // loudnorm works at 192 kHz and hands that on unless told otherwise.
  if (loudnorm) return input ?? 48000
  return undefined
}

/** `POST /video/extractAudio`: the input's sound as a file. */
export const extractAudio = (spec: ExtractAudioSpec, input: string, facts: Probe, outputPath: string): Either.Either<Recipe, string> => {
  if (!facts.hasAudio) return Either.left("the input has no audio stream")
  const format = spec.format ?? "wav"
  const target = audioFormats[format]
  return Either.map(window(spec.start, spec.end, facts.duration), (trim) => {
    const rate = outputSampleRate(format, spec.sampleRate, facts.sampleRate, false)
    return {
      args: [
        ...head,
        ...trim.options,
        "-i",
        input,
        "-vn",
        "-map",
        "0:a:0",
        ...target.codec,
        ...(rate !== undefined ? ["-ar", `${rate}`] : []),
        ...(spec.channels !== undefined ? ["-ac", `${spec.channels}`] : []),
        "-f",
        target.muxer,
        outputPath
      ],
      mimeType: target.mimeType,
      extension: target.extension
    }
  })
}

/** `POST /video/extractFrame`: one picture at `time`. */
export const extractFrame = (spec: ExtractFrameSpec, input: string, facts: Probe, outputPath: string): Either.Either<Recipe, string> => {
  if (!facts.hasVideo) return Either.left("the input has no video stream")
  const time = spec.time ?? 0
  if (facts.duration !== undefined && time >= facts.duration) {
    return Either.left(`time ${num(time)} s is past the end of the video (${num(facts.duration)} s)`)
  }
  const format = spec.format ?? "png"
  const scale = spec.width !== undefined || spec.height !== undefined ? ["-vf", `scale=${spec.width ?? -2}:${spec.height ?? -2}`] : []
  return Either.right({
    args: [
      ...head,
      ...(time > 0 ? ["-ss", num(time)] : []),
      ...stillPicture(input, scale, format, 3, outputPath)
    ],
    mimeType: format === "png" ? "image/png" : "image/jpeg",
    extension: format
  })
}

// The first video frame of `input` through `filters`, written as one png or jpg (`jpegQuality`: mjpeg's -q:v, 2 best).
const stillPicture = (input: string, filters: ReadonlyArray<string>, format: "png" | "jpg", jpegQuality: number, outputPath: string) => [
  "-i",
  input,
  "-map",
  "0:v:0",
  "-frames:v",
  "1",
  ...filters,
  ...(format === "png" ? ["-c:v", "png"] : ["-c:v", "mjpeg", "-q:v", String(jpegQuality), "-pix_fmt", "yuvj420p"]),
  "-f",
  "image2",
  "-update",
  "1",
  outputPath
]

/**
 * `POST /image/upscale`: the picture `factor` times larger on each side (rounded to whole pixels),
 * resampled with Lanczos. Refused when the input's size is unknown or the result would pass the
 * service's picture limits.
 */
export const upscale = (spec: UpscaleSpec, input: string, facts: Probe, outputPath: string): Either.Either<Recipe, string> => {
  if (!facts.hasVideo || facts.width === undefined || facts.height === undefined) return Either.left("the input is no picture of a known size")
  const width = Math.round(facts.width * spec.factor)
  const height = Math.round(facts.height * spec.factor)
  if (Math.max(width, height) > limits.side || width * height > limits.pixels) {
    return Either.left(`${width}x${height} is more than this service renders (at most ${limits.side} a side, ${limits.pixels} pixels)`)
  }
  const format = spec.format ?? "png"
  return Either.right({
    args: [
      ...head,
      ...stillPicture(input, ["-vf", `scale=${width}:${height}:flags=lanczos`], format, 2, outputPath)
    ],
    mimeType: format === "png" ? "image/png" : "image/jpeg",
    extension: format
  })
}

// atempo takes 0.5..2 per instance: chain instances for larger changes.
const atempo = (factor: number): Array<string> => {
  const steps: Array<string> = []
  let rest = factor
  while (rest > 2) {
    steps.push("atempo=2")
    rest /= 2
  }
  while (rest < 0.5) {
    steps.push("atempo=0.5")
    rest /= 0.5
  }
  steps.push(`atempo=${num(rest)}`)
  return steps
}

/** `POST /video/filter`: the typed steps applied in order to one video. */
export const filter = (spec: FilterSpec, input: string, facts: Probe, outputPath: string): Either.Either<Recipe, string> => {
  if (!facts.hasVideo) return Either.left("the input has no video stream")
  const format = spec.output?.format ?? "mp4"
  const videoCodec = spec.output?.videoCodec ?? (format === "webm" ? "vp9" : "h264")
  const audioCodec = spec.output?.audioCodec ?? (format === "webm" ? "opus" : "aac")
  if (format === "webm" && (videoCodec !== "vp9" || audioCodec !== "opus")) {
    return Either.left(`output format "webm" takes videoCodec "vp9" and audioCodec "opus"`)
  }
  const trims = spec.operations.filter((op) => op._tag === "trim")
  if (trims.length > 1) return Either.left("at most one trim step")
  const trim = trims[0]
  return Either.flatMap(window(trim?.start, trim?.end, facts.duration), (cut) => {
    const video: Array<string> = []
    const audio: Array<string> = []
    let length = cut.length
    let mute = !facts.hasAudio
    for (const op of spec.operations) {
      switch (op._tag) {
        case "trim":
          break
        case "scale": {
          if (op.width === undefined && op.height === undefined) return Either.left("scale needs a width or a height")
          video.push(`scale=${op.width ?? -2}:${op.height ?? -2}`)
          break
        }
        case "crop":
          video.push(`crop=${op.width}:${op.height}:${op.x ?? "(in_w-out_w)/2"}:${op.y ?? "(in_h-out_h)/2"}`)
          break
        case "fps":
          video.push(`fps=${num(op.fps)}`)
          break
        case "rotate":
          video.push(op.degrees === 90 ? "transpose=1" : op.degrees === 270 ? "transpose=2" : "hflip,vflip")
          break
        case "flip":
          video.push(op.direction === "horizontal" ? "hflip" : "vflip")
          break
        case "grayscale":
          video.push("hue=s=0")
          break
        case "speed": {
          video.push(`setpts=PTS/${num(op.factor)}`)
          audio.push(...atempo(op.factor))
          if (length !== undefined) length = length / op.factor
          break
        }
        case "fade": {
          const fadeIn = op.in ?? 0
          const fadeOut = op.out ?? 0
          if (fadeOut > 0 && length === undefined) return Either.left("fade out needs an input of known duration")
          if (length !== undefined && fadeIn + fadeOut > length) return Either.left("fades are longer than the video")
          if (fadeIn > 0) {
            video.push(`fade=t=in:st=0:d=${num(fadeIn)}`)
            audio.push(`afade=t=in:st=0:d=${num(fadeIn)}`)
          }
          if (fadeOut > 0 && length !== undefined) {
            video.push(`fade=t=out:st=${num(length - fadeOut)}:d=${num(fadeOut)}`)
            audio.push(`afade=t=out:st=${num(length - fadeOut)}:d=${num(fadeOut)}`)
          }
          break
        }
        case "volume":
          audio.push(`volume=${num(op.gain)}`)
          break
        case "mute":
          mute = true
          break
      }
    }
    const container = containers[format]
    const videoArgs = videoEncoders[videoCodec]
    // libopus takes 48 kHz (among few others): resample whatever comes in.
    const audioArgs = mute
      ? ["-an"]
      : [...(audio.length > 0 ? ["-af", audio.join(",")] : []), ...audioEncoders[audioCodec], ...(audioCodec === "opus" ? ["-ar", "48000"] : [])]
    return Either.right({
      args: [
        ...head,
        ...cut.options,
        "-i",
        input,
        "-map",
        "0:v:0",
        ...(mute ? [] : ["-map", "0:a:0"]),
        ...(video.length > 0 ? ["-vf", video.join(",")] : []),
        ...videoArgs,
        ...audioArgs,
        ...(format === "mp4" ? ["-movflags", "+faststart"] : []),
        "-f",
        container.muxer,
        outputPath
      ],
      mimeType: container.mimeType,
      extension: container.extension
    })
  })
}

/** loudnorm's options for a target. */
const loudnormTarget = (target: LoudnessTarget): string =>
  `loudnorm=I=${num(target.targetLufs)}:TP=${num(target.truePeak ?? -1.5)}:LRA=${num(target.range ?? 11)}`

/** What loudnorm's first pass measured. */
export interface LoudnessMeasurement {
  readonly inputI: number
  readonly inputTp: number
  readonly inputLra: number
  readonly inputThresh: number
  readonly targetOffset: number
}

/** Measuring the noise floor (astats) for the denoiser: its estimate is printed on stderr. */
export const measureNoiseFloor = (input: string): ReadonlyArray<string> => [
  ...["-nostdin", "-hide_banner", "-nostats", "-loglevel", "info", "-i", input, "-vn"],
  ...["-af", "astats=measure_perchannel=none:measure_overall=Noise_floor", "-f", "null", "-"]
]

/** The noise floor astats printed, in dB; undefined when absent or not finite (digital silence). */
export const parseNoiseFloor = (stderr: string): number | undefined => {
  const match = /Noise floor dB:\s*(-?[0-9.]+)/.exec(stderr)
  const value = match === null ? Number.NaN : Number(match[1])
  return Number.isFinite(value) ? value : undefined
}

/**
 * The denoiser: afftdn told where the noise is. Its default floor (-50 dB) leaves louder noise
 * alone, so the floor measured on the input is used, within what afftdn accepts.
 */
export const denoiseFilter = (noiseFloor: number | undefined): string =>
  `afftdn=nf=${num(Math.min(-20, Math.max(-80, noiseFloor ?? -50)))}`

/** The first (measuring) pass of loudness normalisation, after the denoiser when asked: prints loudnorm's JSON on stderr. */
export const measureLoudness = (spec: AudioConvertSpec, input: string, noiseFloor?: number): ReadonlyArray<string> => [
  ...["-nostdin", "-hide_banner", "-nostats", "-loglevel", "info", "-i", input, "-vn", "-af"],
  [...(spec.denoise === true ? [denoiseFilter(noiseFloor)] : []), `${loudnormTarget(spec.loudness ?? { targetLufs: -16 })}:print_format=json`].join(","),
  ...["-f", "null", "-"]
]

const LoudnormReport = Schema.Struct({
  input_i: Schema.NumberFromString,
  input_tp: Schema.NumberFromString,
  input_lra: Schema.NumberFromString,
  input_thresh: Schema.NumberFromString,
  target_offset: Schema.NumberFromString
})

const decodeReport = Schema.decodeUnknownOption(Schema.parseJson(LoudnormReport))

/** Read the JSON block loudnorm prints at the end of a measuring pass (undefined when absent or not finite). */
export const parseLoudness = (stderr: string): LoudnessMeasurement | undefined => {
  const start = stderr.lastIndexOf("{")
  const end = stderr.lastIndexOf("}")
  if (start < 0 || end < start) return undefined
  return Option.getOrUndefined(
    Option.filter(
      Option.map(decodeReport(stderr.slice(start, end + 1)), (report) => ({
        inputI: report.input_i,
        inputTp: report.input_tp,
        inputLra: report.input_lra,
        inputThresh: report.input_thresh,
        targetOffset: report.target_offset
      })),
      (m) => [m.inputI, m.inputTp, m.inputLra, m.inputThresh, m.targetOffset].every(Number.isFinite)
    )
  )
}

/** What was measured on the input before converting it. */
export interface AudioMeasurements {
  readonly loudness?: LoudnessMeasurement | undefined
  readonly noiseFloor?: number | undefined
}

/**
 * `POST /audio/convert`: denoise (afftdn at the measured noise floor), loudness normalisation
 * with the first pass's measurement (linear, so the level moves without pumping), then the
 * format conversion.
 */
export const convertAudio = (
  spec: AudioConvertSpec,
  input: string,
  facts: Probe,
  measurements: AudioMeasurements,
  outputPath: string
): Either.Either<Recipe, string> => {
  const measured = measurements.loudness
  if (!facts.hasAudio) return Either.left("the input has no audio stream")
  if (spec.loudness !== undefined && measured === undefined) {
    return Either.left("the input's loudness could not be measured (is it silent?)")
  }
  const format = spec.format ?? "wav"
  const target = audioFormats[format]
  const filters = [
    ...(spec.denoise === true ? [denoiseFilter(measurements.noiseFloor)] : []),
    ...(spec.loudness !== undefined && measured !== undefined
      ? [
          `${loudnormTarget(spec.loudness)}:measured_I=${num(measured.inputI)}:measured_TP=${num(measured.inputTp)}` +
            `:measured_LRA=${num(measured.inputLra)}:measured_thresh=${num(measured.inputThresh)}:offset=${num(measured.targetOffset)}:linear=true`
        ]
      : [])
  ]
  const rate = outputSampleRate(format, spec.sampleRate, facts.sampleRate, spec.loudness !== undefined)
  return Either.right({
    args: [
      ...head,
      "-i",
      input,
      "-vn",
      "-map",
      "0:a:0",
      ...(filters.length > 0 ? ["-af", filters.join(",")] : []),
      ...target.codec,
      ...(rate !== undefined ? ["-ar", `${rate}`] : []),
      ...(spec.channels !== undefined ? ["-ac", `${spec.channels}`] : []),
      "-f",
      target.muxer,
      outputPath
    ],
    mimeType: target.mimeType,
    extension: target.extension
  })
}
