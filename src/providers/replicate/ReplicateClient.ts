/**
 * The Replicate client: predictions and discovery, wire shapes in one place.
 *
 * - `POST /models/{owner}/{name}/predictions` (official models) or `POST /predictions` with
 *   `version` (any model version), body `{input}`, header `Prefer: wait=N` (1..60 s): the answer
 *   holds the prediction, finished when it finished within the wait, else `starting`/`processing`
 *   with `urls.get` to poll (a wait that ran out is not a failure). Header `Cancel-After: Ns`
 *   (at least 5 s, measured from creation): Replicate stops the prediction then, `aborted` when it
 *   had not started, `canceled` when it was running. Body `webhook` (a URL) with
 *   `webhook_events_filter: ["completed"]`: Replicate POSTs the prediction there once it is final,
 *   signed (Standard Webhooks, see gateway/Webhooks.ts).
 * - `GET urls.get` -> the prediction: `status` starting | processing | succeeded | failed |
 *   canceled | aborted, `logs` (text), `output`, `error`.
 * - `POST urls.cancel` -> the prediction, canceled.
 * - `GET /predictions?created_after=...` -> `{results, next}`: the account's predictions, most
 *   recent first, 100 a page, each with its `model`, `version`, `input` and `created_at`.
 * - Input schemas: `GET /models/{owner}/{name}` -> `latest_version.openapi_schema` (the version's
 *   Cog OpenAPI document), `GET /models/{owner}/{name}/versions/{id}` -> `openapi_schema`; the
 *   input is its `components.schemas.Input`. A bare version id names no model: no schema is asked.
 * - `POST /files` (multipart: `content`, the bytes with their file name and type; `filename`,
 *   `type`) -> 201 `{id, urls: {get}, content_type, size, checksums, ...}`: an input too large to
 *   inline, hosted for the account; a prediction's input names it by `urls.get` (Replicate reads
 *   it with the account's token).
 * - Discovery: `GET /collections/{slug}` -> `{name, slug, models: [{owner, name, description,
 *   is_official, latest_version: {id ...} ...}]}`, `GET /models` -> `{results, next}`. Only an
 *   official model runs by name; the spec: "For all other models, the specific version is required".
 *
 * @module
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { JobCapability } from "../../domain/Capability.js"
import type { MediaError } from "../../domain/Errors.js"
import { multipartForm } from "../../http/Multipart.js"
import { type JobStatus, logLines, percentFromLogs } from "../../jobs/JobStatus.js"
import * as Uploads from "../../jobs/Uploads.js"
import { pollRetryPolicy } from "../../jobs/Settings.js"
import { JobTicket } from "../../jobs/Ticket.js"
import type { InputSchemaDocument } from "../../provider/ModelSchemas.js"
import * as ProviderConfig from "../../provider/ProviderConfig.js"
import * as ReplicateConfig from "./ReplicateConfig.js"

/** A prediction, as far as we read it. */
export const Prediction = Schema.Struct({
  id: Schema.String,
  model: Schema.optional(Schema.String),
  /** The version id, or `hidden` for an official model. */
  version: Schema.optional(Schema.NullOr(Schema.String)),
  input: Schema.optional(Schema.NullOr(Schema.Unknown)),
  /** ISO 8601, by Replicate's clock. */
  created_at: Schema.optional(Schema.NullOr(Schema.String)),
  status: Schema.String,
  output: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.NullOr(Schema.Unknown)),
  logs: Schema.optional(Schema.NullOr(Schema.String)),
  urls: Schema.optional(
    Schema.Struct({
      get: Schema.optional(Schema.String),
      cancel: Schema.optional(Schema.String),
      stream: Schema.optional(Schema.String),
      web: Schema.optional(Schema.String)
    })
  ),
  metrics: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })))
})
/** A prediction. */
export type Prediction = typeof Prediction.Type

/** A file `POST /files` created, as far as we read it. */
export const CreatedFile = Schema.Struct({
  id: Schema.String,
  urls: Schema.Struct({ get: Schema.String }),
  size: Schema.optional(Schema.Number),
  content_type: Schema.optional(Schema.String)
})
/** A file `POST /files` created. */
export type CreatedFile = typeof CreatedFile.Type

