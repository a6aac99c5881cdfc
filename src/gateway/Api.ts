/**
 * The gateway's HTTP API, defined once with `@effect/platform`'s `HttpApi`: the server
 * (`Gateway.ts`), the typed client (`HttpApiClient.make(GatewayApi)`) and the OpenAPI document
 * (`/openapi.json`, rendered at `/docs`) all come from this definition.
 *
 * - `generations`: durable generations by id (`POST /v1/generations` with an `Idempotency-Key`,
 *   status, server-sent progress events, the result with Range, cancel);
 * - `openai`: OpenAI-compatible routes over the registry with its fallback;
 * - `webhooks`: signed completions from fal.ai and Replicate (no API key: the signature is the proof);
 * - `operators`: `/health` (open) and `/metrics` (Prometheus text);
 * - `dashboard`: the providers' health, the spend from the cost ledger, and the page that shows
 *   them with the generations in flight (`/`, `/dashboard`: the page itself is open, its data
 *   calls carry the key).
 *
 * Every route but webhooks, `/health` and the dashboard's page needs `Authorization: Bearer <gateway key>`.
 *
 * @module
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Context from "effect/Context"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { JobCapability, MediaCapability } from "../domain/Capability.js"
import { HealthState } from "../domain/Health.js"
import { GenerationStatus } from "../durable/GenerationState.js"
import {
  Conflict,
  InvalidRequest,
  NotFound,
  PayloadTooLarge,
  RateLimitExceeded,
  SpendLimitReached,
  Unauthenticated,
  Unavailable,
  UpstreamFailed,
  UpstreamTimeout
} from "./ApiErrors.js"
import * as Wire from "./OpenAiWire.js"

/** Who is calling: the gateway key the request was authenticated with. */
export interface Caller {
  /** The key's id (generations are scoped to it). */
  readonly keyId: string
  readonly name: string
  readonly ratePerMinute: number | undefined
  readonly spendLimitUsd: number | undefined
  readonly spendPeriod: "day" | "month"
}

/** The caller of the current request (provided by `Authorization`). */
export class CurrentCaller extends Context.Tag("automarket/gateway/CurrentCaller")<CurrentCaller, Caller>() {}

/** Bearer authentication with a gateway key; also applies the key's rate limit. */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("automarket/gateway/Authorization", {
  failure: Unauthenticated,
  provides: CurrentCaller,
  security: { bearer: HttpApiSecurity.bearer.pipe(HttpApiSecurity.annotate(OpenApi.Description, "A gateway key (`automarket keys create`)")) }
}) {}

/** A generation's input: text, a URL, or base64 bytes (or a multipart file part named `input`). */
export const GenerationInput = Schema.Union(
  Schema.Struct({ type: Schema.Literal("text"), text: Schema.String, language: Schema.optional(Schema.String) }),
  Schema.Struct({ type: Schema.Literal("image", "audio", "video"), url: Schema.String }),
  Schema.Struct({ type: Schema.Literal("image", "audio", "video"), data: Schema.String, mime_type: Schema.String })
)
/** A generation's input. */
export type GenerationInput = typeof GenerationInput.Type

/**
 * `POST /v1/generations`, as JSON. As multipart: the same fields as form fields (`options` as a
 * JSON string) and the media as a file part named `input`.
 */
export const CreateGeneration = Schema.Struct({
  capability: JobCapability,
  input: GenerationInput,
  options: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  /** Only this provider (and `model` on it); else the registry's route with its fallback. */
  provider: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  /** The whole generation's budget, in seconds. */
  timeout_seconds: Schema.optional(Schema.Number.pipe(Schema.positive()))
})
/** `POST /v1/generations`. */
export type CreateGeneration = typeof CreateGeneration.Type

