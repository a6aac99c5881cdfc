/**
 * The fal.ai client: the queue protocol's wire shapes and calls, and the model listing.
 *
 * Queue (`https://queue.fal.run`, `Authorization: Key ...`):
 * - `POST {base}/{model}` with the model's input -> `{request_id, status_url, response_url, cancel_url}`;
 *   query `fal_webhook=<url>`: fal POSTs `{request_id, gateway_request_id, status: OK | ERROR,
 *   payload, error}` to the URL when the job is done, signed (see gateway/Webhooks.ts);
 *   header `X-Fal-Request-Timeout: N` (seconds, fal's "start timeout"): a job no runner has begun
 *   within N seconds of the submit (queue wait, runner acquisition and fal's own retries) is
 *   ended by fal with a 504 (`error_type: request_timeout`, `X-Fal-Request-Timeout-Type: user`);
 *   a job that has started runs to its end whatever the header said.
 * - `GET status_url?logs=1` -> `{status: IN_QUEUE | IN_PROGRESS | COMPLETED, queue_position, logs, error}`
 * - `GET response_url` -> the model's output (`images[].url`, `video.url`, `audio_file.url` ...)
 * - `PUT cancel_url` -> `{status: CANCELLATION_REQUESTED | ALREADY_COMPLETED | NOT_FOUND}`
 *
 * The URLs the submit returns are followed as given (fal drops the model's subpath from them:
 * `/fal-ai/bytedance/requests/{id}/status` for `fal-ai/bytedance/seedream/v4/text-to-image`);
 * only when an answer lacks one is it built from the model id. A URL on another origin than the
 * base URL (the base is a proxy or an emulator) is moved onto the base URL.
 *
 * Models (`GET https://api.fal.ai/v1/models`, paginated by `cursor`): `{models: [{endpoint_id,
 * metadata: {display_name, category, description, status}}], next_cursor, has_more}`.
 *
 * Input schemas (`GET https://fal.ai/api/openapi/queue/openapi.json?endpoint_id={model}`, public, no
 * key sent): the endpoint's queue OpenAPI document; the input is the `application/json` request
 * body of `POST /{model}` (a `$ref` into `components.schemas`). For a queue that is not fal's own,
 * the document is asked of that queue's origin at the same path.
 * Storage (`https://rest.fal.ai`, the same key), for inputs too large to inline:
 * `POST {storage}/storage/upload/initiate?storage_type=fal-cdn-v3` with `{content_type, file_name}`
 * -> `{upload_url, file_url}`; then `PUT upload_url` with the bytes and their `Content-Type`, and
 * no key: the upload URL is pre-signed, on the storage's own host. `file_url` is what a model's
 * input names.
 *
 * The queue and the listing are two HTTP clients over one key ring: a key fal refused (or found
 * out of quota) on one is not tried again on the other.
 *
 * @module
 */
import * as HttpBody from "@effect/platform/HttpBody"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { JobCapability } from "../../domain/Capability.js"
import { MalformedResponse, type MediaError, ProviderUnavailable } from "../../domain/Errors.js"
import * as Http from "../../http/Http.js"
import type { JobStatus } from "../../jobs/JobStatus.js"
import { pollRetryPolicy } from "../../jobs/Settings.js"
import { JobTicket } from "../../jobs/Ticket.js"
import * as Uploads from "../../jobs/Uploads.js"
import type { InputSchemaDocument } from "../../provider/ModelSchemas.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import * as FalAiConfig from "./FalAiConfig.js"

/** What a submit answers. */
export const SubmitAnswer = Schema.Struct({
  request_id: Schema.String,
  status_url: Schema.optional(Schema.NullOr(Schema.String)),
  response_url: Schema.optional(Schema.NullOr(Schema.String)),
  cancel_url: Schema.optional(Schema.NullOr(Schema.String))
})
/** What a submit answers. */
export type SubmitAnswer = typeof SubmitAnswer.Type

/**
 * A status answer. `logs` is an array of `{message, level, timestamp}` in practice (fal-js), but
 * the per-model specs type it as an object, so it is read leniently. Failed jobs carry `error`
 * (and `error_type`), with status `FAILED` or `COMPLETED`.
 */
export const QueueStatus = Schema.Struct({
  status: Schema.String,
  request_id: Schema.optional(Schema.String),
  queue_position: Schema.optional(Schema.NullOr(Schema.Number)),
  logs: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.NullOr(Schema.Unknown)),
  error_type: Schema.optional(Schema.NullOr(Schema.String))
})
/** A status answer. */
export type QueueStatus = typeof QueueStatus.Type

