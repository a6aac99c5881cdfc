/**
 * Building a `MediaProviderService` from a provider's own parts. A provider says what it is,
 * how it discovers models, and how each capability runs; `make` adds what every provider has
 * in common: model lookup with defaults, the capability factories, health counters, the
 * circuit breaker, a typed error for missing configuration or capabilities, and the model
 * catalog cache (when a `Catalog` is in the context where the provider is made, or a catalog of
 * its own in memory for a provider that asks for one).
 *
 * A provider with a built-in model table (`fallbackModels`) serves it when discovery fails and
 * nothing better is cached: the table is an answer, not a discovery, so it is never stored as
 * fresh; the provider reads as degraded (naming the failure) until discovery answers again,
 * which the catalog retries after its back-off. Capability models are built once per
 * (capability, model id) and kept until the model list changes.
 *
 * A provider whose discovery also says which listed models no rule placed
 * (`discoverUnplaced`) has them categorized by a text model when a `Categorizer` (on) and a
 * catalog are in the context (see `Categorizer` and `Catalog`): an answer may give them only
 * capabilities the provider runs (`categorizable`, default every capability it has a transform
 * for). Without either, its rule-placed models are all it lists.
 *
 * @module
 */
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Text } from "../domain/Asset.js"
import { MediaCapabilities, type MediaCapability } from "../domain/Capability.js"
import { CapabilityNotSupported, type MediaError, ModelNotFound, ProviderUnavailable } from "../domain/Errors.js"
import type {
  CapabilityModel,
  InputOf,
  MediaProviderService,
  OptionsOf,
  OutputOf,
  ProviderType,
  StreamTextOptions,
  TextOptions
} from "../domain/MediaProvider.js"
import { type ProviderModel, unitCost } from "../domain/Model.js"
import * as Catalog from "./Catalog.js"
import * as Categorizer from "./Categorizer.js"
import * as HealthTracker from "../resilience/HealthTracker.js"
import { type CircuitBreakerOptions, type CircuitState, makeCircuitBreaker } from "../resilience/Resilience.js"

/** How one capability runs for a given model id. */
export type Transform<C extends MediaCapability> = (
  modelId: string,
  input: InputOf<C>,
  options: OptionsOf<C> | undefined
) => Effect.Effect<OutputOf<C>, MediaError>

/** The capabilities a provider implements, each with how it runs. */
export type Transforms = { readonly [C in MediaCapability]?: Transform<C> }

/** What a provider supplies to `make`. */
export interface ProviderSpec {
  readonly id: string
  readonly name: string
  readonly type: ProviderType
  /** Whether keys/URLs are configured; when false every call fails with `notConfigured`. */
  readonly configured: boolean
  /** The error calls fail with when not configured (usually MissingConfig naming the setting). */
  readonly notConfigured?: MediaError
  /** Model discovery. */
  readonly discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
  /**
   * Discovery that also says which listed models no rule placed, for categorization beyond rules
   * (see `Categorizer`); used instead of `discover` when a `Categorizer` that is on and a catalog
   * are in the context. Its `models` must be what `discover` answers.
   */
  readonly discoverUnplaced?: Effect.Effect<Categorizer.Discovery, MediaError>
  /** The capabilities a categorized model may be given. Default: every capability with a transform. */
  readonly categorizable?: ReadonlyArray<MediaCapability>
  /** A model's input fields from its published schema, shown to the categorizer when the listing names none. */
  readonly inputsOf?: (modelId: string) => Effect.Effect<ReadonlyArray<string> | undefined>
  /**
   * Where the provider's API is (its base URL). The catalog keys cached models by provider id
   * and this, so that an emulator's or proxy's models never mix with the real API's.
   */
  readonly baseUrl?: string
  /**
   * Whether discovered models go through the `Catalog` (when one is in the context). Default:
   * remote providers that give their `baseUrl` yes (discovery is an API call); local ones, and
   * remote ones without a `baseUrl` (whose cache could not be told apart from an emulator's), no.
   */
  readonly cacheModels?: boolean
  /**
   * Without a `Catalog` in the context, cache discovered models in a catalog of the provider's
   * own, in memory (same TTL, stale-while-revalidate and back-off). Default false: discovery on
   * every call.
   */
  readonly ownCatalog?: boolean
  /**
   * What to serve when discovery fails and nothing is cached: a built-in table. Served as a
   * fallback (degraded health, retried after the catalog's back-off), never cached as fresh.
   * Without it the discovery error is the answer.
   */
  readonly fallbackModels?: ReadonlyArray<ProviderModel>
  /** The model used for a capability when none is named. */
  readonly defaultModels?: { readonly [C in MediaCapability]?: string }
  readonly transforms: Transforms
  /**
   * Text generation streamed as deltas. Without it, `streamText` runs the `text-to-text`
   * transform and emits its whole answer as one delta.
   */
  readonly streamText?: (modelId: string, input: Text, options: TextOptions | undefined) => Stream.Stream<string, MediaError>
  /** A cheap reachability check for `isAvailable` (a health endpoint). Default: reachable. */
  readonly probe?: Effect.Effect<boolean>
  readonly circuitBreaker?: Partial<CircuitBreakerOptions>
}

