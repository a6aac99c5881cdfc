/**
 * Chat completions as the OpenAI-style APIs speak them (Together and OpenRouter both do): the
 * request and answer wire types they share, the one-turn chat a text generation sends, and
 * `POST /chat/completions`, whole or streamed as the text deltas of its server-sent events.
 *
 * What differs between the APIs stays with each provider's client and is plugged in here: the
 * shape of one choice of an answer (Together may answer `text` and omit `message`; OpenRouter's
 * content may be a list of parts and carry images) and of the usage (OpenRouter adds its own
 * `cost`), and the budget of a call.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { MediaError } from "../../domain/Errors.js"
import type { ExtraParams } from "../../domain/MediaProvider.js"
import { randomUUID } from "node:crypto"
import * as path from "node:path"
import * as Download from "../../http/Download.js"
import { errorFromStatus, type ProviderHttp } from "../../http/Http.js"
import { dataPayloads, decodePayloads } from "../../http/ServerSentEvents.js"

/** One message of a chat. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** The body of `POST /chat/completions` (the fields set here; an API's own are added as `extra`). */
export interface ChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly max_tokens?: number
  readonly temperature?: number
  readonly [extra: string]: unknown
}

/** What a one-turn chat is asked with: the options of a text generation. */
export interface ChatOptions {
  readonly system?: string | undefined
  /** Earlier turns, oldest first, between the system prompt and the user's text. */
  readonly history?: ReadonlyArray<{ readonly role: "user" | "assistant"; readonly content: string }> | undefined
  readonly maxTokens?: number | undefined
  readonly temperature?: number | undefined
  /** Fields merged into the request body (e.g. `top_p`, `stop`); the ones set here win. */
  readonly extra?: ExtraParams | undefined
}

/** The request of a chat: the system prompt when given, the earlier turns, then the user's text. */
export const chatRequest = (model: string, prompt: string, options: ChatOptions | undefined): ChatRequest => ({
  ...options?.extra,
  model,
  messages: [
    ...(options?.system !== undefined ? [{ role: "system" as const, content: options.system }] : []),
    ...(options?.history ?? []),
    { role: "user" as const, content: prompt }
  ],
  ...(options?.maxTokens !== undefined ? { max_tokens: options.maxTokens } : {}),
  ...(options?.temperature !== undefined ? { temperature: options.temperature } : {})
})

/** Token counts of a generation. */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.optional(Schema.Number)
})
/** Token counts of a generation. */
export type Usage = typeof Usage.Type

/** The answer of `POST /chat/completions`, over the API's own shapes of one choice and of the usage. */
export const ChatResponse = <Choice extends Schema.Schema.AnyNoContext, Counts extends Schema.Schema.AnyNoContext>(
  choice: Choice,
  usage: Counts
) =>
  Schema.Struct({
    id: Schema.String,
    model: Schema.optional(Schema.String),
    choices: Schema.Array(choice),
    usage: Schema.optional(Schema.NullOr(usage))
  })

/** An error event inside a stream (the APIs report failures after the 200 this way). */
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

/** The chat calls every OpenAI-style client here offers. */
export interface ChatCalls<Request extends ChatRequest, Response> {
  /** The API's base URL. */
  readonly baseUrl: string
  /** `POST /chat/completions`. */
  readonly chat: (request: Request) => Effect.Effect<Response, MediaError>
  /** `POST /chat/completions` with `stream: true`: the text deltas, in order. */
  readonly chatStream: (request: Request) => Stream.Stream<string, MediaError>
  /**
   * Download a result URL an answer named into a file of `into.dir`, through `Download` (see
   * `ResultDownload`): never with the API's key, never whole in memory.
   */
  readonly download: (url: string, into: ResultDownload) => Effect.Effect<ResultFile, MediaError, HttpClient.HttpClient>
}

/** Where a result URL is downloaded, and what it must be. */
export interface ResultDownload {
  /** The directory the file is written to (created if needed). */
  readonly dir: string
  /** The model that made the result, named in progress events. */
  readonly model: string
  /** Acceptable content types (`"image/*"`); another is refused before anything is written. */
  readonly expect: ReadonlyArray<string>
}

/** A result downloaded to a file. */
export interface ResultFile {
  readonly path: string
  readonly bytes: number
  /** The content type the file host answered with, when it named one. */
  readonly contentType: string | undefined
}

/** The largest result file a chat client downloads unless told otherwise: 256 MiB (an image is far smaller). */
export const defaultMaxDownloadBytes = 256 * 1024 * 1024

