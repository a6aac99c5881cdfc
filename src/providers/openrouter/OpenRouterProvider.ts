/**
 * The OpenRouter provider: text generation (whole or streamed) and text-to-image through
 * OpenRouter's chat completions, text- and image-to-video through its video jobs, with models
 * discovered from `GET /models` (every output modality) and categorized by the rules in
 * `Categories.ts` (a model that says nothing of its modalities by a text model, possibly one of
 * OpenRouter's own, when a `Categorizer` is in context: provider/Categorizer.ts).
 *
 * - Configuration (`OpenRouterConfig.ts`): `OPENROUTER_API_KEY` (a comma-separated list is a
 *   pool, taken round robin), `OPENROUTER_BASE_URL` (default
 *   `https://openrouter.ai/api/v1`), `OPENROUTER_TIMEOUT`, `OPENROUTER_RETRIES`,
 *   `OPENROUTER_RATE_LIMITS`. Without a key the provider is listed with `configured: false` and
 *   every call fails with `MissingConfig` naming `OPENROUTER_API_KEY`.
 * - Pacing: every request to a `:free` model first takes a permit of its key's free-model
 *   limits (by default OpenRouter's published 20 a minute and 50 a day, `OpenRouterConfig.ts`):
 *   a burst waits instead of earning 429s, and a call past the day's allowance fails at once with
 *   QuotaExceeded (its `retryAfter` when the allowance refills), sending nothing.
 * - text-to-text: `system`, `maxTokens`, `temperature`; `extra` fields are merged into the
 *   request body. `extra.models` (an array of model ids) is OpenRouter's fallback list: when the
 *   model fails (down, rate-limited, refused), OpenRouter itself tries those, in order; the
 *   result's `origin.model` is the model that answered. `origin.costUsd` is OpenRouter's own
 *   `usage.cost` when reported, else tokens x the discovered prices.
 * - streamText: the same request with `stream: true`; deltas as they arrive, keep-alive comments
 *   skipped. A stream cut before `[DONE]` fails with `NetworkError`; an error event in the stream
 *   fails with the tag its code maps to (e.g. 402 -> QuotaExceeded).
 * - text-to-image: chat with `modalities: ["image", "text"]` on a model whose output modalities
 *   include `image` (`["image"]` for a discovered model that writes only images: OpenRouter
 *   refuses a modality the model lacks); the first of `message.images` (a data: URL decoded, or
 *   a URL downloaded through `http/Download.ts`: its URL policy, an `image/*` check, 256 MiB
 *   cap, into `AUTOMARKET_DOWNLOAD_DIR`) is the `Image`. `width`/`height` are not sent (chat
 *   image models choose their size; use `extra.image_config` for aspect ratios where the model
 *   supports it).
 * - text-to-video: `POST /videos` (a job) on a model whose output modalities include `video`,
 *   followed by `jobs/Follow.ts` (`AUTOMARKET_POLL_INTERVAL` or the default schedule; progress
 *   events as the job moves), then the first video read from `GET /videos/{id}/content` into
 *   memory. `durationSeconds` is sent as `duration`, `width`x`height` as `size`, `seed`; `extra`
 *   fields (`resolution`, `aspect_ratio`, `generate_audio` ...) are merged into the body.
 *   `costUsd` is the job's `usage.cost`. The job is not resumable from a ticket, nor cancelled
 *   when the call is interrupted (OpenRouter has no cancel call for it).
 * - image-to-video: the same job with the image as its first frame (`frame_images`, a URL
 *   source as is, bytes or a file as a `data:` URL, `jobs/Inputs.ts`) and `options.prompt` when
 *   given, on a video model that also reads images.
 * - 402 (insufficient credits) is QuotaExceeded, 429 RateLimited with its Retry-After: both
 *   decided in `http/Http.ts`, retried (429) by its policy.
 *
 * OpenRouter also has image (`/images`), speech and transcription endpoints in its spec; this
 * provider does not use them, so no model is listed for those capabilities.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { BytesSource, FileSource, Image, Text, Video } from "../../domain/Asset.js"
import { InvalidInput, MalformedResponse, type MediaError } from "../../domain/Errors.js"
import { type ImageOptions, MediaProvider, type TextOptions, type VideoOptions } from "../../domain/MediaProvider.js"
import * as Follow from "../../jobs/Follow.js"
import { inputUrlOf } from "../../jobs/Inputs.js"
import type { JobStatus } from "../../jobs/JobStatus.js"
import { makeControl } from "../../jobs/Run.js"
import * as Settings from "../../jobs/Settings.js"
import { JobTicket } from "../../jobs/Ticket.js"
import * as Provider from "../../provider/Provider.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import { textCost } from "../openai-compatible/Categories.js"
import * as Chat from "../openai-compatible/Chat.js"
import * as Discovery from "../openai-compatible/Discovery.js"
import { isUnplaced, toProviderModel } from "./Categories.js"
import * as OpenRouterClient from "./OpenRouterClient.js"
import * as OpenRouterConfig from "./OpenRouterConfig.js"

/** The models used when the caller names none. */
export const defaultModels = {
  "text-to-text": "openrouter/auto",
  "text-to-image": "google/gemini-2.5-flash-image",
  "text-to-video": "google/veo-3.1",
  "image-to-video": "google/veo-3.1"
} as const

