/**
 * The gateway's errors, as they go over the wire: each an HTTP status and a body in OpenAI's
 * shape (`{ "error": { "message", "type", "code" } }`), so that the openai SDK, the AI SDK and
 * curl users read them as they read OpenAI's. `fromMediaError` maps a provider's typed failure
 * (after the registry's fallback gave up) to one of them; no message carries a key (provider
 * errors are written without them).
 *
 * @module
 */
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as HttpServerRespondable from "@effect/platform/HttpServerRespondable"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { MediaError } from "../domain/Errors.js"
import { periodEnd } from "../registry/Budget.js"

/** The body of every error answer: OpenAI's. */
export const ErrorDetail = Schema.Struct({
  message: Schema.String,
  /** OpenAI's kinds: `invalid_request_error`, `authentication_error`, `rate_limit_error`, `api_error` ... */
  type: Schema.String,
  /** A stable code to branch on, e.g. `model_not_found`, `spend_limit_exceeded`. */
  code: Schema.NullOr(Schema.String),
  param: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})
/** The body of every error answer. */
export type ErrorDetail = typeof ErrorDetail.Type

const detail = (type: string, message: string, code: string | null, param: string | null = null): ErrorDetail => ({ message, type, code, param })

/** 400: the request is wrong (a field, a model that cannot do this, an input the provider refused). */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()(
  "InvalidRequest",
  { error: ErrorDetail },
  HttpApiSchema.annotations({ status: 400, description: "The request is wrong" })
) {
  /** An InvalidRequest with a message and code. */
  static of(message: string, code: string | null = "invalid_request", param: string | null = null): InvalidRequest {
    return new InvalidRequest({ error: detail("invalid_request_error", message, code, param) })
  }
}

/** 401: no key, an unknown key or a revoked one. */
export class Unauthenticated extends Schema.TaggedError<Unauthenticated>()(
  "Unauthenticated",
  { error: ErrorDetail },
  HttpApiSchema.annotations({ status: 401, description: "No valid API key (Authorization: Bearer amk_...)" })
) {
  /** An Unauthenticated with a message. */
  static of(message: string): Unauthenticated {
    return new Unauthenticated({ error: detail("authentication_error", message, "invalid_api_key") })
  }
}

/** 402: the key's spend limit for the period would be passed by this request; nothing was called. */
export class SpendLimitReached extends Schema.TaggedError<SpendLimitReached>()(
  "SpendLimitReached",
  {
    error: ErrorDetail,
    limit_usd: Schema.Number,
    spent_usd: Schema.Number,
    requested_usd: Schema.Number,
    /** When the period ends (ISO 8601). */
    resets_at: Schema.String
  },
  HttpApiSchema.annotations({ status: 402, description: "The key's spend limit would be passed; nothing was paid" })
) {}

/** 404: no such generation (for this key), model or route. */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { error: ErrorDetail },
  HttpApiSchema.annotations({ status: 404, description: "Not found" })
) {
  /** A NotFound with a message and code. */
  static of(message: string, code: string | null = "not_found"): NotFound {
    return new NotFound({ error: detail("invalid_request_error", message, code) })
  }
}

/** 409: the idempotency key was used for another request, or the generation was cancelled. */
export class Conflict extends Schema.TaggedError<Conflict>()(
  "Conflict",
  { error: ErrorDetail },
  HttpApiSchema.annotations({ status: 409, description: "Conflicts with an earlier request" })
) {
  /** A Conflict with a message and code. */
  static of(message: string, code: string): Conflict {
    return new Conflict({ error: detail("invalid_request_error", message, code) })
  }
}

/** 413: the upload is larger than the gateway takes. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { error: ErrorDetail },
  HttpApiSchema.annotations({ status: 413, description: "The request body is too large" })
) {
  /** A PayloadTooLarge naming the limit. */
  static of(limitBytes: number): PayloadTooLarge {
    return new PayloadTooLarge({ error: detail("invalid_request_error", `the request body is larger than ${limitBytes} bytes`, "payload_too_large") })
  }
}

/**
 * 429, as documented: too many requests for this key (or the providers' own limits after every
 * fallback). The answer carries `Retry-After`; at run time it is written by `TooManyRequests`.
 */
