/**
 * Replicate's well-known official models as a table: one or more a capability, with indicative
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
export const defaultModels: { readonly [C in JobCapability]?: string } = {
  "text-to-image": "black-forest-labs/flux-schnell",
  "image-to-image": "black-forest-labs/flux-kontext-pro",
  "text-to-video": "minimax/video-01",
  "image-to-video": "wan-video/wan-2.1-i2v-480p",
  "text-to-audio": "meta/musicgen",
  "text-to-speech": "minimax/speech-02-turbo",
  "speech-to-text": "openai/whisper"
}

/** The cost of one result of a curated model priced per image or per request. */
export const costOf = (modelId: string): number | undefined => costPerResult(curatedModels.find((model) => model.id === modelId))
