/**
 * Where a local-service provider finds its service: the URL configured in its environment
 * variable (a service the user runs, possibly the real GPU container), or else one that
 * `ServiceRuntime` starts on first use; and the bearer token to send it, if one is configured.
 *
 * @module
 */
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { MediaError } from "../domain/Errors.js"
import { type ServiceName, tokenEnvVar } from "../services/kit/ServerOptions.js"
import { ServiceRuntime } from "./ServiceRuntime.js"

/** Where a provider's service is. */
export interface ServiceLocation {
  /** The base URL; starts the embedded service the first time when none is configured. */
  readonly url: Effect.Effect<string, MediaError>
  /** True when the URL came from configuration (the user runs the service). */
  readonly configured: boolean
  /** For a service the runtime starts: whether it runs now (absent when the user runs it). */
  readonly running?: Effect.Effect<boolean>
  /**
   * What the model catalog keys this service's models by: the configured URL, or
   * `embedded:<service>` for the one the runtime starts (its port changes from run to run, its
   * models do not). Absent: the provider's models are not cached.
   */
  readonly catalogKey?: string
  /**
   * The bearer token the service requires (`AUTOMARKET_SERVICE_TOKEN`, which an embedded service
   * also inherits and then requires): sent to the service's origin only. Absent: none is sent.
   */
  readonly token?: Redacted.Redacted<string> | undefined
}

/**
 * Availability without side effects: a service the user runs is probed with `check`; an
 * embedded one is probed only when it already runs, and otherwise counts as available (it is
 * started on first use), so asking does not start it. A `check` that fails means unavailable.
 */
export const probe = <E>(location: ServiceLocation, check: Effect.Effect<boolean, E>): Effect.Effect<boolean> => {
  const checked = Effect.orElseSucceed(check, () => false)
  return location.running === undefined
    ? checked
    : Effect.flatMap(location.running, (running) => (running ? checked : Effect.succeed(true)))
}

/** Read `envVar`; when unset, defer to the `ServiceRuntime` to start `service` on first use. */
export const locate = (
  service: ServiceName,
  envVar: string
): Effect.Effect<ServiceLocation, ConfigError.ConfigError, ServiceRuntime> =>
  Effect.gen(function* () {
    const configured = yield* Config.option(Config.nonEmptyString(envVar))
    // The same variable `automarket serve` reads: an empty one counts as unset there too.
    const token = Option.getOrUndefined(yield* Config.option(Config.redacted(Config.nonEmptyString(tokenEnvVar))))
    if (Option.isSome(configured)) {
      const url = configured.value.replace(/\/+$/, "")
      return { url: Effect.succeed(url), configured: true, catalogKey: url, token }
    }
    const runtime = yield* ServiceRuntime
    return {
      url: runtime.ensure(service),
      configured: false,
      running: Effect.map(runtime.status(service), (status) => status.running),
      catalogKey: `embedded:${service}`,
      token
    }
  })