/** A generation as the gateway shows it. Times are ISO 8601. */
export const GenerationView = Schema.Struct({
  id: Schema.String,
  object: Schema.Literal("generation"),
  capability: Schema.String,
  status: GenerationStatus,
  provider: Schema.NullOr(Schema.String),
  model: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String,
  finished_at: Schema.NullOr(Schema.String),
  result: Schema.NullOr(
    Schema.Struct({
      kind: Schema.String,
      mime_type: Schema.String,
      bytes: Schema.NullOr(Schema.Number),
      /** The transcript, for speech-to-text. */
      text: Schema.NullOr(Schema.String),
      /** Where to read the bytes: `/v1/generations/{id}/result`. */
      url: Schema.NullOr(Schema.String),
      cost_usd: Schema.NullOr(Schema.Number)
    })
  ),
  error: Schema.NullOr(Schema.Struct({ tag: Schema.String, message: Schema.String })),
  attempts: Schema.Array(Schema.Struct({ provider: Schema.String, model: Schema.String, error: Schema.Struct({ tag: Schema.String, message: Schema.String }) }))
})
/** A generation as the gateway shows it. */
export type GenerationView = typeof GenerationView.Type

const id = HttpApiSchema.param("id", Schema.String)
const eventStream = Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }))
const bytes = Schema.Uint8ArrayFromSelf.pipe(HttpApiSchema.withEncoding({ kind: "Uint8Array", contentType: "application/octet-stream" }))

/** Durable generations by id. */
export class GenerationsGroup extends HttpApiGroup.make("generations")
  .add(
    HttpApiEndpoint.post("create", "/v1/generations")
      .setPayload(CreateGeneration)
      .setHeaders(Schema.Struct({ "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(150))) }))
      .addSuccess(GenerationView, { status: 202 })
      .addError(Conflict)
      .addError(PayloadTooLarge)
      .annotate(
        OpenApi.Description,
        "Start a generation (JSON, or multipart with the media as the file part `input`). The same Idempotency-Key with the same request is the same generation: a retried POST never pays twice; with another request, 409."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/v1/generations")
      .setUrlParams(Schema.Struct({ status: Schema.optional(GenerationStatus), limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))) }))
      .addSuccess(Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(GenerationView) }))
      .annotate(OpenApi.Description, "This key's generations, newest first")
  )
  .add(HttpApiEndpoint.get("get")`/v1/generations/${id}`.addSuccess(GenerationView).addError(NotFound))
  .add(
    HttpApiEndpoint.get("events")`/v1/generations/${id}/events`
      .setHeaders(Schema.Struct({ "last-event-id": Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())) }))
      .addSuccess(eventStream)
      .addError(NotFound)
      .annotate(
        OpenApi.Description,
        "Server-sent events of the generation's progress (`id:` is the event's sequence number; reconnect with Last-Event-ID to resume), ending when it is finished"
      )
  )
  .add(
    HttpApiEndpoint.get("result")`/v1/generations/${id}/result`
      .addSuccess(bytes)
      .addError(NotFound)
      .addError(Conflict)
      .annotate(OpenApi.Description, "The result's bytes (a single Range is honoured: 206 with Content-Range); 409 while the generation is not done")
  )
  .add(
    HttpApiEndpoint.del("cancel")`/v1/generations/${id}`
      .addSuccess(GenerationView, { status: 202 })
      .addError(NotFound)
      .annotate(OpenApi.Description, "Cancel: recorded at once; the provider's job is cancelled once, by whichever gateway or worker claims it")
  )
  .addError(InvalidRequest)
  .middleware(Authorization) {}

