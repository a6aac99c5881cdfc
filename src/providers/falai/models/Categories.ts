/**
 * Which capability a model fal lists has, as data: fal's listing category (or, without one, the
 * last segment of the endpoint id) mapped by `categoryRules`, upscalers moved to image-upscaling
 * by `recategorized`; and the listing merged with the curated table into the provider's models. A
 * listed model in no category the rules know (none, or one not in `categoryRules` nor
 * `declinedCategories`) is unplaced: `unplacedModels` gives those to the AI categorizer
 * (provider/Categorizer.ts).
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
 * no capability of ours can call them, such as `image-to-3d` and `training`. Upscalers fal lists
 * under `image-to-image` are offered as image-upscaling instead (see `recategorized`).
 */
export const categoryRules: Readonly<Record<string, JobCapability>> = {
  "text-to-image": "text-to-image",
  "image-to-image": "image-to-image",
  "text-to-video": "text-to-video",
  "image-to-video": "image-to-video",
  "video-to-video": "video-to-video",
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
export const declinedCategories: ReadonlyArray<string> = ["image-to-3d", "training"]

/**
 * Endpoints fal lists under one capability that do another of ours. The upscalers fal lists under
 * image-to-image (ESRGAN, Clarity Upscaler, AuraSR, Creative Upscaler, CCSR, DRCT
 * super-resolution, `.../upscale/...`) enlarge a picture and read no instruction: they are
 * image-upscaling only. fal's video upscalers, listed under video-to-video, stay there: they take
 * a video and answer one.
 */
export const recategorized: ReadonlyArray<{ readonly from: JobCapability; readonly endpoint: RegExp; readonly to: JobCapability }> = [
  { from: "image-to-image", endpoint: /(^|\/|-)upscal(e|er|ing)(-|\/|$)/, to: "image-upscaling" },
  { from: "image-to-image", endpoint: /esrgan|aura-sr|super-resolution|\/ccsr$/, to: "image-upscaling" }
]

/** The capability of a listed model, by its category (or, without one, by its id's last segment). */
export const categorize = (model: ListedModel): JobCapability | undefined => {
  const category = model.metadata?.category ?? undefined
  const last = model.endpoint_id.split("/").pop() ?? ""
  const listed = category !== undefined && categoryRules[category] !== undefined ? categoryRules[category] : categoryRules[last]
  if (listed === undefined) return undefined
  const capability = recategorized.find((rule) => rule.from === listed && rule.endpoint.test(model.endpoint_id))?.to ?? listed
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