/** A page of `GET /predictions`: most recent first; `next` is the URL of the following page. */
export const PredictionPage = Schema.Struct({
  results: Schema.Array(Prediction),
  next: Schema.optional(Schema.NullOr(Schema.String))
})
/** A page of `GET /predictions`. */
export type PredictionPage = typeof PredictionPage.Type

/** A model as listed. */
export const ListedModel = Schema.Struct({
  owner: Schema.String,
  name: Schema.String,
  description: Schema.optional(Schema.NullOr(Schema.String)),
  run_count: Schema.optional(Schema.Number),
  visibility: Schema.optional(Schema.String),
  /** Whether it runs by name; any other model runs by a version only. */
  is_official: Schema.optional(Schema.Boolean),
  /** Its latest version, as far as we read it; null when it has none (the spec declares no fields of it: `id` may be missing). */
  latest_version: Schema.optional(Schema.NullOr(Schema.Struct({ id: Schema.optional(Schema.String) })))
})
/** A model as listed. */
export type ListedModel = typeof ListedModel.Type

/** A collection. */
export const Collection = Schema.Struct({
  name: Schema.String,
  slug: Schema.String,
  description: Schema.optional(Schema.NullOr(Schema.String)),
  models: Schema.Array(ListedModel)
})
/** A collection. */
export type Collection = typeof Collection.Type

/** A page of `GET /models`. */
export const ModelPage = Schema.Struct({
  results: Schema.Array(ListedModel),
  next: Schema.optional(Schema.NullOr(Schema.String))
})

/** Whether a prediction's status is final. */
export const isFinal = (status: string): boolean => status === "succeeded" || status === "failed" || status === "canceled" || status === "aborted"

/** A prediction as the job loop's `JobStatus`; percent from tqdm-style logs. */
export const toJobStatus = (prediction: Prediction): JobStatus => {
  const logs = logLines(prediction.logs)
  switch (prediction.status) {
    case "starting":
      return { _tag: "Queued" }
    case "succeeded":
      return { _tag: "Completed", logs }
    case "failed":
      return { _tag: "Failed", message: errorText(prediction.error) ?? "the prediction failed" }
    case "canceled":
    case "aborted":
      return { _tag: "Cancelled", message: errorText(prediction.error) }
    default:
      return { _tag: "Running", logs, percent: percentFromLogs(logs) }
  }
}

const errorText = (error: unknown): string | undefined =>
  error === undefined || error === null || error === "" ? undefined : typeof error === "string" ? error : JSON.stringify(error)

/** How a model reference is submitted: an official model by name, or a version. */
export type ModelRef =
  | { readonly _tag: "Model"; readonly owner: string; readonly name: string }
  | { readonly _tag: "Version"; readonly version: string }

/** Read `owner/name`, `owner/name:version` or a bare 64-hex version id. Undefined when none of those. */
export const parseModelRef = (model: string): ModelRef | undefined => {
  const versioned = /^([\w.-]+)\/([\w.-]+):([0-9a-f]{8,})$/i.exec(model)
  if (versioned !== null) return { _tag: "Version", version: versioned[3]! }
  if (/^[0-9a-f]{64}$/i.test(model)) return { _tag: "Version", version: model }
  const named = /^([\w.-]+)\/([\w.-]+)$/.exec(model)
  if (named !== null) return { _tag: "Model", owner: named[1]!, name: named[2]! }
  return undefined
}

/** A model version as `GET /models/{owner}/{name}/versions/{id}` answers it (and `latest_version` of a model). */
export const ModelVersion = Schema.Struct({
  id: Schema.optional(Schema.String),
  openapi_schema: Schema.optional(Schema.NullOr(Schema.Unknown))
})

/** A model as `GET /models/{owner}/{name}` answers it, as far as the schema goes. */
export const ModelDetail = Schema.Struct({
  owner: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  latest_version: Schema.optional(Schema.NullOr(ModelVersion))
})

/** Where a model's input schema is read: the model (its latest version) or one version of it. Undefined for a bare version id. */
export const schemaPathOf = (model: string): string | undefined => {
  const match = /^([\w.-]+)\/([\w.-]+)(?::([0-9a-f]{8,}))?$/i.exec(model)
  if (match === null) return undefined
  const [, owner, name, version] = match
  return version === undefined ? `/models/${owner}/${name}` : `/models/${owner}/${name}/versions/${version}`
}