/** One listed model. */
export const ListedModel = Schema.Struct({
  endpoint_id: Schema.String,
  metadata: Schema.optional(
    Schema.NullOr(
      Schema.Struct({
        display_name: Schema.optional(Schema.NullOr(Schema.String)),
        category: Schema.optional(Schema.NullOr(Schema.String)),
        description: Schema.optional(Schema.NullOr(Schema.String)),
        status: Schema.optional(Schema.NullOr(Schema.String))
      })
    )
  )
})
/** One listed model. */
export type ListedModel = typeof ListedModel.Type

/** A page of the model listing. */
export const ModelPage = Schema.Struct({
  models: Schema.Array(ListedModel),
  next_cursor: Schema.optional(Schema.NullOr(Schema.String)),
  has_more: Schema.optional(Schema.Boolean)
})

/** What an upload's initiation answers: where to PUT the bytes, and the URL the file is then read at. */
export const InitiatedUpload = Schema.Struct({
  upload_url: Schema.String,
  file_url: Schema.String
})

/** The log lines of a status answer (`logs[].message`), whatever shape `logs` has. */
export const logsOf = (logs: unknown): ReadonlyArray<string> =>
  Array.isArray(logs)
    ? logs.flatMap((entry) =>
        typeof entry === "string"
          ? [entry]
          : Predicate.isRecord(entry) && typeof entry.message === "string"
            ? [entry.message]
            : []
      )
    : []

/** The provider's error text of a status answer, when it reports one. */
export const errorOf = (status: QueueStatus): string | undefined => {
  const error = status.error
  if (error === undefined || error === null || error === "") return status.status === "FAILED" ? (status.error_type ?? "the job failed") : undefined
  if (typeof error === "string") return error
  if (Predicate.isRecord(error) && typeof error.message === "string") return error.message
  return JSON.stringify(error)
}

/** A status answer as the job loop's `JobStatus`. */
export const toJobStatus = (status: QueueStatus): JobStatus => {
  const failure = errorOf(status)
  if (failure !== undefined) return { _tag: "Failed", message: failure }
  switch (status.status) {
    case "IN_QUEUE":
      return { _tag: "Queued", position: status.queue_position ?? undefined }
    case "COMPLETED":
      return { _tag: "Completed", logs: logsOf(status.logs) }
    case "CANCELLED":
    case "CANCELED":
      return { _tag: "Cancelled" }
    default:
      // IN_PROGRESS, and any state fal adds later, is treated as running.
      return { _tag: "Running", logs: logsOf(status.logs) }
  }
}

