/**
 * What the registry and the command line know of a provider, declared once in the provider's own
 * folder (`manifest.ts`): its id and name, whether it is remote or local, the environment
 * variables it reads, its layer (configured from the environment), and, for providers that run
 * queued jobs, the job client that follows or cancels a `JobTicket` from another process.
 *
 * Adding a provider is its folder plus one line in `registry/Providers.ts`, which lists the
 * manifests in the registry's default order.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { MediaProvider } from "../domain/MediaProvider.js"
import type { JobClient } from "../jobs/JobClient.js"
import type { ServiceRuntime } from "../local/ServiceRuntime.js"
import * as ProviderConfig from "../provider/ProviderConfig.js"

/** A provider's layer as the registry takes it: configured from the environment. */
export type ProviderLayer = Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient | ServiceRuntime>

/** A provider, as the registry and the command line see it. */
export interface ProviderManifest {
  /** The provider id, as in `MediaProvider.id` and in tickets (`"falai"`). */
  readonly id: string
  /** The provider's display name (`"fal.ai"`). */
  readonly name: string
  /** A remote API, or one of our local services. */
  readonly type: "remote" | "local"
  /** The environment variables it reads, first the one that configures it (key or service URL). */
  readonly settings: ReadonlyArray<string>
  /** Its `MediaProvider` layer, configured from the environment. */
  readonly layer: ProviderLayer
  /**
   * For providers that run queued jobs: the job client, configured from the environment, which
   * resumes or cancels a ticket without submitting the job again.
   */
  readonly jobs?: Effect.Effect<JobClient, ConfigError.ConfigError, HttpClient.HttpClient>
}

/**
 * The manifest of a remote provider configured by `ProviderConfig.fromEnv(settings)`: its id,
 * name and the variables it reads follow from the settings.
 */
export const remote = (settings: ProviderConfig.RemoteProviderSettings, layer: ProviderLayer): ProviderManifest => ({
  id: settings.id,
  name: settings.name,
  type: "remote",
  settings: ProviderConfig.variables(settings),
  layer
})
