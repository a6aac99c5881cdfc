/**
 * Replicate's models as data, and the pure decisions about them: which collection means which
 * capability (`collectionRules`), the curated defaults (with indicative prices), the input each
 * capability sends, and how outputs (a URL, a list of URLs, an object) become results.
 *
 * Discovery reads the collections of `collectionRules` (a collection that does not exist is
 * skipped) and merges the curated table. Prices are from Replicate's public model pages,
 * indicative, not billed figures.
 *
 * @module
 */
import * as Predicate from "effect/Predicate"
import type { Text } from "../../domain/Asset.js"
import type { AudioOptions, ImageOptions, SpeechOptions, TranscriptionOptions, VideoOptions } from "../../domain/MediaProvider.js"
import type { Price, ProviderModel } from "../../domain/Model.js"
import type * as Jobs from "../../jobs/index.js"
import type { ListedModel } from "./ReplicateClient.js"
import { providerId } from "./ReplicateClient.js"

/** Replicate collection slug -> our capability. */
export const collectionRules: ReadonlyArray<{ readonly slug: string; readonly capability: Jobs.JobCapability }> = [
  { slug: "text-to-image", capability: "text-to-image" },
  { slug: "image-editing", capability: "image-to-image" },
  { slug: "text-to-video", capability: "text-to-video" },
  { slug: "image-to-video", capability: "image-to-video" },
  { slug: "ai-music-generation", capability: "text-to-audio" },
  { slug: "text-to-speech", capability: "text-to-speech" },
  { slug: "speech-to-text", capability: "speech-to-text" }
]

const price = (usd: number, unit: Price["unit"]): ReadonlyArray<Price> => [{ usd, unit, applies: "output" }]

const curated = (id: string, capability: Jobs.JobCapability, pricing: ReadonlyArray<Price>, description: string): ProviderModel => ({
  id,
  provider: providerId,
  name: id,
  capabilities: [capability],
  pricing,
  free: false,
  description
})

/** Well-known official models, one or more a capability. */
export const curatedModels: ReadonlyArray<ProviderModel> = [
  curated("black-forest-labs/flux-schnell", "text-to-image", price(0.003, "image"), "FLUX.1 schnell"),
  curated("black-forest-labs/flux-dev", "text-to-image", price(0.025, "image"), "FLUX.1 dev"),
  curated("black-forest-labs/flux-1.1-pro", "text-to-image", price(0.04, "image"), "FLUX 1.1 pro"),
  curated("black-forest-labs/flux-kontext-pro", "image-to-image", price(0.04, "image"), "edit an image with a prompt"),
  curated("minimax/video-01", "text-to-video", price(0.5, "request"), "MiniMax Hailuo video"),
  curated("wan-video/wan-2.1-i2v-480p", "image-to-video", [], "Wan 2.1 image-to-video"),
  curated("meta/musicgen", "text-to-audio", [], "MusicGen"),
  curated("minimax/speech-02-turbo", "text-to-speech", [], "MiniMax speech"),
  curated("openai/whisper", "speech-to-text", [], "Whisper large-v3")
]

/** The model used for each capability when none is named. */
export const defaultModels: { readonly [C in Jobs.JobCapability]?: string } = {
  "text-to-image": "black-forest-labs/flux-schnell",
  "image-to-image": "black-forest-labs/flux-kontext-pro",
  "text-to-video": "minimax/video-01",
  "image-to-video": "wan-video/wan-2.1-i2v-480p",
  "text-to-audio": "meta/musicgen",
  "text-to-speech": "minimax/speech-02-turbo",
  "speech-to-text": "openai/whisper"
}

/** Models of the collections read, categorized by collection, merged with the curated table (curated entries win). */
export const mergeModels = (
  collections: ReadonlyArray<{ readonly capability: Jobs.JobCapability; readonly models: ReadonlyArray<ListedModel> }>
): ReadonlyArray<ProviderModel> => {
  const byId = new Map<string, ProviderModel>(curatedModels.map((model) => [model.id, model]))
  for (const { capability, models } of collections) {
    for (const model of models) {
      const id = `${model.owner}/${model.name}`
      const known = byId.get(id)
      if (known !== undefined) {
        if (!known.capabilities.includes(capability)) byId.set(id, { ...known, capabilities: [...known.capabilities, capability] })
        continue
      }
      byId.set(id, {
        id,
        provider: providerId,
        name: id,
        capabilities: [capability],
        pricing: [],
        free: false,
        ...(model.description ? { description: model.description } : {})
      })
    }
  }
  return [...byId.values()]
}

