/**
 * The typed client of the AutoMarket FFmpeg service, built from the same definition the server
 * implements (services/ffmpeg/Api.ts: the wire shapes live there): `HttpApiClient` for health
 * and releasing results, the API's paths and answer schemas for the job routes. It adds what a
 * provider needs around it:
 *
 * - the service at a `ServiceLocation`, asked on every call (an embedded service starts on the
 *   first), with one generated client for each URL it answers (`local/ServiceClient.ts`);
 * - every failure as a `MediaError`: statuses through `errorFromStatus` (http/Http.ts), refined
 *   here only where the service says more: a failure with code `ffmpeg-failed` is a
 *   `GenerationFailed` carrying the service's message (ffmpeg's last stderr lines);
 * - uploads as a multipart body written by hand and streamed from disk (never read into memory),
 *   with a Content-Length so the service can refuse an oversized body before reading it; a
 *   missing file is refused up front with `InvalidInput` naming it. `FormData` is not used: its
 *   objects are not portable across `HttpClient` implementations (undici's client rejects
 *   Node's global one), so the job routes are posted to directly and their answers decoded with
 *   the API's own schemas, while the other routes go through the generated client;
 * - the generating routes (slides, ambient pads) take no files: they go through the generated
 *   client with their JSON spec;
 * - results streamed to disk (a temp name, renamed when complete) and then released on the service.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as Clock from "effect/Clock"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as NodePath from "node:path"
import { DownloadFailed, GenerationFailed, isMediaError, MalformedResponse, type MediaError } from "../../domain/Errors.js"
import { type AssetSource, BytesSource, FileSource, UrlSource } from "../../domain/Asset.js"
import { errorFromStatus, errorFromTransport } from "../../http/Http.js"
import * as Multipart from "../../http/Multipart.js"
import type * as LocalService from "../../local/LocalService.js"
import * as ServiceClient from "../../local/ServiceClient.js"
import type { ServiceRuntime } from "../../local/ServiceRuntime.js"
import { withTimeout } from "../../resilience/Resilience.js"
import {
  type AmbientSpec,
  Envelope,
  FailureBody,
  failureStatus,
  FFmpegApi,
  type Health,
  JobResult,
  jobPaths,
  MediaInfo,
  type OutputFile,
  type ServiceFailure,
  type SlideSpec
} from "../../services/ffmpeg/Api.js"
import * as FFmpegConfig from "./FFmpegConfig.js"

const provider = FFmpegConfig.providerId

/** How the client is set up. */
export interface FFmpegClientOptions {
  /** Budget of one job (upload, ffmpeg run, answer). Default 10 minutes. */
  readonly jobTimeout?: Duration.DurationInput | undefined
  /** Budget of a health check. Default 3 seconds. */
  readonly healthTimeout?: Duration.DurationInput | undefined
}

/** A file to upload under a form key. */
export interface UploadFile {
  readonly key: string
  /**
   * A local path (read lazily, streamed), bytes in memory, or an http(s) URL that this client
   * downloads first (under `http/Download`'s URL policy and size cap) and then uploads: the
   * service itself fetches no URLs unless it was started to.
   */
  readonly content:
    | { readonly _tag: "Path"; readonly path: string }
    | { readonly _tag: "Bytes"; readonly bytes: Uint8Array }
    | { readonly _tag: "Url"; readonly url: string }
  /** The file name sent to the service (only its extension matters there). */
  readonly name: string
}

/** The FFmpeg service, typed. Every failure is a `MediaError`. */
export interface Service {
  readonly health: Effect.Effect<Health, MediaError>
  readonly compose: (spec: unknown, files: ReadonlyArray<UploadFile>) => Effect.Effect<JobResult, MediaError>
  readonly convertAudio: (spec: unknown, files: ReadonlyArray<UploadFile>) => Effect.Effect<JobResult, MediaError>
  readonly extractAudio: (spec: unknown, files: ReadonlyArray<UploadFile>) => Effect.Effect<JobResult, MediaError>
  readonly extractFrame: (spec: unknown, files: ReadonlyArray<UploadFile>) => Effect.Effect<JobResult, MediaError>
  /** `POST /image/upscale`: a picture made larger (Lanczos). */
  readonly upscale: (spec: unknown, files: ReadonlyArray<UploadFile>) => Effect.Effect<JobResult, MediaError>
  readonly filter: (spec: unknown, files: ReadonlyArray<UploadFile>) => Effect.Effect<JobResult, MediaError>
  readonly metadata: (spec: unknown, files: ReadonlyArray<UploadFile>) => Effect.Effect<MediaInfo, MediaError>
  /** Draw a text slide (PNG). The spec is sent as given: check it against `SlideSpec` first (the models do). */
  readonly slide: (spec: SlideSpec) => Effect.Effect<JobResult, MediaError>
  /** Synthesize an ambient pad (wav). The spec is sent as given: check it against `AmbientSpec` first (the models do). */
  readonly ambient: (spec: AmbientSpec) => Effect.Effect<JobResult, MediaError>
  /** Stream a result into `dest` (written as `dest.part`, renamed when complete). */
  readonly download: (output: OutputFile, dest: string) => Effect.Effect<void, MediaError>
  /** Delete a result on the service. Never fails (the service expires results anyway). */
  readonly release: (output: OutputFile) => Effect.Effect<void>
}