/** The OpenRouter provider: a `MediaProviderService` that can also list its free models (`:free` variants and zero-priced models). */
export type OpenRouterProviderService = Discovery.WithFreeModels

const invalid = (message: string): InvalidInput =>
  new InvalidInput({ provider: OpenRouterConfig.settings.id, detail: message, issues: [message] })

/** The chat request of a generation; fails with InvalidInput when `extra.models` is not a list of ids. */
export const chatRequest = (
  model: string,
  input: Text,
  options: TextOptions | ImageOptions | undefined,
  modalities?: ReadonlyArray<"text" | "image">
): Effect.Effect<OpenRouterClient.ChatRequest, InvalidInput> => {
  const extra = options?.extra ?? {}
  const fallback = extra.models
  if (fallback !== undefined && !(Array.isArray(fallback) && fallback.every((id) => typeof id === "string"))) {
    return Effect.fail(invalid("extra.models must be an array of model ids"))
  }
  const system = options !== undefined && "system" in options ? options.system : undefined
  const maxTokens = options !== undefined && "maxTokens" in options ? options.maxTokens : undefined
  const temperature = options !== undefined && "temperature" in options ? options.temperature : undefined
  const history = options !== undefined && "history" in options ? options.history : undefined
  const seed = options !== undefined && "seed" in options ? options.seed : undefined
  return Effect.succeed({
    ...Chat.chatRequest(model, input.text, { system, history, maxTokens, temperature, extra }),
    ...(seed !== undefined ? { seed } : {}),
    ...(modalities !== undefined ? { modalities } : {})
  })
}

const decodeDataUrl = (url: string): { readonly bytes: Uint8Array; readonly mimeType: string } | undefined => {
  const match = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(url)
  if (match === null) return undefined
  const payload = match[3] ?? ""
  const bytes = match[2] !== undefined ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload), "utf8")
  return { bytes: new Uint8Array(bytes), mimeType: match[1] !== undefined && match[1] !== "" ? match[1] : "image/png" }
}