/** The input schema (`components.schemas.Input`) of a version's OpenAPI document, with the document as its `$ref` root. */
export const inputSchemaOf = (document: unknown): InputSchemaDocument | undefined => {
  const components = Predicate.isRecord(document) ? document.components : undefined
  const schemas = Predicate.isRecord(components) ? components.schemas : undefined
  const input = Predicate.isRecord(schemas) ? schemas.Input : undefined
  return Predicate.isRecord(input) ? { schema: input, root: document } : undefined
}

/** Replicate's smallest `Cancel-After`: 5 seconds. */
export const minCancelAfterSeconds = 5

/** The `Cancel-After` value for `seconds` left: whole seconds, at least Replicate's minimum (`90s`). */
export const cancelAfter = (seconds: number): string => `${Math.max(minCancelAfterSeconds, Math.ceil(seconds))}s`

/**
 * A JSON value as text with every object's keys sorted (and `undefined` members left out, as
 * `JSON.stringify` does): two inputs that would be sent as the same JSON read the same.
 */
export const canonicalJson = (value: unknown): string => JSON.stringify(sortKeys(value)) ?? "null"

const sortKeys = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== "object") return value
  const sorted: Record<string, unknown> = {}
  for (const [key, member] of Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) sorted[key] = sortKeys(member)
  return sorted
}

/** What `scanPredictions` looks for: a prediction of `ref` with this input, created at or after `since`. */
export interface PredictionSearch {
  readonly ref: ModelRef
  /** The input as `canonicalJson`. */
  readonly input: string
  /** Epoch milliseconds. */
  readonly since: number
}

/**
 * How much older than `since` a listed prediction may be before the listing is read no further:
 * `created_at` is Replicate's clock and `since` ours, and a listing is ordered by the former.
 */
export const clockSkewMillis = 60_000

/** What one page of the listing says about a search: the prediction found, and whether the pages after it can hold no match. */
export interface PageScan {
  readonly found: Prediction | undefined
  /** A prediction on the page was created more than `clockSkewMillis` before `since`: later pages are older still. */
  readonly exhausted: boolean
}

const createdAtOf = (prediction: Prediction): number | undefined => {
  const at = typeof prediction.created_at === "string" ? Date.parse(prediction.created_at) : Number.NaN
  return Number.isFinite(at) ? at : undefined
}

/** Whether `prediction` is one of `ref`: the same official model, or the same version. */
export const isOfModel = (prediction: Prediction, ref: ModelRef): boolean =>
  ref._tag === "Model" ? prediction.model === `${ref.owner}/${ref.name}` : prediction.version === ref.version

/**
 * Scan one page of `GET /predictions` (most recent first) for `search`: the first prediction of
 * the model whose input reads the same (`canonicalJson`) and whose `created_at` is at or after
 * `since`. A prediction without a readable `created_at` never matches and never ends the scan.
 */
export const scanPredictions = (page: ReadonlyArray<Prediction>, search: PredictionSearch): PageScan => {
  let exhausted = false
  for (const prediction of page) {
    const at = createdAtOf(prediction)
    if (at === undefined) continue
    if (at < search.since - clockSkewMillis) exhausted = true
    if (at >= search.since && isOfModel(prediction, search.ref) && canonicalJson(prediction.input) === search.input) {
      return { found: prediction, exhausted }
    }
  }
  return { found: undefined, exhausted }
}

/**
 * The path of the listing's next page: `next` as given when it is on the base URL's origin, else
 * its query (the cursor) on the base URL's `/predictions` (a proxy or emulator stands in: keys go
 * only to the base origin); undefined when there is none.
 */
export const nextPagePath = (base: string, next: string | null | undefined): string | undefined => {
  if (next === undefined || next === null || next === "") return undefined
  try {
    const url = new URL(next)
    return sameOrigin(url.toString(), base) ? url.toString() : `${base.replace(/\/+$/, "")}/predictions${url.search}`
  } catch {
    return undefined
  }
}

/** The time a prediction was created, as a date (`fallback` when it does not say). */
export const createdAt = (prediction: Prediction, fallback: Date): Date => {
  const at = createdAtOf(prediction)
  return at === undefined ? fallback : new Date(at)
}

