/**
 * The typed client of Chatterbox TTS Server's API (our TTS service or the real container): the
 * wire shapes (from the service's `HttpApi` definition in `services/tts/Api.ts`, one definition
 * for both sides) and the calls, over the shared HTTP runtime (`runtime/Http.ts`), which turns
 * every status and transport failure into a `MediaError`. Synthesized audio is streamed to a
 * file (written beside its destination, renamed into place when complete), never held whole in
 * memory.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { DownloadFailed, InvalidInput, type MediaError } from "../../domain/Errors.js"
import * as Http from "../../http/Http.js"
import type { RetryPolicy } from "../../resilience/Resilience.js"
import { CustomTTSRequest, OpenAISpeechRequest, PredefinedVoice, UploadResult } from "../../services/tts/Api.js"
import { type FilePart, multipartBody } from "../../http/Multipart.js"
import { ServiceHealth } from "../whisper/WhisperClient.js"

export { CustomTTSRequest, OpenAISpeechRequest, type OutputFormat, PredefinedVoice, UploadResult } from "../../services/tts/Api.js"
export { ServiceHealth } from "../whisper/WhisperClient.js"

/** The provider id used in errors. */
export const providerId = "chatterbox"

/** A synthesized file on disk. */
export interface SavedAudio {
  readonly path: string
  readonly bytes: number
  /** The media type the service answered with, e.g. `audio/wav`. */
  readonly contentType: string
}

/** A reference recording to upload for cloning. */
export type ReferenceFile = Omit<FilePart, "field">

/** How the client is set up. */
export interface ChatterboxClientOptions {
  /** Budget of one synthesis. Default 5 minutes. */
  readonly timeout?: Duration.DurationInput
  /** Retry policy of transient failures. Default: 2 retries from 250 ms. */
  readonly retry?: Partial<RetryPolicy>
}

/** The calls of Chatterbox TTS Server. */
export interface ChatterboxClient {
  readonly baseUrl: string
  /** `GET /get_predefined_voices`. */
  readonly voices: Effect.Effect<ReadonlyArray<PredefinedVoice>, MediaError>
  /** `POST /tts`, the audio streamed to `destination`. */
  readonly tts: (request: CustomTTSRequest, destination: string) => Effect.Effect<SavedAudio, MediaError>
  /** `POST /v1/audio/speech`, the audio streamed to `destination`. */
  readonly speech: (request: OpenAISpeechRequest, destination: string) => Effect.Effect<SavedAudio, MediaError>
  /** `POST /upload_reference` with one file (for `voice_mode: "clone"`). */
  readonly uploadReference: (file: ReferenceFile) => Effect.Effect<UploadResult, MediaError>
  /** `GET /health` of our service (the real server has no such route: ModelNotFound there). */
  readonly health: Effect.Effect<ServiceHealth, MediaError>
  /**
   * Whether the service answers: `GET /health`, or, where that route does not exist (the real
   * server), `GET /get_predefined_voices`. Never fails.
   */
  readonly probe: Effect.Effect<boolean>
}

const encodeRequest = <A, I>(schema: Schema.Schema<A, I>, request: A): Effect.Effect<I, InvalidInput> =>
  Effect.mapError(Schema.encode(schema)(request), (error) => {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => `${issue.path.join(".")}: ${issue.message}`)
    return new InvalidInput({ provider: providerId, message: `${providerId}: invalid request: ${issues.join("; ")}`, issues })
  })

/** Stream a response body to `destination` (via `destination.part`, renamed when complete). */
const save = (response: HttpClientResponse.HttpClientResponse, destination: string): Effect.Effect<SavedAudio, MediaError> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const partial = `${destination}.part`
    const failed = (message: string) =>
      new DownloadFailed({ provider: providerId, message: `${providerId}: cannot write ${destination}: ${message}` })
    yield* Stream.run(response.stream, fs.sink(partial)).pipe(
      Effect.mapError((error) => (error._tag === "ResponseError" ? Http.errorFromTransport(providerId, error) : failed(error.message))),
      Effect.tapError(() => Effect.ignore(fs.remove(partial, { force: true })))
    )
    yield* fs.rename(partial, destination).pipe(Effect.mapError((error) => failed(error.message)))
    const info = yield* fs.stat(destination).pipe(Effect.mapError((error) => failed(error.message)))
    return { path: destination, bytes: Number(info.size), contentType: response.headers["content-type"] ?? "application/octet-stream" }
  }).pipe(Effect.provide(NodeContext.layer))

/** A client of the service at `baseUrl`. */
export const make = (baseUrl: string, options: ChatterboxClientOptions = {}): Effect.Effect<ChatterboxClient, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const httpClient = yield* HttpClient.HttpClient
    const http = yield* Http.make({
      provider: providerId,
      baseUrl,
      timeout: options.timeout ?? "5 minutes",
      retry: { retries: 2, base: "250 millis", ...options.retry }
    })

    const voices = http.json({ path: "/get_predefined_voices", schema: Schema.Array(PredefinedVoice), timeout: "30 seconds" })

    const synthesize = <A, I>(path: string, schema: Schema.Schema<A, I>, model: string) => (request: A, destination: string) =>
      Effect.flatMap(encodeRequest(schema, request), (json) =>
        Effect.flatMap(http.send({ method: "POST", path, json, model }), (response) => save(response, destination))
      )

    const tts = (request: CustomTTSRequest, destination: string) =>
      synthesize("/tts", CustomTTSRequest, request.predefined_voice_id ?? request.reference_audio_filename ?? "unknown")(request, destination)

    const speech = (request: OpenAISpeechRequest, destination: string) =>
      synthesize("/v1/audio/speech", OpenAISpeechRequest, request.voice)(request, destination)

    const uploadReference = (file: ReferenceFile) =>
      Effect.scoped(
        Effect.flatMap(multipartBody(providerId, { field: "files", ...file }), (body) =>
          http.json({ method: "POST", path: "/upload_reference", body, schema: UploadResult })
        )
      ).pipe(Effect.provide(NodeContext.layer), Effect.provideService(HttpClient.HttpClient, httpClient))

    const health = http.json({ path: "/health", schema: ServiceHealth, timeout: "5 seconds", retry: { retries: 0 } })

    const answers = (path: string) =>
      http.send({ path, timeout: "5 seconds", retry: { retries: 0 } }).pipe(
        Effect.as(true),
        Effect.catchAll((error) => Effect.succeed(error._tag === "ModelNotFound" ? ("missing" as const) : false))
      )

    const probe = Effect.flatMap(answers("/health"), (found) =>
      found === "missing" ? Effect.map(answers("/get_predefined_voices"), (ok) => ok === true) : Effect.succeed(found)
    )

    return { baseUrl: http.baseUrl, voices, tts, speech, uploadReference, health, probe }
  })
