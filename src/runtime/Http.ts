/**
 * The HTTP runtime every remote provider shares. It adds the base URL and the auth header
 * (with key rotation), bounds each attempt with a timeout, retries retryable failures under the
 * resilience policy, decodes bodies with Schema, and turns every HTTP status, transport failure
 * and bad body into a `MediaError`, in one place: `errorFromStatus` and `errorFromTransport`.
 *
 * Keys stay `Redacted` until the moment the header is set, are sent only to the provider's own
 * origin, and are scrubbed out of any provider text copied into an error.
 *
 * @module
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import {
  ContentRejected,
  InvalidApiKey,
  InvalidInput,
  MalformedResponse,
  type MediaError,
  ModelNotFound,
  NetworkError,
  ProviderUnavailable,
  QuotaExceeded,
  RateLimited,
  Timeout
} from "../domain/Errors.js"
import type { KeyRing } from "./KeyRing.js"
import { type RetryPolicy, retrySchedule, withRetry, withTimeout } from "./Resilience.js"

/** Response headers, lower-cased names. */
export type Headers = Readonly<Record<string, string | undefined>>

/**
 * The wait a response asks for: `retry-after-ms` (milliseconds), else `retry-after` as
 * seconds or as an HTTP date (relative to `now`). Undefined when absent or unreadable.
 */
export const parseRetryAfter = (headers: Headers, now: number): Duration.Duration | undefined => {
  const ms = headers["retry-after-ms"]
  if (ms !== undefined && ms.trim() !== "") {
    const value = Number(ms)
    if (Number.isFinite(value) && value >= 0) return Duration.millis(value)
  }
  const raw = headers["retry-after"]?.trim()
  if (raw === undefined || raw === "") return undefined
  if (/^\d+(\.\d+)?$/.test(raw)) return Duration.millis(Number(raw) * 1000)
  const date = Date.parse(raw)
  if (Number.isNaN(date)) return undefined
  return Duration.millis(Math.max(0, date - now))
}

/** Replace every occurrence of each secret in `text` with `[redacted]`. */
export const scrub = (text: string, secrets: ReadonlyArray<Redacted.Redacted<string>>): string => {
  let out = text
  for (const secret of secrets) {
    const value = Redacted.value(secret)
    if (value.length >= 4) out = out.split(value).join("[redacted]")
  }
  return out
}

const maxMessage = 500

/** The human part of an error body: `error.message`, `message`, `detail`, `error`, or the text itself. */
export const providerMessage = (body: string): string => {
  const trimmed = body.trim()
  let found: string | undefined
  try {
    const json: unknown = JSON.parse(trimmed)
    found = pickMessage(json)
  } catch {
    found = undefined
  }
  const text = (found ?? trimmed).replace(/\s+/g, " ")
  return text.length > maxMessage ? `${text.slice(0, maxMessage)}...` : text
}

const pickMessage = (json: unknown): string | undefined => {
  if (typeof json === "string") return json
  if (!Predicate.isRecord(json)) return undefined
  for (const key of ["error", "message", "detail", "title", "msg"]) {
    const value = json[key]
    if (typeof value === "string" && value.length > 0) return value
    if (Array.isArray(value)) {
      const parts = value.map(pickMessage).filter((part): part is string => part !== undefined)
      if (parts.length > 0) return parts.join("; ")
    }
    if (typeof value === "object" && value !== null) {
      const nested = pickMessage(value)
      if (nested !== undefined) return nested
    }
  }
  return undefined
}

const quotaPattern = /quota|insufficient|credit|billing|balance|payment|exceeded your current|spend limit/i
const contentPattern = /content[ _-]?(policy|filter|moderation)|nsfw|safety|flagged|moderation|inappropriate/i

/** What is known about a failed HTTP answer. */
export interface StatusFailure {
  readonly provider: string
  readonly status: number
  readonly headers: Headers
  readonly body: string
  /** Epoch milliseconds, for Retry-After dates. */
  readonly now: number
  /** The model the request was for, named in ModelNotFound. */
  readonly model?: string | undefined
}

