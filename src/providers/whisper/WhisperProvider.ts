/**
 * The Whisper provider: `speech-to-text` through whisper-asr-webservice's API, served by our
 * local STT service (pocketsphinx, English) or, when `WHISPER_SERVICE_URL` is set, by whatever
 * runs there (for example the real GPU container).
 *
 * - Input: an `Audio` whose source is a file, bytes or a URL (http(s) or data:); it is streamed
 *   to the service as `audio_file`.
 * - Options: `language` (ISO 639-1) is passed to the service; `extra.format` (`txt`, `json`,
 *   `srt`, `vtt` or `tsv`) makes the result's `text` the transcript in that format (subtitles for
 *   `srt`/`vtt`), otherwise `text` is the plain transcript. `extra.initial_prompt`,
 *   `extra.task`, `extra.encode`, `extra.vad_filter` are passed through.
 * - Output: `Text` with `segments` (start, end, text, in seconds; each word's times too with
 *   `extra.word_timestamps`), `language` and `origin: {provider: "whisper", model, costUsd: 0}`.
 * - Models: the engine named by the service's `/health` (`pocketsphinx-en-us` for ours), or
 *   `whisper` for a service without `/health` (the real container's model is its own setting).
 * - `isAvailable`: `GET /health`, falling back to `GET /openapi.json` for the real container.
 *
 * `renderTranscript(text, format)` writes any transcript with segments (from any provider) as
 * SubRip, WebVTT, TSV, plain text or whisper JSON; the CLI's `transcribe --format srt` uses it.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as ConfigError from "effect/ConfigError"
import { type Audio, Text } from "../../domain/Asset.js"
import { InvalidInput } from "../../domain/Errors.js"
import { MediaProvider, type MediaProviderService, type TranscriptionOptions } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import type * as LocalService from "../../local/LocalService.js"
import * as Provider from "../../provider/Provider.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"
import type { AsrParams } from "../../services/stt/Api.js"
import { renderSrt, renderTsv, renderTxt, renderVtt } from "../../media/Subtitles.js"
import { type TranscriptFormat, TranscriptFormats } from "../../services/stt/Transcript.js"
import { uploadName } from "../../http/Multipart.js"
import * as LocalProvider from "../LocalProvider.js"
import * as WhisperClient from "./WhisperClient.js"
import * as WhisperConfig from "./WhisperConfig.js"

export { type TranscriptFormat, TranscriptFormats } from "../../services/stt/Transcript.js"

/** The model id used when the service does not name its engine. */
export const genericModelId = "whisper"

const isFormat = (u: unknown): u is TranscriptFormat => TranscriptFormats.some((format) => format === u)

/**
 * A transcript in one of whisper's output formats: `srt` and `vtt` subtitles, `tsv`
 * (milliseconds), `txt` (a segment a line) or `json` (`{text, segments, language}`). Without
 * segments the whole text is one cue from 0 to 0.
 */
export const renderTranscript = (transcript: Text, format: TranscriptFormat): string => {
  const segments = transcript.segments ?? [{ start: 0, end: 0, text: transcript.text }]
  switch (format) {
    case "srt":
      return renderSrt(segments)
    case "vtt":
      return renderVtt(segments)
    case "tsv":
      return renderTsv(segments)
    case "txt":
      return renderTxt(segments)
    case "json":
      return JSON.stringify({ text: transcript.text, segments, language: transcript.language ?? null })
  }
}

const providerId = WhisperConfig.providerId

const invalid = (message: string): InvalidInput =>
  new InvalidInput({ provider: providerId, detail: message, issues: [message] })

type TranscriptionParams = Omit<AsrParams, "output">

/** The query parameters for a transcription: `language`, and whisper's own from `extra`. */
const paramsOf = (options: TranscriptionOptions | undefined): Effect.Effect<TranscriptionParams, InvalidInput> => {
  const extra = options?.extra ?? {}
  const bad = (key: string) => Effect.fail(invalid(`extra.${key} has an unsupported value: ${JSON.stringify(extra[key])}`))
  const { encode, initial_prompt, task, vad_filter, word_timestamps } = extra
  if (task !== undefined && task !== "transcribe" && task !== "translate") return bad("task")
  if (initial_prompt !== undefined && typeof initial_prompt !== "string") return bad("initial_prompt")
  if (encode !== undefined && typeof encode !== "boolean") return bad("encode")
  if (vad_filter !== undefined && typeof vad_filter !== "boolean") return bad("vad_filter")
  if (word_timestamps !== undefined && typeof word_timestamps !== "boolean") return bad("word_timestamps")
  return Effect.succeed({
    ...(options?.language !== undefined ? { language: options.language } : {}),
    ...(task !== undefined ? { task } : {}),
    ...(initial_prompt !== undefined ? { initial_prompt } : {}),
    ...(encode !== undefined ? { encode } : {}),
    ...(vad_filter !== undefined ? { vad_filter } : {}),
    ...(word_timestamps !== undefined ? { word_timestamps } : {})
  })
}

/** The provider, talking to the service at `location`. */
export const make = (location: LocalService.ServiceLocation): Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = yield* WhisperClient.make(location)

    const modelOf = (id: string, description: string): ProviderModel => ({
      id,
      provider: providerId,
      name: id,
      capabilities: ["speech-to-text"],
      pricing: [],
      free: true,
      description
    })

    const generic = () => [modelOf(genericModelId, "whisper-asr-webservice (model chosen by the service)")]
    const discover = yield* LocalProvider.discoverOnce(
      client.health.pipe(
        Effect.map((health) =>
          health.engine !== undefined
            ? [modelOf(health.engine, `speech-to-text by ${health.engine} behind whisper-asr-webservice's API`)]
            : generic()
        ),
        // The real container has no /health, and does not say which model it runs.
        Effect.catchTag("ModelNotFound", () => Effect.succeed(generic()))
      )
    )

    const speechToText: Provider.Transform<"speech-to-text"> = (modelId: string, input: Audio, options: TranscriptionOptions | undefined) =>
      Effect.gen(function* () {
        const format = options?.extra?.format
        if (format !== undefined && !isFormat(format)) {
          return yield* invalid(`extra.format must be one of ${TranscriptFormats.join(", ")}, not ${JSON.stringify(format)}`)
        }
        const params = yield* paramsOf(options)
        const result = yield* client.transcribe(
          { source: input.source, filename: uploadName(input.source, input.mimeType), contentType: input.mimeType },
          params
        )
        const segments = result.segments.map((s) => ({
          start: s.start,
          end: s.end,
          text: s.text.trim(),
          ...(s.words !== undefined ? { words: s.words.map((w) => ({ word: w.word.trim(), start: w.start, end: w.end })) } : {})
        }))
        const language = result.language ?? options?.language
        const plain = new Text({
          text: result.text.trim(),
          segments,
          ...(language !== undefined ? { language } : {}),
          origin: { provider: providerId, model: modelId, costUsd: 0 }
        })
        if (format === undefined) return plain
        return new Text({ ...plain, text: format === "json" ? JSON.stringify(result) : renderTranscript(plain, format) })
      })

    return yield* Provider.make({
      id: providerId,
      name: "Whisper ASR (speech-to-text)",
      ...LocalProvider.spec(location, client.probe),
      discover,
      transforms: { "speech-to-text": speechToText }
    })
  })

/** The provider as a layer: the service at `WHISPER_SERVICE_URL`, or the embedded STT service started on first use. */
export const layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime> = Layer.effect(
  MediaProvider,
  Effect.flatMap(WhisperConfig.location, make)
)
