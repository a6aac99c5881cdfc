/**
 * Where OpenRouter's settings come from, read by `ProviderConfig.fromEnv` with programmatic
 * overrides on top: `OPENROUTER_API_KEY` (a comma-separated list is a key pool, spread round
 * robin; without one the provider is listed as not configured and its calls fail with
 * `MissingConfig`), `OPENROUTER_BASE_URL` (default `https://openrouter.ai/api/v1`: an emulator or
 * proxy can stand in), `OPENROUTER_TIMEOUT` and `OPENROUTER_RETRIES` (the defaults of
 * `ProviderConfig`), `OPENROUTER_RATE_LIMITS` (JSON, replacing `defaultRateLimits`). The key is
 * sent as `Authorization: Bearer`.
 *
 * Pacing: OpenRouter counts requests to free models (ids ending in `:free`) per key, apart from
 * paid ones: 20 a minute, and 50 a day for an account that never bought credits (1000 a day once
 * it bought at least 10). The client paces each key by those, so a burst waits rather than
 * earning 429s; the fifty-first free call of a day fails at once with `QuotaExceeded`. An account
 * with credits sets `OPENROUTER_RATE_LIMITS={"perKey":{"free":{"perMinute":20,"perDay":1000}}}`.
 * Lanes: `free` for `:free` models, `paid` for the others (no default limit), `default` for
 * requests of no model (the model list).
 *
 * @module
 */
import type * as Config from "effect/Config"
import { bearer } from "../../http/Http.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import type * as RateLimit from "../../resilience/RateLimit.js"

/** Whether a model is one of OpenRouter's free variants, limited apart from paid models. */
export const isFreeModel = (model: string): boolean => model.endsWith(":free")

/** The pacing lane of a request: `free` or `paid` by its model, the default lane without one. */
export const laneOf = (model: string | undefined): string | undefined =>
  model === undefined ? undefined : isFreeModel(model) ? "free" : "paid"

/** OpenRouter's published limits of free models, per key, for an account without credits. */
export const defaultRateLimits: RateLimit.RateLimitConfig = { perKey: { free: { perMinute: 20, perDay: 50 } } }

/** OpenRouter's settings: its id and name, the variables it reads, its default base URL, Bearer auth. */
export const settings = {
  id: "openrouter",
  name: "OpenRouter",
  keyVars: ["OPENROUTER_API_KEY"],
  baseUrlVar: "OPENROUTER_BASE_URL",
  defaultBaseUrl: "https://openrouter.ai/api/v1",
  prefix: "OPENROUTER",
  auth: bearer,
  defaultRateLimits,
  laneOf
} as const satisfies ProviderConfig.RemoteProviderSettings

/** OpenRouter's configuration from the environment, with `overrides` on top. */
export const config = (overrides: ProviderConfig.ProviderOverrides = {}): Config.Config<ProviderConfig.ProviderConfig> =>
  ProviderConfig.fromEnv(settings, overrides)
