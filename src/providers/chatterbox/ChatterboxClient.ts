/**
 * The typed client of Chatterbox TTS Server's API (our TTS service or the real container): the
 * wire shapes (from the service's `HttpApi` definition in `services/tts/Api.ts`, one definition
 * for both sides) and the calls, over the shared HTTP runtime (`http/Http.ts`), which turns
 * every status and transport failure into a `MediaError`. The service is the one at a
 * `ServiceLocation`, asked on each call (`local/ServiceClient.ts`). Synthesized audio is
 * streamed to a file (written beside its destination, renamed into place when complete), never
 * held whole in memory.
 *
 * Voice cloning (`reference`) follows what devnen/Chatterbox-TTS-Server (server.py, utils.py @
 * 68213e7) does with an upload: it judges a file by its name only (`.wav` or `.mp3`, else the
 * file's entry in `errors`, and HTTP 400 when no file was kept), drops a clip longer than
 * `max_reference_duration_sec` (30 s by default) the same way, keeps any other bytes under such
 * a name (a non-audio file then fails synthesis with HTTP 500), and answers a name it already
 * holds as uploaded without storing the new bytes. So the client checks the content itself
 * (a RIFF/WAVE header or an MP3 stream) before anything is sent, and uploads a recording under a
 * name made from its content's SHA-256: the same name always means the same bytes, a clip the
 * server holds (listed by `GET /get_reference_files`) is not sent again, and two different clips
 * never share a name.
 *
 * @module
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { createHash, randomUUID } from "node:crypto"
import * as NodePath from "node:path"
import { type AssetSource, BytesSource, FileSource } from "../../domain/Asset.js"
import { DownloadFailed, InvalidInput, type MediaError } from "../../domain/Errors.js"
import * as Download from "../../http/Download.js"
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

/** The kinds of recording the server clones from (it accepts the `.wav` and `.mp3` names only). */
export type ReferenceKind = "wav" | "mp3"

/**
 * What the first bytes of a recording say it is: a RIFF/WAVE header, or MP3 (an ID3v2 tag, or
 * an MPEG audio frame's sync word with a valid layer); undefined for anything else.
 */
export const sniffReference = (head: Uint8Array): ReferenceKind | undefined => {
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to))
  if (head.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "wav"
  if (head.length >= 3 && ascii(0, 3) === "ID3") return "mp3"
  // 11 sync bits, then a version other than "reserved" (01) and a layer other than "reserved" (00).
  const [first = 0, second = 0] = head
  if (first === 0xff && (second & 0xe0) === 0xe0 && (second & 0x18) !== 0x08 && (second & 0x06) !== 0) return "mp3"
  return undefined
}

/**
 * The name a recording is uploaded under: its content's SHA-256 (128 bits of it), so the
 * server's duplicate check by name is a check by content.
 */
export const referenceName = (sha256Hex: string, kind: ReferenceKind): string => `automarket-ref-${sha256Hex.slice(0, 32)}.${kind}`

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
  /**
   * `POST /upload_reference` with one file, sent as it is (see `reference` for the checked,
   * uploaded-once way). A file the server refuses (all of them: HTTP 400) is `InvalidInput`
   * with the server's reason for each.
   */
  readonly uploadReference: (file: ReferenceFile) => Effect.Effect<UploadResult, MediaError>
  /** `GET /get_reference_files`: the names of the recordings the server can clone from. */
  readonly referenceFiles: Effect.Effect<ReadonlyArray<string>, MediaError>
  /**
   * The server's name for a recording to clone (`reference_audio_filename`): the content is
   * checked to be WAV or MP3 before anything is sent (else `InvalidInput` naming `field`, by
   * default `reference audio`), then uploaded, streamed, under its content's name unless the
   * server lists it already (`GET /get_reference_files`, asked each time). Concurrent calls for
   * the same content share one upload.
   */
  readonly reference: (source: AssetSource, field?: string) => Effect.Effect<string, MediaError>
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

/** The first bytes kept of a recording: enough for `sniffReference`. */
const headBytes = 12

/** A recording ready to upload: where its bytes are (a file for anything not already in memory), their SHA-256 and first bytes. */
interface Hashed {
  readonly source: BytesSource | FileSource
  readonly sha256: string
  readonly head: Uint8Array
}

const unreadable = (field: string, why: string): InvalidInput =>
  new InvalidInput({ provider: providerId, detail: `${field}: ${why}`, issues: [`${field}: ${why}`] })

const hashBytes = (bytes: Uint8Array): Hashed => ({
  source: new BytesSource({ bytes }),
  sha256: createHash("sha256").update(bytes).digest("hex"),
  head: bytes.subarray(0, headBytes)
})

/** Hash a file as a stream: a large recording is never held in memory. */
const hashFile = (path: string, field: string): Effect.Effect<Hashed, InvalidInput, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const info = yield* fs.stat(path).pipe(Effect.mapError((error) => unreadable(field, `cannot read ${path}: ${error.message}`)))
    if (info.type !== "File") return yield* unreadable(field, `${path} is not a file`)
    const hash = createHash("sha256")
    let head = new Uint8Array(0)
    yield* Stream.runForEach(fs.stream(path, { chunkSize: 64 * 1024 }), (chunk) =>
      Effect.sync(() => {
        hash.update(chunk)
        if (head.length < headBytes) head = Uint8Array.from([...head, ...chunk.subarray(0, headBytes - head.length)])
      })
    ).pipe(Effect.mapError((error) => unreadable(field, `cannot read ${path}: ${error.message}`)))
    return { source: new FileSource({ path }), sha256: hash.digest("hex"), head }
  })

