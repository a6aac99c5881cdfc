/**
 * Every way a media call can fail, as data. Each error names its `provider` and says what went
 * wrong in `detail`; its `message` is computed from the two (`together: HTTP 429: slow down`),
 * so nothing stores or strips a provider prefix. None carries an API key (the HTTP runtime
 * scrubs keys out of any provider text it copies in). Retry and fallback decisions read the
 * `_tag`, never the text.
 *
 * @module
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

const base = {
  /** The id of the provider the failure came from (`"registry"` for routing failures). */
  provider: Schema.String,
  /** What went wrong, in words, without the provider: `HTTP 429: slow down`. */
  detail: Schema.String
}

/**
 * The `message` of every `MediaError`: its provider, then what went wrong. Computed rather than
 * stored, so the encoded error holds each fact once.
 */
const render = (error: { readonly provider: string; readonly detail: string }): string => `${error.provider}: ${error.detail}`

/** The provider refused the credentials (HTTP 401/403). */
export class InvalidApiKey extends Schema.TaggedError<InvalidApiKey>()("InvalidApiKey", base) {
  override get message(): string {
    return render(this)
  }
}

/** A setting the provider needs (an API key, a URL) is not configured. */
export class MissingConfig extends Schema.TaggedError<MissingConfig>()("MissingConfig", {
  ...base,
  /** The name of the missing setting, e.g. `TOGETHER_API_KEY`. */
  setting: Schema.String
}) {
  override get message(): string {
    return render(this)
  }
}

/**
 * The account is out of credits or over its quota (HTTP 402, or 429 that says so), or a key has
 * used up an allowance the client paces itself by (a daily limit: `resilience/RateLimit.ts`).
 * `retryAfter`, when known, is when the allowance refills; key rotation rests the key that long.
 */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  ...base,
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}) {
  override get message(): string {
    return render(this)
  }
}

/** Too many requests for now (HTTP 429); `retryAfter` is the provider's own hint when given. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...base,
  retryAfter: Schema.optional(Schema.DurationFromMillis)
}) {
  override get message(): string {
    return render(this)
  }
}

/** The request never got an answer: refused, reset, DNS, TLS. */
export class NetworkError extends Schema.TaggedError<NetworkError>()("NetworkError", {
  ...base,
  /**
   * The system error code of the failure when there is one (`ECONNREFUSED`, `ECONNRESET`,
   * `ENOTFOUND` ...): decisions read it, never the text.
   */
  code: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return render(this)
  }
}

/** No answer within the time allowed. */
export class Timeout extends Schema.TaggedError<Timeout>()("Timeout", {
  ...base,
  after: Schema.optional(Schema.DurationFromMillis)
}) {
  override get message(): string {
    return render(this)
  }
}

/** The provider answered that it cannot serve now (HTTP 5xx), or its circuit is open. */
export class ProviderUnavailable extends Schema.TaggedError<ProviderUnavailable>()("ProviderUnavailable", {
  ...base,
  status: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return render(this)
  }
}

/** The provider does not know the model. */
export class ModelNotFound extends Schema.TaggedError<ModelNotFound>()("ModelNotFound", {
  ...base,
  model: Schema.String
}) {
  override get message(): string {
    return render(this)
  }
}

/** The provider (or model) does not offer the capability asked for. */
export class CapabilityNotSupported extends Schema.TaggedError<CapabilityNotSupported>()("CapabilityNotSupported", {
  ...base,
  capability: Schema.String
}) {
  override get message(): string {
    return render(this)
  }
}

/** The request is wrong (HTTP 400/422, or rejected before sending); `issues` lists what. */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  ...base,
  issues: Schema.Array(Schema.String)
}) {
  override get message(): string {
    return render(this)
  }
}

/** The provider refused the content (safety or moderation policy). */
export class ContentRejected extends Schema.TaggedError<ContentRejected>()("ContentRejected", base) {
  override get message(): string {
    return render(this)
  }
}

/** The job ran and failed; `providerMessage` is what the provider said. */
export class GenerationFailed extends Schema.TaggedError<GenerationFailed>()("GenerationFailed", {
  ...base,
  jobId: Schema.optional(Schema.String),
  providerMessage: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return render(this)
  }
}

/** The provider answered with a body that does not have the documented shape. */
export class MalformedResponse extends Schema.TaggedError<MalformedResponse>()("MalformedResponse", base) {
  override get message(): string {
    return render(this)
  }
}

/** A result could not be fetched or written; no partial file is left behind. */
export class DownloadFailed extends Schema.TaggedError<DownloadFailed>()("DownloadFailed", {
  ...base,
  url: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return render(this)
  }
}

