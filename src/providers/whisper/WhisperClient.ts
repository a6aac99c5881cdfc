/**
 * The typed client of whisper-asr-webservice's API (our STT service or the real container): the
 * wire shapes (query parameters and answers, from the service's `HttpApi` definition in
 * `services/stt/Api.ts`, plus the JSON transcript whisper writes) and the calls, over the shared
 * HTTP runtime (`http/Http.ts`), which turns every status and transport failure into a
 * `MediaError`. The service is the one at a `ServiceLocation`, asked on each call
 * (`local/ServiceClient.ts`).
 *
 * @module
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { MediaError } from "../../domain/Errors.js"
import { type FilePart, multipartBody } from "../../http/Multipart.js"
import type * as LocalService from "../../local/LocalService.js"
import * as ServiceClient from "../../local/ServiceClient.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"
import { type AsrParams, DetectedLanguage } from "../../services/stt/Api.js"
import * as WhisperConfig from "./WhisperConfig.js"

export { ServiceHealth } from "../../local/ServiceClient.js"
export { AsrParams, DetectedLanguage } from "../../services/stt/Api.js"

const providerId = WhisperConfig.providerId

/** One timed word of whisper's JSON transcript (with `word_timestamps`); the word has a leading space. */
export const WhisperWord = Schema.Struct({
  word: Schema.String,
  start: Schema.Number,
  end: Schema.Number
})

/** One segment of whisper's JSON transcript (other fields are ignored); `words` with `word_timestamps`. */
export const WhisperSegment = Schema.Struct({
  id: Schema.optional(Schema.Number),
  start: Schema.Number,
  end: Schema.Number,
  text: Schema.String,
  words: Schema.optional(Schema.Array(WhisperWord))
})

/** whisper's JSON transcript: what `/asr?output=json` answers. */
export const WhisperTranscript = Schema.Struct({
  text: Schema.String,
  segments: Schema.Array(WhisperSegment),
  language: Schema.optional(Schema.String)
})
/** whisper's JSON transcript. */
export type WhisperTranscript = typeof WhisperTranscript.Type

/** The audio to send: an asset's source, its announced file name and type. */
export type AudioFile = Omit<FilePart, "field">

/** How the client is set up: `timeout` is the budget of one transcription, default 10 minutes. */
export type WhisperClientOptions = ServiceClient.ServiceClientOptions

/** The calls of whisper-asr-webservice. */
export interface Service {
  /** `POST /asr`: the transcript in the asked `output` format, as text. */
  readonly asr: (audio: AudioFile, params: AsrParams) => Effect.Effect<string, MediaError>
  /** `POST /asr?output=json`: the transcript decoded. */
  readonly transcribe: (audio: AudioFile, params: Omit<AsrParams, "output">) => Effect.Effect<WhisperTranscript, MediaError>
  /** `POST /detect-language`. */
  readonly detectLanguage: (audio: AudioFile) => Effect.Effect<DetectedLanguage, MediaError>
  /** `GET /health` of our service. */
  readonly health: Effect.Effect<ServiceClient.ServiceHealth, MediaError>
  /**
   * Whether the service answers: `GET /health`, or, where that route does not exist (the real
   * container), `GET /openapi.json`, which every FastAPI service serves. Never fails.
   */
  readonly probe: Effect.Effect<boolean>
}

const query = (params: AsrParams): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) out[key] = String(value)
  }
  return out
}

/** whisper-asr-webservice's client, as a service. */
export class WhisperClient extends Context.Tag("automarket/WhisperClient")<WhisperClient, Service>() {}

/** A client of the service at `location`. */
export const make = (location: LocalService.ServiceLocation, options: WhisperClientOptions = {}): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const httpClient = yield* HttpClient.HttpClient
    const service = yield* ServiceClient.httpAt(providerId, location, { ...options, timeout: options.timeout ?? WhisperConfig.defaultTimeout })

    const upload = <A>(
      audio: AudioFile,
      send: (body: HttpBody.HttpBody) => Effect.Effect<A, MediaError>
    ): Effect.Effect<A, MediaError> =>
      Effect.scoped(Effect.flatMap(multipartBody(providerId, { field: "audio_file", ...audio }), send)).pipe(
        Effect.provide(NodeContext.layer),
        Effect.provideService(HttpClient.HttpClient, httpClient)
      )

    const asr = (audio: AudioFile, params: AsrParams) =>
      Effect.flatMap(service, (http) =>
        upload(audio, (body) =>
          Effect.flatMap(http.send({ method: "POST", path: "/asr", query: query(params), body }), (response) =>
            Effect.orElseSucceed(response.text, () => "")
          )
        )
      )

    const transcribe = (audio: AudioFile, params: Omit<AsrParams, "output">) =>
      Effect.flatMap(service, (http) =>
        upload(audio, (body) =>
          http.json({ method: "POST", path: "/asr", query: query({ ...params, output: "json" }), body, schema: WhisperTranscript })
        )
      )

    const detectLanguage = (audio: AudioFile) =>
      Effect.flatMap(service, (http) =>
        upload(audio, (body) => http.json({ method: "POST", path: "/detect-language", body, schema: DetectedLanguage }))
      )

    return {
      asr,
      transcribe,
      detectLanguage,
      health: Effect.flatMap(service, ServiceClient.health),
      // The real container has no /health; every FastAPI service serves its OpenAPI document.
      probe: Effect.flatMap(service, (http) => ServiceClient.probe(http, "/openapi.json")).pipe(Effect.orElseSucceed(() => false))
    }
  })

/** The client of the service at `location`, as a layer. */
export const layer = (location: LocalService.ServiceLocation, options: WhisperClientOptions = {}): Layer.Layer<WhisperClient, never, HttpClient.HttpClient> =>
  Layer.effect(WhisperClient, make(location, options))

/** The client as a layer: the service at `WHISPER_SERVICE_URL`, or the embedded STT service started on first use. */
export const layerConfig = (
  options: WhisperClientOptions = {}
): Layer.Layer<WhisperClient, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime> =>
  Layer.effect(WhisperClient, Effect.flatMap(WhisperConfig.location, (location) => make(location, options)))
