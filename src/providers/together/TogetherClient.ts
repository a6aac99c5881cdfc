/**
 * The typed client of Together AI's API (https://api.together.xyz/v1, spec vendored at
 * test/contract/specs/together/openapi.yaml): the wire shapes and the calls, over the shared HTTP
 * runtime (`runtime/Http.ts`), which adds the key, retries, and turns every status and transport
 * failure into a `MediaError`.
 *
 * Calls: `GET /models`, `POST /chat/completions` (whole, or streamed as SSE text deltas),
 * `POST /images/generations`, `POST /audio/speech` (audio bytes), `POST /audio/transcriptions`
 * (multipart upload), and `download` of a result URL (no key sent to other origins).
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { AssetSource } from "../../domain/Asset.js"
import { type MediaError, NetworkError } from "../../domain/Errors.js"
import type * as Http from "../../http/Http.js"
import { errorFromStatus } from "../../http/Http.js"
import { multipartForm } from "../../http/Multipart.js"
import { dataPayloads, decodePayloads } from "../../http/ServerSentEvents.js"

/** The provider id used in errors and models. */
export const providerId = "together"

const optionalNumber = Schema.optional(Schema.NullOr(Schema.Number))

/** Prices of a model as `/models` reports them (see Categories.ts for the units). */
export const TogetherPricing = Schema.Struct({
  hourly: Schema.optional(Schema.Number),
  input: Schema.optional(Schema.Number),
  output: Schema.optional(Schema.Number),
  base: Schema.optional(Schema.Number),
  finetune: Schema.optional(Schema.Number)
})

/** One entry of `GET /models`. `type` is kept open: the live API has more types than the spec (audio, transcribe, video). */
export const TogetherModel = Schema.Struct({
  id: Schema.String,
  object: Schema.optional(Schema.String),
  created: Schema.optional(Schema.Number),
  type: Schema.String,
  display_name: Schema.optional(Schema.String),
  organization: Schema.optional(Schema.String),
  link: Schema.optional(Schema.String),
  license: Schema.optional(Schema.String),
  context_length: Schema.optional(Schema.NullOr(Schema.Number)),
  pricing: Schema.optional(TogetherPricing)
})
/** One entry of `GET /models`. */
export type TogetherModel = typeof TogetherModel.Type

/** `GET /models`: an array (older deployments wrapped it as `{data: [...]}`; both are read). */
export const TogetherModelList = Schema.Union(
  Schema.Array(TogetherModel),
  Schema.transform(Schema.Struct({ data: Schema.Array(TogetherModel) }), Schema.Array(TogetherModel), {
    strict: true,
    decode: ({ data }) => data,
    encode: (data) => ({ data })
  })
)

/** One message of a chat. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** The body of `POST /chat/completions` (the fields this client sets; `extra` adds any other). */
export interface ChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly max_tokens?: number
  readonly temperature?: number
  readonly [extra: string]: unknown
}

/** Token counts of a generation. */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.optional(Schema.Number)
})
/** Token counts of a generation. */
export type Usage = typeof Usage.Type

/** The answer of `POST /chat/completions`. */
export const ChatResponse = Schema.Struct({
  id: Schema.String,
  model: Schema.optional(Schema.String),
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.optional(Schema.Number),
      finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
      message: Schema.optional(
        Schema.Struct({ role: Schema.optional(Schema.String), content: Schema.optional(Schema.NullOr(Schema.String)) })
      ),
      text: Schema.optional(Schema.String)
    })
  ),
  usage: Schema.optional(Schema.NullOr(Usage))
})
/** The answer of `POST /chat/completions`. */
export type ChatResponse = typeof ChatResponse.Type

/** An error event inside a stream (the API reports failures after the 200 this way). */
export const StreamError = Schema.Struct({
  message: Schema.optional(Schema.String),
  code: Schema.optional(Schema.Union(Schema.Number, Schema.String, Schema.Null)),
  type: Schema.optional(Schema.String)
})