const sameOrigin = (a: string, b: string): boolean => {
  try {
    return new URL(a).origin === new URL(b).origin
  } catch {
    return false
  }
}

/**
 * The ticket of a created prediction: its `urls.get`/`urls.cancel` when they are on the base
 * URL's origin, else built from the id on the base URL (a proxy or emulator stands in; keys go
 * only to the base origin).
 */
export const ticketOf = (
  base: string,
  model: string,
  capability: JobCapability,
  prediction: Prediction,
  submittedAt: Date,
  key?: string | undefined
): JobTicket => {
  const root = `${base.replace(/\/+$/, "")}/predictions/${encodeURIComponent(prediction.id)}`
  const given = prediction.urls
  const get = given?.get !== undefined && sameOrigin(given.get, base) ? given.get : root
  const cancel = given?.cancel !== undefined && sameOrigin(given.cancel, base) ? given.cancel : `${root}/cancel`
  return new JobTicket({
    provider: ReplicateConfig.settings.id,
    model,
    capability,
    requestId: prediction.id,
    statusUrl: get,
    resultUrl: get,
    cancelUrl: cancel,
    submittedAt,
    ...(key !== undefined ? { key } : {})
  })
}

/** The Replicate calls, and what the provider needs to know of the configuration behind them. */
export interface ReplicateClientService {
  /** The API's base URL (tickets are built on it), and whether a token is configured. */
  readonly remote: ProviderConfig.RemoteSpec
  /**
   * Create a prediction, waiting up to `waitSeconds` (1..60) for it to finish (`Prefer: wait`;
   * no wait when undefined), stopped by Replicate `cancelAfterSeconds` after its creation
   * (`Cancel-After`, at least 5 s; none when undefined), Replicate calling `webhook` once it is
   * final (none when undefined). Never repeated by a retry (see jobs/Run.ts). `onKey` is told
   * the fingerprint of the pool's key that created it (for the ticket).
   */
  readonly create: (
    ref: ModelRef,
    input: Readonly<Record<string, unknown>>,
    waitSeconds: number | undefined,
    model: string,
    cancelAfterSeconds?: number | undefined,
    webhook?: string | undefined,
    onKey?: (fingerprint: string) => void
  ) => Effect.Effect<Prediction, MediaError>
  /**
   * One page of the account's predictions, most recent first: the first (created at or after
   * `createdAfter`) when `next` is undefined, else the page `next` names (a `PredictionPage.next`).
   */
  readonly listPredictions: (createdAfter: Date, next?: string | undefined) => Effect.Effect<PredictionPage, MediaError>
  /** One status poll, retried on 429/5xx/transport failures. */
  readonly get: (ticket: JobTicket) => Effect.Effect<Prediction, MediaError>
  /** Cancel a prediction. */
  readonly cancel: (ticket: JobTicket) => Effect.Effect<void, MediaError>
  /** The model's input schema (see the module comment); `None` when it has none or names no model. */
  readonly inputSchema: (model: string) => Effect.Effect<Option.Option<InputSchemaDocument>, MediaError>
  /** A collection's models. */
  readonly collection: (slug: string) => Effect.Effect<Collection, MediaError>
  /** The first `maxPages` pages of public models. */
  readonly listModels: (maxPages?: number) => Effect.Effect<ReadonlyArray<ListedModel>, MediaError>
  /** Host an input with the files API (a streamed multipart `POST /files`): its `urls.get`. Not cached (see Uploads.make). */
  readonly upload: Uploads.UploadFile
}

/** The Replicate client. */
export class ReplicateClient extends Context.Tag("automarket/ReplicateClient")<ReplicateClient, ReplicateClientService>() {}

