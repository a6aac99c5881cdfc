/**
 * The typed client of OpenRouter's API (https://openrouter.ai/api/v1, spec vendored at
 * test/contract/specs/openrouter/in.openapi.yaml): the wire shapes and the calls, over the shared
 * HTTP runtime (`http/Http.ts`: key, retries with Retry-After, status -> `MediaError`; a 402
 * "insufficient credits" is QuotaExceeded, a plain 429 RateLimited).
 *
 * Calls: `GET /models?output_modalities=all` (every model, not only text ones),
 * `POST /chat/completions` (whole, or streamed as SSE text deltas; OpenRouter's
 * `: OPENROUTER PROCESSING` comment lines are skipped, and an error event inside the stream
 * fails it with the tag its `code` maps to: the OpenAI-style part, from
 * `openai-compatible/Chat.ts`), `download` of a result URL, and video generation as a job:
 * `POST /videos` (202 with the job), `GET /videos/{id}` (its status) and
 * `GET /videos/{id}/content` (the video's bytes, proxied by OpenRouter with the key).
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { MediaError } from "../../domain/Errors.js"
import type * as Http from "../../http/Http.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import { type Bytes, readBytes } from "../openai-compatible/Bytes.js"
import * as Chat from "../openai-compatible/Chat.js"
import * as OpenRouterConfig from "./OpenRouterConfig.js"

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

/** The body of `POST /chat/completions`, with OpenRouter's own fields. */
export interface ChatRequest extends Chat.ChatRequest {
  /** Models to try, in order, when `model` fails (OpenRouter's own fallback routing). */
  readonly models?: ReadonlyArray<string>
  /** `["image", "text"]` for image generation. */
  readonly modalities?: ReadonlyArray<"text" | "image" | "audio">
}

/** Token counts, and OpenRouter's own cost figure in USD when it reports one. */
export const Usage = Schema.Struct({
  ...Chat.Usage.fields,
  cost: Schema.optional(Schema.NullOr(Schema.Number))
})

/** Message content: a string, or an array of parts whose `text` parts are the answer. */
const Content = Schema.Union(
  Schema.String,
  Schema.Array(Schema.Struct({ type: Schema.optional(Schema.String), text: Schema.optional(Schema.String) })),
  Schema.Null
)

/** The answer of `POST /chat/completions`: generated images come in `message.images`. */
export const ChatResponse = Chat.ChatResponse(
  Schema.Struct({
    index: Schema.optional(Schema.Number),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
    message: Schema.Struct({
      role: Schema.optional(Schema.String),
      content: Schema.optional(Content),
      images: Schema.optional(Schema.Array(Schema.Struct({ image_url: Schema.Struct({ url: Schema.String }) })))
    })
  }),
  Usage
)
/** The answer of `POST /chat/completions`. */
export type ChatResponse = typeof ChatResponse.Type

/** The text of a message's content (parts joined). */
export const contentText = (content: typeof Content.Type | undefined): string | undefined => {
  if (content === undefined || content === null) return undefined
  if (typeof content === "string") return content
  return content.map((part) => part.text ?? "").join("")
}

/** The body of `POST /videos` (the fields set here; others from `extra`). */
export interface VideoRequest {
  readonly model: string
  /** Required by every model but those that make a video from an image alone. */
  readonly prompt?: string
  /** The first and/or last frame: `{type: "image_url", image_url: {url}, frame_type: "first_frame"}`. */
  readonly frame_images?: ReadonlyArray<{
    readonly type: "image_url"
    readonly image_url: { readonly url: string }
    readonly frame_type: "first_frame" | "last_frame"
  }>
  /** Seconds. */
  readonly duration?: number
  /** `"WIDTHxHEIGHT"`, e.g. `"1280x720"`. */
  readonly size?: string
  readonly seed?: number
  readonly [extra: string]: unknown
}

/** A video job as `POST /videos` and `GET /videos/{id}` answer it. */
export const VideoJob = Schema.Struct({
  id: Schema.String,
  polling_url: Schema.String,
  /** `pending`, `in_progress`, `completed`, `failed`, `cancelled` or `expired`; kept open for new ones. */
  status: Schema.String,
  generation_id: Schema.optional(Schema.String),
  error: Schema.optional(Schema.String),
  unsigned_urls: Schema.optional(Schema.Array(Schema.String)),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({ cost: Schema.optional(Schema.NullOr(Schema.Number)) })))
})
/** A video job. */
export type VideoJob = typeof VideoJob.Type

/** The calls of OpenRouter's API. */
export interface Service extends Chat.ChatCalls<ChatRequest, ChatResponse> {
  /** `GET /models?output_modalities=all`. */
  readonly models: Effect.Effect<ReadonlyArray<OpenRouterModel>, MediaError>
  /** `POST /videos`: the job, accepted. */
  readonly submitVideo: (request: VideoRequest) => Effect.Effect<VideoJob, MediaError>
  /** `GET /videos/{id}`: the job's status (its cost once completed). */
  readonly videoStatus: (id: string, model: string) => Effect.Effect<VideoJob, MediaError>
  /** `GET /videos/{id}/content`: the first video of a completed job. */
  readonly videoContent: (id: string, model: string) => Effect.Effect<Bytes, MediaError>
}

/** OpenRouter's API client, as a service. */
export class OpenRouterClient extends Context.Tag("automarket/OpenRouterClient")<OpenRouterClient, Service>() {}

/** A client over a provider HTTP client (from `ProviderConfig.makeHttp`). */
export const make = (http: Http.ProviderHttp): Service => ({
  ...Chat.chatCalls(http, {
    response: ChatResponse,
    // A chat that draws images takes far longer than one that writes text.
    timeoutOf: (request: ChatRequest) => (request.modalities?.includes("image") === true ? "5 minutes" : undefined)
  }),
  models: Effect.map(http.json({ path: "/models", query: { output_modalities: "all" }, schema: OpenRouterModelList }), (list) => list.data),
  submitVideo: (request) => http.json({ method: "POST", path: "/videos", json: request, schema: VideoJob, model: request.model }),
  videoStatus: (id, model) => http.json({ path: `/videos/${encodeURIComponent(id)}`, schema: VideoJob, model }),
  videoContent: (id, model) =>
    Effect.flatMap(http.send({ path: `/videos/${encodeURIComponent(id)}/content`, model, timeout: "10 minutes" }), readBytes(http.provider))
})

/** The client as a layer, over a resolved configuration (keys rotated, timeout and retries as configured). */
export const layer = (config: ProviderConfig.ProviderConfig): Layer.Layer<OpenRouterClient, never, HttpClient.HttpClient> =>
  Layer.effect(
    OpenRouterClient,
    Effect.map(ProviderConfig.makeHttp(OpenRouterConfig.settings, config), ({ http }) => make(http))
  )

/** The client as a layer, configured by `config`: by default from the environment (`OPENROUTER_API_KEY` ...). */
export const layerConfig = (
  config: Config.Config<ProviderConfig.ProviderConfig> = OpenRouterConfig.config()
): Layer.Layer<OpenRouterClient, ConfigError.ConfigError, HttpClient.HttpClient> => Layer.unwrapEffect(Effect.map(config, layer))