/** The cost of one result when the model is priced per image or per request. */
export const costOf = (modelId: string): number | undefined => {
  const first = curatedModels.find((candidate) => candidate.id === modelId)?.pricing[0]
  return first !== undefined && (first.unit === "image" || first.unit === "request") ? first.usd : undefined
}

type Input = Readonly<Record<string, unknown>>

const defined = (entries: Record<string, unknown>): Input =>
  Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined))

/** The input of a text-to-image prediction. */
export const textToImageInput = (prompt: Text, options: ImageOptions | undefined): Input =>
  defined({
    prompt: prompt.text,
    width: options?.width,
    height: options?.height,
    num_inference_steps: options?.steps,
    seed: options?.seed,
    negative_prompt: options?.negativePrompt,
    ...options?.extra
  })

/** The input of an image-to-image prediction (`input_image`, as FLUX Kontext names it). */
export const imageToImageInput = (imageUrl: string, options: ImageOptions | undefined): Input =>
  defined({ input_image: imageUrl, prompt: options?.prompt ?? "", seed: options?.seed, ...options?.extra })

/** The input of a text-to-video prediction. */
export const textToVideoInput = (prompt: Text, options: VideoOptions | undefined): Input =>
  defined({ prompt: prompt.text, duration: options?.durationSeconds, seed: options?.seed, ...options?.extra })

/** The input of an image-to-video prediction. */
export const imageToVideoInput = (imageUrl: string, options: VideoOptions | undefined): Input =>
  defined({ image: imageUrl, prompt: options?.prompt ?? "", duration: options?.durationSeconds, seed: options?.seed, ...options?.extra })

/** The input of a text-to-audio prediction. */
export const textToAudioInput = (prompt: Text, options: AudioOptions | undefined): Input =>
  defined({ prompt: prompt.text, duration: options?.durationSeconds, ...options?.extra })

/** The input of a text-to-speech prediction. */
export const textToSpeechInput = (prompt: Text, options: SpeechOptions | undefined): Input =>
  defined({ text: prompt.text, voice_id: options?.voice, speed: options?.speed, ...options?.extra })

/** The input of a speech-to-text prediction. */
export const speechToTextInput = (audioUrl: string, options: TranscriptionOptions | undefined): Input =>
  defined({ audio: audioUrl, language: options?.language, ...options?.extra })

/** The first file URL in an output: a URL string, a list of them, or an object holding one. */
export const firstFileUrl = (output: unknown): string | undefined => {
  if (typeof output === "string") return /^(https?:|data:)/.test(output) ? output : undefined
  if (Array.isArray(output)) {
    for (const item of output) {
      const found = firstFileUrl(item)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (Predicate.isRecord(output)) {
    for (const value of Object.values(output)) {
      const found = firstFileUrl(value)
      if (found !== undefined) return found
    }
  }
  return undefined
}

/** A transcript from a speech-to-text output: whisper's `{transcription, segments}`, `{text}`, or a string. */
export const transcriptOf = (
  output: unknown
): { readonly text: string; readonly segments: ReadonlyArray<{ start: number; end: number; text: string }>; readonly language?: string } | undefined => {
  if (typeof output === "string") return { text: output.trim(), segments: [] }
  if (!Predicate.isRecord(output)) return undefined
  const text = typeof output.transcription === "string" ? output.transcription : typeof output.text === "string" ? output.text : undefined
  if (text === undefined) return undefined
  const segments = (Array.isArray(output.segments) ? output.segments : []).flatMap((segment) =>
    Predicate.isRecord(segment) && typeof segment.start === "number" && typeof segment.end === "number" && typeof segment.text === "string"
      ? [{ start: segment.start, end: segment.end, text: segment.text.trim() }]
      : []
  )
  const language = typeof output.detected_language === "string" ? output.detected_language : undefined
  return { text: text.trim(), segments, ...(language !== undefined ? { language } : {}) }
}
