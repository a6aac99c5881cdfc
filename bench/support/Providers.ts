/**
 * The providers the per-call and fallback benchmarks measure: the real Together provider (its
 * `text-to-text` model) and the real OpenRouter provider as the registry's fallback, each
 * configured programmatically (one key, the emulator's base URL, default timeout and retries),
 * exactly as `TOGETHER_API_KEY` / `TOGETHER_BASE_URL` would configure them.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type { MediaProviderService } from "../../src/domain/MediaProvider.js"
import * as OpenRouter from "../../src/providers/openrouter/OpenRouterProvider.js"
import * as Together from "../../src/providers/together/TogetherProvider.js"
import type * as ProviderConfig from "../../src/provider/ProviderConfig.js"

const configOf = (baseUrl: string): ProviderConfig.ProviderConfig => ({
  apiKeys: [Redacted.make("bench-key-0123456789")],
  baseUrl,
  timeout: Duration.seconds(30),
  retries: 3
})

/** The Together provider at `baseUrl`. */
export const together = (baseUrl: string): Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> => Together.make(configOf(baseUrl))

/** The OpenRouter provider at `baseUrl`. */
export const openrouter = (baseUrl: string): Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> => OpenRouter.make(configOf(baseUrl))
