/**
 * How a command that generates something picks who does it: the `--provider` and `--model`
 * options, and the `GenerateOptions` they become. Without `--provider` the registry chooses
 * (the router's order, with fallback).
 *
 * Two readings of the options, kept apart on purpose: `given` passes them to the registry as
 * they are once the provider is known to exist (`speak`, `transcribe`, `compose`: the registry
 * says when a provider cannot serve), while `checked` also checks the capability, so that
 * `generate` can name the capabilities the provider named has, and finds the providers of a
 * `--model` given alone. Both refuse a provider that does not exist with `UnknownProvider`,
 * which names the ones that do, before any provider is called.
 *
 * @module
 */
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { MediaCapability } from "../domain/Capability.js"
import { CapabilityNotSupported, type MediaError } from "../domain/Errors.js"
import { type GenerateOptions, ProviderRegistry } from "../registry/ProviderRegistry.js"
import { UnknownProvider } from "./Errors.js"

/** `--provider ID` (`-p`): use only this provider. */
export const providerOption = Options.text("provider").pipe(
  Options.withAlias("p"),
  Options.withDescription("Use only this provider (default: the registry's choice, with fallback)"),
  Options.optional
)

/** `--model ID` (`-m`): the model to use. */
export const modelOption = Options.text("model").pipe(Options.withAlias("m"), Options.withDescription("The model to use"), Options.optional)

/** The provider named, with its model when one is named too, as the registry takes them, unchecked. */
export const asGiven = <C extends MediaCapability>(provider: Option.Option<string>, model: Option.Option<string>): GenerateOptions<C> => ({
  ...Option.match(provider, { onNone: () => ({}), onSome: (id) => ({ providers: [id] }) }),
  ...Option.match(Option.all([provider, model]), { onNone: () => ({}), onSome: ([id, m]) => ({ models: { [id]: m } }) })
})

/** The provider named by `--provider`, looked up; `UnknownProvider` (naming the known ones) when there is none of that id. */
const lookUp = (id: string) =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const found = yield* registry.get(id)
    if (Option.isNone(found)) return yield* new UnknownProvider({ id, known: (yield* registry.all).map((p) => p.id) })
    return found.value
  })

/**
 * The options as given (`asGiven`), once the provider named exists: without this check the
 * registry, asked for a provider it does not have, finds nobody and says "no provider can do ...",
 * which does not say that the name was wrong.
 */
export const given = <C extends MediaCapability>(
  provider: Option.Option<string>,
  model: Option.Option<string>
): Effect.Effect<GenerateOptions<C>, UnknownProvider, ProviderRegistry> =>
  Option.match(provider, {
    onNone: () => Effect.succeed(asGiven<C>(provider, model)),
    onSome: (id) => Effect.as(lookUp(id), asGiven<C>(provider, model))
  })

/**
 * The routing of a call: the provider pinned by `--provider` (checked to exist and to offer the
 * capability, so the error says so) and the model of `--model`.
 */
export const checked = <C extends MediaCapability>(
  capability: C,
  provider: Option.Option<string>,
  model: Option.Option<string>
): Effect.Effect<GenerateOptions<C>, UnknownProvider | MediaError, ProviderRegistry> =>
  Effect.gen(function* () {
    if (Option.isNone(provider)) return {}
    const found = yield* lookUp(provider.value)
    if (!found.capabilities.includes(capability)) {
      return yield* new CapabilityNotSupported({
        provider: provider.value,
        capability,
        detail: `does not offer ${capability} (it offers ${found.capabilities.join(", ") || "nothing"})`
      })
    }
    return {
      providers: [provider.value],
      ...Option.match(model, { onNone: () => ({}), onSome: (m) => ({ models: { [provider.value]: m } }) })
    }
  }).pipe(
    // --model without --provider: the providers that have that model.
    Effect.flatMap((options) =>
      Option.isSome(model) && Option.isNone(provider) ? withModelForAll(capability, options, model.value) : Effect.succeed(options)
    )
  )

/**
 * `--model` without `--provider`: the providers whose discovered models include it, in the
 * router's order; when none lists it (discovery incomplete), every provider is asked for it.
 */
const withModelForAll = <C extends MediaCapability>(capability: C, options: GenerateOptions<C>, model: string) =>
  Effect.flatMap(ProviderRegistry, (registry) =>
    Effect.zipWith(registry.modelsFor(capability), registry.forCapability(capability), (listed, providers): GenerateOptions<C> => {
      const owners = [...new Set(listed.filter((m) => m.id === model).map((m) => m.provider))]
      const chosen = owners.length > 0 ? owners : providers.map((p) => p.id)
      return {
        ...options,
        ...(owners.length > 0 ? { providers: owners } : {}),
        models: Object.fromEntries(chosen.map((id) => [id, model]))
      }
    })
  )
