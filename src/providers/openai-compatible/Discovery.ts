/**
 * What an OpenAI-style provider keeps of its models between calls: the last `/models` listing,
 * categorized and held by id, so that a generation's `costUsd` can be priced from the listed
 * prices without listing again; and the free models of the listing, which both APIs offer
 * (Together's zero-priced models, OpenRouter's `:free` variants). A listing may also say which
 * models no rule placed (`makeWithUnplaced`), for the AI categorizer.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { MediaError } from "../../domain/Errors.js"
import type { MediaProviderService } from "../../domain/MediaProvider.js"
import type { ProviderModel } from "../../domain/Model.js"
import type * as Categorizer from "../../provider/Categorizer.js"

/** A provider's listing and what it remembers of the last one. */
export interface Discovery {
  /** List the models (categorized) and remember them. */
  readonly discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
  /** A model of the last listing; undefined before any listing, or when the model was not in it. */
  readonly known: (id: string) => Effect.Effect<ProviderModel | undefined>
}

/** Remember what `list` lists each time it runs. */
export const make = (list: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>): Effect.Effect<Discovery> =>
  Effect.map(Ref.make<ReadonlyMap<string, ProviderModel>>(new Map()), (last) => ({
    discover: Effect.tap(list, (models) => Ref.set(last, new Map(models.map((model) => [model.id, model])))),
    known: (id) => Effect.map(Ref.get(last), (models) => models.get(id))
  }))

/** A listing that also says which models no rule placed (for the AI categorizer), and what it remembers of the last one. */
export interface DiscoveryWithUnplaced extends Discovery {
  /** List the models with the unplaced ones, and remember the models. */
  readonly discoverUnplaced: Effect.Effect<Categorizer.Discovery, MediaError>
}

/** Remember what `list` lists each time it runs, either way it is asked for (`discover` lists the models only). */
export const makeWithUnplaced = (list: Effect.Effect<Categorizer.Discovery, MediaError>): Effect.Effect<DiscoveryWithUnplaced> =>
  Effect.map(Ref.make<ReadonlyMap<string, ProviderModel>>(new Map()), (last) => {
    const discoverUnplaced = Effect.tap(list, (found) => Ref.set(last, new Map(found.models.map((model) => [model.id, model]))))
    return {
      discoverUnplaced,
      discover: Effect.map(discoverUnplaced, (found) => found.models),
      known: (id) => Effect.map(Ref.get(last), (models) => models.get(id))
    }
  })

/** A `MediaProviderService` that can also list its free models. */
export interface WithFreeModels extends MediaProviderService {
  /** The models whose price is zero. */
  readonly getFreeModels: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
}

/** The service with `getFreeModels`: its models (as it lists them, cache included) that are free. */
export const withFreeModels = (service: MediaProviderService): WithFreeModels => ({
  ...service,
  getFreeModels: Effect.map(service.models, (models) => models.filter((model) => model.free))
})
