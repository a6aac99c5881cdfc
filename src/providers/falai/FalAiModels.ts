/**
 * fal.ai's models as data, and the pure decisions about them: which capability a listed model
 * has (`categoryRules`), the curated table of well-known endpoints (with indicative prices),
 * the input each capability sends, and where a result's file is in each output shape.
 *
 * Discovery uses fal's model listing (`GET api.fal.ai/v1/models`, each model with a `category`)
 * categorized by `categoryRules`, merged with `curatedModels` (which also stand in when the
 * listing cannot be reached). Prices are from fal's public model pages; they are indicative,
 * not billed figures, and change.
 *
 * @module
 */
import * as Predicate from "effect/Predicate"
import type { Text } from "../../domain/Asset.js"
import type { AudioOptions, ImageOptions, TranscriptionOptions, VideoOptions } from "../../domain/MediaProvider.js"
import type { Price, ProviderModel } from "../../domain/Model.js"
import type * as Jobs from "../../jobs/index.js"
import type { ListedModel } from "./FalAiClient.js"
import { providerId } from "./FalAiClient.js"

/** fal's listing category -> our capability. Categories not listed here are not offered. */
export const categoryRules: Readonly<Record<string, Jobs.JobCapability>> = {
  "text-to-image": "text-to-image",
  "image-to-image": "image-to-image",
  "text-to-video": "text-to-video",
  "image-to-video": "image-to-video",
  "text-to-audio": "text-to-audio",
  "text-to-music": "text-to-audio",
  "text-to-speech": "text-to-speech",
  "speech-to-text": "speech-to-text",
  "audio-to-text": "speech-to-text"
}

/** The capability of a listed model, by its category (or, without one, by its id's last segment). */
export const categorize = (model: ListedModel): Jobs.JobCapability | undefined => {
  const category = model.metadata?.category ?? undefined
  if (category !== undefined && categoryRules[category] !== undefined) return categoryRules[category]
  const last = model.endpoint_id.split("/").pop() ?? ""
  return categoryRules[last]
}

const price = (usd: number, unit: Price["unit"]): ReadonlyArray<Price> => [{ usd, unit, applies: "output" }]

const curated = (
  id: string,
  name: string,
  capability: Jobs.JobCapability,
  pricing: ReadonlyArray<Price>,
  description: string
): ProviderModel => ({ id, provider: providerId, name, capabilities: [capability], pricing, free: false, description })

/** Well-known fal endpoints, one or more a capability, with indicative prices where published. */
export const curatedModels: ReadonlyArray<ProviderModel> = [
  curated("fal-ai/flux/schnell", "FLUX.1 [schnell]", "text-to-image", price(0.003, "megapixel"), "fast 1-4 step FLUX"),
  curated("fal-ai/flux/dev", "FLUX.1 [dev]", "text-to-image", price(0.025, "megapixel"), "FLUX.1 dev, 12B"),
  curated("fal-ai/flux-pro/v1.1", "FLUX1.1 [pro]", "text-to-image", price(0.04, "megapixel"), "FLUX 1.1 pro"),
  curated("fal-ai/flux-pro", "FLUX.1 [pro]", "text-to-image", price(0.05, "megapixel"), "FLUX.1 pro"),
  curated("fal-ai/bytedance/seedream/v4/text-to-image", "Seedream 4.0", "text-to-image", price(0.03, "image"), "ByteDance Seedream 4"),
  curated("fal-ai/flux/dev/image-to-image", "FLUX.1 [dev] image-to-image", "image-to-image", price(0.025, "megapixel"), "FLUX dev, guided by an image"),
  curated("fal-ai/kling-video/v1.6/standard/text-to-video", "Kling 1.6 text-to-video", "text-to-video", price(0.05, "second"), "Kling 1.6 standard"),
  curated("fal-ai/minimax/video-01", "MiniMax Video-01", "text-to-video", price(0.5, "request"), "MiniMax Hailuo video"),
  curated("fal-ai/kling-video/v1.6/standard/image-to-video", "Kling 1.6 image-to-video", "image-to-video", price(0.05, "second"), "animate a picture"),
  curated("fal-ai/minimax/video-01/image-to-video", "MiniMax Video-01 image-to-video", "image-to-video", price(0.5, "request"), "animate a picture"),
  curated("fal-ai/stable-audio", "Stable Audio Open", "text-to-audio", [], "sound and music from text"),
  curated("fal-ai/whisper", "Whisper", "speech-to-text", [], "OpenAI Whisper transcription with timestamps"),
  curated("fal-ai/wizper", "Wizper", "speech-to-text", [], "fast Whisper v3")
]

/** The model used for each capability when none is named: the cheapest well-known one. */
export const defaultModels: { readonly [C in Jobs.JobCapability]?: string } = {
  "text-to-image": "fal-ai/flux/schnell",
  "image-to-image": "fal-ai/flux/dev/image-to-image",
  "text-to-video": "fal-ai/kling-video/v1.6/standard/text-to-video",
  "image-to-video": "fal-ai/kling-video/v1.6/standard/image-to-video",
  "text-to-audio": "fal-ai/stable-audio",
  "speech-to-text": "fal-ai/whisper"
}

/** Listed models as `ProviderModel`s (only those with a capability), merged with the curated table (its prices and names win). */
export const mergeModels = (listed: ReadonlyArray<ListedModel>): ReadonlyArray<ProviderModel> => {
  const byId = new Map<string, ProviderModel>(curatedModels.map((model) => [model.id, model]))
  for (const model of listed) {
    if (byId.has(model.endpoint_id)) continue
    if (model.metadata?.status === "deprecated") continue
    const capability = categorize(model)
    if (capability === undefined) continue
    byId.set(model.endpoint_id, {
      id: model.endpoint_id,
      provider: providerId,
      name: model.metadata?.display_name ?? model.endpoint_id,
      capabilities: [capability],
      pricing: [],
      free: false,
      ...(model.metadata?.description ? { description: model.metadata.description } : {})
    })
  }
  return [...byId.values()]
}

