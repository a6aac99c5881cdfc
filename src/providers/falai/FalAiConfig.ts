/**
 * fal.ai's settings: the environment variables that configure it, their defaults, and how a key
 * is sent (`Authorization: Key ...`).
 *
 * - keys: `FALAI_API_KEY`, else `FAL_KEY` (a comma-separated list rotates); none by default.
 * - queue: `FALAI_BASE_URL`, default `https://queue.fal.run`.
 * - model listing: `FALAI_PLATFORM_URL`, default `https://api.fal.ai/v1` for the public queue,
 *   else the queue's own URL.
 * - per-request timeout and retries: `FALAI_TIMEOUT` (30 s), `FALAI_RETRIES` (3).
 * - client-side rate limits: `FALAI_RATE_LIMITS` (JSON, see `resilience/RateLimit.ts`); none by default.
 *
 * The model listing follows a queue that is not fal's own (a proxy, an emulator), so that a key
 * meant for a stand-in is never sent to fal.
 *
 * @module
 */
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import * as ProviderConfig from "../../provider/ProviderConfig.js"

/** The public queue's base URL. */
export const publicQueueUrl = "https://queue.fal.run"

/** The public model listing's base URL. */
export const publicPlatformUrl = "https://api.fal.ai/v1"

/** fal's key, queue, timeout and retry settings, and its auth scheme. */
export const settings = {
  id: "falai",
  name: "fal.ai",
  keyVars: ["FALAI_API_KEY", "FAL_KEY"],
  baseUrlVar: "FALAI_BASE_URL",
  defaultBaseUrl: publicQueueUrl,
  prefix: "FALAI",
  auth: (key: string) => ["authorization", `Key ${key}`] as const
} as const satisfies ProviderConfig.RemoteProviderSettings

/** The environment variable naming where the model listing is. */
export const platformUrlVar = "FALAI_PLATFORM_URL"

/** Every environment variable fal reads, the key first. */
export const variables: ReadonlyArray<string> = [
  ...settings.keyVars,
  settings.baseUrlVar,
  platformUrlVar,
  `${settings.prefix}_TIMEOUT`,
  `${settings.prefix}_RETRIES`,
  `${settings.prefix}_RATE_LIMITS`
]

/** fal's resolved configuration. */
export interface FalAiConfig extends ProviderConfig.ProviderConfig {
  /** Where the model listing is. */
  readonly platformUrl: string
  /** Where input uploads are initiated. Default: see `defaultStorageUrl`. */
  readonly storageUrl?: string | undefined
}

/** fal's REST API, where its storage initiates uploads. */
export const publicStorageUrl = "https://rest.fal.ai"

/** The storage of a queue: fal's REST API for fal's public queue, else the queue itself (a key meant for a stand-in never goes to fal). */
export const defaultStorageUrl = (queueUrl: string): string =>
  queueUrl.replace(/\/+$/, "") === publicQueueUrl ? publicStorageUrl : queueUrl

/** The model listing of a queue: fal's own listing for fal's public queue, else the queue itself. */
export const defaultPlatformUrl = (queueUrl: string): string =>
  queueUrl.replace(/\/+$/, "") === publicQueueUrl ? publicPlatformUrl : queueUrl

/**
 * fal's configuration from the environment, with `overrides` (key, base URL, timeout, retries)
 * and `platformUrl` on top.
 */
export const fromEnv = (overrides: ProviderConfig.ProviderOverrides = {}, platformUrl?: string): Config.Config<FalAiConfig> =>
  Config.all({
    config: ProviderConfig.fromEnv(settings, overrides),
    platform: platformUrl !== undefined ? Config.succeed(Option.some(platformUrl)) : Config.option(Config.nonEmptyString(platformUrlVar))
  }).pipe(
    Config.map(({ config, platform }) => ({ ...config, platformUrl: Option.getOrElse(platform, () => defaultPlatformUrl(config.baseUrl)) }))
  )