/** Build the provider over a resolved configuration. */
export const make = (config: ProviderConfig.ProviderConfig): Effect.Effect<OpenRouterProviderService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { settings } = OpenRouterConfig
    const { http, remote } = yield* ProviderConfig.makeHttp(settings, config)
    const client = OpenRouterClient.make(http)
    const httpClient = yield* HttpClient.HttpClient
    const provider = settings.id
    const { discover, discoverUnplaced, known } = yield* Discovery.makeWithUnplaced(
      Effect.map(client.models, (models) => ({
        models: models.map((model) => toProviderModel(provider, model)),
        unplaced: models.filter(isUnplaced).map((model) => ({ model: toProviderModel(provider, model) }))
      }))
    )

    // OpenRouter's own figure when the answer has one, else tokens x the discovered prices.
    const costOf = (model: string, usage: OpenRouterClient.ChatResponse["usage"]): Effect.Effect<{ costUsd?: number; costSource?: "provider" | "catalog" }> =>
      usage?.cost !== undefined && usage.cost !== null
        ? Effect.succeed({ costUsd: usage.cost, costSource: "provider" })
        : Effect.map(known(model), (info) => {
            const costUsd = textCost(info, usage ?? undefined)
            return costUsd !== undefined ? { costUsd, costSource: "catalog" } : {}
          })

    const textToText: Provider.Transform<"text-to-text"> = (model, input, options) =>
      Effect.gen(function* () {
        const answer = yield* client.chat(yield* chatRequest(model, input, options))
        const content = OpenRouterClient.contentText(answer.choices[0]?.message.content)
        if (content === undefined) return yield* new MalformedResponse({ provider, detail: "the completion has no message content" })
        const served = answer.model ?? model
        const cost = yield* costOf(served, answer.usage)
        // Built from the decoded answer: validating it again would only repeat the decoder's work.
        return new Text({ text: content, origin: { provider, model: served, jobId: answer.id, ...cost } }, true)
      })

    const streamText = (model: string, input: Text, options: TextOptions | undefined): Stream.Stream<string, MediaError> =>
      Stream.unwrap(Effect.map(chatRequest(model, input, options), client.chatStream))

    const textToImage: Provider.Transform<"text-to-image"> = (model, input, options) =>
      Effect.gen(function* () {
        // A model that writes only images is refused by OpenRouter when asked for text too.
        const info = yield* known(model)
        const modalities: ReadonlyArray<"image" | "text"> =
          info !== undefined && !info.capabilities.includes("text-to-text") ? ["image"] : ["image", "text"]
        const answer = yield* client.chat(yield* chatRequest(model, input, options, modalities))
        const url = answer.choices[0]?.message.images?.[0]?.image_url.url
        if (url === undefined) {
          const said = OpenRouterClient.contentText(answer.choices[0]?.message.content)
          return yield* new MalformedResponse({
            provider,
            detail: `${model} answered without an image${said !== undefined && said !== "" ? ` (it said: ${said.slice(0, 200)})` : ""}`
          })
        }
        let image: { readonly source: BytesSource | FileSource; readonly mimeType: string }
        if (url.startsWith("data:")) {
          const decoded = decodeDataUrl(url)
          if (decoded === undefined || decoded.bytes.length === 0) {
            return yield* new MalformedResponse({ provider, detail: "the image data URL is malformed" })
          }
          image = { source: new BytesSource({ bytes: decoded.bytes }), mimeType: decoded.mimeType }
        } else {
          // A URL result is downloaded under the download policy, streamed to a file.
          const fetched = yield* client.download(url, { dir: yield* Settings.downloadDir, model, expect: ["image/*"] }).pipe(
            Effect.provideService(HttpClient.HttpClient, httpClient)
          )
          if (fetched.bytes === 0) return yield* new MalformedResponse({ provider, detail: "the image is empty" })
          const type = fetched.contentType
          image = { source: new FileSource({ path: fetched.path }), mimeType: type !== undefined && type.startsWith("image/") ? type : "image/png" }
        }
        const served = answer.model ?? model
        const cost = yield* costOf(served, answer.usage)
        return new Image({
          source: image.source,
          mimeType: image.mimeType,
          origin: { provider, model: served, jobId: answer.id, ...cost }
        })
      })

    // What a video job's answer says, in the terms `Follow.follow` reports and ends by.
    const statusOfVideo = (job: OpenRouterClient.VideoJob): JobStatus => {
      switch (job.status) {
        case "pending":
          return { _tag: "Queued" }
        case "completed":
          return { _tag: "Completed" }
        case "failed":
          return { _tag: "Failed", message: job.error ?? "the video generation failed" }
        case "cancelled":
        case "expired":
          return { _tag: "Cancelled", message: job.error ?? `the video job was ${job.status}` }
        default:
          return { _tag: "Running", logs: [] }
      }
    }

    // One video job: submitted with `fields` (the prompt, or the first frame), followed to its end, its content read.
    const generateVideo = (
      model: string,
      capability: "text-to-video" | "image-to-video",
      fields: Readonly<Record<string, unknown>>,
      options: VideoOptions | undefined
    ) =>
      Effect.gen(function* () {
        const { width, height } = options ?? {}
        const accepted = yield* client.submitVideo({
          ...options?.extra,
          ...fields,
          model,
          ...(options?.durationSeconds !== undefined ? { duration: options.durationSeconds } : {}),
          ...(width !== undefined && height !== undefined ? { size: `${width}x${height}` } : {}),
          ...(options?.seed !== undefined ? { seed: options.seed } : {})
        })
        const ticket = new JobTicket({
          provider,
          model,
          capability,
          requestId: accepted.id,
          statusUrl: accepted.polling_url,
          resultUrl: `/videos/${accepted.id}/content`,
          // OpenRouter has no cancel call for a video job; the status URL stands in, never called.
          cancelUrl: accepted.polling_url,
          submittedAt: new Date()
        })
        const done = yield* Follow.follow({
          ticket,
          poll: client.videoStatus(accepted.id, model),
          statusOf: statusOfVideo,
          initial: accepted,
          control: yield* makeControl,
          schedule: yield* Settings.pollScheduleFromEnv
        })
        const content = yield* client.videoContent(accepted.id, model)
        if (content.bytes.length === 0) return yield* new MalformedResponse({ provider, detail: "the video is empty" })
        const cost = done.usage?.cost
        return new Video({
          source: new BytesSource({ bytes: content.bytes }),
          mimeType: content.contentType.startsWith("video/") ? content.contentType : "video/mp4",
          ...(options?.durationSeconds !== undefined ? { duration: options.durationSeconds } : {}),
          origin: {
            provider,
            model,
            jobId: accepted.id,
            ...(cost !== undefined && cost !== null ? { costUsd: cost, costSource: "provider" as const } : {})
          }
        })
      })

    const textToVideo: Provider.Transform<"text-to-video"> = (model, input, options) =>
      generateVideo(model, "text-to-video", { prompt: input.text }, options)

    const imageToVideo: Provider.Transform<"image-to-video"> = (model, input, options) =>
      Effect.gen(function* () {
        const url = yield* inputUrlOf(provider, input.source, input.mimeType)
        const prompt = options?.prompt
        return yield* generateVideo(
          model,
          "image-to-video",
          {
            frame_images: [{ type: "image_url", image_url: { url }, frame_type: "first_frame" }],
            ...(prompt !== undefined && prompt !== "" ? { prompt } : {})
          },
          options
        )
      })

    const service = yield* Provider.make({
      id: provider,
      name: settings.name,
      ...remote,
      discover,
      discoverUnplaced,
      defaultModels,
      transforms: { "text-to-text": textToText, "text-to-image": textToImage, "text-to-video": textToVideo, "image-to-video": imageToVideo },
      streamText
    })
    return Discovery.withFreeModels(service)
  })

/** The provider as a layer, configured from the environment with `overrides` on top. */
export const layerWith = (overrides: ProviderConfig.ProviderOverrides = {}) => Layer.effect(MediaProvider, Effect.flatMap(OpenRouterConfig.config(overrides), make))

/** The provider as a layer, configured from the environment (`OPENROUTER_API_KEY`, `OPENROUTER_BASE_URL` ...). */
export const layer = layerWith()
