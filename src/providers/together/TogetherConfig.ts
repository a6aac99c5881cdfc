/**
 * Where Together AI's settings come from, read by `ProviderConfig.fromEnv` with programmatic
 * overrides on top: `TOGETHER_API_KEY` (a comma-separated list rotates keys; without one the
 * provider is listed as not configured and its calls fail with `MissingConfig`),
 * `TOGETHER_BASE_URL` (default `https://api.together.xyz/v1`: an emulator or proxy can stand in),
 * `TOGETHER_TIMEOUT` and `TOGETHER_RETRIES` (the defaults of `ProviderConfig`),
 * `TOGETHER_RATE_LIMITS` (client-side pacing as JSON, see `resilience/RateLimit.ts`; none by
 * default). The key is sent as `Authorization: Bearer`.
 *
 * @module
 */
import type * as Config from "effect/Config"
import { bearer } from "../../http/Http.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"

/** Together's settings: its id and name, the variables it reads, its default base URL, Bearer auth. */
export const settings = {
  id: "together",
  name: "Together AI",
  keyVars: ["TOGETHER_API_KEY"],
  baseUrlVar: "TOGETHER_BASE_URL",
  defaultBaseUrl: "https://api.together.xyz/v1",
  prefix: "TOGETHER",
  auth: bearer
} as const satisfies ProviderConfig.RemoteProviderSettings

/** Together's configuration from the environment, with `overrides` on top. */
export const config = (overrides: ProviderConfig.ProviderOverrides = {}): Config.Config<ProviderConfig.ProviderConfig> =>
  ProviderConfig.fromEnv(settings, overrides)
