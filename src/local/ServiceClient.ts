/**
 * What the clients of our local services have in common, whether our service answers or a
 * compatible server put in its place (the real Chatterbox or whisper container): reaching the
 * service at a `ServiceLocation` (its URL resolved on every call, one client made per URL), the
 * `/health` answer as a client reads it, and the probe that also recognizes a server without
 * `/health`.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type { MediaError } from "../domain/Errors.js"
import * as Http from "../http/Http.js"
import * as KeyRing from "../http/KeyRing.js"
import type { RetryPolicy } from "../resilience/Resilience.js"
import { HealthResponse } from "../services/kit/Health.js"
import { tokenEnvVar } from "../services/kit/ServerOptions.js"
import type { ServiceLocation } from "./LocalService.js"

/**
 * What our services' `GET /health` answers (`HealthResponse`), read leniently: only `status`
 * is required, and it may be any word, because a compatible server in our service's place may
 * say less or answer differently. The real containers have no such route at all (404).
 */
export const ServiceHealth = Schema.extend(
  Schema.Struct({ status: Schema.String }),
  Schema.partial(HealthResponse.pipe(Schema.omit("status")))
)
/** What a local service's `/health` answers. */
export type ServiceHealth = typeof ServiceHealth.Type

/** How the client of a local service is set up. */
export interface ServiceClientOptions {
  /** Budget of one call. Each service's client has its own default (synthesis and transcription differ). */
  readonly timeout?: Duration.DurationInput
  /** Retry policy of transient failures. Default: `defaultRetry`. */
  readonly retry?: Partial<RetryPolicy>
}

/** Transient failures of a local service are retried twice, from 250 ms: it is near, and soon back or gone. */
export const defaultRetry: Partial<RetryPolicy> = { retries: 2, base: "250 millis" }

/**
 * What `build` makes for the service's current URL, made once for each URL. The location is
 * asked on every use: an embedded service starts on the first, and may come back on another
 * port after a restart.
 */
export const perUrl = <A, R>(
  location: ServiceLocation,
  build: (url: string) => Effect.Effect<A, never, R>
): Effect.Effect<Effect.Effect<A, MediaError>, never, R> =>
  Effect.gen(function* () {
    const context = yield* Effect.context<R>()
    const made = yield* Ref.make<ReadonlyMap<string, A>>(new Map())
    return Effect.flatMap(location.url, (url) =>
      Effect.flatMap(Ref.get(made), (known) => {
        const existing = known.get(url)
        if (existing !== undefined) return Effect.succeed(existing)
        return build(url).pipe(
          Effect.provide(context),
          Effect.tap((fresh) => Ref.update(made, (all) => new Map(all).set(url, fresh)))
        )
      })
    )
  })

/** The provider HTTP client of the service at `location` (see `perUrl`), errors named after `provider`. */
export const httpAt = (
  provider: string,
  location: ServiceLocation,
  options: ServiceClientOptions & { readonly timeout: Duration.DurationInput }
): Effect.Effect<Effect.Effect<Http.ProviderHttp, MediaError>, never, HttpClient.HttpClient> =>
  perUrl(location, (baseUrl) =>
    Effect.flatMap(tokenRing(provider, location), (keys) =>
      Http.make({
        provider,
        baseUrl,
        timeout: options.timeout,
        retry: { ...defaultRetry, ...options.retry },
        keys,
        secrets: location.token === undefined ? [] : [location.token]
      })
    )
  )

/**
 * The service's token as a key ring of one (sent as `Authorization: Bearer`, to the service's
 * origin only, scrubbed from error text), or undefined when the location has none.
 */
export const tokenRing = (provider: string, location: ServiceLocation): Effect.Effect<KeyRing.KeyRing | undefined> =>
  location.token === undefined ? Effect.succeed(undefined) : KeyRing.make(provider, [location.token], { setting: tokenEnvVar })

/** `GET /health`: a quick question, not retried. */
export const health = (http: Http.ProviderHttp): Effect.Effect<ServiceHealth, MediaError> =>
  http.json({ path: "/health", schema: ServiceHealth, timeout: "5 seconds", retry: { retries: 0 } })

/**
 * Whether the service answers: `GET /health`, or, where the server has no such route (404),
 * `GET fallback`, a route every server of that API has. Never fails.
 */
export const probe = (http: Http.ProviderHttp, fallback: string): Effect.Effect<boolean> => {
  const answers = (path: string) =>
    http.send({ path, timeout: "5 seconds", retry: { retries: 0 } }).pipe(
      Effect.as(true),
      Effect.catchAll((error) => Effect.succeed(error._tag === "ModelNotFound" ? ("missing" as const) : false))
    )
  return Effect.flatMap(answers("/health"), (found) =>
    found === "missing" ? Effect.map(answers(fallback), (ok) => ok === true) : Effect.succeed(found)
  )
}