/** OpenAI-compatible routes. */
export class OpenAiGroup extends HttpApiGroup.make("openai")
  .add(
    HttpApiEndpoint.post("chat", "/v1/chat/completions")
      .setPayload(Wire.ChatCompletionRequest)
      .addSuccess(Wire.ChatCompletion)
      .annotate(OpenApi.Description, "Chat, whole or (`stream: true`) as server-sent `chat.completion.chunk`s ending with `data: [DONE]`")
  )
  .add(HttpApiEndpoint.post("images", "/v1/images/generations").setPayload(Wire.ImageGenerationRequest).addSuccess(Wire.ImagesResponse))
  .add(
    HttpApiEndpoint.post("speech", "/v1/audio/speech")
      .setPayload(Wire.SpeechRequest)
      .addSuccess(Schema.Uint8ArrayFromSelf.pipe(HttpApiSchema.withEncoding({ kind: "Uint8Array", contentType: "audio/wav" })))
  )
  .add(
    HttpApiEndpoint.post("transcriptions", "/v1/audio/transcriptions")
      .setPayload(HttpApiSchema.Multipart(Schema.Struct({ ...Wire.TranscriptionFields.fields, file: Schema.Unknown })))
      .addSuccess(Wire.Transcription)
      .addError(PayloadTooLarge)
      .annotate(OpenApi.Description, "multipart/form-data: the audio as `file`, and `model` (`auto` for the registry's choice)")
  )
  .add(HttpApiEndpoint.get("models", "/v1/models").addSuccess(Wire.ModelList).annotate(OpenApi.Description, "The catalog: every model of every provider"))
  .addError(NotFound)
  .middleware(Authorization) {}

/** Signed completions from the queued providers. */
export class WebhooksGroup extends HttpApiGroup.make("webhooks")
  .add(HttpApiEndpoint.post("fal", "/webhooks/fal").addSuccess(Schema.Struct({ ok: Schema.Boolean })))
  .add(HttpApiEndpoint.post("replicate", "/webhooks/replicate").addSuccess(Schema.Struct({ ok: Schema.Boolean })))
  .addError(InvalidRequest)
  .addError(Unauthenticated)
  .addError(NotFound) {}

/** A provider as the dashboard shows it: what it is, and its health now. */
export const ProviderView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  type: Schema.Literal("local", "remote"),
  configured: Schema.Boolean,
  capabilities: Schema.Array(MediaCapability),
  health: Schema.Struct({
    status: HealthState,
    /** The circuit breaker's state; null for a provider without one. */
    circuit: Schema.NullOr(Schema.Literal("closed", "open", "half-open")),
    active_jobs: Schema.Number,
    queued_jobs: Schema.Number,
    last_error: Schema.NullOr(Schema.String)
  })
})
/** A provider as the dashboard shows it. */
export type ProviderView = typeof ProviderView.Type

/** A time in a query: ISO 8601, or epoch milliseconds; decoded to epoch milliseconds. */
export const TimeParam = Schema.transformOrFail(Schema.String, Schema.Number, {
  strict: true,
  decode: (text, _, ast) => {
    const at = /^\d+$/.test(text) ? Number(text) : Date.parse(text)
    return Number.isFinite(at) ? ParseResult.succeed(at) : ParseResult.fail(new ParseResult.Type(ast, text, "an ISO 8601 time or epoch milliseconds"))
  },
  encode: (at) => ParseResult.succeed(new Date(at).toISOString())
}).annotations({ description: "ISO 8601 or epoch milliseconds" })

/** What spend is grouped by. `day` is the UTC day; `key` is the spender (`key:<key id>`). */
export const CostGrouping = Schema.Literal("provider", "model", "key", "day", "capability")

/** `GET /v1/costs`: totals of the cost ledger, largest first. */
export const CostReport = Schema.Struct({
  object: Schema.Literal("costs"),
  by: CostGrouping,
  /** `key`: the caller's own spending; `all`: everyone's (a gateway without keys). */
  scope: Schema.Literal("key", "all"),
  since: Schema.NullOr(Schema.String),
  until: Schema.NullOr(Schema.String),
  /** The sum of the known costs. */
  total_usd: Schema.Number,
  calls: Schema.Number,
  /** Calls whose cost is unknown (not in `total_usd`). */
  unknown_calls: Schema.Number,
  data: Schema.Array(Schema.Struct({ key: Schema.String, cost_usd: Schema.Number, calls: Schema.Number, unknown_calls: Schema.Number }))
})
/** `GET /v1/costs`. */
export type CostReport = typeof CostReport.Type