const parseUrl = (value: string | null | undefined): URL | undefined => {
  if (typeof value !== "string" || !/^https?:\/\//i.test(value)) return undefined
  try {
    return new URL(value)
  } catch {
    return undefined
  }
}

/**
 * A URL fal returned, kept when it is on the base URL's origin; moved onto the base URL when it is
 * on another (a proxy or emulator stands in: keys go only to the base origin); undefined when it
 * is no URL at all.
 */
export const onBase = (base: string, value: string | null | undefined): string | undefined => {
  const url = parseUrl(value)
  const root = parseUrl(base)
  if (url === undefined || root === undefined) return undefined
  if (url.origin === root.origin) return url.toString()
  return `${base.replace(/\/+$/, "")}${url.pathname}${url.search}`
}

/** The ticket of a submit: the URLs fal returned (see `onBase`), or built from the model id when absent. */
export const ticketOf = (
  base: string,
  model: string,
  capability: JobCapability,
  answer: SubmitAnswer,
  submittedAt: Date,
  key?: string | undefined
): JobTicket => {
  const root = `${base.replace(/\/+$/, "")}/${model}/requests/${encodeURIComponent(answer.request_id)}`
  return new JobTicket({
    provider: FalAiConfig.settings.id,
    model,
    capability,
    requestId: answer.request_id,
    statusUrl: onBase(base, answer.status_url) ?? `${root}/status`,
    resultUrl: onBase(base, answer.response_url) ?? root,
    cancelUrl: onBase(base, answer.cancel_url) ?? `${root}/cancel`,
    submittedAt,
    ...(key !== undefined ? { key } : {})
  })
}

/** Where fal serves an endpoint's queue OpenAPI document (`?endpoint_id=`). */
export const publicSchemaUrl = "https://fal.ai/api/openapi/queue/openapi.json"

/** The OpenAPI document route of a queue: fal's own for fal's public queue, else the same path on the queue's origin. */
export const schemaUrlOf = (queueUrl: string): string => {
  const base = queueUrl.replace(/\/+$/, "")
  return base === FalAiConfig.publicQueueUrl ? publicSchemaUrl : `${base}/api/openapi/queue/openapi.json`
}

/**
 * The input schema of `model` in its queue OpenAPI document: the JSON request body of
 * `POST /{model}`, with the document as the root of its `$ref`s. Undefined when the document
 * has none.
 */
export const inputSchemaOf = (document: unknown, model: string): InputSchemaDocument | undefined => {
  const at = (value: unknown, ...keys: ReadonlyArray<string>): unknown =>
    keys.reduce<unknown>((node, key) => (Predicate.isRecord(node) ? node[key] : undefined), value)
  const paths = at(document, "paths")
  if (!Predicate.isRecord(paths)) return undefined
  // The route is `/{model}`; any POST with a JSON body stands in when the ids are spelt apart.
  const route = paths[`/${model}`] ?? Object.values(paths).find((item) => at(item, "post", "requestBody") !== undefined)
  const schema = at(route, "post", "requestBody", "content", "application/json", "schema")
  return Predicate.isRecord(schema) ? { schema, root: document } : undefined
}

/** The query parameter of a submit naming the URL fal calls when the job is done. */
export const webhookParam = "fal_webhook"

/** The header that tells fal how many seconds a job may wait to be started (see the module's comment). */
export const requestTimeoutHeader = "x-fal-request-timeout"

/** The fal.ai calls, and what the provider needs to know of the configuration behind them. */
export interface FalAiClientService {
  /** The queue's base URL (tickets are built on it), and whether a key is configured. */
  readonly remote: ProviderConfig.RemoteSpec
  /**
   * Queue a job (never repeated by a retry, see jobs/Run.ts), ended by fal when no runner has
   * started it `startWithinSeconds` after the submit (`X-Fal-Request-Timeout`; none when undefined),
   * with fal calling `webhook` when it is done (`fal_webhook`; none when undefined). `onKey` is
   * told the fingerprint of the pool's key that submitted it (for the ticket).
   */
  readonly submit: (
    model: string,
    input: Readonly<Record<string, unknown>>,
    startWithinSeconds?: number | undefined,
    webhook?: string | undefined,
    onKey?: (fingerprint: string) => void
  ) => Effect.Effect<SubmitAnswer, MediaError>
  /** One status poll (with logs), retried on 429/5xx/transport failures. */
  readonly status: (ticket: JobTicket) => Effect.Effect<QueueStatus, MediaError>
  /** The finished job's output. */
  readonly result: (ticket: JobTicket) => Effect.Effect<unknown, MediaError>
  /** Ask fal to cancel the job. */
  readonly cancel: (ticket: JobTicket) => Effect.Effect<void, MediaError>
  /** The model's input schema (see the module comment); `None` when fal publishes none for it. */
  readonly inputSchema: (model: string) => Effect.Effect<Option.Option<InputSchemaDocument>, MediaError>
  /** Every listed model (up to `maxPages` pages of 100). */
  readonly listModels: (maxPages?: number) => Effect.Effect<ReadonlyArray<ListedModel>, MediaError>
  /** Host an input on fal's storage (initiate, then a streamed PUT): the URL a model reads it at. Not cached (see Uploads.make). */
  readonly upload: Uploads.UploadFile
}

/** The fal.ai client. */
export class FalAiClient extends Context.Tag("automarket/FalAiClient")<FalAiClient, FalAiClientService>() {}

/** The client over `HttpClient` with `config`: the queue and the model listing share one key ring. */
export const make = (config: FalAiConfig.FalAiConfig): Effect.Effect<FalAiClientService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { http: queue, keys, remote } = yield* ProviderConfig.makeHttp(FalAiConfig.settings, config)
    const { http: platform } = yield* ProviderConfig.makeHttp(FalAiConfig.settings, { ...config, baseUrl: config.platformUrl }, keys)
    const storageUrl = config.storageUrl ?? FalAiConfig.defaultStorageUrl(config.baseUrl)
    const { http: storage } = yield* ProviderConfig.makeHttp(FalAiConfig.settings, { ...config, baseUrl: storageUrl }, keys)
    // The PUT goes to a pre-signed URL: a client with no key at all, whatever host it names.
    const bucket = yield* Http.make({ provider: FalAiConfig.settings.id, baseUrl: storageUrl, timeout: uploadTimeout, retry: { retries: config.retries } })

    const upload: Uploads.UploadFile = (file) =>
      Effect.gen(function* () {
        const target = yield* storage.json({
          method: "POST",
          path: "/storage/upload/initiate",
          query: { storage_type: "fal-cdn-v3" },
          json: { content_type: file.contentType, file_name: file.filename },
          schema: InitiatedUpload
        })
        if (!/^https?:\/\//i.test(target.upload_url)) {
          return yield* Effect.fail(new MalformedResponse({ provider: FalAiConfig.settings.id, detail: "the upload's initiation named no http(s) upload URL" }))
        }
        const stored = yield* bucket.send({
          method: "PUT",
          path: target.upload_url,
          body: HttpBody.stream(Uploads.contentOf(file), file.contentType, file.size),
          // No key went there: a 401/403 is the pre-signed URL refused (expired), not the account's key.
          refine: (error) =>
            error._tag === "InvalidApiKey" ? new ProviderUnavailable({ provider: error.provider, detail: `fal's storage refused the upload: ${error.detail}` }) : error
        })
        // The answer says nothing we need (often empty); read to its end so that the connection is reused.
        yield* Effect.ignore(stored.text)
        return target.file_url
      })

    const listModels = (maxPages = 20): Effect.Effect<ReadonlyArray<ListedModel>, MediaError> =>
      Effect.gen(function* () {
        const all: Array<ListedModel> = []
        let cursor: string | undefined
        for (let page = 0; page < maxPages; page++) {
          const answer = yield* platform.json({
            path: "/models",
            query: { limit: "100", status: "active", ...(cursor !== undefined ? { cursor } : {}) },
            schema: ModelPage
          })
          all.push(...answer.models)
          cursor = answer.next_cursor ?? undefined
          if (cursor === undefined || answer.has_more === false) break
        }
        return all
      })

    // Public documents: no key goes with them, and they are small.
    const schemaUrl = schemaUrlOf(config.baseUrl)
    // A slow document delays a submit: it gets 10 seconds at most, then the input goes unchecked.
    const documents = yield* Http.make({ provider: FalAiConfig.settings.id, baseUrl: schemaUrl, timeout: "10 seconds", retry: { retries: 1 } })
    const inputSchema = (model: string): Effect.Effect<Option.Option<InputSchemaDocument>, MediaError> =>
      documents.json({ path: schemaUrl, query: { endpoint_id: model }, model, schema: Schema.Unknown }).pipe(
        Effect.map((document) => Option.fromNullable(inputSchemaOf(document, model))),
        Effect.catchTag("ModelNotFound", () => Effect.succeed(Option.none()))
      )

    return FalAiClient.of({
      remote,
      inputSchema,
      submit: (model, input, startWithinSeconds, webhook, onKey) =>
        queue.json({
          ...(onKey !== undefined ? { onKey } : {}),
          method: "POST",
          path: `/${model}`,
          json: input,
          ...(webhook !== undefined ? { query: { [webhookParam]: webhook } } : {}),
          ...(startWithinSeconds !== undefined ? { headers: { [requestTimeoutHeader]: String(Math.max(1, Math.ceil(startWithinSeconds))) } } : {}),
          model,
          schema: SubmitAnswer,
          retry: false
        }),
      status: (ticket) =>
        queue.json({ path: ticket.statusUrl, query: { logs: "1" }, key: ticket.key, model: ticket.model, schema: QueueStatus, retry: pollRetryPolicy }),
      result: (ticket) =>
        queue.json({ path: ticket.resultUrl, key: ticket.key, model: ticket.model, schema: Schema.Unknown, retry: pollRetryPolicy, timeout: "2 minutes" }),
      cancel: (ticket) =>
        Effect.asVoid(queue.json({ method: "PUT", path: ticket.cancelUrl, key: ticket.key, model: ticket.model, schema: Schema.Unknown, retry: { retries: 2 } })),
      listModels,
      upload
    })
  })

/** The longest a PUT of an input's bytes may take (a large video over a slow uplink). */
export const uploadTimeout = "10 minutes"

/** The client with `config` as a layer. */
export const layer = (config: FalAiConfig.FalAiConfig): Layer.Layer<FalAiClient, never, HttpClient.HttpClient> => Layer.effect(FalAiClient, make(config))

/** The client as a layer, configured by `config` (default: from the environment, see FalAiConfig). */
export const layerConfig = (
  config: Config.Config<FalAiConfig.FalAiConfig> = FalAiConfig.fromEnv()
): Layer.Layer<FalAiClient, ConfigError.ConfigError, HttpClient.HttpClient> => Layer.effect(FalAiClient, Effect.flatMap(config, make))
