/**
 * The `ProviderRegistry`: every configured provider in one place. It answers which providers
 * and models can do a capability, which are available now, which is best under the caller's
 * preferences, and runs a capability call with fallback across providers (an `ExecutionPlan`
 * whose steps are the providers, in the router's order). Streamed text generation falls back
 * the same way, but only before the first delta: text already shown cannot be taken back.
 *
 * A registry made where a `Categorizer` is in the context binds it to its own text-to-text (free
 * models first, like any call): the providers' models that no rule placed are categorized through
 * it (see provider/Categorizer.ts).
 *
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import { type Text, text } from "../domain/Asset.js"
import type { MediaCapability } from "../domain/Capability.js"
import { CapabilityNotSupported, isFailover, type MediaError } from "../domain/Errors.js"
import {
  MediaProvider,
  type MediaProviderService,
  type InputOf,
  type OptionsOf,
  type OutputOf
} from "../domain/MediaProvider.js"
import type { ProviderModel } from "../domain/Model.js"
import * as Categorizer from "../provider/Categorizer.js"
import { type FallbackPlan, fallbackPlan } from "../resilience/Resilience.js"
import { annotateModel, annotateStreamStep, observeAttempt, observeCall, observeStream } from "./CallTelemetry.js"
import { CurrentSpender } from "./Ledger.js"
import { type Candidate, rankModelsCached, route, type RouteOptions } from "./Router.js"
import * as Spending from "./Spending.js"

/** The best provider and model for a capability. */
export interface Choice {
  readonly provider: MediaProviderService
  /** Undefined when the provider's models could not be listed: its default model is used. */
  readonly model: ProviderModel | undefined
}

/** One try of a `generate` call. */
export interface Attempt {
  readonly provider: string
  readonly model: string | undefined
  /** The failure's tag and message; absent for the attempt that succeeded. */
  readonly error?: { readonly tag: MediaError["_tag"]; readonly message: string }
}

/** What `generateDetailed` returns: the output, who made it, and every attempt on the way. */
export interface Generation<C extends MediaCapability> {
  readonly output: OutputOf<C>
  readonly provider: string
  readonly model: string
  readonly attempts: ReadonlyArray<Attempt>
  /** The call's own time in milliseconds: wall time minus the time waited on providers (also on the output's origin). */
  readonly overheadMs: number
}

/** Options of a `generate` call: routing preferences, the capability's options, a model per provider. */
export interface GenerateOptions<C extends MediaCapability> extends RouteOptions {
  readonly options?: OptionsOf<C>
  /** The model to use on a given provider (provider id -> model id), instead of the router's choice. */
  readonly models?: Readonly<Record<string, string>>
}

/** The registry of providers. */
export interface ProviderRegistryService {
  /** Add a provider (replacing one with the same id). */
  readonly register: (provider: MediaProviderService) => Effect.Effect<void>
  /** A provider by id. */
  readonly get: (id: string) => Effect.Effect<Option.Option<MediaProviderService>>
  /** All providers, in registration order. */
  readonly all: Effect.Effect<ReadonlyArray<MediaProviderService>>
  /** The providers that offer a capability. */
  readonly forCapability: (capability: MediaCapability) => Effect.Effect<ReadonlyArray<MediaProviderService>>
  /** The providers that can take work now (configured, healthy, circuit not open), optionally for a capability. */
  readonly available: (capability?: MediaCapability) => Effect.Effect<ReadonlyArray<MediaProviderService>>
  /** Models that can do a capability, across providers (a provider whose discovery fails is left out). */
  readonly modelsFor: (capability: MediaCapability) => Effect.Effect<ReadonlyArray<ProviderModel>>
  /** The order in which `generate` would try providers. */
  readonly candidates: (capability: MediaCapability, options?: RouteOptions) => Effect.Effect<ReadonlyArray<Choice>>
  /**
   * The order in which `generate` tries providers: the candidates that can take work now, or all
   * candidates when none can (so that the error then says why, e.g. which key to set).
   */
  readonly tryOrder: (capability: MediaCapability, options?: RouteOptions) => Effect.Effect<ReadonlyArray<Choice>>
  /** The best provider and model for a capability, if any. */
  readonly findBest: (capability: MediaCapability, options?: RouteOptions) => Effect.Effect<Option.Option<Choice>>
  /** Run a capability with fallback across providers; fails with the last provider's error. */
  readonly generate: <C extends MediaCapability>(
    capability: C,
    input: InputOf<C>,
    options?: GenerateOptions<C>
  ) => Effect.Effect<OutputOf<C>, MediaError>
  /** `generate`, also saying which provider served and what was tried before. */
  readonly generateDetailed: <C extends MediaCapability>(
    capability: C,
    input: InputOf<C>,
    options?: GenerateOptions<C>
  ) => Effect.Effect<Generation<C>, MediaError>
  /**
   * Text generation as a stream of deltas, from the providers that have text-to-text, in the
   * order `generate` would try them. A failure that allows fallback (see `isFailover`) moves to
   * the next provider only while nothing has been emitted; after the first delta, any error
   * ends the stream.
   */
  readonly streamText: (input: Text, options?: GenerateOptions<"text-to-text">) => Stream.Stream<string, MediaError>
  /** `streamText`, each delta with the provider and model that wrote it (one of them for the whole stream). */
  readonly streamTextDetailed: (input: Text, options?: GenerateOptions<"text-to-text">) => Stream.Stream<TextDelta, MediaError>
}