const decodeFailure = Schema.decodeUnknownOption(Schema.parseJson(FailureBody))

/**
 * The `MediaError` of a non-2xx answer: `errorFromStatus` decides, except that an ffmpeg failure
 * the service reports (`code: "ffmpeg-failed"`) is a `GenerationFailed` with its message.
 */
export const errorFromAnswer = (status: number, headers: Readonly<Record<string, string | undefined>>, body: string, now: number): MediaError => {
  const decided = errorFromStatus({ provider, status, headers, body, now })
  const failure = decodeFailure(body)
  if (Option.isSome(failure) && failure.value.code === "ffmpeg-failed") {
    return new GenerationFailed({ provider, detail: decided.detail, providerMessage: failure.value.error })
  }
  return decided
}

/** What the generated client can fail with. */
type ClientFailure = ServiceFailure | HttpApiDecodeError | MediaError | HttpClientError.HttpClientError | ParseResult.ParseError

// What the generated client can fail with, as a MediaError.
const toMediaError = (error: ClientFailure): MediaError => {
  if (isMediaError(error)) return error
  if (ParseResult.isParseError(error)) {
    return new MalformedResponse({ provider, detail: `answer does not have the expected shape: ${ParseResult.TreeFormatter.formatErrorSync(error)}` })
  }
  if (HttpClientError.isHttpClientError(error)) return errorFromTransport(provider, error)
  // Failure answers are turned into MediaErrors before decoding; this covers the types only.
  if (error instanceof HttpApiDecodeError) return errorFromAnswer(400, {}, JSON.stringify({ error: error.message }), 0)
  return errorFromAnswer(failureStatus(error), {}, JSON.stringify(error), 0)
}

const sourceOf = (content: UploadFile["content"]): AssetSource => {
  switch (content._tag) {
    case "Bytes":
      return new BytesSource({ bytes: content.bytes })
    case "Path":
      return new FileSource({ path: content.path })
    case "Url":
      return new UrlSource({ url: content.url })
  }
}

/**
 * The multipart body of a job: the JSON `spec` field, then each file, streamed from disk (or
 * from memory) as the request is sent, with its total length (built by `http/Multipart`). A
 * local file that cannot be read is an `InvalidInput` naming it.
 */
export const multipartBody = (
  spec: unknown,
  files: ReadonlyArray<UploadFile>
): Effect.Effect<HttpBody.HttpBody, MediaError, HttpClient.HttpClient | Scope.Scope> =>
  Multipart.multipartForm(
    provider,
    [{ field: "spec", value: JSON.stringify(spec), contentType: "application/json" }],
    files.map((file) => ({
      field: file.key,
      filename: file.name,
      contentType: "application/octet-stream",
      source: sourceOf(file.content)
    }))
  ).pipe(Effect.provide(NodeFileSystem.layer))

/** The FFmpeg service's client, as a service. */
export class FFmpegClient extends Context.Tag("automarket/FFmpegClient")<FFmpegClient, Service>() {}

/**
 * Make a client of the service at `location` over the `HttpClient` in context. The location is
 * asked on every call (an embedded service starts on the first); the budgets count from when it
 * answered.
 */