/**
 * A recording's bytes, hashed: a file where it is, bytes as they are, a `data:` URL decoded, an
 * http(s) URL downloaded (under `Download`'s rules) to a temporary file kept until the scope closes.
 */
const hashed = (
  source: AssetSource,
  field: string
): Effect.Effect<Hashed, MediaError, HttpClient.HttpClient | FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    if (source._tag === "Bytes") return hashBytes(source.bytes)
    if (source._tag === "File") return yield* hashFile(source.path, field)
    if (/^data:/i.test(source.url)) {
      const decoded = Download.decodeDataUrl(source.url)
      if (decoded === undefined) return yield* unreadable(field, "malformed data: URL")
      return hashBytes(decoded.bytes)
    }
    if (!/^https?:\/\//i.test(source.url)) return yield* unreadable(field, `unsupported URL ${Download.displayUrl(source.url)} (http, https or data)`)
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "automarket-reference-" }).pipe(
      Effect.mapError((error) => new DownloadFailed({ provider: providerId, detail: `no temporary directory: ${error.message}` }))
    )
    const done = yield* Download.download({ url: source.url, to: NodePath.join(dir, randomUUID()), provider: providerId })
    return yield* hashFile(done.path, field)
  })

/**
 * The error of a refused upload: the server's reason for each file (its answer is an
 * `UploadResult` whose `message` only counts the files), each naming `field`.
 */
const uploadRefused = (field: string) => (error: MediaError, body: string): MediaError => {
  if (error._tag !== "InvalidInput") return error
  const answer = Schema.decodeUnknownOption(Schema.parseJson(UploadResult))(body)
  if (answer._tag === "None") return error
  const reasons = answer.value.errors.map((entry) => `${field}: ${entry.error}`)
  const issues = reasons.length > 0 ? reasons : [`${field}: ${answer.value.message}`]
  const status = /^HTTP \d+/.exec(error.detail)?.[0] ?? "refused"
  const said = reasons.length > 0 ? `${answer.value.message} ${reasons.join("; ")}` : issues.join("; ")
  return new InvalidInput({ provider: providerId, detail: `${status}: ${said}`, issues })
}

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

    const upload = (http: Http.ProviderHttp, file: ReferenceFile, field: string) =>
      Effect.scoped(
        Effect.flatMap(multipartBody(providerId, { field: "files", ...file }), (body) =>
          http.json({ method: "POST", path: "/upload_reference", body, schema: UploadResult, refine: uploadRefused(field) })
        )
      ).pipe(Effect.provide(NodeContext.layer), Effect.provideService(HttpClient.HttpClient, httpClient))

    const uploadReference = (file: ReferenceFile) => Effect.flatMap(service, (http) => upload(http, file, "files"))

    const listReferences = (http: Http.ProviderHttp) =>
      http.json({ path: "/get_reference_files", schema: Schema.Array(Schema.String), timeout: "30 seconds" })

    // The uploads under way (by server URL and name): concurrent calls for one content share one.
    const sending = yield* Ref.make<ReadonlyMap<string, Deferred.Deferred<string, MediaError>>>(new Map())
    const shared = (key: string, run: Effect.Effect<string, MediaError>): Effect.Effect<string, MediaError> =>
      Effect.flatMap(Deferred.make<string, MediaError>(), (mine) =>
        Effect.flatMap(
          Ref.modify(sending, (all): readonly [Deferred.Deferred<string, MediaError>, ReadonlyMap<string, Deferred.Deferred<string, MediaError>>] => {
            const under = all.get(key)
            return under !== undefined ? [under, all] : [mine, new Map(all).set(key, mine)]
          }),
          (owner) =>
            owner !== mine
              ? Deferred.await(owner)
              : run.pipe(
                  Effect.onExit((exit) =>
                    Effect.zipRight(
                      Ref.update(sending, (all) => {
                        const rest = new Map(all)
                        rest.delete(key)
                        return rest
                      }),
                      Deferred.done(mine, exit)
                    )
                  )
                )
        )
      )

    const reference = (source: AssetSource, field = "reference audio") =>
      Effect.flatMap(service, (http) =>
        Effect.scoped(
          Effect.gen(function* () {
            const content = yield* hashed(source, field)
            const kind = sniffReference(content.head)
            if (kind === undefined) {
              return yield* unreadable(field, "not a WAV or MP3 recording (Chatterbox TTS Server clones from .wav and .mp3 files only)")
            }
            const name = referenceName(content.sha256, kind)
            return yield* shared(
              `${http.baseUrl}\n${name}`,
              Effect.gen(function* () {
                // Asked each time rather than remembered: a server that lost its recordings (a
                // container without a volume) gets the clip again.
                if ((yield* listReferences(http)).includes(name)) return name
                const answer = yield* upload(http, { source: content.source, filename: name, contentType: kind === "wav" ? "audio/wav" : "audio/mpeg" }, field)
                // The server answers the name it stored (sanitized; ours needs none).
                const stored = answer.uploaded_files.includes(name) ? name : answer.uploaded_files[0]
                if (stored === undefined) {
                  const reasons = answer.errors.map((entry) => `${field}: ${entry.error}`)
                  const issues = reasons.length > 0 ? reasons : [`${field}: ${answer.message}`]
                  return yield* new InvalidInput({ provider: providerId, detail: `the recording was not stored: ${issues.join("; ")}`, issues })
                }
                return stored
              })
            )
          })
        ).pipe(Effect.provide(NodeContext.layer), Effect.provideService(HttpClient.HttpClient, httpClient))
      )

    return {
      voices,
      tts,
      speech,
      uploadReference,
      referenceFiles: Effect.flatMap(service, listReferences),
      reference,
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