/** One ledger entry as the gateway shows it. */
export const CostEntryView = Schema.Struct({
  id: Schema.String,
  at: Schema.String,
  provider: Schema.String,
  model: Schema.String,
  capability: Schema.String,
  cost_usd: Schema.NullOr(Schema.Number),
  cost_source: Schema.Literal("provider", "catalog", "unknown"),
  status: Schema.Literal("succeeded", "failed", "cancelled"),
  who: Schema.String,
  generation_id: Schema.NullOr(Schema.String),
  job_id: Schema.NullOr(Schema.String)
})
/** One ledger entry as the gateway shows it. */
export type CostEntryView = typeof CostEntryView.Type

const html = Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/html" }))
const costRange = { since: Schema.optional(TimeParam), until: Schema.optional(TimeParam) }

/**
 * The dashboard: its data (authenticated; spend is the caller's own unless the gateway runs
 * without keys) and its page (open: the page holds no data, and asks for a key).
 */
export class DashboardGroup extends HttpApiGroup.make("dashboard")
  .add(
    HttpApiEndpoint.get("providers", "/v1/providers")
      .addSuccess(Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(ProviderView) }))
      .annotate(OpenApi.Description, "Every provider of the registry: capabilities, whether it is configured, its health and circuit breaker")
  )
  .add(
    HttpApiEndpoint.get("costs", "/v1/costs")
      .setUrlParams(Schema.Struct({ by: Schema.optional(CostGrouping), ...costRange }))
      .addSuccess(CostReport)
      .annotate(
        OpenApi.Description,
        "Spend from the cost ledger grouped `by` provider (default), model, key, day or capability, `since` (inclusive) `until` (exclusive): the caller's own spending; everyone's when the gateway runs without keys"
      )
  )
  .add(
    HttpApiEndpoint.get("costEntries", "/v1/costs/entries")
      .setUrlParams(
        Schema.Struct({
          limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))),
          status: Schema.optional(Schema.Literal("succeeded", "failed", "cancelled")),
          ...costRange
        })
      )
      .addSuccess(Schema.Struct({ object: Schema.Literal("list"), data: Schema.Array(CostEntryView) }))
      .annotate(OpenApi.Description, "Ledger entries, newest first (default 50), optionally of one status (`failed`: recent failures); scoped as `/v1/costs`")
  )
  // Only the endpoints above: the page below is served without a key.
  .middlewareEndpoints(Authorization)
  .add(HttpApiEndpoint.get("page", "/").addSuccess(html).annotate(OpenApi.Description, "The dashboard (HTML; it asks for a key and sends it with its data calls)"))
  .add(HttpApiEndpoint.get("pageAlias", "/dashboard").addSuccess(html).annotate(OpenApi.Description, "The dashboard, as `/`")) {}

/** What `/health` says. */
export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  version: Schema.String,
  uptime_seconds: Schema.Number,
  database: Schema.Literal("sqlite", "postgres"),
  providers: Schema.Array(Schema.Struct({ id: Schema.String, configured: Schema.Boolean, available: Schema.Boolean }))
})

/** Operators' routes. */
export class OperatorsGroup extends HttpApiGroup.make("operators")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health))
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4" })))
      .middleware(Authorization)
      .annotate(OpenApi.Description, "Prometheus text: requests, failures, latency, generations in flight")
  ) {}

/** The whole gateway API. */
export class GatewayApi extends HttpApi.make("automarket")
  .add(GenerationsGroup)
  .add(OpenAiGroup)
  .add(WebhooksGroup)
  .add(OperatorsGroup)
  .add(DashboardGroup)
  .addError(InvalidRequest)
  .addError(Unauthenticated)
  .addError(SpendLimitReached)
  .addError(NotFound)
  .addError(Conflict)
  .addError(PayloadTooLarge)
  .addError(RateLimitExceeded)
  .addError(UpstreamFailed)
  .addError(Unavailable)
  .addError(UpstreamTimeout)
  .annotate(OpenApi.Title, "automarket gateway")
  .annotate(
    OpenApi.Description,
    "Every AI media provider behind one API: durable generations, OpenAI-compatible routes with fallback across providers, signed webhooks, keys and spend limits."
  ) {}
