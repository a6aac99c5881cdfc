/**
 * The typed client of Together AI's API (https://api.together.xyz/v1, spec vendored at
 * test/contract/specs/together/openapi.yaml): the wire shapes and the calls, over the shared HTTP
 * runtime (`http/Http.ts`), which adds the key, retries, and turns every status and transport
 * failure into a `MediaError`.
 *
 * Calls: `GET /models`, `POST /chat/completions` (whole, or streamed as SSE text deltas: the
 * OpenAI-style part, from `openai-compatible/Chat.ts`), `POST /images/generations`,
 * `POST /audio/speech` (audio bytes), `POST /audio/transcriptions` (multipart upload), and
 * `download` of a result URL (no key sent to other origins).
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeContext from "@effect/platform-node/NodeContext"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type { AssetSource } from "../../domain/Asset.js"
import type { MediaError } from "../../domain/Errors.js"
import type * as Http from "../../http/Http.js"
import { multipartForm } from "../../http/Multipart.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import { type Bytes, readBytes } from "../openai-compatible/Bytes.js"
import * as Chat from "../openai-compatible/Chat.js"
import * as TogetherConfig from "./TogetherConfig.js"

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

/** The answer of `POST /chat/completions`: a choice's `message`, or `text` from older models. */
export const ChatResponse = Chat.ChatResponse(
  Schema.Struct({
    index: Schema.optional(Schema.Number),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
    message: Schema.optional(
      Schema.Struct({ role: Schema.optional(Schema.String), content: Schema.optional(Schema.NullOr(Schema.String)) })
    ),
    text: Schema.optional(Schema.String)
  }),
  Chat.Usage
)
/** The answer of `POST /chat/completions`. */
export type ChatResponse = typeof ChatResponse.Type

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
  /** The image to edit, for the models that take one (FLUX.1 Kontext): an http(s) or `data:` URL. */
  readonly image_url?: string
  /** Images that guide the result, for the models that take them (FLUX.2): http(s) or `data:` URLs. */
  readonly reference_images?: ReadonlyArray<string>
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
export interface Service extends Chat.ChatCalls<Chat.ChatRequest, ChatResponse> {
  /** `GET /models`. */
  readonly models: Effect.Effect<ReadonlyArray<TogetherModel>, MediaError>
  /** `POST /images/generations`. */
  readonly images: (request: ImageRequest) => Effect.Effect<ImageResponse, MediaError>
  /** `POST /audio/speech`: the audio. */
  readonly speech: (request: SpeechRequest) => Effect.Effect<Bytes, MediaError>
  /** `POST /audio/transcriptions` (multipart). */
  readonly transcribe: (request: TranscriptionRequest) => Effect.Effect<TranscriptionResponse, MediaError>
}

/** Together's API client, as a service. */
export class TogetherClient extends Context.Tag("automarket/TogetherClient")<TogetherClient, Service>() {}

/** A client over a provider HTTP client (from `ProviderConfig.makeHttp`). */
export const make = (http: Http.ProviderHttp): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const httpClient = yield* HttpClient.HttpClient
    const provider = http.provider

    const models = http.json({ path: "/models", schema: TogetherModelList })

    const images = (request: ImageRequest) =>
      http.json({ method: "POST", path: "/images/generations", json: request, schema: ImageResponse, model: request.model, timeout: "5 minutes" })

    const speech = (request: SpeechRequest) =>
      Effect.flatMap(
        http.send({ method: "POST", path: "/audio/speech", json: { ...request, stream: false }, model: request.model, timeout: "5 minutes" }),
        readBytes(provider)
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

    return {
      // Together's CDN refuses a blank User-Agent, so result downloads name one.
      ...Chat.chatCalls(http, { response: ChatResponse, downloadHeaders: { "user-agent": "automarket" } }),
      models,
      images,
      speech,
      transcribe
    }
  })

/** The client as a layer, over a resolved configuration (keys rotated, timeout and retries as configured). */
export const layer = (config: ProviderConfig.ProviderConfig): Layer.Layer<TogetherClient, never, HttpClient.HttpClient> =>
  Layer.effect(
    TogetherClient,
    Effect.flatMap(ProviderConfig.makeHttp(TogetherConfig.settings, config), ({ http }) => make(http))
  )

/** The client as a layer, configured by `config`: by default from the environment (`TOGETHER_API_KEY` ...). */
export const layerConfig = (
  config: Config.Config<ProviderConfig.ProviderConfig> = TogetherConfig.config()
): Layer.Layer<TogetherClient, ConfigError.ConfigError, HttpClient.HttpClient> => Layer.unwrapEffect(Effect.map(config, layer))
