/**
 * The text-to-speech service's HTTP API: the routes, parameters and answers of Chatterbox TTS
 * Server (devnen/Chatterbox-TTS-Server, default port 8004; see
 * `shared/specs/chatterbox/openapi.derived.yaml`), defined once with `HttpApi` so that the
 * server, the typed client (`HttpApiClient.make(TtsApi)`) and the OpenAPI document come from
 * the same definition. A client written for this API works against the real GPU container.
 *
 * Routes: `POST /tts` (Chatterbox's own request), `POST /v1/audio/speech` (OpenAI-style),
 * `GET /get_predefined_voices`, `GET /v1/audio/voices`, `GET /get_reference_files`,
 * `GET /api/model-info`, `POST /upload_reference`, plus `GET /health` (ours).
 *
 * Errors are the kit's classes in FastAPI's encoding (`kit/FastApi.ts`): `{"detail": "..."}`
 * (400, 404, 413, 500, 503) and `{"detail": [{loc, msg, type}]}` (422).
 *
 * @module
 */
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as Multipart from "@effect/platform/Multipart"
import * as Schema from "effect/Schema"
import { api, errors } from "../kit/FastApi.js"
import { HealthResponse } from "../kit/Health.js"

/** The audio formats both speech routes can answer with. */
export const OutputFormat = Schema.Literal("wav", "opus", "mp3")
/** An audio format: `wav` (PCM), `opus` (Ogg Opus) or `mp3`. */
export type OutputFormat = typeof OutputFormat.Type

/** The media type each format is answered with (`audio/<format>`, as Chatterbox does). */
export const contentTypeOf = (format: OutputFormat): string => `audio/${format}`

const nullable = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

/** Playback speed: 1 = normal, 0.25 to 4. */
export const Speed = Schema.Number.pipe(Schema.between(0.25, 4))

/** The body of `POST /tts` (Chatterbox's `CustomTTSRequest`). */
export const CustomTTSRequest = Schema.Struct({
  text: Schema.String.pipe(Schema.minLength(1)),
  /** `predefined` (a voice from `/get_predefined_voices`) or `clone` (a reference recording). */
  voice_mode: Schema.optional(Schema.Literal("predefined", "clone")),
  /** A predefined voice's file name, e.g. `slt.wav`; required when `voice_mode` is `predefined`. */
  predefined_voice_id: nullable(Schema.String),
  /** A reference recording's file name; required when `voice_mode` is `clone`. */
  reference_audio_filename: nullable(Schema.String),
  output_format: nullable(OutputFormat),
  split_text: nullable(Schema.Boolean),
  chunk_size: nullable(Schema.Int.pipe(Schema.between(50, 500))),
  temperature: nullable(Schema.Number),
  exaggeration: nullable(Schema.Number),
  cfg_weight: nullable(Schema.Number),
  seed: nullable(Schema.Int),
  speed_factor: nullable(Speed),
  language: nullable(Schema.String)
})
/** The body of `POST /tts`. */
export type CustomTTSRequest = typeof CustomTTSRequest.Type

/** The body of `POST /v1/audio/speech` (OpenAI-style; `voice` is a voice FILE name, `model` is ignored). */
export const OpenAISpeechRequest = Schema.Struct({
  model: Schema.String,
  input: Schema.String,
  voice: Schema.String,
  response_format: Schema.optional(OutputFormat),
  speed: Schema.optional(Speed),
  seed: nullable(Schema.Int)
})
/** The body of `POST /v1/audio/speech`. */
export type OpenAISpeechRequest = typeof OpenAISpeechRequest.Type

/** One predefined voice. */
export const PredefinedVoice = Schema.Struct({
  display_name: Schema.String,
  filename: Schema.String
})
/** One predefined voice. */
export type PredefinedVoice = typeof PredefinedVoice.Type

/** The answer of `GET /v1/audio/voices` (llama-swap compatible). */
export const VoiceList = Schema.Struct({
  status: Schema.Literal("ok"),
  voices: Schema.Array(Schema.String)
})

/** The answer of `GET /api/model-info`. */
export const ModelInfo = Schema.Struct({
  loaded: Schema.Boolean,
  type: Schema.NullOr(Schema.Literal("original", "turbo", "multilingual")),
  class_name: Schema.NullOr(Schema.String),
  device: Schema.NullOr(Schema.String),
  sample_rate: Schema.NullOr(Schema.Int),
  supports_paralinguistic_tags: Schema.Boolean,
  available_paralinguistic_tags: Schema.Array(Schema.String),
  turbo_available_in_package: Schema.Boolean,
  multilingual_available_in_package: Schema.Boolean,
  supports_multilingual: Schema.Boolean,
  supported_languages: Schema.Record({ key: Schema.String, value: Schema.String })
})

/** The answer of `POST /upload_reference`. */
export const UploadResult = Schema.Struct({
  message: Schema.String,
  uploaded_files: Schema.Array(Schema.String),
  all_reference_files: Schema.Array(Schema.String),
  errors: Schema.Array(Schema.Struct({ filename: Schema.String, error: Schema.String }))
})
/** The answer of `POST /upload_reference`. */
export type UploadResult = typeof UploadResult.Type

/** 400 of `POST /upload_reference`: every upload failed (the body is still an `UploadResult`). */
export class UploadRejected extends Schema.Class<UploadRejected>("UploadRejected")(
  UploadResult.fields,
  HttpApiSchema.annotations({ status: 400, description: "All uploads failed" })
) {}

/** Audio bytes; the actual media type is `audio/<format>`. */
export const AudioBytes = HttpApiSchema.Uint8Array({ contentType: "audio/wav" })

/** The routes of the TTS service. */
export class TtsGroup extends HttpApiGroup.make("tts", { topLevel: true })
  .add(
    HttpApiEndpoint.post("tts", "/tts")
      .setPayload(CustomTTSRequest)
      .addSuccess(AudioBytes)
      .addError(errors.BadRequest)
      .addError(errors.NotFound)
      .addError(errors.EngineFailed)
      .addError(errors.Unavailable)
  )
  .add(
    HttpApiEndpoint.post("speech", "/v1/audio/speech")
      .setPayload(OpenAISpeechRequest)
      .addSuccess(AudioBytes)
      .addError(errors.BadRequest)
      .addError(errors.NotFound)
      .addError(errors.EngineFailed)
      .addError(errors.Unavailable)
  )
  .add(HttpApiEndpoint.get("predefinedVoices", "/get_predefined_voices").addSuccess(Schema.Array(PredefinedVoice)))
  .add(
    HttpApiEndpoint.get("voices", "/v1/audio/voices")
      .setUrlParams(Schema.Struct({ model: Schema.optional(Schema.String) }))
      .addSuccess(VoiceList)
  )
  .add(HttpApiEndpoint.get("referenceFiles", "/get_reference_files").addSuccess(Schema.Array(Schema.String)))
  .add(HttpApiEndpoint.get("modelInfo", "/api/model-info").addSuccess(ModelInfo))
  .add(
    HttpApiEndpoint.post("uploadReference", "/upload_reference")
      .setPayload(HttpApiSchema.MultipartStream(Schema.Struct({ files: Multipart.FilesSchema })))
      .addSuccess(UploadResult)
      .addError(UploadRejected)
  )
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(HealthResponse)) {}

/** The TTS service's API (Chatterbox TTS Server's routes). */
export class TtsApi extends api("chatterbox-tts", "Chatterbox TTS Server (automarket, flite engine)", TtsGroup) {}