/** One streamed chunk: `choices[0].delta.content` is the next piece of text. */
export const ChatChunk = Schema.Struct({
  id: Schema.optional(Schema.String),
  choices: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        index: Schema.optional(Schema.Number),
        delta: Schema.optional(Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) })),
        finish_reason: Schema.optional(Schema.NullOr(Schema.String))
      })
    ),
    { default: () => [] }
  ),
  usage: Schema.optional(Schema.NullOr(Usage)),
  error: Schema.optional(StreamError)
})
/** One streamed chunk. */
export type ChatChunk = typeof ChatChunk.Type

/** The body of `POST /images/generations`. */
export interface ImageRequest {
  readonly model: string
  readonly prompt: string
  readonly width?: number
  readonly height?: number
  readonly steps?: number
  readonly seed?: number
  readonly n?: number
  readonly negative_prompt?: string
  readonly response_format?: "base64" | "url"
  readonly output_format?: "jpeg" | "png"
  readonly [extra: string]: unknown
}

/** The answer of `POST /images/generations`: each image as base64 (`b64_json`) or a URL. */
export const ImageResponse = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  data: Schema.Array(
    Schema.Struct({
      index: Schema.optional(Schema.Number),
      type: Schema.optional(Schema.String),
      b64_json: Schema.optional(Schema.String),
      url: Schema.optional(Schema.String)
    })
  )
})
/** The answer of `POST /images/generations`. */
export type ImageResponse = typeof ImageResponse.Type

/** The body of `POST /audio/speech`. */
export interface SpeechRequest {
  readonly model: string
  readonly input: string
  readonly voice: string
  readonly response_format?: "mp3" | "wav" | "raw"
  readonly language?: string
  readonly sample_rate?: number
  readonly [extra: string]: unknown
}

/** Audio bytes and their type. */
export interface AudioBytes {
  readonly bytes: Uint8Array
  readonly contentType: string
}

/** The answer of `POST /audio/transcriptions` (`json` or `verbose_json`). */
export const TranscriptionResponse = Schema.Struct({
  text: Schema.String,
  language: Schema.optional(Schema.String),
  duration: optionalNumber,
  segments: Schema.optional(
    Schema.Array(Schema.Struct({ start: Schema.Number, end: Schema.Number, text: Schema.String }))
  )
})
/** The answer of `POST /audio/transcriptions`. */
export type TranscriptionResponse = typeof TranscriptionResponse.Type

/** The audio to transcribe and the form fields sent with it. */
export interface TranscriptionRequest {
  readonly source: AssetSource
  readonly filename: string
  readonly contentType: string
  readonly model: string
  readonly language?: string
  readonly response_format?: "json" | "verbose_json"
  /** Other form fields (e.g. `prompt`, `temperature`), as strings. */
  readonly fields?: Readonly<Record<string, string>>
}

/** The calls of Together's API. */
export interface TogetherClient {
  readonly baseUrl: string
  /** `GET /models`. */
  readonly models: Effect.Effect<ReadonlyArray<TogetherModel>, MediaError>
  /** `POST /chat/completions`. */
  readonly chat: (request: ChatRequest) => Effect.Effect<ChatResponse, MediaError>
  /** `POST /chat/completions` with `stream: true`: the text deltas, in order. */
  readonly chatStream: (request: ChatRequest) => Stream.Stream<string, MediaError>
  /** `POST /images/generations`. */
  readonly images: (request: ImageRequest) => Effect.Effect<ImageResponse, MediaError>
  /** `POST /audio/speech`: the audio. */
  readonly speech: (request: SpeechRequest) => Effect.Effect<AudioBytes, MediaError>
  /** `POST /audio/transcriptions` (multipart). */
  readonly transcribe: (request: TranscriptionRequest) => Effect.Effect<TranscriptionResponse, MediaError>
  /** Fetch a result URL's bytes (the key is only sent to the API's own origin). */
  readonly download: (url: string) => Effect.Effect<AudioBytes, MediaError>
}

/** Read a whole response body as bytes; a broken body is a NetworkError. */
export const readBytes =
  (provider: string) =>
  (response: { readonly arrayBuffer: Effect.Effect<ArrayBuffer, unknown>; readonly headers: Http.Headers }): Effect.Effect<AudioBytes, MediaError> =>
    Effect.map(
      Effect.mapError(
        response.arrayBuffer,
        () => new NetworkError({ provider, message: `${provider}: the answer's body broke off while being read` })
      ),
      (buffer) => ({ bytes: new Uint8Array(buffer), contentType: response.headers["content-type"] ?? "application/octet-stream" })
    )

