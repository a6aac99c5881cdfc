/**
 * The typed client of whisper-asr-webservice's API (our STT service or the real container): the
 * wire shapes (query parameters and answers, from the service's `HttpApi` definition in
 * `services/stt/Api.ts`, plus the JSON transcript whisper writes) and the calls, over the shared
 * HTTP runtime (`runtime/Http.ts`), which turns every status and transport failure into a
 * `MediaError`.
 *
 * @module
 */
import type * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { MediaError } from "../../domain/Errors.js"
import * as Http from "../../http/Http.js"
import type { RetryPolicy } from "../../resilience/Resilience.js"
import { type AsrParams, DetectedLanguage } from "../../services/stt/Api.js"
import { type FilePart, multipartBody } from "../../http/Multipart.js"

export { AsrParams, DetectedLanguage } from "../../services/stt/Api.js"

/** One segment of whisper's JSON transcript (other fields, e.g. `words`, are ignored). */
export const WhisperSegment = Schema.Struct({
  id: Schema.optional(Schema.Number),
  start: Schema.Number,
  end: Schema.Number,
  text: Schema.String
})

/** whisper's JSON transcript: what `/asr?output=json` answers. */
export const WhisperTranscript = Schema.Struct({
  text: Schema.String,
  segments: Schema.Array(WhisperSegment),
  language: Schema.optional(Schema.String)
})
/** whisper's JSON transcript. */
export type WhisperTranscript = typeof WhisperTranscript.Type

/** What our service's `/health` answers; the real container has no such route. */
export const ServiceHealth = Schema.Struct({
  status: Schema.String,
  service: Schema.optional(Schema.String),
  uptime: Schema.optional(Schema.Number),
  activeJobs: Schema.optional(Schema.Number),
  queuedJobs: Schema.optional(Schema.Number),
  engine: Schema.optional(Schema.String)
})
/** What our service's `/health` answers. */
export type ServiceHealth = typeof ServiceHealth.Type

/** The audio to send: an asset's source, its announced file name and type. */
export type AudioFile = Omit<FilePart, "field">

/** How the client is set up. */
export interface WhisperClientOptions {
  /** Budget of one transcription. Default 10 minutes (long recordings on CPU are slow). */
  readonly timeout?: Duration.DurationInput
  /** Retry policy of transient failures. Default: 2 retries from 250 ms. */
  readonly retry?: Partial<RetryPolicy>
}

/** The calls of whisper-asr-webservice. */
export interface WhisperClient {
  readonly baseUrl: string
  /** `POST /asr`: the transcript in the asked `output` format, as text. */
  readonly asr: (audio: AudioFile, params: AsrParams) => Effect.Effect<string, MediaError>
  /** `POST /asr?output=json`: the transcript decoded. */
  readonly transcribe: (audio: AudioFile, params: Omit<AsrParams, "output">) => Effect.Effect<WhisperTranscript, MediaError>
  /** `POST /detect-language`. */
  readonly detectLanguage: (audio: AudioFile) => Effect.Effect<DetectedLanguage, MediaError>
  /** `GET /health` of our service. */
  readonly health: Effect.Effect<ServiceHealth, MediaError>
  /**
   * Whether the service answers: `GET /health`, or, where that route does not exist (the real
   * container), `GET /openapi.json`, which every FastAPI service serves. Never fails.
   */
  readonly probe: Effect.Effect<boolean>
}

/** The provider id used in errors. */
export const providerId = "whisper"

const query = (params: AsrParams): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) out[key] = String(value)
  }
  return out
}

/** A client of the service at `baseUrl`. */
export const make = (baseUrl: string, options: WhisperClientOptions = {}): Effect.Effect<WhisperClient, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const httpClient = yield* HttpClient.HttpClient
    const http = yield* Http.make({
      provider: providerId,
      baseUrl,
      timeout: options.timeout ?? "10 minutes",
      retry: { retries: 2, base: "250 millis", ...options.retry }
    })

    const upload = <A>(
      audio: AudioFile,
      send: (body: HttpBody.HttpBody) => Effect.Effect<A, MediaError>
    ): Effect.Effect<A, MediaError> =>
      Effect.scoped(Effect.flatMap(multipartBody(providerId, { field: "audio_file", ...audio }), send)).pipe(
        Effect.provide(NodeContext.layer),
        Effect.provideService(HttpClient.HttpClient, httpClient)
      )

    const asr = (audio: AudioFile, params: AsrParams) =>
      upload(audio, (body) =>
        Effect.flatMap(http.send({ method: "POST", path: "/asr", query: query(params), body }), (response) =>
          Effect.orElseSucceed(response.text, () => "")
        )
      )

    const transcribe = (audio: AudioFile, params: Omit<AsrParams, "output">) =>
      upload(audio, (body) =>
        http.json({ method: "POST", path: "/asr", query: query({ ...params, output: "json" }), body, schema: WhisperTranscript })
      )

    const detectLanguage = (audio: AudioFile) =>
      upload(audio, (body) => http.json({ method: "POST", path: "/detect-language", body, schema: DetectedLanguage }))

    const health = http.json({ path: "/health", schema: ServiceHealth, timeout: "5 seconds", retry: { retries: 0 } })

    const answers = (path: string) =>
      http.send({ path, timeout: "5 seconds", retry: { retries: 0 } }).pipe(
        Effect.as(true),
        Effect.catchAll((error) => Effect.succeed(error._tag === "ModelNotFound" ? ("missing" as const) : false))
      )

    const probe = Effect.flatMap(answers("/health"), (found) =>
      found === "missing" ? Effect.map(answers("/openapi.json"), (ok) => ok === true) : Effect.succeed(found)
    )

    return { baseUrl: http.baseUrl, asr, transcribe, detectLanguage, health, probe }
  })