/**
 * Build a provider service from its spec. When a `Catalog` is in the context, `models` of a
 * configured provider that caches (see `ProviderSpec.cacheModels`) goes through it, keyed by
 * the provider id and `baseUrl`; without one, through a catalog of its own when
 * `ProviderSpec.ownCatalog` asks for it.
 */
export const make = (spec: ProviderSpec): Effect.Effect<MediaProviderService> =>
  Effect.gen(function* () {
    const tracker = yield* HealthTracker.make
    const shared = yield* Effect.serviceOption(Catalog.Catalog)
    const breaker = yield* makeCircuitBreaker(spec.id, spec.circuitBreaker)
    const capabilities = MediaCapabilities.filter((capability) => spec.transforms[capability] !== undefined)
    const notConfigured: Effect.Effect<never, MediaError> =
      spec.notConfigured !== undefined
        ? Effect.fail(spec.notConfigured)
        : Effect.fail(new CapabilityNotSupported({ provider: spec.id, capability: "any", detail: "not configured" }))

    // Capability models by capability and model id, built once; dropped when the model list changes.
    const built: ModelsByCapability = {
      "text-to-text": new Map(),
      "text-to-image": new Map(),
      "image-to-image": new Map(),
      "image-upscaling": new Map(),
      "text-to-video": new Map(),
      "image-to-video": new Map(),
      "video-to-video": new Map(),
      "text-to-audio": new Map(),
      "text-to-speech": new Map(),
      "speech-to-text": new Map(),
      "video-composition": new Map(),
      "audio-enhancement": new Map()
    }
    let listSeen: ReadonlyArray<ProviderModel> | undefined
    const noteList = (list: ReadonlyArray<ProviderModel>): ReadonlyArray<ProviderModel> => {
      if (list !== listSeen) {
        if (listSeen !== undefined) for (const models of Object.values(built)) models.clear()
        listSeen = list
      }
      return list
    }

    const discover = spec.discover.pipe(
      Effect.tapError((error) => tracker.recordError(error.message)),
      // Discovery answered: whatever fallback was served is over.
      Effect.tap((list) => Effect.zipRight(tracker.recover, Effect.sync(() => noteList(list))))
    )
    const categorizer = Option.filter(yield* Effect.serviceOption(Categorizer.Categorizer), (service) => service.settings.enabled)
    const discoverUnplaced = spec.discoverUnplaced
    const categorize: Catalog.CatalogCategorize | undefined =
      discoverUnplaced === undefined || Option.isNone(categorizer)
        ? undefined
        : {
            discover: discoverUnplaced.pipe(
              Effect.tapError((error) => tracker.recordError(error.message)),
              Effect.tap(() => tracker.recover)
            ),
            place: (unplaced) =>
              categorizer.value.place(
                { provider: spec.id, allowed: spec.categorizable ?? capabilities, ...(spec.inputsOf !== undefined ? { inputsOf: spec.inputsOf } : {}) },
                unplaced
              ),
            limit: categorizer.value.settings.limit
          }
    const cacheModels = spec.cacheModels ?? (spec.type === "remote" && spec.baseUrl !== undefined)
    const catalog = Option.isSome(shared) || !cacheModels || spec.ownCatalog !== true ? shared : Option.some(yield* ownCatalog)
    const listed: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError> =
      cacheModels && Option.isSome(catalog)
        ? yield* catalog.value.cached({
            provider: spec.id,
            source: spec.baseUrl ?? "",
            discover,
            // Serving a cached list because discovery failed: the provider is degraded.
            onFallback: (error) => tracker.degrade(`${error.message} (serving the cached model list)`),
            ...(categorize !== undefined ? { categorize } : {})
          })
        : discover
    const fallback = spec.fallbackModels
    const models: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError> = !spec.configured
      ? notConfigured
      : Effect.map(
          fallback === undefined
            ? listed
            : Effect.catchAll(listed, (error) => Effect.as(tracker.degrade(`${error.message} (serving the built-in model list)`), fallback)),
          noteList
        )

    // The models of each capability, indexed once per model list: a list stays the same object
    // until discovery or the catalog replaces it, so a call costs a lookup, not a pass over the list.
    const byCapability = new WeakMap<ReadonlyArray<ProviderModel>, ReadonlyMap<MediaCapability, ReadonlyArray<ProviderModel>>>()
    const indexOf = (all: ReadonlyArray<ProviderModel>): ReadonlyMap<MediaCapability, ReadonlyArray<ProviderModel>> => {
      const known = byCapability.get(all)
      if (known !== undefined) return known
      const index = new Map<MediaCapability, Array<ProviderModel>>()
      for (const model of all) {
        for (const capability of model.capabilities) {
          const list = index.get(capability)
          if (list === undefined) index.set(capability, [model])
          else list.push(model)
        }
      }
      byCapability.set(all, index)
      return index
    }
    const none: ReadonlyArray<ProviderModel> = []
    const getModelsForCapability = (capability: MediaCapability) => Effect.map(models, (all) => indexOf(all).get(capability) ?? none)

    const resolveModelId = (capability: MediaCapability, modelId: string | undefined): Effect.Effect<string, MediaError> => {
      if (modelId !== undefined) return Effect.succeed(modelId)
      const preset = spec.defaultModels?.[capability]
      if (preset !== undefined) return Effect.succeed(preset)
      return Effect.flatMap(getModelsForCapability(capability), (found) =>
        found.length > 0
          ? Effect.succeed(found[0]!.id)
          : Effect.fail(new ModelNotFound({ provider: spec.id, model: `(any ${capability})`, detail: `no model for ${capability}` }))
      )
    }

    const model = <C extends MediaCapability>(capability: C, modelId?: string): Effect.Effect<CapabilityModel<C>, MediaError> => {
      const run: Transform<C> | undefined = spec.transforms[capability]
      if (run === undefined) {
        return Effect.fail(
          new CapabilityNotSupported({ provider: spec.id, capability, detail: `does not offer ${capability}` })
        )
      }
      if (!spec.configured) return notConfigured
      const models: ModelsByCapability[C] = built[capability]
      const known = modelId === undefined ? undefined : models.get(modelId)
      if (known !== undefined) return Effect.succeed(known)
      return Effect.map(resolveModelId(capability, modelId), (id) => {
        const cached = models.get(id)
        if (cached !== undefined) return cached
        const made: CapabilityModel<C> = {
          id,
          provider: spec.id,
          capability,
          transform: (input: InputOf<C>, options?: OptionsOf<C>) => tracker.track(breaker.protect(run(id, input, options)))
        }
        models.set(id, made)
        return made
      })
    }

    // Free: priced at nothing (`unitCost` 0, which a `free` flag is too). Indexed once per list, like `byCapability`.
    const freeOf = new WeakMap<ReadonlyArray<ProviderModel>, ReadonlyArray<ProviderModel>>()
    const getFreeModels = Effect.map(models, (all) => {
      const known = freeOf.get(all)
      if (known !== undefined) return known
      const free = all.filter((m) => unitCost(m) === 0)
      freeOf.set(all, free)
      return free
    })

    const isAvailable: Effect.Effect<boolean> = !spec.configured
      ? Effect.succeed(false)
      : Effect.flatMap(breaker.isClosedOrProbing, (closed) => (closed ? (spec.probe ?? Effect.succeed(true)) : Effect.succeed(false)))

    const streamText = (input: Text, options?: StreamTextOptions): Stream.Stream<string, MediaError> => {
      const { model: modelId, ...textOptions } = options ?? {}
      const streamed = spec.streamText
      const run: Effect.Effect<Stream.Stream<string, MediaError>, MediaError> =
        streamed !== undefined
          ? !spec.configured
            ? notConfigured
            : Effect.map(resolveModelId("text-to-text", modelId), (id) =>
                breaker.isClosedOrProbing.pipe(
                  Effect.flatMap((admitted) =>
                    admitted
                      ? Effect.succeed(streamed(id, input, textOptions))
                      : Effect.fail(new ProviderUnavailable({ provider: spec.id, detail: "circuit open" }))
                  ),
                  Stream.unwrap,
                  Stream.tapError((error) => tracker.recordError(error.message))
                )
              )
          : Effect.map(model("text-to-text", modelId), (chosen) =>
              Stream.fromEffect(Effect.map(chosen.transform(input, textOptions), (answer) => answer.text))
            )
      return Stream.unwrap(run)
    }

    return {
      id: spec.id,
      name: spec.name,
      type: spec.type,
      capabilities,
      configured: spec.configured,
      models,
      getModelsForCapability,
      getFreeModels,
      isAvailable,
      isDegraded: tracker.degraded(),
      getHealth: Effect.all([isAvailable, breaker.state, Clock.currentTimeMillis]).pipe(
        Effect.flatMap(([available, circuit, now]) =>
          Effect.map(tracker.snapshot(available), (health) => ({ ...health, circuit: circuitName(circuit, now) }))
        )
      ),
      model,
      streamText,
      textToText: (id) => model("text-to-text", id),
      textToImage: (id) => model("text-to-image", id),
      imageToImage: (id) => model("image-to-image", id),
      imageUpscaling: (id) => model("image-upscaling", id),
      textToVideo: (id) => model("text-to-video", id),
      imageToVideo: (id) => model("image-to-video", id),
      videoToVideo: (id) => model("video-to-video", id),
      textToAudio: (id) => model("text-to-audio", id),
      textToSpeech: (id) => model("text-to-speech", id),
      speechToText: (id) => model("speech-to-text", id),
      videoComposer: (id) => model("video-composition", id),
      audioEnhancer: (id) => model("audio-enhancement", id)
    }
  })

// The capability models a provider has built, by capability and model id.
type ModelsByCapability = { readonly [C in MediaCapability]: Map<string, CapabilityModel<C>> }

// An open circuit whose cooldown is over lets the next call probe: it reads as half-open.
const circuitName = (state: CircuitState, now: number): "closed" | "open" | "half-open" =>
  state._tag === "Closed" ? "closed" : state._tag === "HalfOpen" || now >= state.until ? "half-open" : "open"

// A catalog in memory for a provider that caches without a shared one. Its background refreshes
// live in a scope of their own that is never closed: it goes with the provider.
const ownCatalog: Effect.Effect<Catalog.CatalogService> = Effect.gen(function* () {
  const ttl = yield* Effect.orElseSucceed(Catalog.ttlConfig, () => Catalog.defaultTtl)
  const scope = yield* Scope.make()
  return yield* Catalog.make({ ttl }).pipe(Effect.provide(KeyValueStore.layerMemory), Effect.provideService(Scope.Scope, scope))
})
