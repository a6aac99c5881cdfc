/**
 * fal's well-known endpoints as a table: one or more a capability, with indicative prices from
 * fal's public model pages (not billed figures; they change), the model used for each capability
 * when none is named, and the cost a result's origin records. The table also stands in for the
 * listing when fal's model listing cannot be reached.
 *
 * @module
 */
import type { JobCapability } from "../../../domain/Capability.js"
import type { Price, ProviderModel } from "../../../domain/Model.js"
import { costPerResult } from "../../../jobs/Results.js"
import * as FalAiConfig from "../FalAiConfig.js"

const price = (usd: number, unit: Price["unit"]): ReadonlyArray<Price> => [{ usd, unit, applies: "output" }]

// Speech is billed by the characters of the text sent.
const perCharacter = (usd: number): ReadonlyArray<Price> => [{ usd, unit: "character", applies: "input" }]

const curated = (id: string, name: string, capability: JobCapability, pricing: ReadonlyArray<Price>, description: string): ProviderModel => ({
  id,
  provider: FalAiConfig.settings.id,
  name,
  capabilities: [capability],
  pricing,
  free: false,
  description
})

/** Well-known fal endpoints, one or more a capability, with indicative prices where published. */
export const curatedModels: ReadonlyArray<ProviderModel> = [
  curated("fal-ai/flux/schnell", "FLUX.1 [schnell]", "text-to-image", price(0.003, "megapixel"), "fast 1-4 step FLUX"),
  curated("fal-ai/flux/dev", "FLUX.1 [dev]", "text-to-image", price(0.025, "megapixel"), "FLUX.1 dev, 12B"),
  curated("fal-ai/flux-pro/v1.1", "FLUX1.1 [pro]", "text-to-image", price(0.04, "megapixel"), "FLUX 1.1 pro"),
  curated("fal-ai/flux-pro", "FLUX.1 [pro]", "text-to-image", price(0.05, "megapixel"), "FLUX.1 pro"),
  curated("fal-ai/bytedance/seedream/v4/text-to-image", "Seedream 4.0", "text-to-image", price(0.03, "image"), "ByteDance Seedream 4"),
  curated("fal-ai/flux/dev/image-to-image", "FLUX.1 [dev] image-to-image", "image-to-image", price(0.025, "megapixel"), "FLUX dev, guided by an image"),
  curated("fal-ai/esrgan", "Upscale Images (ESRGAN)", "image-upscaling", [], "enlarge a picture 2x-4x"),
  curated("fal-ai/clarity-upscaler", "Clarity Upscaler", "image-upscaling", [], "enlarge a picture with high fidelity"),
  curated("fal-ai/kling-video/v1.6/standard/text-to-video", "Kling 1.6 text-to-video", "text-to-video", price(0.05, "second"), "Kling 1.6 standard"),
  curated("fal-ai/minimax/video-01", "MiniMax Video-01", "text-to-video", price(0.5, "request"), "MiniMax Hailuo video"),
  curated("fal-ai/kling-video/v1.6/standard/image-to-video", "Kling 1.6 image-to-video", "image-to-video", price(0.05, "second"), "animate a picture"),
  curated("fal-ai/minimax/video-01/image-to-video", "MiniMax Video-01 image-to-video", "image-to-video", price(0.5, "request"), "animate a picture"),
  curated("fal-ai/cogvideox-5b/video-to-video", "CogVideoX-5B video-to-video", "video-to-video", [], "restyle a video from a prompt"),
  curated("fal-ai/stable-audio", "Stable Audio Open", "text-to-audio", [], "sound and music from text"),
  curated("fal-ai/kokoro/american-english", "Kokoro TTS (American English)", "text-to-speech", perCharacter(0.02 / 1000), "fast 82M speech, preset voices"),
  curated("fal-ai/minimax/speech-02-hd", "MiniMax Speech-02 HD", "text-to-speech", perCharacter(0.1 / 1000), "MiniMax HD speech, many voices"),
  curated("fal-ai/whisper", "Whisper", "speech-to-text", [], "OpenAI Whisper transcription with timestamps"),
  curated("fal-ai/wizper", "Wizper", "speech-to-text", [], "fast Whisper v3")
]

/** The model used for each capability when none is named: the cheapest well-known one. */
export const defaultModels: { readonly [C in JobCapability]?: string } = {
  "text-to-image": "fal-ai/flux/schnell",
  "image-to-image": "fal-ai/flux/dev/image-to-image",
  "image-upscaling": "fal-ai/esrgan",
  "text-to-video": "fal-ai/kling-video/v1.6/standard/text-to-video",
  "image-to-video": "fal-ai/kling-video/v1.6/standard/image-to-video",
  "video-to-video": "fal-ai/cogvideox-5b/video-to-video",
  "text-to-audio": "fal-ai/stable-audio",
  "text-to-speech": "fal-ai/kokoro/american-english",
  "speech-to-text": "fal-ai/whisper"
}

/** The cost of one result of a curated model priced per image or per request. */
export const costOf = (modelId: string): number | undefined => costPerResult(curatedModels.find((model) => model.id === modelId))
