/**
 * `automarket providers` and `automarket models`: what the registry holds. Every provider with
 * its type, capabilities, configuration, availability and health; and the models discovered
 * across the configured providers, filtered by capability, provider and price.
 *
 * @module
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { MediaCapabilities, type MediaCapability } from "../../domain/Capability.js"
import { unitCost, type ProviderModel } from "../../domain/Model.js"
import { Catalog } from "../../provider/Catalog.js"
import { ProviderRegistry } from "../../registry/ProviderRegistry.js"
import { UnknownProvider } from "../Errors.js"
import { price, table } from "../Format.js"

const json = Options.boolean("json").pipe(Options.withDescription("Print JSON instead of a table"))

/** `automarket providers`: every provider with its type, capabilities, configuration, availability and health. */
export const providers = Command.make("providers", { json }, ({ json }) =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const all = yield* registry.all
    const rows = yield* Effect.forEach(
      all,
      (provider) =>
        Effect.map(Effect.all({ available: provider.isAvailable, health: provider.getHealth }), ({ available, health }) => ({
          id: provider.id,
          name: provider.name,
          type: provider.type,
          capabilities: provider.capabilities,
          configured: provider.configured,
          available,
          health
        })),
      { concurrency: "unbounded" }
    )
    if (json) return yield* Console.log(JSON.stringify(rows, null, 2))
    yield* Console.log(
      table(
        ["ID", "TYPE", "CONFIGURED", "AVAILABLE", "HEALTH", "CAPABILITIES"],
        rows.map((row) => [
          row.id,
          row.type,
          row.configured ? "yes" : "no",
          row.available ? "yes" : "no",
          row.health.status,
          row.capabilities.join(",")
        ])
      )
    )
  })
).pipe(Command.withDescription("List the providers: type, capabilities, configured, available, health"))

const capabilityOption = Options.choice("capability", MediaCapabilities).pipe(
  Options.withAlias("c"),
  Options.withDescription("Only models with this capability"),
  Options.optional
)
const providerOption = Options.text("provider").pipe(
  Options.withAlias("p"),
  Options.withDescription("Only models of this provider"),
  Options.optional
)
const freeOption = Options.boolean("free").pipe(Options.withDescription("Only free models"))
const refreshOption = Options.boolean("refresh").pipe(
  Options.withDescription("Discover the models again instead of using the cached catalog")
)

/**
 * The models matching the filters, across the configured providers (or the one named); a
 * provider whose discovery fails is left out with one line on stderr.
 */
const listModels = (filters: {
  readonly capability: Option.Option<MediaCapability>
  readonly provider: Option.Option<string>
  readonly free: boolean
  readonly refresh: boolean
}) =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const all = yield* registry.all
    const chosen = Option.match(filters.provider, { onNone: () => all, onSome: (id) => all.filter((p) => p.id === id) })
    if (Option.isSome(filters.provider) && chosen.length === 0) {
      return yield* new UnknownProvider({ id: filters.provider.value, known: all.map((p) => p.id) })
    }
    const catalog = yield* Effect.serviceOption(Catalog)
    if (filters.refresh && Option.isSome(catalog)) {
      // Discover again; a provider that cannot be reached keeps (and shows) its cached catalog.
      yield* Effect.forEach(
        chosen.filter((provider) => provider.configured),
        (provider) =>
          catalog.value.refresh(provider.id).pipe(
            Effect.catchAll((error) =>
              Console.error(`automarket: ${provider.id}: refresh failed, showing the cached models if any: ${error.message}`)
            )
          ),
        { concurrency: "unbounded", discard: true }
      )
    }
    // A provider without its key has no models to show: left out quietly unless asked for by
    // name (`providers` says which are not configured, and with which setting).
    const listed = Option.isSome(filters.provider) ? chosen : chosen.filter((provider) => provider.configured)
    const lists = yield* Effect.forEach(
      listed,
      (provider) =>
        Option.match(filters.capability, {
          onNone: () => provider.models,
          onSome: (capability) => provider.getModelsForCapability(capability)
        }).pipe(
          Effect.catchAll((error) =>
            Effect.as(
              // A MediaError's message names its provider.
              Console.error(`automarket: ${error.message}`),
              []
            )
          )
        ),
      { concurrency: "unbounded" }
    )
    return lists.flat().filter((model) => !filters.free || model.free)
  })

const modelRow = (model: ProviderModel): Array<string> => {
  const unit = model.pricing.find((p) => p.usd === unitCost(model))?.unit
  return [model.provider, model.id, model.capabilities.join(","), model.free ? "free" : price(unitCost(model), unit)]
}

/** `automarket models`: the discovered models, filtered by capability, provider and price. */
export const models = Command.make(
  "models",
  { capability: capabilityOption, provider: providerOption, free: freeOption, refresh: refreshOption, json },
  ({ json, ...filters }) =>
    Effect.gen(function* () {
      const found = yield* listModels(filters)
      if (json) return yield* Console.log(JSON.stringify(found, null, 2))
      if (found.length === 0) return yield* Console.log("no models match")
      yield* Console.log(table(["PROVIDER", "MODEL", "CAPABILITIES", "PRICE"], found.map(modelRow)))
    })
).pipe(Command.withDescription("List models across providers: --capability, --provider, --free, --refresh, --json"))