/** The work was cancelled (interrupted by the caller, or cancelled remotely). */
export class Cancelled extends Schema.TaggedError<Cancelled>()("Cancelled", {
  ...base,
  jobId: Schema.optional(Schema.String)
}) {
  override get message(): string {
    return render(this)
  }
}

/** A local service is not running and could not be started. */
export class ServiceNotRunning extends Schema.TaggedError<ServiceNotRunning>()("ServiceNotRunning", {
  ...base,
  service: Schema.String
}) {
  override get message(): string {
    return render(this)
  }
}

/**
 * A durable generation resumed after a crash in its one unavoidable window: the submit intent
 * was journaled, the provider may or may not have accepted the job, and the ticket was never
 * kept. The provider cannot be asked (it lists no jobs), so rather than risk paying twice the
 * generation stops here (the `fail` policy); `resubmit` would send the job again.
 */
export class SubmitOutcomeUnknown extends Schema.TaggedError<SubmitOutcomeUnknown>()("SubmitOutcomeUnknown", {
  ...base,
  /** The generation's id. */
  generationId: Schema.String,
  /** The model the submit was for. */
  model: Schema.String
}) {
  override get message(): string {
    return render(this)
  }
}

/**
 * A spending budget (global, a provider's or a caller's, per day or month) would be passed by
 * the call's worst-case cost, and no cheaper candidate fits: nothing was sent to any provider.
 */
export class BudgetExceeded extends Schema.TaggedError<BudgetExceeded>()("BudgetExceeded", {
  ...base,
  /** Which budget: `global`, `provider:<id>` or `key:<id>`. */
  budget: Schema.String,
  /** `day` or `month`. */
  period: Schema.Literal("day", "month"),
  /** The budget's limit in US dollars. */
  limitUsd: Schema.Number,
  /** Spent (and reserved by calls in flight) in the current period. */
  spentUsd: Schema.Number,
  /** The refused call's worst-case cost; undefined when its price is unknown. */
  requestedUsd: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return render(this)
  }
}

/** Every error a media call can fail with. */
export const MediaError = Schema.Union(
  InvalidApiKey,
  MissingConfig,
  QuotaExceeded,
  RateLimited,
  NetworkError,
  Timeout,
  ProviderUnavailable,
  ModelNotFound,
  CapabilityNotSupported,
  InvalidInput,
  ContentRejected,
  GenerationFailed,
  MalformedResponse,
  DownloadFailed,
  Cancelled,
  ServiceNotRunning,
  SubmitOutcomeUnknown,
  BudgetExceeded
)
/** Every error a media call can fail with. */
export type MediaError = typeof MediaError.Type

/** The tag of a `MediaError`. */
export type MediaErrorTag = MediaError["_tag"]

const mediaErrorTags: ReadonlySet<string> = new Set<MediaErrorTag>(
  MediaError.members.map((member) => member.identifier as MediaErrorTag)
)

/** Whether a value is one of the `MediaError`s. */
export const isMediaError = (u: unknown): u is MediaError =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && mediaErrorTags.has(u._tag)

/**
 * Failures worth trying again on the same provider: they say "not now", not "never".
 * QuotaExceeded is not among them: waiting does not refill an account (fallback and key
 * rotation handle it).
 */
export const retryableTags: ReadonlySet<MediaErrorTag> = new Set<MediaErrorTag>([
  "RateLimited",
  "NetworkError",
  "Timeout",
  "ProviderUnavailable"
])

/** Whether the same request to the same provider may succeed later. */
export const isRetryable = (error: MediaError): boolean => retryableTags.has(error._tag)

/**
 * Failures that say nothing against the request itself, so another provider may serve it:
 * capacity and transport failures, and this provider's own configuration or catalogue.
 * InvalidInput, ContentRejected, GenerationFailed and Cancelled stop a fallback chain, and so
 * does DownloadFailed: a result that could not be fetched was already paid for (resume the
 * job from its ticket instead of paying another provider), and an input that could not be
 * fetched would fail on every provider alike. BudgetExceeded moves on too: a cheaper or local
 * provider may fit the budget that this one would pass.
 */
export const failoverTags: ReadonlySet<MediaErrorTag> = new Set<MediaErrorTag>([
  "QuotaExceeded",
  "RateLimited",
  "ProviderUnavailable",
  "Timeout",
  "NetworkError",
  "InvalidApiKey",
  "MissingConfig",
  "ModelNotFound",
  "CapabilityNotSupported",
  "ServiceNotRunning",
  "MalformedResponse",
  "BudgetExceeded"
])

/** Whether another provider should be tried after this failure. */
export const isFailover = (error: MediaError): boolean => failoverTags.has(error._tag)
