/**
 * The real providers the soak suite drives, pointed at emulators: each configured as a user
 * would (its keys and base URL given, everything else from the environment the runner sets:
 * `<PROVIDER>_TIMEOUT`, `AUTOMARKET_POLL_INTERVAL`, `AUTOMARKET_DOWNLOAD_DIR`,
 * `AUTOMARKET_ALLOW_LOOPBACK_HTTP`), and a queued provider's whole-job budget given in code (it
 * has no variable).
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as ConfigError from "effect/ConfigError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type { MediaProviderService } from "../src/domain/MediaProvider.js"
import * as FalAi from "../src/providers/falai/FalAiProvider.js"
import * as OpenRouterConfig from "../src/providers/openrouter/OpenRouterConfig.js"
import * as OpenRouter from "../src/providers/openrouter/OpenRouterProvider.js"
import * as Replicate from "../src/providers/replicate/ReplicateProvider.js"
import * as TogetherConfig from "../src/providers/together/TogetherConfig.js"
import * as Together from "../src/providers/together/TogetherProvider.js"
import type { RemoteId } from "./FaultPlan.js"

/** Where a provider is and what it is given. */
export interface ProviderSetup {
  readonly baseUrl: string
  /** Its keys, in rotation order. */
  readonly keys: ReadonlyArray<string>
  /** The per-request timeout; default `<PROVIDER>_TIMEOUT` from the environment. */
  readonly timeout?: Duration.DurationInput
  /** The budget of a whole queued job (the wait cap). */
  readonly jobTimeout: Duration.DurationInput
}

/** The provider `id` for `setup`. A `Catalog` in context when it is made caches its model list (as `AutoMarket.layer` does). */
export const make = (id: RemoteId, setup: ProviderSetup): Effect.Effect<MediaProviderService, ConfigError.ConfigError, HttpClient.HttpClient> => {
  const overrides = { apiKey: setup.keys, baseUrl: setup.baseUrl, ...(setup.timeout !== undefined ? { timeout: setup.timeout } : {}) }
  switch (id) {
    case "together":
      return Effect.flatMap(TogetherConfig.config(overrides), Together.make)
    case "openrouter":
      // The soak's load is the point: OpenRouter's free-model pacing (20 a minute a key by
      // default) would stretch 10,000 calls over hours against an emulator that sets no limit.
      return Effect.flatMap(OpenRouterConfig.config({ ...overrides, rateLimits: {} }), OpenRouter.make)
    case "falai":
      return FalAi.make({ config: overrides, jobTimeout: setup.jobTimeout })
    case "replicate":
      return Replicate.make({ config: overrides, jobTimeout: setup.jobTimeout })
  }
}
