/**
 * The Together AI provider: text generation (whole or streamed), text-to-image, image-to-image, text-to-speech
 * and speech-to-text over Together's OpenAI-style API, with its models discovered from
 * `GET /models` and categorized by the rules in `Categories.ts` (a model of a type they do not
 * know by a text model, when a `Categorizer` is in context: provider/Categorizer.ts).
 *
 * - Configuration (`TogetherConfig.ts`): `TOGETHER_API_KEY` (a comma-separated list rotates
 *   keys), `TOGETHER_BASE_URL` (default
 *   `https://api.together.xyz/v1`), `TOGETHER_TIMEOUT`, `TOGETHER_RETRIES`. Without a key the
 *   provider is listed with `configured: false` and every call fails with `MissingConfig`
 *   naming `TOGETHER_API_KEY`.
 * - text-to-text: `POST /chat/completions` with `system`, `maxTokens`, `temperature`; `extra`
 *   fields are merged into the request body (e.g. `top_p`, `stop`). A `maxTokens` above the
 *   model's listed context length is InvalidInput before anything is sent (see Parameters.ts). The `Text` result's origin
 *   has the completion id as `jobId` and `costUsd` from the token usage when the model's
 *   prices are known (from a previous discovery).
 * - streamText: the same request with `stream: true`; deltas as they arrive. A stream cut
 *   before `[DONE]` fails with `NetworkError` (see `ServerSentEvents.ts`).
 * - text-to-image: `POST /images/generations`, `steps` checked and defaulted per model family
 *   (Parameters.ts: 1-50; FLUX.1 schnell 4 when none is given), `response_format: "base64"` by default
 *   (`extra.response_format: "url"` asks for a URL, which is then downloaded through
 *   `http/Download.ts` (its URL policy, an `image/*` check, 256 MiB cap) into
 *   `AUTOMARKET_DOWNLOAD_DIR`). The `Image` holds the bytes, or the downloaded file; `costUsd` is megapixels x the model's megapixel price when known.
 * - image-to-image: the same call with the input image, for the models `Categories.ts` lists
 *   under it: as `image_url` (FLUX.1 Kontext) or the one entry of `reference_images` (FLUX.2),
 *   a URL source as is, bytes or a file inlined as a `data:` URL (`jobs/Inputs.ts`, 20 MiB at
 *   most). `options.prompt` (required: Together requires a prompt) says what to do to it;
 *   `strength` is not sent (Together's endpoint has no such field). Another model fails with
 *   CapabilityNotSupported before anything is sent. Without `width`/`height` the price is
 *   reckoned at 1024x1024, as for text-to-image.
 * - text-to-speech: `POST /audio/speech`; `voice` (default per model family), `format` wav or
 *   mp3 (opus is refused with InvalidInput).
 * - speech-to-text: `POST /audio/transcriptions` as multipart, `verbose_json`, with segments.
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import { Audio, BytesSource, FileSource, Image, Text } from "../../domain/Asset.js"
import { CapabilityNotSupported, InvalidInput, MalformedResponse, type MediaError } from "../../domain/Errors.js"
import { type ImageOptions, MediaProvider, type SpeechOptions, type TextOptions, type TranscriptionOptions } from "../../domain/MediaProvider.js"
import { uploadName } from "../../http/Multipart.js"
import { inputUrlOf } from "../../jobs/Inputs.js"
import * as Settings from "../../jobs/Settings.js"
import * as Provider from "../../provider/Provider.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import { textCost } from "../openai-compatible/Categories.js"
import * as Chat from "../openai-compatible/Chat.js"
import * as Discovery from "../openai-compatible/Discovery.js"
import { inputImageFieldOf, type InputImageField, isUnplaced, toProviderModel } from "./Categories.js"
import * as Parameters from "./Parameters.js"
import * as TogetherClient from "./TogetherClient.js"
import * as TogetherConfig from "./TogetherConfig.js"

/** The models used when the caller names none. */
export const defaultModels = {
  "text-to-text": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
  "text-to-image": "black-forest-labs/FLUX.1-schnell",
  "image-to-image": "black-forest-labs/FLUX.1-kontext-pro",
  "text-to-speech": "cartesia/sonic",
  "speech-to-text": "openai/whisper-large-v3"
} as const

/** The Together provider: a `MediaProviderService` that can also list its free models. */
export type TogetherProviderService = Discovery.WithFreeModels

/** The voice used when none is asked for, by model family. */
export const defaultVoice = (model: string): string => {
  if (/kokoro/i.test(model)) return "af_alloy"
  if (/orpheus/i.test(model)) return "tara"
  return "helpful woman"
}

