/**
 * Configuration of the remote providers, programmatic or from the environment (`Config`):
 * API keys (`Redacted`, possibly a comma-separated list spread round robin), base URL (so any
 * emulator or proxy can stand in), per-request timeout and retry count, and client-side rate
 * limits (`<PREFIX>_RATE_LIMITS`, JSON: see `resilience/RateLimit.ts`; off unless the provider
 * declares defaults).
 *
 * Each provider declares its own settings (`RemoteProviderSettings`: key variables, base URL
 * variable and default, the `<PREFIX>_TIMEOUT`/`<PREFIX>_RETRIES` prefix, auth scheme) in its
 * folder (`providers/<name>/<Name>Config.ts`); the helpers here read them the same way for all.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { MissingConfig } from "../domain/Errors.js"
import * as Http from "../http/Http.js"
import * as KeyRing from "../http/KeyRing.js"
import * as RateLimit from "../resilience/RateLimit.js"

/** Where one remote provider's settings come from. */
export interface RemoteProviderSettings {
  readonly id: string
  readonly name: string
  /** Key variables, first found wins. */
  readonly keyVars: readonly [string, ...Array<string>]
  readonly baseUrlVar: string
  readonly defaultBaseUrl: string
  /** Prefix of `<PREFIX>_TIMEOUT`, `<PREFIX>_RETRIES` and `<PREFIX>_RATE_LIMITS`. */
  readonly prefix: string
  readonly auth?: Http.AuthScheme
  /** The provider's published limits, paced by unless `<PREFIX>_RATE_LIMITS` says otherwise. Default: none. */
  readonly defaultRateLimits?: RateLimit.RateLimitConfig
  /** The pacing lane of a request for a model (see `Http.ProviderHttpConfig.laneOf`). */
  readonly laneOf?: (model: string | undefined) => string | undefined
}

/** A remote provider's resolved configuration. */
export interface ProviderConfig {
  /** The keys, in rotation order; empty when none is configured. */
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  readonly baseUrl: string
  /** Budget of each request attempt. */
  readonly timeout: Duration.Duration
  /** Retries of a retryable failure. */
  readonly retries: number
  /** Client-side rate limits, per key and per provider, by lane. Default: the provider's `defaultRateLimits`, else none. */
  readonly rateLimits?: RateLimit.RateLimitConfig
}

/** Programmatic settings; each overrides the environment. A key may be a comma-separated list. */
export interface ProviderOverrides {
  readonly apiKey?: string | Redacted.Redacted<string> | ReadonlyArray<string | Redacted.Redacted<string>>
  readonly baseUrl?: string
  readonly timeout?: Duration.DurationInput
  readonly retries?: number
  /** Replaces the provider's default limits and `<PREFIX>_RATE_LIMITS`; `{}` turns pacing off. */
  readonly rateLimits?: RateLimit.RateLimitConfig
}

/** The environment variables `fromEnv` reads for `settings`: the keys first, then base URL, timeout, retries and rate limits. */
export const variables = (settings: RemoteProviderSettings): ReadonlyArray<string> => [
  ...settings.keyVars,
  settings.baseUrlVar,
  `${settings.prefix}_TIMEOUT`,
  `${settings.prefix}_RETRIES`,
  `${settings.prefix}_RATE_LIMITS`
]

const decodeRateLimits = Schema.decodeUnknownEither(RateLimit.RateLimitConfigJson)

/**
 * Rate limits from a variable holding JSON (`{"perKey": {"default": {"perMinute": 60}}}`); a
 * value that is not such JSON is invalid configuration, naming the variable.
 */
