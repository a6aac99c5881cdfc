/**
 * Replicate's well-known models as a table: one or more a capability, with indicative
 * prices from Replicate's public model pages (not billed figures), the model used for each
 * capability when none is named, and the cost a result's origin records.
 *
 * @module
 */
import type { JobCapability } from "../../../domain/Capability.js"
import type { Price, ProviderModel } from "../../../domain/Model.js"
import { costPerResult } from "../../../jobs/Results.js"
import * as ReplicateConfig from "../ReplicateConfig.js"

const price = (usd: number, unit: Price["unit"]): ReadonlyArray<Price> => [{ usd, unit, applies: "output" }]

const curated = (id: string, capability: JobCapability, pricing: ReadonlyArray<Price>, description: string): ProviderModel => ({
  id,
  provider: ReplicateConfig.settings.id,
  name: id,
  capabilities: [capability],
  pricing,
  free: false,
  description
})

/** Real-ESRGAN (`nightmareai/real-esrgan`), pinned to a published version: input `image`, `scale` (default 4, at most 10). */
export const realEsrgan = "nightmareai/real-esrgan:42fed1c4974146d4d2414e2be2c5277c7fcf05fcc3a73abf41610695738c1d7b"

/** Well-known models, one or more a capability: official ones by name, others pinned to a version. */
export const curatedModels: ReadonlyArray<ProviderModel> = [
  curated("black-forest-labs/flux-schnell", "text-to-image", price(0.003, "image"), "FLUX.1 schnell"),
  curated("black-forest-labs/flux-dev", "text-to-image", price(0.025, "image"), "FLUX.1 dev"),
  curated("black-forest-labs/flux-1.1-pro", "text-to-image", price(0.04, "image"), "FLUX 1.1 pro"),
  curated("black-forest-labs/flux-kontext-pro", "image-to-image", price(0.04, "image"), "edit an image with a prompt"),
  // A community model: run by its version (`POST /predictions`), as models that are not official are.
  curated(realEsrgan, "image-upscaling", [], "Real-ESRGAN, enlarge a picture up to 10x"),
  curated("minimax/video-01", "text-to-video", price(0.5, "request"), "MiniMax Hailuo video"),
  curated("wan-video/wan-2.1-i2v-480p", "image-to-video", [], "Wan 2.1 image-to-video"),
  curated("meta/musicgen", "text-to-audio", [], "MusicGen"),
  curated("minimax/speech-02-turbo", "text-to-speech", [], "MiniMax speech"),
  curated("openai/whisper", "speech-to-text", [], "Whisper large-v3")
]

/** The model used for each capability when none is named. */
export const defaultModels: { readonly [C in JobCapability]?: string } = {
  "text-to-image": "black-forest-labs/flux-schnell",
  "image-to-image": "black-forest-labs/flux-kontext-pro",
  "image-upscaling": realEsrgan,
  "text-to-video": "minimax/video-01",
  "image-to-video": "wan-video/wan-2.1-i2v-480p",
  "text-to-audio": "meta/musicgen",
  "text-to-speech": "minimax/speech-02-turbo",
  "speech-to-text": "openai/whisper"
}

/** The cost of one result of a curated model priced per image or per request. */
export const costOf = (modelId: string): number | undefined => costPerResult(curatedModels.find((model) => model.id === modelId))