/**
 * `POST /chat/completions` with `stream: true`, as the text deltas of its server-sent events
 * (the OpenAI-style streaming both Together and OpenRouter speak).
 */
export const streamChat = (http: Http.ProviderHttp, request: { readonly model: string }): Stream.Stream<string, MediaError> =>
  Stream.unwrap(
    Effect.map(
      http.send({
        method: "POST",
        path: "/chat/completions",
        json: { ...request, stream: true },
        headers: { accept: "text/event-stream" },
        model: request.model
      }),
      (response) =>
        dataPayloads(http.provider, response).pipe(decodePayloads(http.provider, ChatChunk), deltasOf(http.provider, Date.now))
    )
  )

/**
 * Fail the stream on an error event (mapped as its `code` would be as an HTTP status, 500 when
 * it has none), otherwise emit the chunk's text delta (empty deltas are dropped).
 */
export const deltasOf = (provider: string, now: () => number) => (chunks: Stream.Stream<ChatChunk, MediaError>): Stream.Stream<string, MediaError> =>
  Stream.mapConcatEffect(chunks, (chunk) => {
    if (chunk.error !== undefined) {
      const code = typeof chunk.error.code === "number" ? chunk.error.code : Number(chunk.error.code)
      return Effect.fail(
        errorFromStatus({
          provider,
          status: Number.isInteger(code) && code >= 400 && code < 600 ? code : 500,
          headers: {},
          body: JSON.stringify({ error: { message: chunk.error.message ?? "error in stream" } }),
          now: now()
        })
      )
    }
    const content = chunk.choices[0]?.delta?.content
    return Effect.succeed(content === undefined || content === null || content === "" ? [] : [content])
  })

/** A client over a provider HTTP client (from `ProviderConfig.makeHttp`). */
export const make = (http: Http.ProviderHttp): Effect.Effect<TogetherClient, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const httpClient = yield* HttpClient.HttpClient
    const provider = http.provider
    const bytes = readBytes(provider)

    const models = http.json({ path: "/models", schema: TogetherModelList })

    const chat = (request: ChatRequest) =>
      http.json({ method: "POST", path: "/chat/completions", json: { ...request, stream: false }, schema: ChatResponse, model: request.model })

    const chatStream = (request: ChatRequest): Stream.Stream<string, MediaError> => streamChat(http, request)

    const images = (request: ImageRequest) =>
      http.json({ method: "POST", path: "/images/generations", json: request, schema: ImageResponse, model: request.model, timeout: "5 minutes" })

    const speech = (request: SpeechRequest) =>
      Effect.flatMap(
        http.send({ method: "POST", path: "/audio/speech", json: { ...request, stream: false }, model: request.model, timeout: "5 minutes" }),
        bytes
      )

    const transcribe = (request: TranscriptionRequest) =>
      Effect.scoped(
        Effect.flatMap(
          multipartForm(
            provider,
            [
              { field: "model", value: request.model },
              ...(request.language !== undefined ? [{ field: "language", value: request.language }] : []),
              { field: "response_format", value: request.response_format ?? "verbose_json" },
              ...Object.entries(request.fields ?? {}).map(([field, value]) => ({ field, value }))
            ],
            [{ field: "file", source: request.source, filename: request.filename, contentType: request.contentType }]
          ),
          (body) =>
            http.json({ method: "POST", path: "/audio/transcriptions", body, schema: TranscriptionResponse, model: request.model, timeout: "10 minutes" })
        )
      ).pipe(Effect.provide(NodeContext.layer), Effect.provideService(HttpClient.HttpClient, httpClient))

    const download = (url: string) =>
      // Together's CDN refuses a blank User-Agent.
      Effect.flatMap(http.send({ path: url, headers: { "user-agent": "automarket" }, timeout: "2 minutes" }), bytes)

    return { baseUrl: http.baseUrl, models, chat, chatStream, images, speech, transcribe, download }
  })
