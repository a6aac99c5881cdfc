/**
 * Replicate's settings: the environment variables that configure it, their defaults, and how the
 * token is sent (`Authorization: Bearer ...`).
 *
 * - token: `REPLICATE_API_TOKEN` (a comma-separated list rotates); none by default.
 * - API: `REPLICATE_BASE_URL`, default `https://api.replicate.com/v1`.
 * - per-request timeout and retries: `REPLICATE_TIMEOUT` (30 s), `REPLICATE_RETRIES` (3).
 * - client-side rate limits: `REPLICATE_RATE_LIMITS` (JSON, see `resilience/RateLimit.ts`); none by default.
 *
 * @module
 */
import type * as Config from "effect/Config"
import * as ProviderConfig from "../../provider/ProviderConfig.js"

/** Replicate's token, API, timeout and retry settings, and its auth scheme. */
export const settings = {
  id: "replicate",
  name: "Replicate",
  keyVars: ["REPLICATE_API_TOKEN"],
  baseUrlVar: "REPLICATE_BASE_URL",
  defaultBaseUrl: "https://api.replicate.com/v1",
  prefix: "REPLICATE",
  auth: (key: string) => ["authorization", `Bearer ${key}`] as const
} as const satisfies ProviderConfig.RemoteProviderSettings

/** Every environment variable Replicate reads, the token first. */
export const variables: ReadonlyArray<string> = [...settings.keyVars, settings.baseUrlVar, `${settings.prefix}_TIMEOUT`, `${settings.prefix}_RETRIES`, `${settings.prefix}_RATE_LIMITS`]

/** Replicate's resolved configuration. */
export type ReplicateConfig = ProviderConfig.ProviderConfig

/** Replicate's configuration from the environment, with `overrides` (token, base URL, timeout, retries) on top. */
export const fromEnv = (overrides: ProviderConfig.ProviderOverrides = {}): Config.Config<ReplicateConfig> => ProviderConfig.fromEnv(settings, overrides)
