/**
 * The HTTP runtime every remote provider shares. It adds the base URL and the auth header
 * (a key of the pool, round robin, each attempt paced by that key's limits in the request's lane:
 * `KeyRing`), bounds each attempt with a timeout, retries retryable failures under the
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
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
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
import { fingerprint as keyFingerprint, type KeyRing } from "./KeyRing.js"
import { Attribute, pathOf, SpanName } from "../resilience/Attributes.js"
import * as Spans from "../resilience/Spans.js"
import * as ProviderWait from "../resilience/ProviderWait.js"
import { type RetryPolicy, retrySchedule, withTimeout } from "../resilience/Resilience.js"
import { type LeanPathService, leanPathOf, type LeanRequest, type LeanResponse } from "./UndiciHttpClient.js"

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

/**
 * Replace every occurrence of each secret in `text` with `[redacted]`: written as it is, or as
 * JSON may write it in a string (any character as `\u0073`, `/` as `\/`), so that raw provider
 * text is clean whether or not it is decoded later. Decoded text is scrubbed again all the same.
 */
export const scrub = (text: string, secrets: ReadonlyArray<Redacted.Redacted<string>>): string => {
  let out = text
  for (const secret of secrets) {
    const value = Redacted.value(secret)
    if (value.length < 4) continue
    out = out.split(value).join("[redacted]")
    // Only text with an escape in it can hold an escaped secret (most error bodies have none).
    if (out.includes("\\")) out = out.replace(escapedPattern(value), "[redacted]")
  }
  return out
}

// `value` with each character matched as itself or as a JSON escape of it.
const escapedPattern = (value: string): RegExp => {
  let source = ""
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0
    const literal = char.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&")
    if (code > 0xffff) {
      source += literal
      continue
    }
    // The four hex digits, either case.
    const hex = [...code.toString(16).padStart(4, "0")].map((digit) => (/[a-f]/.test(digit) ? `[${digit}${digit.toUpperCase()}]` : digit)).join("")
    source += `(?:${literal}|\\\\u${hex}${char === "/" ? "|\\\\/" : ""})`
  }
  return new RegExp(source, "g")
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
  /** Secrets to scrub out of the body, before and after its message is decoded from JSON. */
  readonly secrets?: ReadonlyArray<Redacted.Redacted<string>> | undefined
}

/** Map an HTTP error status and body to the `MediaError` it means. The one place this is decided. */
export const errorFromStatus = (failure: StatusFailure): MediaError => {
  const { provider, status } = failure
  const secrets = failure.secrets ?? []
  // Scrubbed raw, then again once decoded: JSON may have spelled a key in escapes.
  const said = scrub(providerMessage(scrub(failure.body, secrets)), secrets)
  const detail = `HTTP ${status}${said === "" ? "" : `: ${said}`}`
  if (status === 401 || status === 403) return new InvalidApiKey({ provider, detail })
  if (status === 402) return new QuotaExceeded({ provider, detail })
  if (status === 429) {
    const retryAfter = parseRetryAfter(failure.headers, failure.now)
    const after = retryAfter !== undefined ? { retryAfter } : {}
    // A quota's Retry-After (a daily allowance refilling) is how long the key rests (`KeyRing`).
    if (quotaPattern.test(said)) return new QuotaExceeded({ provider, detail, ...after })
    return new RateLimited({ provider, detail, ...after })
  }
  if (status === 404) return new ModelNotFound({ provider, detail, model: failure.model ?? "unknown" })
  if (status === 408) return new Timeout({ provider, detail })
  // Any other 4xx (400, 409, 413, 415, 422 ...) blames the request.
  if (status >= 400 && status < 500) {
    if (contentPattern.test(said)) return new ContentRejected({ provider, detail })
    return new InvalidInput({ provider, detail, issues: said === "" ? [] : [said] })
  }
  return new ProviderUnavailable({ provider, detail, status })
}

/** Map a transport failure (refused, reset, DNS, bad URL) to `NetworkError`. */
export const errorFromTransport = (provider: string, error: HttpClientError.HttpClientError): MediaError =>
  transportError(provider, error.reason, error.cause)

