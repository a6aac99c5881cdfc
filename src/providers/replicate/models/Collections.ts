/**
 * Which capability a Replicate model has, as data: the collections whose models have it
 * (`collectionRules`; discovery reads each one, a collection that does not exist is skipped),
 * and the models read merged with the curated table into the provider's models.
 *
 * @module
 */
import type { JobCapability } from "../../../domain/Capability.js"
import type { ProviderModel } from "../../../domain/Model.js"
import type { ListedModel } from "../ReplicateClient.js"
import * as ReplicateConfig from "../ReplicateConfig.js"
import { curatedModels } from "./Curated.js"

/** Replicate collection slug -> our capability. */
export const collectionRules: ReadonlyArray<{ readonly slug: string; readonly capability: JobCapability }> = [
  { slug: "text-to-image", capability: "text-to-image" },
  { slug: "image-editing", capability: "image-to-image" },
  { slug: "text-to-video", capability: "text-to-video" },
  { slug: "image-to-video", capability: "image-to-video" },
  { slug: "ai-music-generation", capability: "text-to-audio" },
  { slug: "text-to-speech", capability: "text-to-speech" },
  { slug: "speech-to-text", capability: "speech-to-text" }
]

/** Models of the collections read, categorized by collection, merged with the curated table (curated entries win). */
export const mergeModels = (
  collections: ReadonlyArray<{ readonly capability: JobCapability; readonly models: ReadonlyArray<ListedModel> }>
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
