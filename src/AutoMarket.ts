/**
 * The one-line setup: a `ProviderRegistry` of every provider (or the ones given), over the
 * undici HTTP client, with local services run as child processes that stop when the layer's
 * scope closes.
 *
 * ```ts
 * const program = Effect.gen(function* () {
 *   const registry = yield* ProviderRegistry
 *   return yield* registry.generate("text-to-speech", Asset.text("Hello"))
 * })
 * Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AutoMarket.layer))))
 * ```
 *
 * @module
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import * as Layer from "effect/Layer"
import type { MediaProvider } from "./domain/MediaProvider.js"
import { defaultProviders } from "./registry/DefaultProviders.js"
import * as ProviderRegistry from "./registry/ProviderRegistry.js"
import * as ServiceRuntime from "./runtime/ServiceRuntime.js"

/** What a provider layer may need from `layerWith`: an HTTP client and the local service runtime. */
export type ProviderLayer = Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime.ServiceRuntime>

/** A registry of the given provider layers, with the undici HTTP client, the process service runtime and the Node platform (HTTP and platform are offered too). */
export const layerWith = (
  providers: ReadonlyArray<ProviderLayer>,
  options?: ServiceRuntime.ProcessRuntimeOptions
): Layer.Layer<ProviderRegistry.ProviderRegistry | HttpClient.HttpClient | NodeContext.NodeContext, ConfigError.ConfigError> => {
  const services = ServiceRuntime.layerProcess(options).pipe(Layer.provide(NodeHttpClient.layerUndici), Layer.provide(NodeContext.layer))
  return ProviderRegistry.layer(...providers).pipe(
    Layer.provide(services),
    Layer.provideMerge(NodeHttpClient.layerUndici),
    Layer.provideMerge(NodeContext.layer)
  )
}

/** A registry of every provider this package has, configured from the environment. */
export const layer = layerWith(defaultProviders)