/** The cost of one result when the model is priced per image or per request. */
export const costOf = (modelId: string): number | undefined => {
  const model = curatedModels.find((candidate) => candidate.id === modelId)
  const first = model?.pricing[0]
  return first !== undefined && (first.unit === "image" || first.unit === "request") ? first.usd : undefined
}

type Input = Readonly<Record<string, unknown>>

const defined = (entries: Record<string, unknown>): Input =>
  Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined))

/** The input of a text-to-image job. `extra` is merged last (fal's own parameters). */
export const textToImageInput = (prompt: Text, options: ImageOptions | undefined): Input =>
  defined({
    prompt: prompt.text,
    image_size: options?.width !== undefined && options.height !== undefined ? { width: options.width, height: options.height } : undefined,
    num_inference_steps: options?.steps,
    seed: options?.seed,
    negative_prompt: options?.negativePrompt,
    ...options?.extra
  })

/** The input of an image-to-image job (the image as `image_url`). */
export const imageToImageInput = (imageUrl: string, options: ImageOptions | undefined): Input =>
  defined({
    image_url: imageUrl,
    prompt: options?.prompt ?? "",
    strength: options?.strength,
    num_inference_steps: options?.steps,
    seed: options?.seed,
    negative_prompt: options?.negativePrompt,
    ...options?.extra
  })

/** The input of a text-to-video job. Kling-style models take `duration` as a string ("5", "10"). */
export const textToVideoInput = (model: string, prompt: Text, options: VideoOptions | undefined): Input =>
  defined({
    prompt: prompt.text,
    duration: durationFor(model, options?.durationSeconds),
    seed: options?.seed,
    ...options?.extra
  })

/** The input of an image-to-video job (the picture as `image_url`). */
export const imageToVideoInput = (model: string, imageUrl: string, options: VideoOptions | undefined): Input =>
  defined({
    image_url: imageUrl,
    prompt: options?.prompt ?? "",
    duration: durationFor(model, options?.durationSeconds),
    seed: options?.seed,
    ...options?.extra
  })

const durationFor = (model: string, seconds: number | undefined): unknown =>
  seconds === undefined ? undefined : model.includes("kling") ? String(Math.round(seconds)) : seconds

/** The input of a text-to-audio job (Stable Audio calls the length `seconds_total`). */
export const textToAudioInput = (model: string, prompt: Text, options: AudioOptions | undefined): Input =>
  defined({
    prompt: prompt.text,
    ...(options?.durationSeconds !== undefined
      ? model.includes("stable-audio")
        ? { seconds_total: options.durationSeconds }
        : { duration: options.durationSeconds }
      : {}),
    ...options?.extra
  })

/** The input of a speech-to-text job (the recording as `audio_url`). */
export const speechToTextInput = (audioUrl: string, options: TranscriptionOptions | undefined): Input =>
  defined({ audio_url: audioUrl, language: options?.language, ...options?.extra })

/** Where the first file of a result is, for the kind of asset wanted; undefined when the output has none. */
export const resultMedia = (output: unknown, kind: "image" | "video" | "audio"): Jobs.ResultMedia | undefined => {
  if (!Predicate.isRecord(output)) return undefined
  const keys: Record<typeof kind, ReadonlyArray<string>> = {
    image: ["images", "image", "output"],
    video: ["video", "videos", "output"],
    audio: ["audio_file", "audio", "audio_url", "audios", "output"]
  }
  for (const key of keys[kind]) {
    const found = fileOf(output[key])
    if (found !== undefined) return found
  }
  return undefined
}

const fileOf = (value: unknown): Jobs.ResultMedia | undefined => {
  if (typeof value === "string" && /^(https?:|data:)/.test(value)) return { url: value }
  if (Array.isArray(value)) return value.length > 0 ? fileOf(value[0]) : undefined
  if (!Predicate.isRecord(value) || typeof value.url !== "string") return undefined
  const num = (key: string) => (typeof value[key] === "number" ? value[key] : undefined)
  return {
    url: value.url,
    contentType: typeof value.content_type === "string" ? value.content_type : undefined,
    width: num("width"),
    height: num("height"),
    duration: num("duration")
  }
}

/** A transcript from a speech-to-text output: `text`, and `chunks[].timestamp` as segments. */
export const transcriptOf = (
  output: unknown
): { readonly text: string; readonly segments: ReadonlyArray<{ start: number; end: number; text: string }>; readonly language?: string } | undefined => {
  if (!Predicate.isRecord(output) || typeof output.text !== "string") return undefined
  const chunks = Array.isArray(output.chunks) ? output.chunks : []
  const segments = chunks.flatMap((chunk) => {
    if (!Predicate.isRecord(chunk) || typeof chunk.text !== "string" || !Array.isArray(chunk.timestamp)) return []
    const [start, end] = chunk.timestamp
    return typeof start === "number" ? [{ start, end: typeof end === "number" ? end : start, text: chunk.text.trim() }] : []
  })
  const language = Array.isArray(output.inferred_languages) && typeof output.inferred_languages[0] === "string" ? output.inferred_languages[0] : undefined
  return { text: output.text.trim(), segments, ...(language !== undefined ? { language } : {}) }
}