export const rateLimitsConfig = (name: string): Config.Config<RateLimit.RateLimitConfig> =>
  Config.mapOrFail(Config.string(name), (text) =>
    Either.mapLeft(decodeRateLimits(text), (error) =>
      ConfigError.InvalidData([name], `expected rate limits as JSON: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)
    )
  )

const durationFromEnv = (name: string) =>
  Config.orElse(Config.duration(name), () => Config.map(Config.number(name), (ms) => Duration.millis(ms)))

/** Read a provider's configuration from the environment, with overrides on top. */
export const fromEnv = (settings: RemoteProviderSettings, overrides: ProviderOverrides = {}): Config.Config<ProviderConfig> => {
  const [first, ...others] = settings.keyVars
  const keyConfig = others.reduce(
    (acc, name) => Config.orElse(acc, () => Config.redacted(name)),
    Config.redacted(first)
  )
  return Config.all({
    key: Config.option(keyConfig),
    baseUrl: Config.withDefault(Config.nonEmptyString(settings.baseUrlVar), settings.defaultBaseUrl),
    timeout: Config.withDefault(durationFromEnv(`${settings.prefix}_TIMEOUT`), Duration.seconds(30)),
    retries: Config.withDefault(Config.integer(`${settings.prefix}_RETRIES`), 3),
    rateLimits: Config.option(rateLimitsConfig(`${settings.prefix}_RATE_LIMITS`))
  }).pipe(
    Config.map(({ baseUrl, key, rateLimits, retries, timeout }): ProviderConfig => ({
      apiKeys: overrides.apiKey !== undefined ? keysOf(overrides.apiKey) : Option.match(key, { onNone: () => [], onSome: KeyRing.splitKeys }),
      baseUrl: overrides.baseUrl ?? baseUrl,
      timeout: overrides.timeout !== undefined ? Duration.decode(overrides.timeout) : timeout,
      retries: overrides.retries ?? retries,
      rateLimits: overrides.rateLimits ?? Option.getOrElse(rateLimits, () => settings.defaultRateLimits ?? {})
    }))
  )
}

const keysOf = (value: NonNullable<ProviderOverrides["apiKey"]>): ReadonlyArray<Redacted.Redacted<string>> => {
  const list = typeof value === "string" || Redacted.isRedacted(value) ? [value] : value
  return list.flatMap((key) => KeyRing.splitKeys(typeof key === "string" ? Redacted.make(key) : key))
}

/**
 * The part of a `Provider.make` spec every remote provider derives from its configuration:
 * remote, its base URL (the catalog's key), and whether it is configured (else the
 * MissingConfig its calls fail with). Spread it into the spec.
 */
export interface RemoteSpec {
  readonly type: "remote"
  readonly baseUrl: string
  readonly configured: boolean
  readonly notConfigured?: MissingConfig
}

/**
 * A remote provider's HTTP client from its configuration (key rotation, scrubbing, timeout,
 * retries), its key ring, what is missing from it, and the spec fields that follow from it.
 * A provider with several endpoints passes the first one's `keys` to the others, so that a key
 * retired on one endpoint is not tried again on another.
 */
export const makeHttp = (
  settings: RemoteProviderSettings,
  config: ProviderConfig,
  sharedKeys?: KeyRing.KeyRing
): Effect.Effect<
  { readonly http: Http.ProviderHttp; readonly keys: KeyRing.KeyRing; readonly missing: MissingConfig | undefined; readonly remote: RemoteSpec },
  never,
  HttpClient.HttpClient
> =>
  Effect.gen(function* () {
    const keys =
      sharedKeys ??
      (yield* KeyRing.make(settings.id, config.apiKeys, {
        setting: settings.keyVars.join(" or "),
        // A configuration built by hand, without `rateLimits`, paces by the provider's published limits too.
        limits: config.rateLimits ?? settings.defaultRateLimits ?? {}
      }))
    const http = yield* Http.make({
      provider: settings.id,
      baseUrl: config.baseUrl,
      keys,
      secrets: config.apiKeys,
      timeout: config.timeout,
      retry: { retries: config.retries },
      ...(settings.auth !== undefined ? { auth: settings.auth } : {}),
      ...(settings.laneOf !== undefined ? { laneOf: settings.laneOf } : {})
    })
    const missing =
      config.apiKeys.length === 0
        ? new MissingConfig({
            provider: settings.id,
            setting: settings.keyVars.join(" or "),
            detail: `no API key configured (set ${settings.keyVars.join(" or ")})`
          })
        : undefined
    const remote: RemoteSpec = {
      type: "remote",
      baseUrl: config.baseUrl,
      configured: missing === undefined,
      ...(missing !== undefined ? { notConfigured: missing } : {})
    }
    return { http, keys, missing, remote }
  })