const transportError = (provider: string, reason: string, cause: unknown): MediaError => {
  const described = cause instanceof Error ? describeCause(cause) : ""
  const code = cause instanceof Error ? codeOf(cause) : undefined
  return new NetworkError({
    provider,
    detail: `${reason.toLowerCase()} error${described === "" ? "" : `: ${described}`}`,
    ...(code !== undefined ? { code } : {})
  })
}

// The first system error code in a cause chain (undici wraps the socket's error in its own).
const codeOf = (cause: Error): string | undefined => {
  const code: unknown = "code" in cause ? cause.code : undefined
  if (typeof code === "string" && /^E[A-Z0-9_]+$/.test(code)) return code
  return cause.cause instanceof Error ? codeOf(cause.cause) : undefined
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
  /**
   * The largest JSON answer read, in bytes; a larger (or endless) one is `MalformedResponse` and
   * is not read further. Default `defaultMaxBodyBytes` (64 MiB: room for an inline base64 image).
   */
  readonly maxBodyBytes?: number
  /**
   * The pacing lane of a request for `model` (see `KeyRing` and `resilience/RateLimit.ts`), when
   * the request does not name one; undefined (or no function) is the default lane.
   */
  readonly laneOf?: (model: string | undefined) => string | undefined
}

/** The default cap of a JSON answer: 64 MiB. */
export const defaultMaxBodyBytes = 64 * 1024 * 1024

/** How much of an error answer is read (its message is quoted from it, at most 500 characters): 64 KiB. */
export const maxErrorBodyBytes = 64 * 1024

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
  /**
   * A client's refinement of the error of a non-2xx answer, given the answer's body (scrubbed of
   * secrets): for a service that reports its reasons where `errorFromStatus` does not look.
   */
  readonly refine?: (error: MediaError, body: string) => MediaError
  /** The pacing lane this request is counted in; default: the config's `laneOf(model)`, else the default lane. */
  readonly lane?: string
  /**
   * The fingerprint (`KeyRing.fingerprint`) of the pool's key to send this with while it is
   * usable: a queued job's follow-ups go with the key that submitted it (`JobTicket.key`).
   */
  readonly key?: string | undefined
  /** Told the fingerprint of the key the request went out with, when it succeeded (a submit keeps it in its ticket). */
  readonly onKey?: (fingerprint: string) => void
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
  /** `text` without this provider's secrets (see `scrub`): for provider text a caller quotes in an error. */
  readonly scrub: (text: string) => string
}

const notSubmitted = (error: MediaError): boolean =>
  error._tag === "RateLimited" || (error._tag === "NetworkError" && error.code === "ECONNREFUSED")

/**
 * Make a provider's HTTP client over the `HttpClient` in context.
 *
 * When that client is `UndiciHttpClient.layer`'s very client (not wrapped or mapped), whole-body
 * JSON exchanges to the provider's own base URL take its lean path (`UndiciHttpClient.LeanPath`):
 * the same request, headers, auth, timeout, retries and error mapping, without the general
 * client's per-request objects. Everything else (bodies other than JSON, queries, absolute URLs,
 * `send`) goes through the `HttpClient`.
 */
