/**
 * The one-line setup: a `ProviderRegistry` of every provider (or the ones given), over the
 * undici HTTP client, with local services run as child processes (the default) or as Docker
 * containers (`AUTOMARKET_SERVICE_RUNTIME=docker`, or `{ runtime: "docker" }`), stopped when the
 * layer's scope closes.
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
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { ProviderLayer } from "../providers/Manifest.js"
import { defaultProviders } from "./Providers.js"
import * as ProviderRegistry from "./ProviderRegistry.js"
import * as Catalog from "../provider/Catalog.js"
import * as Categorizer from "../provider/Categorizer.js"
import * as DockerRuntime from "../local/DockerRuntime.js"
import * as ProcessRuntime from "../local/ProcessRuntime.js"
import type * as ServiceRuntime from "../local/ServiceRuntime.js"
import * as UndiciClient from "../http/UndiciHttpClient.js"

/** What a provider layer may need from `layerWith`: an HTTP client and the local service runtime. */
export type { ProviderLayer }

/** How `layerWith` runs the local services: process mode's options, and which runtime. */
export interface RuntimeOptions extends ProcessRuntime.ProcessRuntimeOptions {
  /** `process` (child processes) or `docker` (containers). Default: `AUTOMARKET_SERVICE_RUNTIME`, else `process`. */
  readonly runtime?: "process" | "docker"
  /** Options of Docker mode. */
  readonly docker?: DockerRuntime.DockerRuntimeOptions
  /** Where and for how long discovered models are cached (default: the environment, see `Catalog`). */
  readonly catalog?: Catalog.CatalogOptions
  /** Categorization of the models no rule places, by a text model (default: on unless `AUTOMARKET_AI_CATEGORIZE=0`, see `Categorizer`). */
  readonly categorize?: Categorizer.CategorizerOptions
}

/**
 * The service runtime chosen by `options.runtime`, else by `AUTOMARKET_SERVICE_RUNTIME` (`process`
 * when unset). Its health checks use `httpClientLayer` (in `layerWith`, the very client the
 * providers use: a layer is built once per build).
 */
export const serviceRuntimeLayer = (
  options: RuntimeOptions = {}
): Layer.Layer<ServiceRuntime.ServiceRuntime, ConfigError.ConfigError> =>
  Layer.unwrapEffect(
    Effect.map(
      options.runtime !== undefined
        ? Effect.succeed(options.runtime)
        : Config.literal("process", "docker")("AUTOMARKET_SERVICE_RUNTIME").pipe(Config.withDefault("process" as const)),
      (mode) =>
        mode === "docker"
          ? Layer.unwrapEffect(
              Effect.map(dockerLimits, (limits) =>
                DockerRuntime.layerDocker({ ...limits, ...options.docker }).pipe(Layer.provide(httpClientLayer))
              )
            )
          : ProcessRuntime.layerProcess(options).pipe(Layer.provide(httpClientLayer), Layer.provide(NodeContext.layer))
    )
  )

/** Container limits from `AUTOMARKET_DOCKER_MEMORY_MB` and `AUTOMARKET_DOCKER_CPUS`, when set. */
const dockerLimits = Effect.map(
  Config.all({
    memoryMb: Config.option(Config.integer("AUTOMARKET_DOCKER_MEMORY_MB").pipe(Config.validate({ message: "must be > 0", validation: (n) => n > 0 }))),
    cpus: Config.option(Config.number("AUTOMARKET_DOCKER_CPUS").pipe(Config.validate({ message: "must be > 0", validation: (n) => n > 0 })))
  }),
  ({ memoryMb, cpus }): DockerRuntime.DockerRuntimeOptions => ({
    ...Option.match(memoryMb, { onNone: () => ({}), onSome: (mb) => ({ memoryBytes: mb * 1024 * 1024 }) }),
    ...Option.match(cpus, { onNone: () => ({}), onSome: (n) => ({ cpus: n }) })
  })
)

/**
 * The HTTP client every provider, service client, service runtime and download of
 * `layer`/`layerWith` uses (offered in their output too, with its lean path). One place, so that
 * benchmarks and custom setups use the same one.
 */
export const httpClientLayer: Layer.Layer<HttpClient.HttpClient | UndiciClient.LeanPath> = UndiciClient.layer

/** A registry of the given provider layers, with the undici HTTP client, the service runtime (process mode unless Docker is chosen), the model catalog cache, the categorizer of models no rule places, and the Node platform (catalog, HTTP and platform are offered too). */
export const layerWith = (
  providers: ReadonlyArray<ProviderLayer>,
  options?: RuntimeOptions
): Layer.Layer<
  ProviderRegistry.ProviderRegistry | Catalog.Catalog | HttpClient.HttpClient | NodeContext.NodeContext,
  ConfigError.ConfigError
> =>
  ProviderRegistry.layer(...providers).pipe(
    Layer.provide(serviceRuntimeLayer(options)),
    // Models no rule places are categorized through the registry's own text-to-text, when on.
    Layer.provide(Categorizer.layer(options?.categorize)),
    // Remote providers' model lists are cached on disk (offered too, for `refresh`).
    Layer.provideMerge(Catalog.layer(options?.catalog)),
    Layer.provideMerge(httpClientLayer),
    Layer.provideMerge(NodeContext.layer)
  )

/** A registry of every provider this package has, configured from the environment. */
export const layer = layerWith(defaultProviders)