/** The client over `HttpClient` with `config`. */
export const make = (config: ReplicateConfig.ReplicateConfig): Effect.Effect<ReplicateClientService, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const { http, remote } = yield* ProviderConfig.makeHttp(ReplicateConfig.settings, config)
    const raw = yield* HttpClient.HttpClient

    const upload: Uploads.UploadFile = (file) =>
      Effect.scoped(
        Effect.gen(function* () {
          const body = yield* multipartForm(
            ReplicateConfig.settings.id,
            [
              { field: "filename", value: file.filename },
              { field: "type", value: file.contentType }
            ],
            [{ field: "content", source: file.source, filename: file.filename, contentType: file.contentType }]
          )
          const created = yield* http.json({ method: "POST", path: "/files", body, schema: CreatedFile, timeout: uploadTimeout })
          return created.urls.get
        })
      ).pipe(Effect.provide(NodeFileSystem.layer), Effect.provideService(HttpClient.HttpClient, raw))

    const listModels = (maxPages = 1): Effect.Effect<ReadonlyArray<ListedModel>, MediaError> =>
      Effect.gen(function* () {
        const all: Array<ListedModel> = []
        let path: string | undefined = "/models"
        for (let page = 0; page < maxPages && path !== undefined; page++) {
          const answer: typeof ModelPage.Type = yield* http.json({ path, schema: ModelPage })
          all.push(...answer.results)
          path = answer.next ?? undefined
        }
        return all
      })

    return ReplicateClient.of({
      remote,
      create: (ref, input, waitSeconds, model, cancelAfterSeconds, webhook, onKey) => {
        const wait = waitSeconds === undefined ? undefined : Math.min(60, Math.max(1, Math.round(waitSeconds)))
        const headers: Record<string, string> = {}
        if (wait !== undefined) headers["prefer"] = `wait=${wait}`
        if (cancelAfterSeconds !== undefined) headers["cancel-after"] = cancelAfter(cancelAfterSeconds)
        return http.json({
          method: "POST",
          path: ref._tag === "Model" ? `/models/${ref.owner}/${ref.name}/predictions` : "/predictions",
          json: {
            ...(ref._tag === "Model" ? { input } : { version: ref.version, input }),
            ...(webhook !== undefined ? { webhook, webhook_events_filter: ["completed"] } : {})
          },
          headers,
          ...(wait !== undefined ? { timeout: `${wait + 30} seconds` } : {}),
          model,
          schema: Prediction,
          retry: false,
          ...(onKey !== undefined ? { onKey } : {})
        })
      },
      listPredictions: (createdAfter, next) =>
        next !== undefined
          ? http.json({ path: next, schema: PredictionPage, retry: pollRetryPolicy })
          : http.json({ path: "/predictions", query: { created_after: createdAfter.toISOString() }, schema: PredictionPage, retry: pollRetryPolicy }),
      get: (ticket) => http.json({ path: ticket.statusUrl, key: ticket.key, model: ticket.model, schema: Prediction, retry: pollRetryPolicy }),
      cancel: (ticket) =>
        Effect.asVoid(http.json({ method: "POST", path: ticket.cancelUrl, key: ticket.key, model: ticket.model, schema: Schema.Unknown, retry: { retries: 2 } })),
      inputSchema: (model) => {
        const path = schemaPathOf(model)
        if (path === undefined) return Effect.succeed(Option.none())
        const document = path.includes("/versions/")
          ? Effect.map(http.json({ path, model, schema: ModelVersion }), (version) => version.openapi_schema)
          : Effect.map(http.json({ path, model, schema: ModelDetail }), (detail) => detail.latest_version?.openapi_schema)
        return document.pipe(
          Effect.map((found) => Option.fromNullable(inputSchemaOf(found))),
          Effect.catchTag("ModelNotFound", () => Effect.succeed(Option.none()))
        )
      },
      collection: (slug) => http.json({ path: `/collections/${encodeURIComponent(slug)}`, schema: Collection }),
      listModels,
      upload
    })
  })

/** The longest an upload of an input may take (a large video over a slow uplink). */
export const uploadTimeout = "10 minutes"

/** The client with `config` as a layer. */
export const layer = (config: ReplicateConfig.ReplicateConfig): Layer.Layer<ReplicateClient, never, HttpClient.HttpClient> =>
  Layer.effect(ReplicateClient, make(config))

/** The client as a layer, configured by `config` (default: from the environment, see ReplicateConfig). */
export const layerConfig = (
  config: Config.Config<ReplicateConfig.ReplicateConfig> = ReplicateConfig.fromEnv()
): Layer.Layer<ReplicateClient, ConfigError.ConfigError, HttpClient.HttpClient> => Layer.effect(ReplicateClient, Effect.flatMap(config, make))