export const make = (config: ProviderHttpConfig): Effect.Effect<ProviderHttp, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const given = yield* HttpClient.HttpClient
    const client = given.pipe(HttpClient.withTracerDisabledWhen(() => true))
    const provider = config.provider
    const base = config.baseUrl.replace(/\/+$/, "")
    const origin = safeOrigin(base)
    const auth = config.auth ?? bearer
    const secrets = config.secrets ?? []
    const timeout = config.timeout ?? "30 seconds"
    const lean = leanTarget(Option.getOrUndefined(yield* leanPathOf(given)), base)
    const maxBodyBytes = config.maxBodyBytes ?? defaultMaxBodyBytes
    const tooLarge = () => new MalformedResponse({ provider, detail: `answer is larger than ${maxBodyBytes} bytes (not read further)` })

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

    const statusError = (options: RequestOptions, status: number, headers: Headers, body: string, now: number) => {
      const decided = errorFromStatus({ provider, status, headers, body, now, model: options.model, secrets })
      return options.refine === undefined ? decided : options.refine(decided, scrub(body, secrets))
    }

    const failed = (response: HttpClientResponse.HttpClientResponse, options: RequestOptions) =>
      Effect.flatMap(
        Effect.zip(
          Effect.orElseSucceed(ProviderWait.measure(readCapped(response, maxErrorBodyBytes)), () => ({ text: "", over: false, bytes: 0 })),
          Clock.currentTimeMillis
        ),
        ([body, now]) => Effect.fail(statusError(options, response.status, response.headers, body.text, now))
      )

    // One attempt with one key: status checked, body handled by `read`.
    const attempt = <A>(
      options: RequestOptions,
      key: Redacted.Redacted<string> | undefined,
      read: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, MediaError>
    ): Effect.Effect<A, MediaError> =>
      ProviderWait.measure(client.execute(build(options, key))).pipe(
        Effect.mapError((error) => errorFromTransport(provider, error)),
        Effect.tap((response) => Spans.annotateCurrentSpan(Attribute.httpStatus, response.status)),
        Effect.flatMap((response) => (response.status >= 200 && response.status < 300 ? read(response) : failed(response, options))),
        withTimeout(provider, options.timeout ?? timeout)
      )

    // The same attempt on the lean path (see `leanRequestPath` for which requests take it).
    const leanAttempt = <A>(
      target: LeanTarget,
      path: string,
      options: RequestOptions,
      key: Redacted.Redacted<string> | undefined,
      readText: (text: string) => Effect.Effect<A, MediaError>
    ): Effect.Effect<A, MediaError> =>
      Effect.clockWith((clock) => {
        const headers: Record<string, string> = {}
        if (config.headers !== undefined) for (const name in config.headers) headers[name.toLowerCase()] = config.headers[name]!
        if (options.headers !== undefined) for (const name in options.headers) headers[name.toLowerCase()] = options.headers[name]!
        if (key !== undefined) {
          const [name, value] = auth(Redacted.value(key))
          headers[name.toLowerCase()] = value
        }
        let body: string | undefined
        if (options.json !== undefined) {
          body = JSON.stringify(options.json)
          headers["content-type"] = "application/json"
          headers["content-length"] = String(Buffer.byteLength(body))
        }
        const request = { method: options.method ?? "GET", origin: target.origin, path: target.prefix + path, headers, body, maxBodyBytes, maxErrorBodyBytes }
        const handle = (response: LeanResponse): Effect.Effect<A, MediaError> =>
          Effect.zipRight(annotateAnswer(response.status, response.bytes), answered(response))
        const answered = (response: LeanResponse): Effect.Effect<A, MediaError> =>
          response.status >= 200 && response.status < 300
            ? response.bodyError !== undefined
              ? // The answer broke off after its status: a transport failure, as on the general path.
                Effect.fail(transportError(provider, "Transport", response.bodyError))
              : response.overflow
                ? Effect.fail(tooLarge())
                : readText(response.text)
            : Effect.fail(statusError(options, response.status, response.headers, response.text, clock.unsafeCurrentTimeMillis()))
        const budget = Duration.decode(options.timeout ?? timeout)
        const millis = Duration.toMillis(budget)
        if (clock !== liveClock || !(millis <= maxTimer)) {
          // Another clock (a TestClock, a custom one) or a budget no timer holds: time the attempt
          // through that clock with Effect, as the general path does.
          return withTimeout(provider, budget)(Effect.flatMap(ProviderWait.measure(exchange(target.path, request, undefined)), handle))
        }
        const timedOut = () => new Timeout({ provider, after: budget, detail: `no answer within ${Duration.format(budget)}` })
        return Effect.flatMap(ProviderWait.measure(exchange(target.path, request, { millis, timedOut })), handle)
      })

    // One lean exchange as an effect: interruption cancels it; with `timer`, a live timer bounds it.
    const exchange = (
      path: LeanPathService,
      request: LeanRequest,
      timer: { readonly millis: number; readonly timedOut: () => MediaError } | undefined
    ): Effect.Effect<LeanResponse, MediaError> =>
      Effect.async<LeanResponse, MediaError>((resume) => {
        let handle: ReturnType<typeof setTimeout> | undefined
        const cancel = path.exchange(request, (outcome) => {
          if (handle !== undefined) clearTimeout(handle)
          resume(outcome._tag === "Response" ? Effect.succeed(outcome.response) : Effect.fail(transportError(provider, "Transport", outcome.cause)))
        })
        if (timer !== undefined) {
          handle = setTimeout(() => {
            cancel()
            resume(Effect.fail(timer.timedOut()))
          }, timer.millis)
        }
        return Effect.sync(() => {
          if (handle !== undefined) clearTimeout(handle)
          cancel()
        })
      })

    const laneOf = config.laneOf
    // Every attempt (a retry too) takes a permit of the key it goes out with: each one counts at the provider.
    const withKeys = <A>(options: RequestOptions, run: (key: Redacted.Redacted<string> | undefined) => Effect.Effect<A, MediaError>) =>
      config.keys === undefined
        ? run(undefined)
        : config.keys.withKey(
          options.onKey === undefined ? run : (key) => Effect.tap(run(key), () => options.onKey!(keyFingerprint(key))),
          options.lane ?? laneOf?.(options.model),
          options.key
        )

    const defaultSchedule = waited(retrySchedule(config.retry))
    const unsubmittedSchedule = Schedule.whileInput(defaultSchedule, notSubmitted)
    // Each try is an `automarket.http` span numbered from 1; the backoffs between tries are waits on the provider.
    const retried = <A>(options: RequestOptions, once: Effect.Effect<A, MediaError>): Effect.Effect<A, MediaError> => {
      const schedule =
        options.retry === false
          ? unsubmittedSchedule
          : options.retry === undefined
            ? defaultSchedule
            : waited(retrySchedule({ ...config.retry, ...options.retry }))
      return Effect.suspend(() => {
        let tries = 0
        const method = options.method ?? "GET"
        const urlPath = pathOf(urlOf(options.path))
        const traced = Effect.suspend(() =>
          Spans.withSpan(once, SpanName.http, { captureStackTrace: false,
            kind: "client",
            attributes: { [Attribute.provider]: provider, [Attribute.httpMethod]: method, [Attribute.urlPath]: urlPath, [Attribute.httpAttempt]: ++tries }
          })
        )
        return retryAfterFailure(traced, schedule)
      })
    }

    const decodeText = <A, I>(schema: Schema.Schema<A, I>) => {
      const decodeUnknown = Schema.decodeUnknown(schema)
      return (text: string): Effect.Effect<A, MediaError> => {
        let json: unknown
        try {
          json = text === "" ? undefined : JSON.parse(text)
        } catch {
          return Effect.fail(new MalformedResponse({ provider, detail: `answer is not JSON: ${truncate(scrub(text, secrets))}` }))
        }
        return Effect.mapError(
          decodeUnknown(json),
          (error) =>
            new MalformedResponse({
              provider,
              // The decoder quotes the values it found, decoded: a key echoed in the answer among them.
              detail: `answer does not have the expected shape: ${truncate(scrub(ParseResult.TreeFormatter.formatErrorSync(error), secrets))}`
            })
        )
      }
    }

    const json = <A, I>(options: JsonRequestOptions<A, I>): Effect.Effect<A, MediaError> => {
      const readText = decodeText(options.schema)
      const leanPath = lean !== undefined ? leanRequestPath(options) : undefined
      if (lean !== undefined && leanPath !== undefined) {
        return retried(options, withKeys(options, (key) => leanAttempt(lean, leanPath, options, key, readText)))
      }
      // A body that breaks off after a 2xx status is a transport failure (NetworkError), not an empty answer.
      const read = (response: HttpClientResponse.HttpClientResponse) =>
        Effect.flatMap(Effect.mapError(ProviderWait.measure(readCapped(response, maxBodyBytes)), (error) => errorFromTransport(provider, error)), (body) =>
          Effect.zipRight(Spans.annotateCurrentSpan(Attribute.bytes, body.bytes), body.over ? Effect.fail(tooLarge()) : readText(body.text)))
      return retried(options, withKeys(options, (key) => attempt(options, key, read)))
    }

    const send = (options: RequestOptions): Effect.Effect<HttpClientResponse.HttpClientResponse, MediaError> =>
      retried(options, withKeys(options, (key) => attempt(options, key, Effect.succeed)))

    return { provider, baseUrl: base, json, send, scrub: (text: string) => scrub(text, secrets) }
  })

