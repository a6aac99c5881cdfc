/**
 * The typed client of OpenRouter's API (https://openrouter.ai/api/v1, spec vendored at
 * test/contract/specs/openrouter/in.openapi.yaml): the wire shapes and the calls, over the shared
 * HTTP runtime (`runtime/Http.ts`: key, retries with Retry-After, status -> `MediaError`; a 402
 * "insufficient credits" is QuotaExceeded, a plain 429 RateLimited).
 *
 * Calls: `GET /models?output_modalities=all` (every model, not only text ones),
 * `POST /chat/completions` (whole, or streamed as SSE text deltas; OpenRouter's
 * `: OPENROUTER PROCESSING` comment lines are skipped, and an error event inside the stream
 * fails it with the tag its `code` maps to), and `download` of a result URL.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type { MediaError } from "../../domain/Errors.js"
import type * as Http from "../../http/Http.js"
import { type AudioBytes, readBytes, streamChat } from "../together/TogetherClient.js"

/** The provider id used in errors and models. */
export const providerId = "openrouter"

/** One entry of `GET /models` (the fields read here; the rest is ignored). */
export const OpenRouterModel = Schema.Struct({
  id: Schema.String,
  canonical_slug: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  created: Schema.optional(Schema.Number),
  description: Schema.optional(Schema.String),
  context_length: Schema.optional(Schema.NullOr(Schema.Number)),
  architecture: Schema.optional(
    Schema.Struct({
      modality: Schema.optional(Schema.NullOr(Schema.String)),
      input_modalities: Schema.optional(Schema.Array(Schema.String)),
      output_modalities: Schema.optional(Schema.Array(Schema.String)),
      tokenizer: Schema.optional(Schema.NullOr(Schema.String)),
      instruct_type: Schema.optional(Schema.NullOr(Schema.String))
    })
  ),
  pricing: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  top_provider: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        context_length: Schema.optional(Schema.NullOr(Schema.Number)),
        max_completion_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
        is_moderated: Schema.optional(Schema.Boolean)
      })
    )
  ),
  supported_parameters: Schema.optional(Schema.Array(Schema.String))
})
/** One entry of `GET /models`. */
export type OpenRouterModel = typeof OpenRouterModel.Type

/** `GET /models`: `{data: [...]}` (the spec adds `total_count` and `links`; the live API may omit them). */
export const OpenRouterModelList = Schema.Struct({
  data: Schema.Array(OpenRouterModel),
  total_count: Schema.optional(Schema.Number)
})

/** One message of a chat. */
export interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** The body of `POST /chat/completions` (the fields this client sets; `extra` adds any other). */
export interface ChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatMessage>
  /** Models to try, in order, when `model` fails (OpenRouter's own fallback routing). */
  readonly models?: ReadonlyArray<string>
  readonly max_tokens?: number
  readonly temperature?: number
  /** `["image", "text"]` for image generation. */
  readonly modalities?: ReadonlyArray<"text" | "image" | "audio">
  readonly [extra: string]: unknown
}

/** Token counts, and OpenRouter's own cost figure in USD when it reports one. */
export const Usage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: Schema.optional(Schema.Number),
  cost: Schema.optional(Schema.NullOr(Schema.Number))
})

/** Message content: a string, or an array of parts whose `text` parts are the answer. */
const Content = Schema.Union(
  Schema.String,
  Schema.Array(Schema.Struct({ type: Schema.optional(Schema.String), text: Schema.optional(Schema.String) })),
  Schema.Null
)

/** The answer of `POST /chat/completions`. */
export const ChatResponse = Schema.Struct({
  id: Schema.String,
  model: Schema.optional(Schema.String),
  choices: Schema.Array(
    Schema.Struct({
      index: Schema.optional(Schema.Number),
      finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
      message: Schema.Struct({
        role: Schema.optional(Schema.String),
        content: Schema.optional(Content),
        images: Schema.optional(Schema.Array(Schema.Struct({ image_url: Schema.Struct({ url: Schema.String }) })))
      })
    })
  ),
  usage: Schema.optional(Schema.NullOr(Usage))
})
/** The answer of `POST /chat/completions`. */
export type ChatResponse = typeof ChatResponse.Type

/** The text of a message's content (parts joined). */
export const contentText = (content: typeof Content.Type | undefined): string | undefined => {
  if (content === undefined || content === null) return undefined
  if (typeof content === "string") return content
  return content.map((part) => part.text ?? "").join("")
}

/** The calls of OpenRouter's API. */
export interface OpenRouterClient {
  readonly baseUrl: string
  /** `GET /models?output_modalities=all`. */
  readonly models: Effect.Effect<ReadonlyArray<OpenRouterModel>, MediaError>
  /** `POST /chat/completions`. */
  readonly chat: (request: ChatRequest) => Effect.Effect<ChatResponse, MediaError>
  /** `POST /chat/completions` with `stream: true`: the text deltas, in order. */
  readonly chatStream: (request: ChatRequest) => Stream.Stream<string, MediaError>
  /** Fetch a result URL's bytes (the key is only sent to the API's own origin). */
  readonly download: (url: string) => Effect.Effect<AudioBytes, MediaError>
}

/** A client over a provider HTTP client (from `ProviderConfig.makeHttp`). */
export const make = (http: Http.ProviderHttp): OpenRouterClient => {
  const provider = http.provider
  const models = Effect.map(
    http.json({ path: "/models", query: { output_modalities: "all" }, schema: OpenRouterModelList }),
    (list) => list.data
  )

  const chat = (request: ChatRequest) =>
    http.json({
      method: "POST",
      path: "/chat/completions",
      json: { ...request, stream: false },
      schema: ChatResponse,
      model: request.model,
      ...(request.modalities?.includes("image") === true ? { timeout: "5 minutes" } : {})
    })

  const chatStream = (request: ChatRequest): Stream.Stream<string, MediaError> => streamChat(http, request)

  const download = (url: string) => Effect.flatMap(http.send({ path: url, timeout: "2 minutes" }), readBytes(provider))

  return { baseUrl: http.baseUrl, models, chat, chatStream, download }
}