/** How an API's chat calls differ. */
export interface ChatCallsOptions<Request extends ChatRequest, A, I> {
  /** The API's answer of a whole chat. */
  readonly response: Schema.Schema<A, I>
  /** A request's own budget, when it needs another than the client's (image generation is slow). */
  readonly timeoutOf?: (request: Request) => Duration.DurationInput | undefined
  /** Headers a download of a result URL sends. */
  readonly downloadHeaders?: Readonly<Record<string, string>>
  /** The largest result file downloaded. Default `defaultMaxDownloadBytes` (256 MiB). */
  readonly maxDownloadBytes?: number
}

/** The chat calls over a provider HTTP client (from `ProviderConfig.makeHttp`). */
export const chatCalls = <Request extends ChatRequest, A, I>(
  http: ProviderHttp,
  options: ChatCallsOptions<Request, A, I>
): ChatCalls<Request, A> => {
  const chat = (request: Request) => {
    const timeout = options.timeoutOf?.(request)
    return http.json({
      method: "POST",
      path: "/chat/completions",
      json: { ...request, stream: false },
      schema: options.response,
      model: request.model,
      ...(timeout !== undefined ? { timeout } : {})
    })
  }
  return {
    baseUrl: http.baseUrl,
    chat,
    chatStream: (request) => streamChat(http, request),
    download: (url, into) => downloadResult(http.provider, url, into, options)
  }
}

// A result URL through `Download`: its URL policy on every redirect hop (https to public hosts;
// loopback only with AUTOMARKET_ALLOW_LOOPBACK_HTTP), the content type checked, streamed to disk
// under the size cap. It goes through the plain `HttpClient`, not the API's client: the key is
// for the API, not for wherever an answer points.
const downloadResult = (
  provider: string,
  url: string,
  into: ResultDownload,
  options: { readonly downloadHeaders?: Readonly<Record<string, string>>; readonly maxDownloadBytes?: number }
): Effect.Effect<ResultFile, MediaError, HttpClient.HttpClient> =>
  Effect.map(
    Download.download({
      url,
      to: path.join(into.dir, `${provider}-${randomUUID()}.${extensionOfUrl(url) ?? "bin"}`),
      expect: into.expect,
      maxBytes: options.maxDownloadBytes ?? defaultMaxDownloadBytes,
      provider,
      model: into.model,
      ...(options.downloadHeaders !== undefined ? { headers: options.downloadHeaders } : {})
    }),
    (file) => ({ path: file.path, bytes: file.bytes, contentType: file.contentType })
  )

// A short alphanumeric extension of the URL's path (`png`, `webp`), or undefined.
const extensionOfUrl = (url: string): string | undefined => {
  try {
    const match = /\.([a-z0-9]{2,4})$/i.exec(new URL(url).pathname)
    return match?.[1]?.toLowerCase()
  } catch {
    return undefined
  }
}

/**
 * `POST /chat/completions` with `stream: true`, as the text deltas of its server-sent events.
 * A stream cut before `[DONE]` fails with `NetworkError` (see `http/ServerSentEvents.ts`).
 */
export const streamChat = (http: ProviderHttp, request: { readonly model: string }): Stream.Stream<string, MediaError> =>
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
        dataPayloads(http.provider, response).pipe(
          decodePayloads(http.provider, ChatChunk, http.scrub),
          deltasOf(http.provider, Date.now, http.scrub)
        )
    )
  )

/**
 * Fail the stream on an error event (mapped as its `code` would be as an HTTP status, 500 when
 * it has none; its message through `scrub`), otherwise emit the chunk's text delta (empty deltas are
 * dropped).
 */
export const deltasOf = (provider: string, now: () => number, scrub: (text: string) => string = (text) => text) =>
  (chunks: Stream.Stream<ChatChunk, MediaError>): Stream.Stream<string, MediaError> =>
  Stream.mapConcatEffect(chunks, (chunk) => {
    if (chunk.error !== undefined) {
      const code = typeof chunk.error.code === "number" ? chunk.error.code : Number(chunk.error.code)
      return Effect.fail(
        errorFromStatus({
          provider,
          status: Number.isInteger(code) && code >= 400 && code < 600 ? code : 500,
          headers: {},
          // The message is decoded already: scrubbed here, a key spelled in escapes included.
          body: JSON.stringify({ error: { message: scrub(chunk.error.message ?? "error in stream") } }),
          now: now()
        })
      )
    }
    const content = chunk.choices[0]?.delta?.content
    return Effect.succeed(content === undefined || content === null || content === "" ? [] : [content])
  })