export class RateLimitExceeded extends Schema.TaggedError<RateLimitExceeded>()(
  "RateLimitExceeded",
  { error: ErrorDetail },
  HttpApiSchema.annotations({ status: 429, description: "Too many requests; see the Retry-After header" })
) {}

/**
 * The 429 answer at run time: the same body as `RateLimitExceeded`, plus the `Retry-After`
 * header (a schema-encoded error cannot carry headers, a respondable one can).
 */
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  message: Schema.String,
  code: Schema.String,
  retryAfterSeconds: Schema.Number
}) {
  [HttpServerRespondable.symbol]() {
    return HttpServerResponse.json(
      { _tag: "RateLimitExceeded", error: detail("rate_limit_error", this.message, this.code) },
      { status: 429, headers: { "retry-after": String(Math.max(1, Math.ceil(this.retryAfterSeconds))) } }
    ).pipe(Effect.orDie)
  }
}

/** 502: every provider tried failed (their errors are in the message). */
export class UpstreamFailed extends Schema.TaggedError<UpstreamFailed>()(
  "UpstreamFailed",
  { error: ErrorDetail, provider: Schema.NullOr(Schema.String) },
  HttpApiSchema.annotations({ status: 502, description: "The providers failed" })
) {}

/** 503: no provider can take this now (none configured, all out of quota, a circuit open). */
export class Unavailable extends Schema.TaggedError<Unavailable>()(
  "Unavailable",
  { error: ErrorDetail, provider: Schema.NullOr(Schema.String) },
  HttpApiSchema.annotations({ status: 503, description: "No provider can serve this now" })
) {}

/** 504: the provider did not answer in time. */
export class UpstreamTimeout extends Schema.TaggedError<UpstreamTimeout>()(
  "UpstreamTimeout",
  { error: ErrorDetail, provider: Schema.NullOr(Schema.String) },
  HttpApiSchema.annotations({ status: 504, description: "The provider did not answer in time" })
) {}

/** Every error a gateway route may answer with (the 429 is written by `TooManyRequests`). */
export type ApiError =
  | InvalidRequest
  | Unauthenticated
  | SpendLimitReached
  | NotFound
  | Conflict
  | PayloadTooLarge
  | TooManyRequests
  | UpstreamFailed
  | Unavailable
  | UpstreamTimeout

/**
 * A provider's failure as the gateway answers it. The message is the provider error's own
 * (written without keys); `provider` says which provider failed last.
 */
export const fromMediaError = (error: MediaError): ApiError => {
  const provider = "provider" in error && typeof error.provider === "string" ? error.provider : null
  const message = error.message
  switch (error._tag) {
    case "InvalidInput":
      return InvalidRequest.of(message, "invalid_input")
    case "ContentRejected":
      return InvalidRequest.of(message, "content_policy_violation")
    case "CapabilityNotSupported":
      return InvalidRequest.of(message, "capability_not_supported")
    case "ModelNotFound":
      return NotFound.of(message, "model_not_found")
    case "Cancelled":
      return Conflict.of(message, "cancelled")
    case "RateLimited":
      return new TooManyRequests({
        message,
        code: "upstream_rate_limited",
        retryAfterSeconds: Option.match(Option.fromNullable(error.retryAfter), { onNone: () => 1, onSome: (d) => Duration.toSeconds(d) })
      })
    case "Timeout":
      return new UpstreamTimeout({ error: detail("api_error", message, "upstream_timeout"), provider })
    case "InvalidApiKey":
    case "MissingConfig":
      // The gateway's own provider keys: not the caller's to fix, and never named beyond the variable.
      return new Unavailable({ error: detail("api_error", message, "provider_not_configured"), provider })
    case "BudgetExceeded":
      return new SpendLimitReached({
        error: detail("insufficient_quota", message, "budget_exceeded"),
        limit_usd: error.limitUsd,
        spent_usd: error.spentUsd,
        requested_usd: error.requestedUsd ?? 0,
        resets_at: new Date(periodEnd(error.period, Date.now())).toISOString()
      })
    case "QuotaExceeded":
      return new Unavailable({ error: detail("api_error", message, "provider_quota_exceeded"), provider })
    case "ProviderUnavailable":
    case "ServiceNotRunning":
      return new Unavailable({ error: detail("api_error", message, "provider_unavailable"), provider })
    default:
      return new UpstreamFailed({ error: detail("api_error", message, "upstream_error"), provider })
  }
}
