/**
 * Which capability a model fal lists has, as data: fal's listing category (or, without one, the
 * last segment of the endpoint id) mapped by `categoryRules`; and the listing merged with the
 * curated table into the provider's models. A listed model in no category the rules know (none,
 * or one not in `categoryRules` nor `declinedCategories`) is unplaced: `unplacedModels` gives
 * those to the AI categorizer (provider/Categorizer.ts).
 *
 * @module
 */
import type { JobCapability } from "../../../domain/Capability.js"
import type { ProviderModel } from "../../../domain/Model.js"
import type { UnplacedModel } from "../../../provider/Categorizer.js"
import type { ListedModel } from "../FalAiClient.js"
import * as FalAiConfig from "../FalAiConfig.js"
import { curatedModels } from "./Curated.js"

/**
 * fal's listing category -> our capability. Categories not listed here are not offered, because
 * no capability of ours can call them: `video-to-video` (a video input: no capability takes one
 * yet), and others such as `image-to-3d` and `training`. Upscalers fal lists under
 * `image-to-image` (ESRGAN, Clarity) are offered there: they take `image_url` and answer
 * `image`/`images`, as the image-to-image input and reader expect.
 */
export const categoryRules: Readonly<Record<string, JobCapability>> = {
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

/**
 * Endpoints fal lists under a category whose input we cannot make, so not offered there: MiniMax's
 * voice cloning needs a recording and its voice design a description of the voice, where
 * text-to-speech gives text alone.
 */
export const unrunnable: ReadonlyArray<{ readonly capability: JobCapability; readonly endpoint: RegExp }> = [
  { capability: "text-to-speech", endpoint: /\/voice-(clone|design)$/ }
]

/**
 * fal categories the rules decline (no capability of ours can call them, see `categoryRules`):
 * their models are not shown to the AI categorizer either. A category in `categoryRules` wins.
 */
export const declinedCategories: ReadonlyArray<string> = ["video-to-video", "image-to-3d", "training"]

/** The capability of a listed model, by its category (or, without one, by its id's last segment). */
export const categorize = (model: ListedModel): JobCapability | undefined => {
  const category = model.metadata?.category ?? undefined
  const last = model.endpoint_id.split("/").pop() ?? ""
  const capability = category !== undefined && categoryRules[category] !== undefined ? categoryRules[category] : categoryRules[last]
  if (capability === undefined) return undefined
  return unrunnable.some((rule) => rule.capability === capability && rule.endpoint.test(model.endpoint_id)) ? undefined : capability
}

/** Listed models as `ProviderModel`s (only those with a capability), merged with the curated table (its prices and names win). */
export const mergeModels = (listed: ReadonlyArray<ListedModel>): ReadonlyArray<ProviderModel> => {
  const byId = new Map<string, ProviderModel>(curatedModels.map((model) => [model.id, model]))
  for (const model of listed) {
    if (byId.has(model.endpoint_id)) continue
    if (model.metadata?.status === "deprecated") continue
    const capability = categorize(model)
    if (capability === undefined) continue
    byId.set(model.endpoint_id, listedModel(model, [capability]))
  }
  return [...byId.values()]
}

const listedModel = (model: ListedModel, capabilities: ReadonlyArray<JobCapability>): ProviderModel => ({
  id: model.endpoint_id,
  provider: FalAiConfig.settings.id,
  name: model.metadata?.display_name ?? model.endpoint_id,
  capabilities,
  pricing: [],
  free: false,
  ...(model.metadata?.description ? { description: model.metadata.description } : {})
})

/**
 * The listed models no rule places, as they would be listed: not curated, not deprecated, with no
 * capability by `categorize`, in no declined category and not refused by `unrunnable`.
 */
export const unplacedModels = (listed: ReadonlyArray<ListedModel>): ReadonlyArray<UnplacedModel> => {
  const curated = new Set(curatedModels.map((model) => model.id))
  return listed.flatMap((model): Array<UnplacedModel> => {
    if (curated.has(model.endpoint_id) || model.metadata?.status === "deprecated" || categorize(model) !== undefined) return []
    const category = model.metadata?.category ?? undefined
    if (category !== undefined && (categoryRules[category] !== undefined || declinedCategories.includes(category))) return []
    const last = model.endpoint_id.split("/").pop() ?? ""
    if (categoryRules[last] !== undefined) return []
    return [{ model: listedModel(model, []) }]
  })
}
