/**
 * The public face every queued provider (fal.ai, Replicate) offers, built once from the one
 * function that makes the provider and its job client: `make` (the provider), `layer` (configured
 * from the environment), `layerWith(options)`, and `jobsLayer(options)` (the job API under the
 * provider's own tag, for `submit`/`resume`/`cancel` with tickets).
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { MediaProvider, type MediaProviderService } from "../domain/MediaProvider.js"
import type { JobClient } from "./JobClient.js"

/** A queued provider and its job client, as its `makeWithJobs` returns them. */
export interface ProviderWithJobs {
  readonly provider: MediaProviderService
  readonly jobs: JobClient
}

/** What a queued provider module exports, for its options `O` and the tag `I` of its job API. */
export interface QueuedProviderApi<O, I> {
  /** The provider, configured from the environment and `options`. */
  readonly make: (options?: O) => Effect.Effect<MediaProviderService, ConfigError.ConfigError, HttpClient.HttpClient>
  /** The provider as a layer, configured from the environment. */
  readonly layer: Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient>
  /** The provider with `options` as a layer. */
  readonly layerWith: (options: O) => Layer.Layer<MediaProvider, ConfigError.ConfigError, HttpClient.HttpClient>
  /** The job API as a layer under the provider's own tag, configured from the environment and `options`. */
  readonly jobsLayer: (options?: O) => Layer.Layer<I, ConfigError.ConfigError, HttpClient.HttpClient>
}

/** The public face of a queued provider from its `makeWithJobs` and the tag of its job API. */
export const queuedProviderApi = <O, I>(
  makeWithJobs: (options?: O) => Effect.Effect<ProviderWithJobs, ConfigError.ConfigError, HttpClient.HttpClient>,
  jobsTag: Context.Tag<I, JobClient>
): QueuedProviderApi<O, I> => {
  const make = (options?: O) => Effect.map(makeWithJobs(options), (made) => made.provider)
  return {
    make,
    layer: Layer.effect(MediaProvider, make()),
    layerWith: (options) => Layer.effect(MediaProvider, make(options)),
    jobsLayer: (options) => Layer.effect(jobsTag, Effect.map(makeWithJobs(options), (made) => made.jobs))
  }
}