/** Map an HTTP error status and body to the `MediaError` it means. The one place this is decided. */
export const errorFromStatus = (failure: StatusFailure): MediaError => {
  const { body, provider, status } = failure
  const said = providerMessage(body)
  const message = `${provider}: HTTP ${status}${said === "" ? "" : `: ${said}`}`
  if (status === 401 || status === 403) return new InvalidApiKey({ provider, message })
  if (status === 402) return new QuotaExceeded({ provider, message })
  if (status === 429) {
    if (quotaPattern.test(said)) return new QuotaExceeded({ provider, message })
    const retryAfter = parseRetryAfter(failure.headers, failure.now)
    return new RateLimited({ provider, message, ...(retryAfter !== undefined ? { retryAfter } : {}) })
  }
  if (status === 404) return new ModelNotFound({ provider, message, model: failure.model ?? "unknown" })
  if (status === 408) return new Timeout({ provider, message })
  // Any other 4xx (400, 409, 413, 415, 422 ...) blames the request.
  if (status >= 400 && status < 500) {
    if (contentPattern.test(said)) return new ContentRejected({ provider, message })
    return new InvalidInput({ provider, message, issues: said === "" ? [] : [said] })
  }
  return new ProviderUnavailable({ provider, message, status })
}

/** Map a transport failure (refused, reset, DNS, bad URL) to `NetworkError`. */
export const errorFromTransport = (provider: string, error: HttpClientError.HttpClientError): MediaError => {
  const cause = error.cause instanceof Error ? describeCause(error.cause) : ""
  return new NetworkError({ provider, message: `${provider}: ${error.reason.toLowerCase()} error${cause === "" ? "" : `: ${cause}`}` })
}

const describeCause = (cause: Error): string => {
  const code = (cause as { code?: unknown }).code
  const inner = cause.cause instanceof Error ? describeCause(cause.cause) : ""
  const own = typeof code === "string" ? `${code} ${cause.message}` : cause.message
  return inner !== "" && !own.includes(inner) ? `${own} (${inner})` : own
}

/** How the key is sent. Default: `Authorization: Bearer KEY`. */
export type AuthScheme = (key: string) => readonly [name: string, value: string]

/** `Authorization: Bearer KEY`. */
export const bearer: AuthScheme = (key) => ["authorization", `Bearer ${key}`]

/** How a provider's HTTP client is set up. */
export interface ProviderHttpConfig {
  readonly provider: string
  /** Prepended to relative paths, e.g. `https://api.together.xyz/v1`. */
  readonly baseUrl: string
  /** Keys to authenticate with; undefined for services that need none. */
  readonly keys?: KeyRing | undefined
  /** All secrets to scrub from error text (the key ring's keys). */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>>
  readonly auth?: AuthScheme
  /** Budget of each attempt. Default 30 s. */
  readonly timeout?: Duration.DurationInput
  /** Retry policy of each call. Default: `defaultRetryPolicy`. */
  readonly retry?: Partial<RetryPolicy>
  /** Headers on every request. */
  readonly headers?: Readonly<Record<string, string>>
}

/** One request. */
export interface RequestOptions {
  readonly method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE"
  /** Relative to the base URL, or absolute (auth is only sent to the base URL's origin). */
  readonly path: string
  readonly query?: Readonly<Record<string, string>>
  /** A JSON body. */
  readonly json?: unknown
  /** Any other body (multipart forms, bytes). */
  readonly body?: HttpBody.HttpBody
  readonly headers?: Readonly<Record<string, string>>
  /** The model the request is for: named in ModelNotFound on 404. */
  readonly model?: string
  /** This request's budget per attempt (long-running calls set their own). */
  readonly timeout?: Duration.DurationInput
  /**
   * This request's retry policy; `false` for requests that must not be repeated (a submit
   * that creates a paid job): those are still retried on 429 and refused connections, where the
   * provider certainly did not take the request.
   */
  readonly retry?: Partial<RetryPolicy> | false
}

/** A request whose JSON answer is decoded with a schema. */
export interface JsonRequestOptions<A, I> extends RequestOptions {
  readonly schema: Schema.Schema<A, I>
}

/** A provider's HTTP client. */
export interface ProviderHttp {
  readonly provider: string
  readonly baseUrl: string
  /** Send a request and decode its JSON answer. */
  readonly json: <A, I>(options: JsonRequestOptions<A, I>) => Effect.Effect<A, MediaError>
  /**
   * Send a request and return the response once its status is known to be 2xx (its body
   * unread: for streams and downloads). Not retried after the status arrived.
   */
  readonly send: (options: RequestOptions) => Effect.Effect<HttpClientResponse.HttpClientResponse, MediaError>
}

const notSubmitted = (error: MediaError): boolean =>
  error._tag === "RateLimited" || (error._tag === "NetworkError" && /ECONNREFUSED/.test(error.message))

