/**
 * The speech-to-text service's HTTP API: the routes, query parameters and answers of
 * whisper-asr-webservice (ahmetoner/whisper-asr-webservice, default port 9000; see
 * `shared/specs/whisper-asr/openapi.derived.yaml`), defined once with `HttpApi` so that the
 * server, the typed client (`HttpApiClient.make(SttApi)`) and the OpenAPI document come from the
 * same definition. A client written for this API works against the real container.
 *
 * - `POST /asr?output=txt|vtt|srt|tsv|json&task&language&encode&word_timestamps...` with a
 *   multipart `audio_file`: the transcript as `text/plain` for every output format (json
 *   included, as the real service does), headers `Asr-Engine` and `Content-Disposition`;
 * - `POST /detect-language?encode` with a multipart `audio_file`:
 *   `{detected_language, language_code, confidence}`;
 * - `GET /health` (ours).
 *
 * Errors are the kit's classes in FastAPI's encoding (`kit/FastApi.ts`): `{"detail": "..."}`
 * (400, 413, 500, 503) and `{"detail": [{loc, msg, type}]}` (422).
 *
 * @module
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Multipart from "@effect/platform/Multipart"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { api, errors } from "../kit/FastApi.js"
import { HealthResponse } from "../kit/Health.js"
import { TranscriptFormats } from "./Transcript.js"

/**
 * A boolean query parameter read the way FastAPI reads one: `true/false`, `1/0`, `yes/no`,
 * `on/off`, any case.
 */
export const QueryBoolean = Schema.transformOrFail(Schema.String, Schema.Boolean, {
  strict: true,
  decode: (text, _, ast) => {
    const value = text.trim().toLowerCase()
    if (["true", "1", "yes", "on", "y", "t"].includes(value)) return ParseResult.succeed(true)
    if (["false", "0", "no", "off", "n", "f"].includes(value)) return ParseResult.succeed(false)
    return ParseResult.fail(new ParseResult.Type(ast, text, `Input should be a valid boolean, unable to interpret input "${text}"`))
  },
  encode: (value) => ParseResult.succeed(value ? "true" : "false")
})

const IntFromQuery = Schema.NumberFromString.pipe(Schema.int())

/** The query parameters of `POST /asr` (those of faster_whisper and whisperx are accepted too). */
export const AsrParams = Schema.Struct({
  /** Decode the upload with ffmpeg first (default true); false means raw 16 kHz mono s16le PCM. */
  encode: Schema.optional(QueryBoolean),
  task: Schema.optional(Schema.Literal("transcribe", "translate")),
  /** A whisper language code, e.g. `en`. */
  language: Schema.optional(Schema.String),
  initial_prompt: Schema.optional(Schema.String),
  vad_filter: Schema.optional(QueryBoolean),
  word_timestamps: Schema.optional(QueryBoolean),
  diarize: Schema.optional(QueryBoolean),
  min_speakers: Schema.optional(IntFromQuery),
  max_speakers: Schema.optional(IntFromQuery),
  output: Schema.optional(Schema.Literal(...TranscriptFormats))
})
/** The query parameters of `POST /asr`. */
export type AsrParams = typeof AsrParams.Type

/** The query parameters of `POST /detect-language`. */
export const DetectLanguageParams = Schema.Struct({
  encode: Schema.optional(QueryBoolean)
})

/** The multipart body of both routes: one file, `audio_file`. */
export const AudioUpload = HttpApiSchema.MultipartStream(Schema.Struct({ audio_file: Multipart.SingleFileSchema }))

/** The answer of `POST /detect-language`. */
export const DetectedLanguage = Schema.Struct({
  detected_language: Schema.String,
  language_code: Schema.String,
  confidence: Schema.Number
})
/** The answer of `POST /detect-language`. */
export type DetectedLanguage = typeof DetectedLanguage.Type

/** The routes of the STT service. */
export class SttGroup extends HttpApiGroup.make("stt", { topLevel: true })
  .add(
    HttpApiEndpoint.post("asr", "/asr")
      .setUrlParams(AsrParams)
      .setPayload(AudioUpload)
      .addSuccess(HttpApiSchema.Text())
      .addError(errors.BadRequest)
      .addError(errors.EngineFailed)
      .addError(errors.Unavailable)
  )
  .add(
    HttpApiEndpoint.post("detectLanguage", "/detect-language")
      .setUrlParams(DetectLanguageParams)
      .setPayload(AudioUpload)
      .addSuccess(DetectedLanguage)
      .addError(errors.BadRequest)
      .addError(errors.EngineFailed)
      .addError(errors.Unavailable)
  )
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(HealthResponse)) {}

/** The STT service's API (whisper-asr-webservice's routes). */
export class SttApi extends api("whisper-asr", "Whisper ASR Webservice (automarket, pocketsphinx engine)", SttGroup) {}
