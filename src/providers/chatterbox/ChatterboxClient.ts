/**
 * The typed client of Chatterbox TTS Server's API (our TTS service or the real container): the
 * wire shapes (from the service's `HttpApi` definition in `services/tts/Api.ts`, one definition
 * for both sides) and the calls, over the shared HTTP runtime (`http/Http.ts`), which turns
 * every status and transport failure into a `MediaError`. The service is the one at a
 * `ServiceLocation`, asked on each call (`local/ServiceClient.ts`). Synthesized audio is
 * streamed to a file (written beside its destination, renamed into place when complete), never
 * held whole in memory.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { DownloadFailed, InvalidInput, type MediaError } from "../../domain/Errors.js"
import * as Http from "../../http/Http.js"
import { type FilePart, multipartBody } from "../../http/Multipart.js"
import type * as LocalService from "../../local/LocalService.js"
import * as ServiceClient from "../../local/ServiceClient.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"
import { CustomTTSRequest, OpenAISpeechRequest, PredefinedVoice, UploadResult } from "../../services/tts/Api.js"
import * as ChatterboxConfig from "./ChatterboxConfig.js"

export { ServiceHealth } from "../../local/ServiceClient.js"
export { CustomTTSRequest, OpenAISpeechRequest, type OutputFormat, PredefinedVoice, UploadResult } from "../../services/tts/Api.js"

const providerId = ChatterboxConfig.providerId

/** A synthesized file on disk. */
export interface SavedAudio {
  readonly path: string
  readonly bytes: number
  /** The media type the service answered with, e.g. `audio/wav`. */
  readonly contentType: string
}

/** A reference recording to upload for cloning. */
export type ReferenceFile = Omit<FilePart, "field">

/** How the client is set up: `timeout` is the budget of one synthesis, default 5 minutes. */
export type ChatterboxClientOptions = ServiceClient.ServiceClientOptions

/** The calls of Chatterbox TTS Server. */
export interface Service {
  /** `GET /get_predefined_voices`. */
  readonly voices: Effect.Effect<ReadonlyArray<PredefinedVoice>, MediaError>
  /** `POST /tts`, the audio streamed to `destination`. */
  readonly tts: (request: CustomTTSRequest, destination: string) => Effect.Effect<SavedAudio, MediaError>
  /** `POST /v1/audio/speech`, the audio streamed to `destination`. */
  readonly speech: (request: OpenAISpeechRequest, destination: string) => Effect.Effect<SavedAudio, MediaError>
  /** `POST /upload_reference` with one file (for `voice_mode: "clone"`). */
  readonly uploadReference: (file: ReferenceFile) => Effect.Effect<UploadResult, MediaError>
  /** `GET /health` of our service (the real server has no such route: ModelNotFound there). */
  readonly health: Effect.Effect<ServiceClient.ServiceHealth, MediaError>
  /**
   * Whether the service answers: `GET /health`, or, where that route does not exist (the real
   * server), `GET /get_predefined_voices`. Never fails.
   */
  readonly probe: Effect.Effect<boolean>
}

const encodeRequest = <A, I>(schema: Schema.Schema<A, I>, request: A): Effect.Effect<I, InvalidInput> =>
  Effect.mapError(Schema.encode(schema)(request), (error) => {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => `${issue.path.join(".")}: ${issue.message}`)
    return new InvalidInput({ provider: providerId, detail: `invalid request: ${issues.join("; ")}`, issues })
  })

/** Stream a response body to `destination` (via `destination.part`, renamed when complete). */
const save = (response: HttpClientResponse.HttpClientResponse, destination: string): Effect.Effect<SavedAudio, MediaError> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const partial = `${destination}.part`
    const failed = (message: string) =>
      new DownloadFailed({ provider: providerId, detail: `cannot write ${destination}: ${message}` })
    yield* Stream.run(response.stream, fs.sink(partial)).pipe(
      Effect.mapError((error) => (error._tag === "ResponseError" ? Http.errorFromTransport(providerId, error) : failed(error.message))),
      Effect.tapError(() => Effect.ignore(fs.remove(partial, { force: true })))
    )
    yield* fs.rename(partial, destination).pipe(Effect.mapError((error) => failed(error.message)))
    const info = yield* fs.stat(destination).pipe(Effect.mapError((error) => failed(error.message)))
    return { path: destination, bytes: Number(info.size), contentType: response.headers["content-type"] ?? "application/octet-stream" }
  }).pipe(Effect.provide(NodeContext.layer))

/** Chatterbox TTS Server's client, as a service. */
export class ChatterboxClient extends Context.Tag("automarket/ChatterboxClient")<ChatterboxClient, Service>() {}

/** A client of the service at `location`. */
export const make = (
  location: LocalService.ServiceLocation,
  options: ChatterboxClientOptions = {}
): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const httpClient = yield* HttpClient.HttpClient
    const service = yield* ServiceClient.httpAt(providerId, location, { ...options, timeout: options.timeout ?? ChatterboxConfig.defaultTimeout })

    const voices = Effect.flatMap(service, (http) =>
      http.json({ path: "/get_predefined_voices", schema: Schema.Array(PredefinedVoice), timeout: "30 seconds" })
    )

    const synthesize = <A, I>(path: string, schema: Schema.Schema<A, I>, model: string) => (request: A, destination: string) =>
      Effect.flatMap(encodeRequest(schema, request), (json) =>
        Effect.flatMap(service, (http) => Effect.flatMap(http.send({ method: "POST", path, json, model }), (response) => save(response, destination)))
      )

    const tts = (request: CustomTTSRequest, destination: string) =>
      synthesize("/tts", CustomTTSRequest, request.predefined_voice_id ?? request.reference_audio_filename ?? "unknown")(request, destination)

    const speech = (request: OpenAISpeechRequest, destination: string) =>
      synthesize("/v1/audio/speech", OpenAISpeechRequest, request.voice)(request, destination)

    const uploadReference = (file: ReferenceFile) =>
      Effect.flatMap(service, (http) =>
        Effect.scoped(
          Effect.flatMap(multipartBody(providerId, { field: "files", ...file }), (body) =>
            http.json({ method: "POST", path: "/upload_reference", body, schema: UploadResult })
          )
        ).pipe(Effect.provide(NodeContext.layer), Effect.provideService(HttpClient.HttpClient, httpClient))
      )

    return {
      voices,
      tts,
      speech,
      uploadReference,
      health: Effect.flatMap(service, ServiceClient.health),
      // The real server has no /health; every Chatterbox server lists its voices.
      probe: Effect.flatMap(service, (http) => ServiceClient.probe(http, "/get_predefined_voices")).pipe(Effect.orElseSucceed(() => false))
    }
  })

/** The client of the service at `location`, as a layer. */
export const layer = (location: LocalService.ServiceLocation, options: ChatterboxClientOptions = {}): Layer.Layer<ChatterboxClient, never, HttpClient.HttpClient> =>
  Layer.effect(ChatterboxClient, make(location, options))

/** The client as a layer: the service at `CHATTERBOX_DOCKER_URL`, or the embedded TTS service started on first use. */
export const layerConfig = (
  options: ChatterboxClientOptions = {}
): Layer.Layer<ChatterboxClient, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime> =>
  Layer.effect(ChatterboxClient, Effect.flatMap(ChatterboxConfig.location, (location) => make(location, options)))