/**
 * A body as UTF-8 text, at most `max` bytes of it; `over` when there was more, the rest not read
 * (stopping the stream aborts the request).
 */
const readCapped = (
  response: HttpClientResponse.HttpClientResponse,
  max: number
): Effect.Effect<{ readonly text: string; readonly over: boolean; readonly bytes: number }, HttpClientError.ResponseError> =>
  Effect.suspend(() => {
    const chunks: Array<Uint8Array> = []
    return Effect.map(
      Stream.runFoldWhile(response.stream, 0, (size) => size <= max, (size, chunk) => {
        chunks.push(chunk)
        return size + chunk.length
      }),
      (size) => ({ text: Buffer.concat(chunks).subarray(0, max).toString("utf8"), over: size > max, bytes: size })
    )
  })

// The status and body size of a lean answer on the current `automarket.http` span.
const annotateAnswer = (status: number, bytes: number): Effect.Effect<void> =>
  Spans.annotateCurrentSpan({ [Attribute.httpStatus]: status, [Attribute.bytes]: bytes })

/** A retry schedule whose every delay is counted as time waited on the provider (`ProviderWait`). */
const waited = <Out>(schedule: Schedule.Schedule<Out, MediaError>): Schedule.Schedule<Out, MediaError> =>
  Schedule.modifyDelayEffect(schedule, (_, delay) => Effect.as(ProviderWait.add(Duration.toMillis(delay)), delay))