const invalid = (message: string): InvalidInput =>
  new InvalidInput({ provider: TogetherConfig.settings.id, detail: message, issues: [message] })

/** The chat request of a text generation. */
export const chatRequest = (model: string, input: Text, options: TextOptions | undefined): Chat.ChatRequest =>
  Chat.chatRequest(model, input.text, options)

const mimeOfImage = (format: unknown, fallback: string | undefined): string =>
  format === "png" ? "image/png" : fallback !== undefined && fallback.startsWith("image/") ? fallback : "image/jpeg"

/** Build the provider over a resolved configuration. */
export const make = (config: ProviderConfig.ProviderConfig): Effect.Effect<TogetherProviderService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { settings } = TogetherConfig
    const { http, remote } = yield* ProviderConfig.makeHttp(settings, config)
    const client = yield* TogetherClient.make(http)
    const httpClient = yield* HttpClient.HttpClient
    const provider = settings.id
    // The last discovery, by id: prices for `costUsd`.
    const { discover, discoverUnplaced, known: modelInfo } = yield* Discovery.makeWithUnplaced(
      Effect.map(client.models, (models) => ({
        models: models.map((model) => toProviderModel(provider, model)),
        unplaced: models.filter(isUnplaced).map((model) => ({ model: toProviderModel(provider, model) }))
      }))
    )

    const textToText: Provider.Transform<"text-to-text"> = (model, input, options) =>
      Effect.gen(function* () {
        yield* Parameters.checkMaxTokens(model, yield* modelInfo(model), options?.maxTokens)
        const answer = yield* client.chat(chatRequest(model, input, options))
        const choice = answer.choices[0]
        const content = choice?.message?.content ?? choice?.text
        if (content === undefined || content === null) {
          return yield* new MalformedResponse({ provider, detail: "the completion has no message content" })
        }
        const costUsd = textCost(yield* modelInfo(model), answer.usage ?? undefined)
        // Built from the decoded answer: validating it again would only repeat the decoder's work.
        return new Text({ text: content, origin: { provider, model, jobId: answer.id, ...(costUsd !== undefined ? { costUsd } : {}) } }, true)
      })

    const streamText = (model: string, input: Text, options: TextOptions | undefined): Stream.Stream<string, MediaError> =>
      Stream.unwrap(
        Effect.as(
          Effect.flatMap(modelInfo(model), (info) => Parameters.checkMaxTokens(model, info, options?.maxTokens)),
          client.chatStream(chatRequest(model, input, options))
        )
      )

    // One `POST /images/generations`, from a prompt alone or with an input image in the model's field.
    const generateImage = (
      model: string,
      prompt: string,
      options: ImageOptions | undefined,
      inputImage?: { readonly field: InputImageField; readonly url: string }
    ) =>
      Effect.gen(function* () {
        const extra = options?.extra ?? {}
        // The caller's steps checked against the model's range; the family's default when none.
        const steps = yield* Parameters.imageSteps(model, options?.steps ?? extra.steps)
        const responseFormat = extra.response_format === "url" ? "url" : "base64"
        const answer = yield* client.images({
          ...extra,
          model,
          prompt,
          ...(inputImage === undefined
            ? {}
            : inputImage.field === "image_url"
              ? { image_url: inputImage.url }
              : { reference_images: [inputImage.url] }),
          response_format: responseFormat,
          n: 1,
          ...(options?.width !== undefined ? { width: options.width } : {}),
          ...(options?.height !== undefined ? { height: options.height } : {}),
          ...(steps !== undefined ? { steps } : {}),
          ...(options?.seed !== undefined ? { seed: options.seed } : {}),
          ...(options?.negativePrompt !== undefined ? { negative_prompt: options.negativePrompt } : {})
        })
        const first = answer.data[0]
        let source: BytesSource | FileSource
        let contentType: string | undefined
        if (first?.b64_json !== undefined) {
          const bytes = new Uint8Array(Buffer.from(first.b64_json, "base64"))
          if (bytes.length === 0) return yield* new MalformedResponse({ provider, detail: "the image is empty" })
          source = new BytesSource({ bytes })
        } else if (first?.url !== undefined) {
          // A URL result is downloaded under the download policy, streamed to a file.
          const fetched = yield* client.download(first.url, { dir: yield* Settings.downloadDir, model, expect: ["image/*"] }).pipe(
            Effect.provideService(HttpClient.HttpClient, httpClient)
          )
          if (fetched.bytes === 0) return yield* new MalformedResponse({ provider, detail: "the image is empty" })
          source = new FileSource({ path: fetched.path })
          contentType = fetched.contentType
        } else {
          return yield* new MalformedResponse({ provider, detail: "the image answer has neither b64_json nor url" })
        }
        const width = options?.width ?? 1024
        const height = options?.height ?? 1024
        const info = yield* modelInfo(model)
        const perMegapixel = info?.pricing.find((price) => price.unit === "megapixel")
        const costUsd = info?.free === true ? 0 : perMegapixel !== undefined ? (perMegapixel.usd * width * height) / 1_000_000 : undefined
        return new Image({
          source,
          mimeType: mimeOfImage(extra.output_format, contentType),
          width,
          height,
          origin: { provider, model, ...(answer.id !== undefined ? { jobId: answer.id } : {}), ...(costUsd !== undefined ? { costUsd } : {}) }
        })
      })

    const textToImage: Provider.Transform<"text-to-image"> = (model, input, options) => generateImage(model, input.text, options)

    const imageToImage: Provider.Transform<"image-to-image"> = (model, input, options) =>
      Effect.gen(function* () {
        // A model outside the table would ignore the image and answer a picture of the prompt alone.
        const field = inputImageFieldOf(model)
        if (field === undefined) {
          return yield* new CapabilityNotSupported({ provider, capability: "image-to-image", detail: `${model} takes no input image` })
        }
        const prompt = options?.prompt
        if (prompt === undefined || prompt.trim() === "") return yield* invalid("image-to-image needs options.prompt: what to do to the image")
        const url = yield* inputUrlOf(provider, input.source, input.mimeType)
        return yield* generateImage(model, prompt, options, { field, url })
      })

    const textToSpeech: Provider.Transform<"text-to-speech"> = (model, input, options: SpeechOptions | undefined) =>
      Effect.gen(function* () {
        if (options?.format === "opus") return yield* invalid("format opus is not offered (wav or mp3)")
        if (options?.referenceAudio !== undefined) return yield* invalid("voice cloning from reference audio is not offered")
        const format = options?.format ?? "wav"
        const audio = yield* client.speech({
          ...options?.extra,
          model,
          input: input.text,
          voice: options?.voice ?? defaultVoice(model),
          response_format: format
        })
        if (audio.bytes.length === 0) return yield* new MalformedResponse({ provider, detail: "the speech answer is empty" })
        const info = yield* modelInfo(model)
        const perCharacter = info?.pricing.find((price) => price.unit === "character")
        const costUsd = info?.free === true ? 0 : perCharacter !== undefined ? perCharacter.usd * input.text.length : undefined
        return new Audio({
          source: new BytesSource({ bytes: audio.bytes }),
          mimeType: audio.contentType.startsWith("audio/") ? audio.contentType : format === "mp3" ? "audio/mpeg" : "audio/wav",
          origin: { provider, model, ...(costUsd !== undefined ? { costUsd } : {}) }
        })
      })

    const speechToText: Provider.Transform<"speech-to-text"> = (model, input, options: TranscriptionOptions | undefined) =>
      Effect.gen(function* () {
        const fields: Record<string, string> = {}
        for (const [key, value] of Object.entries(options?.extra ?? {})) {
          if (value !== undefined && value !== null) fields[key] = typeof value === "string" ? value : JSON.stringify(value)
        }
        const answer = yield* client.transcribe({
          source: input.source,
          filename: uploadName(input.source, input.mimeType),
          contentType: input.mimeType,
          model,
          ...(options?.language !== undefined ? { language: options.language } : {}),
          response_format: "verbose_json",
          fields
        })
        const language = answer.language ?? options?.language
        return new Text({
          text: answer.text.trim(),
          ...(answer.segments !== undefined ? { segments: answer.segments.map((s) => ({ start: s.start, end: s.end, text: s.text.trim() })) } : {}),
          ...(language !== undefined ? { language } : {}),
          origin: { provider, model }
        })
      })

    const service = yield* Provider.make({
      id: provider,
      name: settings.name,
      ...remote,
      discover,
      discoverUnplaced,
      defaultModels,
      transforms: {
        "text-to-text": textToText,
        "text-to-image": textToImage,
        "image-to-image": imageToImage,
        "text-to-speech": textToSpeech,
        "speech-to-text": speechToText
      },
      streamText
    })
    return Discovery.withFreeModels(service)
  })

/** The provider as a layer, configured from the environment with `overrides` on top. */
export const layerWith = (overrides: ProviderConfig.ProviderOverrides = {}) => Layer.effect(MediaProvider, Effect.flatMap(TogetherConfig.config(overrides), make))

/** The provider as a layer, configured from the environment (`TOGETHER_API_KEY`, `TOGETHER_BASE_URL` ...). */
export const layer = layerWith()