export const make = (location: LocalService.ServiceLocation, options: FFmpegClientOptions = {}): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const jobTimeout = options.jobTimeout ?? FFmpegConfig.defaultJobTimeout
    const healthTimeout = options.healthTimeout ?? FFmpegConfig.defaultHealthTimeout
    const fs = yield* Effect.provide(FileSystem.FileSystem, NodeFileSystem.layer)
    const raw = yield* HttpClient.HttpClient
    // Statuses and transport failures become MediaErrors before the generated client decodes.
    // The service's token, when it has one: every request of this client goes to the service.
    const token = location.token
    const http = raw.pipe(
      HttpClient.withTracerDisabledWhen(() => true),
      HttpClient.mapRequest((request) => (token === undefined ? request : HttpClientRequest.bearerToken(request, token))),
      HttpClient.transformResponse((effect) =>
        effect.pipe(
          Effect.mapError((error): MediaError => errorFromTransport(provider, error)),
          Effect.flatMap((response) =>
            response.status >= 200 && response.status < 300
              ? Effect.succeed(response)
              : Effect.flatMap(Effect.zip(Effect.orElseSucceed(response.text, () => ""), Clock.currentTimeMillis), ([body, now]) =>
                  Effect.fail(errorFromAnswer(response.status, response.headers, body, now))
                )
          )
        )
      )
    )
    // The generated client of the service's current URL.
    const service = yield* ServiceClient.perUrl(location, (url) => {
      const baseUrl = url.replace(/\/+$/, "")
      return Effect.map(HttpApiClient.makeWith(FFmpegApi, { httpClient: http, baseUrl }), (api) => ({ baseUrl, api }))
    })

    // A job route: the streamed multipart body posted, the envelope decoded with the API's schema.
    const job =
      <A, I>(path: string, data: Schema.Schema<A, I>) =>
      (spec: unknown, files: ReadonlyArray<UploadFile>): Effect.Effect<A, MediaError> => {
        const decode = Schema.decodeUnknown(Envelope(data))
        return Effect.flatMap(service, ({ baseUrl }) =>
          Effect.gen(function* () {
            const body = yield* multipartBody(spec, files).pipe(Effect.provideService(HttpClient.HttpClient, raw))
            const response = yield* http.execute(HttpClientRequest.setBody(HttpClientRequest.post(`${baseUrl}${path}`), body))
            const json = yield* response.json.pipe(
              Effect.mapError((error) => new MalformedResponse({ provider, detail: `answer is not JSON: ${error.message}` }))
            )
            const answer = yield* decode(json).pipe(Effect.mapError(toMediaError))
            return answer.data
          }).pipe(Effect.scoped, withTimeout(provider, jobTimeout))
        )
      }

    const health = Effect.flatMap(service, ({ api }) => api.system.health().pipe(Effect.mapError(toMediaError), withTimeout(provider, healthTimeout)))

    const download = (output: OutputFile, dest: string): Effect.Effect<void, MediaError> =>
      Effect.flatMap(service, ({ baseUrl }) => {
        // Built from the name (not the answer's `url`), so a result is only ever fetched from this service.
        const url = `${baseUrl}/outputs/${encodeURIComponent(output.name)}`
        const part = `${dest}.part`
        const failed = (message: string) => new DownloadFailed({ provider, url, detail: `cannot fetch the result: ${message}` })
        return http.execute(HttpClientRequest.get(url)).pipe(
          Effect.flatMap((response) =>
            response.stream.pipe(
              Stream.mapError((error) => errorFromTransport(provider, error)),
              Stream.run(fs.sink(part))
            )
          ),
          Effect.zipRight(fs.rename(part, dest)),
          Effect.mapError((error) => failed(error.message)),
          Effect.scoped,
          Effect.tapError(() => fs.remove(part).pipe(Effect.ignore)),
          Effect.onInterrupt(() => fs.remove(part).pipe(Effect.ignore)),
          withTimeout(provider, jobTimeout)
        )
      })

    // A generating route: its JSON spec through the generated client.
    const generate = (
      call: (api: Effect.Effect.Success<typeof service>["api"]) => Effect.Effect<{ readonly data: JobResult }, ClientFailure>
    ): Effect.Effect<JobResult, MediaError> =>
      Effect.flatMap(service, ({ api }) =>
        call(api).pipe(
          Effect.map((answer) => answer.data),
          Effect.mapError(toMediaError),
          withTimeout(provider, jobTimeout)
        )
      )

    const slide = (spec: SlideSpec) => generate((api) => api.image.slide({ payload: spec }))

    const ambient = (spec: AmbientSpec) => generate((api) => api.audio.ambient({ payload: spec }))

    const release = (output: OutputFile): Effect.Effect<void> =>
      Effect.flatMap(service, ({ api }) => api.outputs.remove({ path: { name: output.name } }).pipe(withTimeout(provider, healthTimeout))).pipe(
        Effect.ignore
      )

    return {
      health,
      compose: job(jobPaths.compose, JobResult),
      convertAudio: job(jobPaths.convert, JobResult),
      extractAudio: job(jobPaths.extractAudio, JobResult),
      extractFrame: job(jobPaths.extractFrame, JobResult),
      upscale: job(jobPaths.upscale, JobResult),
      filter: job(jobPaths.filter, JobResult),
      metadata: job(jobPaths.metadata, MediaInfo),
      slide,
      ambient,
      download,
      release
    }
  })

/** The client of the service at `location`, as a layer. */
export const layer = (location: LocalService.ServiceLocation, options: FFmpegClientOptions = {}): Layer.Layer<FFmpegClient, never, HttpClient.HttpClient> =>
  Layer.effect(FFmpegClient, make(location, options))

/** The client as a layer: the service at `FFMPEG_SERVICE_URL`, or the embedded FFmpeg service started on first use. */
export const layerConfig = (
  options: FFmpegClientOptions = {}
): Layer.Layer<FFmpegClient, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime> =>
  Layer.effect(FFmpegClient, Effect.flatMap(FFmpegConfig.location, (location) => make(location, options)))

/** A file name for an upload of `path` (its base name; the service only looks at the extension). */
export const uploadName = (path: string): string => NodePath.basename(path) || "input"

/** The name a URL's file is uploaded under: the last segment of its path (its extension helps ffprobe). */
export const urlUploadName = (url: string): string => {
  try {
    return uploadName(decodeURIComponent(new URL(url).pathname))
  } catch {
    return "input"
  }
}