/** Make a provider's HTTP client over the `HttpClient` in context. */
export const make = (config: ProviderHttpConfig): Effect.Effect<ProviderHttp, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
    const provider = config.provider
    const base = config.baseUrl.replace(/\/+$/, "")
    const origin = safeOrigin(base)
    const auth = config.auth ?? bearer
    const secrets = config.secrets ?? []
    const timeout = config.timeout ?? "30 seconds"

    const urlOf = (path: string) => (/^https?:\/\//i.test(path) ? path : `${base}${path.startsWith("/") ? "" : "/"}${path}`)

    const build = (options: RequestOptions, key: Redacted.Redacted<string> | undefined) => {
      const url = urlOf(options.path)
      let request = HttpClientRequest.make(options.method ?? "GET")(url)
      if (config.headers !== undefined) request = HttpClientRequest.setHeaders(request, config.headers)
      if (options.headers !== undefined) request = HttpClientRequest.setHeaders(request, options.headers)
      if (options.query !== undefined) request = HttpClientRequest.setUrlParams(request, options.query)
      if (key !== undefined && safeOrigin(url) === origin) {
        const [name, value] = auth(Redacted.value(key))
        request = HttpClientRequest.setHeader(request, name, value)
      }
      if (options.json !== undefined) request = HttpClientRequest.setBody(request, HttpBody.unsafeJson(options.json))
      else if (options.body !== undefined) request = HttpClientRequest.setBody(request, options.body)
      return request
    }

    const failed = (response: HttpClientResponse.HttpClientResponse, model: string | undefined) =>
      Effect.flatMap(
        Effect.zip(Effect.orElseSucceed(response.text, () => ""), Clock.currentTimeMillis),
        ([body, now]) =>
          Effect.fail(
            errorFromStatus({ provider, status: response.status, headers: response.headers, body: scrub(body, secrets), now, model })
          )
      )

    // One attempt with one key: status checked, body handled by `read`.
    const attempt = <A>(
      options: RequestOptions,
      key: Redacted.Redacted<string> | undefined,
      read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, MediaError>
    ): Effect.Effect<A, MediaError> =>
      client.execute(build(options, key)).pipe(
        Effect.mapError((error) => errorFromTransport(provider, error)),
        Effect.flatMap((response) => (response.status >= 200 && response.status < 300 ? read(response) : failed(response, options.model))),
        withTimeout(provider, options.timeout ?? timeout)
      )

    const withKeys = <A>(run: (key: Redacted.Redacted<string> | undefined) => Effect.Effect<A, MediaError>) =>
      config.keys === undefined ? run(undefined) : config.keys.withKey(run)

    const retried = <A>(options: RequestOptions, once: Effect.Effect<A, MediaError>): Effect.Effect<A, MediaError> => {
      if (options.retry === false) return Effect.retry(once, { schedule: retrySchedule(config.retry), while: notSubmitted })
      return withRetry({ ...config.retry, ...options.retry })(once)
    }

    const decode = <A, I>(schema: Schema.Schema<A, I>) => {
      const decodeUnknown = Schema.decodeUnknown(schema)
      return (response: HttpClientResponse.HttpClientResponse): Effect.Effect<A, MediaError> =>
        Effect.flatMap(Effect.orElseSucceed(response.text, () => ""), (text) => {
          let json: unknown
          try {
            json = text === "" ? undefined : JSON.parse(text)
          } catch {
            return Effect.fail(new MalformedResponse({ provider, message: `${provider}: answer is not JSON: ${truncate(scrub(text, secrets))}` }))
          }
          return Effect.mapError(
            decodeUnknown(json),
            (error) =>
              new MalformedResponse({
                provider,
                message: `${provider}: answer does not have the expected shape: ${truncate(ParseResult.TreeFormatter.formatErrorSync(error))}`
              })
          )
        })
    }

    const json = <A, I>(options: JsonRequestOptions<A, I>): Effect.Effect<A, MediaError> => {
      const read = decode(options.schema)
      return retried(options, withKeys((key) => attempt(options, key, read)))
    }

    const send = (options: RequestOptions): Effect.Effect<HttpClientResponse.HttpClientResponse, MediaError> =>
      retried(options, withKeys((key) => attempt(options, key, Effect.succeed)))

    return { provider, baseUrl: base, json, send }
  })

const truncate = (text: string): string => (text.length > maxMessage ? `${text.slice(0, maxMessage)}...` : text)

const safeOrigin = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}