/**
 * `Effect.retry(once, schedule)`, with the schedule's driver made only after a first failure
 * (most calls succeed at once): the first error is fed to the driver as `Effect.retry` would.
 */
const retryAfterFailure = <A>(
  once: Effect.Effect<A, MediaError>,
  schedule: Schedule.Schedule<unknown, MediaError>
): Effect.Effect<A, MediaError> =>
  Effect.catchAll(once, (first) => {
    let pending: MediaError | undefined = first
    const again = Effect.suspend(() => {
      if (pending === undefined) return once
      const error = pending
      pending = undefined
      return Effect.fail(error)
    })
    return Effect.retry(again, schedule)
  })

// The largest delay setTimeout holds.
const maxTimer = 2_147_483_647

// The runtime's own clock, whose sleeps are `setTimeout`s. When it is the clock in context a lean
// attempt sets its timer itself, in the exchange's callback, rather than racing a forked `sleep`
// fiber (the cost of `Effect.timeout`) on every request: `Clock` offers no callback timer.
const liveClock: Clock.Clock = Context.get(DefaultServices.liveServices, Clock.Clock)

/** Where lean requests go: the base URL's origin, and its path as a prefix. */
interface LeanTarget {
  readonly path: LeanPathService
  readonly origin: string
  readonly prefix: string
}

const leanTarget = (path: LeanPathService | undefined, base: string): LeanTarget | undefined => {
  if (path === undefined) return undefined
  let url: URL
  try {
    url = new URL(base)
  } catch {
    return undefined
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    return undefined
  }
  // Only when the base reads back as itself, so that base + path is the URL the general path would request.
  const prefix = url.pathname === "/" ? "" : url.pathname
  if (`${url.origin}${prefix}` !== base) return undefined
  return { path, origin: url.origin, prefix }
}

// A relative path of plain characters (no query, fragment, dot segments, or anything URL parsing
// would rewrite), so that appending it to the base is exactly what the general path sends.
const plainPath = /^[A-Za-z0-9\-_~!$&'()*+,;=:@%/.]*$/
const dotSegment = /(^|\/)\.\.?(\/|$)/

/** The path a request takes on the lean path (relative to the base), or undefined when it must take the general path. */
const leanRequestPath = (options: RequestOptions): string | undefined => {
  if (options.query !== undefined || options.body !== undefined) return undefined
  const path = options.path
  if (/^https?:\/\//i.test(path) || !plainPath.test(path) || dotSegment.test(path) || path.includes("%")) return undefined
  return path.startsWith("/") ? path : `/${path}`
}

const truncate = (text: string): string => (text.length > maxMessage ? `${text.slice(0, maxMessage)}...` : text)

const safeOrigin = (url: string): string | undefined => {
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}