/** A delta of `streamTextDetailed`: the text and who wrote it. */
export interface TextDelta {
  readonly delta: string
  readonly provider: string
  /** The model asked for; undefined when the provider's default was used. */
  readonly model: string | undefined
}

/** Who the categorizer's questions are spent by in the cost ledger and budgets (see provider/Categorizer.ts). */
export const categorizerSpender = "automarket:categorizer"

/** The service tag of the registry. */
export class ProviderRegistry extends Context.Tag("automarket/ProviderRegistry")<ProviderRegistry, ProviderRegistryService>() {}

// Whether routing asks these providers' availability concurrently: only when at least two of
// them may probe a local service (a remote provider's answer is immediate).
const probesSideBySide = (list: ReadonlyArray<MediaProviderService>): boolean => {
  let local = 0
  for (const provider of list) if (provider.type !== "remote" && ++local > 1) return true
  return false
}

/** Make a registry holding the given providers. */
export const make = (initial: ReadonlyArray<MediaProviderService> = []): Effect.Effect<ProviderRegistryService> =>
  Effect.gen(function* () {
    const providers = yield* Ref.make<ReadonlyArray<MediaProviderService>>(dedupe(initial))

    // Fallback plans by the providers they try, in order: made once per order, not per call (a
    // provider registered again replaces its entry, so the plans are dropped then).
    const plans = new Map<string, FallbackPlan<never>>()
    const planFor = (order: ReadonlyArray<Choice>): FallbackPlan<never> => {
      const key = order.map((choice) => choice.provider.id).join("\u0000")
      const known = plans.get(key)
      if (known !== undefined) return known
      const [first, ...rest] = order
      const plan = fallbackPlan(Context.make(MediaProvider, first!.provider), ...rest.map((choice) => Context.make(MediaProvider, choice.provider)))
      // Orders are few (the providers' permutations that routing produces); a bound keeps a misuse finite.
      if (plans.size >= 256) plans.clear()
      plans.set(key, plan)
      return plan
    }

    const register = (provider: MediaProviderService) =>
      Effect.zipRight(Effect.sync(() => plans.clear()), Ref.update(providers, (all) => {
        const at = all.findIndex((p) => p.id === provider.id)
        return at === -1 ? [...all, provider] : all.map((p, i) => (i === at ? provider : p))
      }))

    const all = Ref.get(providers)
    const get = (id: string) => Effect.map(all, (list) => Option.fromNullable(list.find((p) => p.id === id)))
    const forCapability = (capability: MediaCapability) =>
      Effect.map(all, (list) => list.filter((p) => p.capabilities.includes(capability)))

    const available = (capability?: MediaCapability) =>
      Effect.flatMap(capability === undefined ? all : forCapability(capability), (list) =>
        Effect.filter(list, (p) => p.isAvailable, { concurrency: "unbounded" })
      )

    const modelsFor = (capability: MediaCapability) =>
      Effect.flatMap(forCapability(capability), (list) =>
        Effect.map(
          Effect.forEach(list, (p) => Effect.orElseSucceed(p.getModelsForCapability(capability), () => []), {
            concurrency: "unbounded"
          }),
          (lists) => lists.flat()
        )
      )

    // The routed candidates with whether each can take work now, read once a call (the router
    // orders by it, and `tryOrder` keeps the available ones without asking the providers again).
    const routed = (capability: MediaCapability, options: RouteOptions = {}) =>
      Effect.gen(function* () {
        const list = yield* forCapability(capability)
        const found = yield* Effect.forEach(
          list,
          (provider, rank) =>
            Effect.all({
              available: provider.isAvailable,
              models: Effect.option(provider.getModelsForCapability(capability)),
              // Read after the models: a discovery that just failed or recovered is already counted.
              degraded: provider.isDegraded
            }).pipe(
              Effect.map(({ available, models, degraded }): Array<Candidate> => {
                if (Option.isNone(models)) {
                  // Discovery failed: still a candidate with its default model (unpriced, so behind priced ones).
                  return [{ providerId: provider.id, providerType: provider.type, available, degraded, model: undefined, rank }]
                }
                const ranked = rankModelsCached(models.value, options)
                // Models listed, but none within the constraints: not a candidate.
                if (ranked.length === 0 && models.value.length > 0) return []
                return [{ providerId: provider.id, providerType: provider.type, available, degraded, model: ranked[0], rank }]
              })
            ),
          // A remote provider's availability is a read of its circuit: asked in turn, no fiber
          // forked (forking cost more than the whole routing). Local providers probe their
          // service over HTTP, so two or more of them are asked side by side.
          { concurrency: probesSideBySide(list) ? "unbounded" : 1 }
        )
        const byId = new Map(list.map((p) => [p.id, p]))
        return route(found.flat(), options).flatMap((candidate): Array<{ readonly choice: Choice; readonly available: boolean }> => {
          const provider = byId.get(candidate.providerId)
          return provider === undefined ? [] : [{ choice: { provider, model: candidate.model }, available: candidate.available }]
        })
      })

    const candidates = (capability: MediaCapability, options: RouteOptions = {}) =>
      Effect.map(routed(capability, options), (list) => list.map((entry) => entry.choice))

    const findBest = (capability: MediaCapability, options?: RouteOptions) =>
      Effect.map(candidates(capability, options), (list) => Option.fromNullable(list[0]))

    // Unavailable providers (unconfigured, circuit open) are tried only when no available one is
    // left, so that the error then says why (e.g. which key to set).
    const tryOrder = (capability: MediaCapability, options: RouteOptions = {}) =>
      Effect.map(routed(capability, options), (listed) => {
        const ready = listed.filter((entry) => entry.available)
        return (ready.length > 0 ? ready : listed).map((entry) => entry.choice)
      })

    const generateDetailed = <C extends MediaCapability>(
      capability: C,
      input: InputOf<C>,
      options: GenerateOptions<C> = {}
    ): Effect.Effect<Generation<C>, MediaError> =>
      observeCall(capability, Effect.flatMap(Effect.zip(tryOrder(capability, options), Spending.current), ([order, spending]) => {
        if (order.length === 0) {
          return Effect.fail(new CapabilityNotSupported({ provider: "registry", capability, detail: noProvider(capability, options) }))
        }
        // This call's failed tries, in order (a plain array: one call's tries run one after another).
        const attempts: Array<Attempt> = []
        const chosen = new Map(order.map((choice) => [choice.provider.id, choice.model]))
        const tryWith = (provider: MediaProviderService) => {
          // The model asked for, then the one the provider resolved (its default when none was asked).
          const pinned = options.models?.[provider.id]
          let modelId = pinned ?? chosen.get(provider.id)?.id
          return provider.model(capability, modelId).pipe(
            Effect.flatMap((model) => {
              modelId = model.id
              if (!spending.active) {
                return Effect.zipRight(
                  annotateModel(model.id),
                  Effect.map(model.transform(input, options.options), (output) => ({ output, provider: provider.id, model: model.id }))
                )
              }
              // Under budgets a cheaper model of the provider may serve instead: the attempt names it.
              const listed = chosen.get(provider.id)
              return Effect.map(
                Effect.tap(spending.run({ provider, capability, model, listed, pinned: pinned !== undefined, input, options: options.options }), (ran) =>
                  annotateModel(ran.model)
                ),
                (ran) => ({ output: ran.output, provider: provider.id, model: ran.model })
              )
            }),
            // Every failed try is an attempt, whether the model could not be had or it failed.
            Effect.tapError((error) =>
              Effect.sync(() => {
                attempts.push({ provider: provider.id, model: modelId, error: { tag: error._tag, message: error.message } })
              })
            ),
            observeAttempt(capability, provider.id, attempts.length)
          )
        }
        const finish = (result: { readonly output: OutputOf<C>; readonly provider: string; readonly model: string }) => ({
          ...result,
          attempts: [...attempts, { provider: result.provider, model: result.model }]
        })
        // The first provider is tried directly; the fallback plan over the others (made once per
        // order) runs only when that try fails over, which keeps the plan off the common path.
        const [first, ...rest] = order
        const firstTry = tryWith(first!.provider)
        if (rest.length === 0) return Effect.map(firstTry, finish)
        const fallback = Effect.withExecutionPlan(Effect.flatMap(MediaProvider, tryWith), planFor(rest))
        return Effect.map(
          Effect.catchIf(firstTry, isFailover, () => fallback),
          finish
        )
      }))

    const generate = <C extends MediaCapability>(capability: C, input: InputOf<C>, options?: GenerateOptions<C>) =>
      Effect.map(generateDetailed(capability, input, options), (generation) => generation.output)

    const streamTextDetailed = (input: Text, options: GenerateOptions<"text-to-text"> = {}): Stream.Stream<TextDelta, MediaError> =>
      observeStream(Stream.unwrap(
        Effect.gen(function* () {
          const order = yield* tryOrder("text-to-text", options)
          if (order.length === 0) {
            return Stream.fail(
              new CapabilityNotSupported({ provider: "registry", capability: "text-to-text", detail: noProvider("text-to-text", options) })
            )
          }
          const spending = yield* Spending.current
          const from = (index: number): Stream.Stream<TextDelta, MediaError> => {
            const choice = order[index]!
            const modelId = options.models?.[choice.provider.id] ?? choice.model?.id
            const deltas = choice.provider.streamText(input, { ...options.options, ...(modelId !== undefined ? { model: modelId } : {}) })
            return Stream.unwrap(
              Effect.zipRight(annotateStreamStep(choice.provider.id, modelId, index), Effect.map(Ref.make(false), (emitted) =>
                (spending.active ? spending.stream(choice.provider, modelId ?? "(default)", choice.model, input, deltas) : deltas)
                  .pipe(
                    // An empty delta shows nothing, so it does not commit the stream to this provider.
                    Stream.tap((delta) => (delta.length > 0 ? Ref.set(emitted, true) : Effect.void)),
                    Stream.map((delta): TextDelta => ({ delta, provider: choice.provider.id, model: modelId })),
                    Stream.catchAll((error) =>
                      Stream.unwrap(
                        Effect.map(Ref.get(emitted), (started) =>
                          !started && isFailover(error) && index + 1 < order.length ? from(index + 1) : Stream.fail(error)
                        )
                      )
                    )
                  )
              ))
            )
          }
          return from(0)
        })
      ))

    const streamText = (input: Text, options?: GenerateOptions<"text-to-text">): Stream.Stream<string, MediaError> =>
      Stream.map(streamTextDetailed(input, options), (part) => part.delta)

    // Questions of the categorizer are ordinary calls: routed free first, counted and budgeted as
    // any, spent by `categorizerSpender` (they run in the background, whoever's read started the
    // discovery: that caller does not pay for them).
    const categorizer = yield* Effect.serviceOption(Categorizer.Categorizer)
    if (Option.isSome(categorizer)) {
      yield* categorizer.value.bind({
        ready: Effect.map(available("text-to-text"), (list) => list.length > 0),
        ask: (prompt, system) =>
          generate("text-to-text", text(prompt), { preferFree: true, options: { system, temperature: 0 } }).pipe(
            Effect.map((answer) => answer.text),
            Effect.provideService(CurrentSpender, categorizerSpender)
          )
      })
    }

    return {
      register,
      get,
      all,
      forCapability,
      available,
      modelsFor,
      candidates,
      tryOrder,
      findBest,
      generate,
      generateDetailed,
      streamText,
      streamTextDetailed
    }
  })

const noProvider = (capability: MediaCapability, options: RouteOptions): string =>
  `no provider can do ${capability}${options.exclude !== undefined || options.maxCost !== undefined ? " under the given constraints" : ""}`

const dedupe = (list: ReadonlyArray<MediaProviderService>): ReadonlyArray<MediaProviderService> => {
  const seen = new Map<string, MediaProviderService>()
  for (const provider of list) seen.set(provider.id, provider)
  return [...seen.values()]
}

/** A registry of already-built providers (tests, custom setups). */
export const fromProviders = (providers: ReadonlyArray<MediaProviderService>): Layer.Layer<ProviderRegistry> =>
  Layer.effect(ProviderRegistry, make(providers))

/**
 * A registry of provider layers: each layer is built in the registry's scope (so the services a
 * local provider starts live as long as the registry) and its `MediaProvider` registered.
 */
export const layer = <E, R>(
  ...providers: ReadonlyArray<Layer.Layer<MediaProvider, E, R>>
): Layer.Layer<ProviderRegistry, E, R> =>
  Layer.scoped(
    ProviderRegistry,
    Effect.flatMap(
      Effect.forEach(providers, (provider) => Effect.map(Layer.build(provider), (context) => Context.get(context, MediaProvider))),
      make
    )
  )
