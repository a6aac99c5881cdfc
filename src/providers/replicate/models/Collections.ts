/**
 * Which capability a Replicate model has, as data: the collections whose models have it
 * (`collectionRules`; discovery reads each one, a collection that does not exist is skipped),
 * and the models read merged with the curated table into the provider's models.
 *
 * A model is listed under the id it runs by (`runnableId`): an official model by `owner/name`,
 * any other at its latest version when read, `owner/name:version` (Replicate runs only official
 * models by name); a community model with no version is not listed, nothing could run it.
 *
 * @module
 */
import type { JobCapability } from "../../../domain/Capability.js"
import type { ProviderModel } from "../../../domain/Model.js"
import type { ListedModel } from "../ReplicateClient.js"
import * as ReplicateConfig from "../ReplicateConfig.js"
import { curatedModels } from "./Curated.js"

/**
 * Replicate collection slug -> our capability. Replicate has no collection here for video-to-video,
 * so no model is listed under it.
 */
export const collectionRules: ReadonlyArray<{ readonly slug: string; readonly capability: JobCapability }> = [
  { slug: "text-to-image", capability: "text-to-image" },
  { slug: "image-editing", capability: "image-to-image" },
  { slug: "super-resolution", capability: "image-upscaling" },
  { slug: "text-to-video", capability: "text-to-video" },
  { slug: "image-to-video", capability: "image-to-video" },
  { slug: "ai-music-generation", capability: "text-to-audio" },
  { slug: "text-to-speech", capability: "text-to-speech" },
  { slug: "speech-to-text", capability: "speech-to-text" }
]

/** The id `model` runs by: its name when official (or the listing does not say), else `owner/name:version` of its latest version; undefined when it has none. */
export const runnableId = (model: ListedModel): string | undefined => {
  const name = `${model.owner}/${model.name}`
  if (model.is_official !== false) return name
  const version = model.latest_version?.id
  return version === undefined ? undefined : `${name}:${version}`
}

/**
 * Models of the collections read, categorized by collection, merged with the curated table
 * (curated entries win; a model the table pins to a version, `owner/name:version`, is that
 * entry, whatever version the collection names as its latest).
 */
export const mergeModels = (
  collections: ReadonlyArray<{ readonly capability: JobCapability; readonly models: ReadonlyArray<ListedModel> }>
): ReadonlyArray<ProviderModel> => {
  const byId = new Map<string, ProviderModel>(curatedModels.map((model) => [model.id, model]))
  const pinned = new Map(curatedModels.flatMap((model) => (model.id.includes(":") ? [[model.id.split(":")[0]!, model.id] as const] : [])))
  for (const { capability, models } of collections) {
    for (const model of models) {
      const id = pinned.get(`${model.owner}/${model.name}`) ?? runnableId(model)
      if (id === undefined) continue
      const known = byId.get(id)
      if (known !== undefined) {
        if (!known.capabilities.includes(capability)) byId.set(id, { ...known, capabilities: [...known.capabilities, capability] })
        continue
      }
      byId.set(id, {
        id,
        provider: ReplicateConfig.settings.id,
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
