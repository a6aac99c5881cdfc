/**
 * The routing decision as a pure function: given the models that can do a capability (one
 * best per provider) and what the caller prefers, the order in which to try them.
 *
 * Order: available providers before unavailable ones; then, when asked, local before remote
 * and free before paid; then cheaper before dearer (unpriced last); then healthy before
 * degraded (a provider with recent failures, or serving a fallback model list); then
 * registration order.
 * Excluded providers and models over `maxCost` are dropped.
 *
 * @module
 */
import type { ProviderModel } from "../domain/Model.js"
import { unitCost } from "../domain/Model.js"
import type { ProviderType } from "../domain/MediaProvider.js"

/** What the caller prefers when several providers can serve. */
export interface RouteOptions {
  /** Largest acceptable per-unit price in USD (see `unitCost`); unpriced models are dropped when set. */
  readonly maxCost?: number
  /** Try local providers first. Default false. */
  readonly preferLocal?: boolean
  /** Try free models first. Default true: no money is spent while a free model can serve. */
  readonly preferFree?: boolean
  /** Provider ids never to use. */
  readonly exclude?: ReadonlyArray<string>
  /** Only these providers, in this order (overrides the ordering rules). */
  readonly providers?: ReadonlyArray<string>
}

/** One option for serving a capability. */
export interface Candidate {
  readonly providerId: string
  readonly providerType: ProviderType
  readonly available: boolean
  /** Whether its health reads degraded: among otherwise equal candidates it goes after the healthy ones. Default false. */
  readonly degraded?: boolean
  /** The model to use; undefined when discovery failed and the provider's default is to be used. */
  readonly model: ProviderModel | undefined
  /** Position of the provider in the registry (ties keep this order). */
  readonly rank: number
}

const costOf = (candidate: Candidate): number =>
  candidate.model === undefined ? Number.POSITIVE_INFINITY : (unitCost(candidate.model) ?? Number.POSITIVE_INFINITY)

const isFree = (candidate: Candidate): boolean => candidate.model?.free === true

// Rankings already made, by model list (the same object until its provider's discovery replaces
// it) and the preferences that change a ranking.
const rankings = new WeakMap<ReadonlyArray<ProviderModel>, Map<string, ReadonlyArray<ProviderModel>>>()

/**
 * `rankModels`, remembered for the same model list and preferences: routing then costs a lookup
 * per provider whatever the catalog's size. The list must not be mutated (lists from discovery
 * and the catalog never are).
 */
export const rankModelsCached = (models: ReadonlyArray<ProviderModel>, options: RouteOptions = {}): ReadonlyArray<ProviderModel> => {
  const key = `${options.preferFree ?? true}|${options.maxCost ?? ""}`
  let byOptions = rankings.get(models)
  if (byOptions === undefined) {
    byOptions = new Map()
    rankings.set(models, byOptions)
  }
  const known = byOptions.get(key)
  if (known !== undefined) return known
  const ranked = rankModels(models, options)
  byOptions.set(key, ranked)
  return ranked
}

/** The models of a provider best first, under the same preferences (free first, then cheap). */
export const rankModels = (models: ReadonlyArray<ProviderModel>, options: RouteOptions = {}): ReadonlyArray<ProviderModel> => {
  const preferFree = options.preferFree ?? true
  return models
    .filter((model) => options.maxCost === undefined || (unitCost(model) ?? Number.POSITIVE_INFINITY) <= options.maxCost)
    .map((model, index) => ({ model, index }))
    .sort((a, b) => {
      if (preferFree && a.model.free !== b.model.free) return a.model.free ? -1 : 1
      const ca = unitCost(a.model) ?? Number.POSITIVE_INFINITY
      const cb = unitCost(b.model) ?? Number.POSITIVE_INFINITY
      return ca !== cb ? ca - cb : a.index - b.index
    })
    .map(({ model }) => model)
}

/** Order candidates for a call (see the module comment). */
export const route = (candidates: ReadonlyArray<Candidate>, options: RouteOptions = {}): ReadonlyArray<Candidate> => {
  const excluded = new Set(options.exclude ?? [])
  const kept = candidates.filter(
    (candidate) =>
      !excluded.has(candidate.providerId) &&
      (options.maxCost === undefined || costOf(candidate) <= options.maxCost)
  )
  if (options.providers !== undefined) {
    const order = options.providers
    return order.flatMap((id) => kept.filter((candidate) => candidate.providerId === id))
  }
  const preferFree = options.preferFree ?? true
  const preferLocal = options.preferLocal ?? false
  return [...kept].sort((a, b) => {
    if (a.available !== b.available) return a.available ? -1 : 1
    if (preferLocal && a.providerType !== b.providerType) return a.providerType === "local" ? -1 : 1
    if (preferFree && isFree(a) !== isFree(b)) return isFree(a) ? -1 : 1
    const ca = costOf(a)
    const cb = costOf(b)
    if (ca !== cb) return ca - cb
    const da = a.degraded === true
    if (da !== (b.degraded === true)) return da ? 1 : -1
    return a.rank - b.rank
  })
}
