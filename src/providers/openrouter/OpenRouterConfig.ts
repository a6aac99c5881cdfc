/**
 * Where OpenRouter's settings come from, read by `ProviderConfig.fromEnv` with programmatic
 * overrides on top: `OPENROUTER_API_KEY` (a comma-separated list rotates keys; without one the
 * provider is listed as not configured and its calls fail with `MissingConfig`),
 * `OPENROUTER_BASE_URL` (default `https://openrouter.ai/api/v1`: an emulator or proxy can stand in),
 * `OPENROUTER_TIMEOUT` and `OPENROUTER_RETRIES` (the defaults of `ProviderConfig`). The key is
 * sent as `Authorization: Bearer`.
 *
 * @module
 */
import type * as Config from "effect/Config"
import { bearer } from "../../http/Http.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"

/** OpenRouter's settings: its id and name, the variables it reads, its default base URL, Bearer auth. */
export const settings = {
  id: "openrouter",
  name: "OpenRouter",
  keyVars: ["OPENROUTER_API_KEY"],
  baseUrlVar: "OPENROUTER_BASE_URL",
  defaultBaseUrl: "https://openrouter.ai/api/v1",
  prefix: "OPENROUTER",
  auth: bearer
} as const satisfies ProviderConfig.RemoteProviderSettings

/** OpenRouter's configuration from the environment, with `overrides` on top. */
export const config = (overrides: ProviderConfig.ProviderOverrides = {}): Config.Config<ProviderConfig.ProviderConfig> =>
  ProviderConfig.fromEnv(settings, overrides)
