/**
 * The gateway server: `GatewayApi` implemented over the registry, the durable generations and
 * the access rules, served by Node's HTTP server. `layer(options)` is the whole server as a
 * layer (it needs the registry, the generations service and its store, `Access`, the
 * webhook receiver and the `CostLedger`); `automarket serve gateway` builds it with the
 * embedded SQLite file or Postgres.
 *
 * Generations belong to the key that started them: their id is `<key id>.<idempotency key or
 * a fresh id>`, and another key gets 404 for them. A request's worst-case cost is reserved
 * against the key's spend limit before anything is sent; the real cost is charged when the
 * call (or the generation, watched by the gateway that started it) ends.
 *
 * @module
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiSwagger from "@effect/platform/HttpApiSwagger"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { randomUUID } from "node:crypto"
import * as fs from "node:fs"
import { createServer } from "node:http"
import * as path from "node:path"
import { type Asset, Audio, BytesSource, FileSource, Image, text, UrlSource, Video } from "../domain/Asset.js"
import type { JobCapability, MediaCapability } from "../domain/Capability.js"
import { MediaError as MediaErrorSchema } from "../domain/Errors.js"
import type { InputOf, OptionsOf } from "../domain/MediaProvider.js"
import { type GenerationEvent, type GenerationRow, GenerationStatus, GenerationStore, finalStatuses } from "../durable/GenerationState.js"
import { Generations } from "../durable/Durable.js"
import { GenerationResult } from "../durable/Generation.js"
import * as MediaTypes from "../media/MediaTypes.js"
import * as CostEstimate from "../registry/CostEstimate.js"
import { CurrentSpender } from "../registry/Ledger.js"
import { ProviderRegistry, type ProviderRegistryService } from "../registry/ProviderRegistry.js"
import { Access, type Reservation } from "./Access.js"
import { Authorization, type Caller, CreateGeneration, CurrentCaller, GatewayApi, type GenerationInput, type GenerationView } from "./Api.js"
import { Conflict, fromMediaError, InvalidRequest, NotFound, SpendLimitReached, TooManyRequests, Unauthenticated, type ApiError } from "./ApiErrors.js"
import * as GatewayMetrics from "./GatewayMetrics.js"
import * as OpenAi from "./OpenAiRoutes.js"
import * as Wire from "./OpenAiWire.js"
import * as Uploads from "./Uploads.js"
import * as Webhooks from "./WebhookRoutes.js"
import * as DashboardRoutes from "./DashboardRoutes.js"

/** How the gateway runs. */
export interface GatewayOptions {
  /** Interface to bind. Default `127.0.0.1`. */
  readonly host?: string
  /** Port to bind; 0 picks a free one. Default 8080. */
  readonly port?: number
  /** The state folder: uploads go to `<stateDir>/uploads`. */
  readonly stateDir: string
  /** Which database holds the state (shown by `/health`). */
  readonly database: "sqlite" | "postgres"
  /** Largest JSON body, in bytes. Default 32 MiB (base64 inputs). */
  readonly maxJsonBytes?: number
  /** Largest uploaded file, in bytes. Default 512 MiB. */
  readonly maxUploadBytes?: number
  /** The version `/health` reports. */
  readonly version?: string
}

/** The gateway's settings, as its handlers see them. */
export class GatewaySettings extends Context.Tag("automarket/gateway/GatewaySettings")<
  GatewaySettings,
  Required<Omit<GatewayOptions, "host" | "port">> & { readonly startedAt: number }
>() {}

const fail = (error: ApiError): Effect.Effect<never, Exclude<ApiError, TooManyRequests>> =>
  // A 429 carries Retry-After: written by the error itself (see `TooManyRequests`), not by the schema.
  error._tag === "TooManyRequests" ? Effect.die(error) : Effect.fail(error)

// ---------------------------------------------------------------------------------------------
// Access

/** `Authorization`: the bearer key, then its rate. */
export const AuthorizationLive: Layer.Layer<Authorization, never, Access> = Layer.effect(
  Authorization,
  Effect.map(Access, (access) =>
    Authorization.of({
      bearer: (secret) =>
        Effect.gen(function* () {
          if (access.enforced && Redacted.value(secret).length === 0) {
            return yield* Effect.fail(Unauthenticated.of("an API key is required: Authorization: Bearer <key> (automarket keys create)"))
          }
          const caller = yield* access.authenticate(secret)
          if (Option.isNone(caller)) return yield* Effect.fail(Unauthenticated.of("the API key is unknown or revoked"))
          const admitted = yield* access.admit(caller.value)
          if (!admitted.ok) {
            return yield* Effect.die(
              new TooManyRequests({ message: "too many requests for this key", code: "rate_limit_exceeded", retryAfterSeconds: admitted.retryAfterSeconds })
            )
          }
          return caller.value
        })
    })
  )
)

/**
 * The worst case of a call: the highest estimate (`CostEstimate.worstCase`) among the models the
 * route may try (a fallback may land on any of them); local providers cost nothing. Undefined
 * when one of them has no price.
 */
const worstCase = <C extends MediaCapability>(capability: C, route: OpenAi.ModelRoute, input: InputOf<C>, options?: OptionsOf<C>) =>
  Effect.gen(function* () {
    const registry = yield* ProviderRegistry
    const order = yield* registry.tryOrder(capability, route.providers !== undefined ? { providers: route.providers } : {})
    let worst = 0
    for (const choice of order) {
      if (choice.provider.type === "local") continue
      const pinned = route.models?.[choice.provider.id]
      const model =
        pinned === undefined
          ? choice.model
          : (yield* Effect.orElseSucceed(choice.provider.getModelsForCapability(capability), () => [])).find((m) => m.id === pinned)
      const cost = CostEstimate.worstCase(model, capability, input, options)
      if (cost === undefined) return undefined
      worst = Math.max(worst, cost)
    }
    return worst
  })

/**
 * Reserve a call's worst case against the caller's spend limit: 402 when it would pass the
 * limit (nothing is sent). A caller without a limit gets no reservation.
 */
const reserveWorstCase = <C extends MediaCapability>(
  caller: Caller,
  capability: C,
  route: OpenAi.ModelRoute,
  estimate: { readonly input: InputOf<C>; readonly options?: OptionsOf<C> | undefined },
  generationId?: string
): Effect.Effect<Option.Option<Reservation>, SpendLimitReached, Access | ProviderRegistry> =>
  Effect.gen(function* () {
    if (caller.spendLimitUsd === undefined) return Option.none()
    const access = yield* Access
    const worst = yield* worstCase(capability, route, estimate.input, estimate.options)
    const reserved = yield* access.reserve(caller, worst, { capability, generationId })
    if (!reserved.ok) return yield* Effect.fail(spendRefused(reserved.refusal))
    return Option.some(reserved.reservation)
  })

/**
 * Run `call` within the caller's spend limit: the worst case reserved first, charged with the
 * cost the result reports, released on failure.
 */
const withinBudget = <C extends MediaCapability, A, E, R>(
  caller: Caller,
  capability: C,
  route: OpenAi.ModelRoute,
  estimate: { readonly input: InputOf<C>; readonly options?: OptionsOf<C> },
  call: Effect.Effect<A, E, R>,
  costOf: (result: A) => number | undefined
): Effect.Effect<A, E | SpendLimitReached, R | Access | ProviderRegistry> =>
  Effect.gen(function* () {
    const access = yield* Access
    const reserved = yield* reserveWorstCase(caller, capability, route, estimate)
    // The registry writes the call's ledger entry in the caller's name.
    const spent = Effect.provideService(call, CurrentSpender, DashboardRoutes.spenderOf(caller))
    if (Option.isNone(reserved)) return yield* spent
    return yield* spent.pipe(
      Effect.tapBoth({
        onFailure: () => access.release(reserved.value),
        onSuccess: (result) => access.settle(reserved.value, costOf(result))
      })
    )
  })

const spendRefused = (refusal: { readonly limitUsd: number; readonly spentUsd: number; readonly requestedUsd: number; readonly periodEnd: number }) =>
  new SpendLimitReached({
    error: {
      message: `this request could cost up to $${Number.isFinite(refusal.requestedUsd) ? refusal.requestedUsd.toFixed(4) : "an unknown amount"}; the key has spent $${refusal.spentUsd.toFixed(4)} of its $${refusal.limitUsd.toFixed(2)} for the period`,
      type: "insufficient_quota",
      code: "spend_limit_exceeded",
      param: null
    },
    limit_usd: refusal.limitUsd,
    spent_usd: refusal.spentUsd,
    requested_usd: Number.isFinite(refusal.requestedUsd) ? refusal.requestedUsd : -1,
    resets_at: new Date(refusal.periodEnd).toISOString()
  })

// ---------------------------------------------------------------------------------------------
// Generations

// The rows hold what the durable steps wrote with these schemas.
const decodeResult = Schema.decodeUnknownSync(GenerationResult)
const decodeError = Schema.decodeUnknownSync(MediaErrorSchema)
const resultOf = (row: GenerationRow): GenerationResult | undefined => (row.result !== undefined ? decodeResult(JSON.parse(row.result)) : undefined)

/** A generation row as the API shows it. */
export const viewOf = (row: GenerationRow): GenerationView => {
  const result = resultOf(row)
  const error = row.error !== undefined ? decodeError(JSON.parse(row.error)) : undefined
  const output = result?.output
  return {
    id: row.id,
    object: "generation",
    capability: row.capability,
    status: row.status,
    provider: row.provider ?? null,
    model: row.model ?? null,
    created_at: new Date(row.createdAt).toISOString(),
    updated_at: new Date(row.updatedAt).toISOString(),
    finished_at: row.finishedAt !== undefined ? new Date(row.finishedAt).toISOString() : null,
    result:
      output === undefined
        ? null
        : {
            kind: output.kind,
            mime_type: output.mimeType,
            bytes: output.bytes ?? null,
            text: output.text ?? null,
            url: output.path !== undefined ? `/v1/generations/${encodeURIComponent(row.id)}/result` : null,
            cost_usd: output.costUsd ?? null
          },
    error: error === undefined ? null : { tag: error._tag, message: error.message },
    attempts: result?.attempts ?? []
  }
}

/** The generation id of a caller's idempotency key: scoped to the key, so keys never see each other's. */
const generationId = (caller: Caller, key: string | undefined): string => `${caller.keyId}.${key ?? randomUUID()}`

/** A caller's generation, or 404 (another key's generations do not exist for it). */
const owned = (caller: Caller, id: string): Effect.Effect<GenerationRow, NotFound, Generations> =>
  Effect.gen(function* () {
    const generations = yield* Generations
    const row = id.startsWith(`${caller.keyId}.`) ? yield* generations.status(id) : Option.none()
    if (Option.isNone(row)) return yield* Effect.fail(NotFound.of(`no generation "${id}"`, "generation_not_found"))
    return row.value
  })

/** The default media type of an input given by URL without a known extension. */
const defaultMime = { image: "image/png", audio: "audio/wav", video: "video/mp4" } as const

/**
 * An input as an asset, refused when it is not the kind the capability takes (an image for
 * image-to-image, ...). Base64 bytes are decoded here; the durable store writes them to a file.
 */
const assetOf = (capability: JobCapability, input: GenerationInput): Effect.Effect<Asset, InvalidRequest> => {
  const kind = inputKind[capability]
  if (input.type !== kind) {
    return Effect.fail(InvalidRequest.of(`${capability} takes ${articled(kind)} input, not ${articled(input.type)}`, "invalid_input", "input.type"))
  }
  if (input.type === "text") return Effect.succeed(text(input.text, input.language !== undefined ? { language: input.language } : undefined))
  if ("url" in input) {
    let parsed: URL
    try {
      parsed = new URL(input.url)
    } catch {
      return Effect.fail(InvalidRequest.of("input.url is not a URL", "invalid_input", "input.url"))
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      return Effect.fail(InvalidRequest.of("input.url must be http(s)", "invalid_input", "input.url"))
    }
    const mimeType = MediaTypes.mediaTypeOfExtension(parsed.pathname) ?? defaultMime[input.type]
    return Effect.succeed(media(input.type, new UrlSource({ url: input.url }), mimeType))
  }
  const bytes = Buffer.from(input.data, "base64")
  if (bytes.length === 0) return Effect.fail(InvalidRequest.of("input.data is empty or not base64", "invalid_input", "input.data"))
  return Effect.succeed(media(input.type, new BytesSource({ bytes }), input.mime_type))
}

const media = (kind: "image" | "audio" | "video", source: Image["source"], mimeType: string): Asset =>
  kind === "image" ? new Image({ source, mimeType }) : kind === "audio" ? new Audio({ source, mimeType }) : new Video({ source, mimeType })

// "an image", "a video", ...
const articled = (kind: string): string => (/^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`)

/** Which kind of asset each capability takes. */
const inputKind: Record<JobCapability, "text" | "image" | "video" | "audio"> = {
  "text-to-image": "text",
  "image-to-image": "image",
  "image-upscaling": "image",
  "text-to-video": "text",
  "image-to-video": "image",
  "video-to-video": "video",
  "text-to-audio": "text",
  "text-to-speech": "text",
  "speech-to-text": "audio"
}

/** The fields of a multipart create request: `CreateGeneration` but the input (the file part, or a text field). */
const MultipartFields = CreateGeneration.omit("input")

/** A create request from a multipart body: the fields as `CreateGeneration`, the file part `input` (or a text field) as the input. */
const fromMultipart = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const settings = yield* GatewaySettings
    const received = yield* Uploads.receive(request, { dir: path.join(settings.stateDir, "uploads"), maxBytes: settings.maxUploadBytes, fileField: "input" })
    const { file, fields } = received
    return yield* Effect.gen(function* () {
      const options = yield* Effect.try({
        try: () => (fields.options !== undefined ? (JSON.parse(fields.options) as unknown) : undefined),
        catch: () => InvalidRequest.of("options must be a JSON object", "invalid_request", "options")
      })
      const decoded = yield* OpenAi.decodeBody(MultipartFields, {
        ...fields,
        ...(options !== undefined ? { options } : {}),
        ...(fields.timeout_seconds !== undefined ? { timeout_seconds: Number(fields.timeout_seconds) } : {})
      })
      const kind = inputKind[decoded.capability]
      if (file === undefined) {
        if (kind !== "text") return yield* Effect.fail(InvalidRequest.of(`${decoded.capability} takes ${articled(kind)} file as the part "input"`, "invalid_input", "input"))
        const input = fields.input ?? fields.text ?? ""
        return { request: decoded, asset: text(input) }
      }
      if (kind === "text") return yield* Effect.fail(InvalidRequest.of(`${decoded.capability} takes a text input, not a file`, "invalid_input", "input"))
      return { request: decoded, asset: media(kind, new FileSource({ path: file.path }), file.mimeType) }
    }).pipe(Effect.tapError(() => Effect.sync(() => file !== undefined && fs.rmSync(file.path, { force: true }))))
  })

const createGeneration = (request: HttpServerRequest.HttpServerRequest, idempotencyKey: string | undefined) =>
  Effect.gen(function* () {
    const caller = yield* CurrentCaller
    const generations = yield* Generations
    const contentType = request.headers["content-type"] ?? ""
    const { request: body, asset } = contentType.startsWith("multipart/form-data")
      ? yield* fromMultipart(request)
      : yield* Effect.flatMap(
          Effect.flatMap(request.json.pipe(Effect.mapError(() => InvalidRequest.of("the body is not JSON", "invalid_json"))), (json) => OpenAi.decodeBody(CreateGeneration, json)),
          (decoded) => Effect.map(assetOf(decoded.capability, decoded.input), (asset) => ({ request: decoded, asset }))
        )
    const id = generationId(caller, idempotencyKey)
    const existing = yield* generations.status(id)
    const start = generations
      .start({
        capability: body.capability,
        input: asset,
        key: id,
        who: DashboardRoutes.spenderOf(caller),
        ...(body.options !== undefined ? { options: body.options } : {}),
        ...(body.provider !== undefined ? { provider: body.provider } : {}),
        ...(body.model !== undefined ? { model: body.model } : {}),
        ...(body.timeout_seconds !== undefined ? { timeout: Duration.seconds(body.timeout_seconds) } : {})
      })
      .pipe(
        Effect.mapError((error): ApiError =>
          error._tag === "InvalidInput" && error.issues.includes("key") && error.detail.includes("another request")
            ? Conflict.of(`the Idempotency-Key "${idempotencyKey}" was used for another request`, "idempotency_key_reused")
            : fromMediaError(error)
        ),
        Effect.catchAll(fail)
      )
    // A retried POST is the same generation, reserved and charged once (by the first).
    const route: OpenAi.ModelRoute =
      body.provider === undefined ? {} : { providers: [body.provider], ...(body.model !== undefined ? { models: { [body.provider]: body.model } } : {}) }
    const reserved = Option.isSome(existing)
      ? Option.none<Reservation>()
      : yield* reserveWorstCase(caller, body.capability, route, { input: asset as never, options: body.options as never }, id)
    if (Option.isNone(reserved)) {
      yield* start
    } else {
      const access = yield* Access
      yield* Effect.tapError(start, () => access.release(reserved.value))
      yield* settleWhenDone(id, reserved.value)
    }
    const row = yield* owned(caller, id)
    return yield* HttpServerResponse.json(viewOf(row), { status: 202, headers: { location: `/v1/generations/${encodeURIComponent(id)}` } }).pipe(Effect.orDie)
  })

/** Fibers watching the generations this gateway started, to charge them when they end. */
class Settlements extends Context.Tag("automarket/gateway/Settlements")<Settlements, FiberSet.FiberSet>() {}

/** Charge a generation's reservation with its result's cost when it ends (released when nothing was billed). */
const settleWhenDone = (id: string, reservation: Reservation) =>
  Effect.gen(function* () {
    const access = yield* Access
    const generations = yield* Generations
    const fibers = yield* Settlements
    yield* FiberSet.run(
      fibers,
      Effect.gen(function* () {
        const result = yield* Effect.either(generations.await(id))
        if (result._tag === "Right") return yield* access.settle(reservation, result.right.output.costUsd)
        // Cancelled or failed: a job the provider took may still have been billed (unknown: the worst case stays).
        const row = yield* generations.status(id)
        const submitted = Option.isSome(row) && row.value.ticket !== undefined
        return yield* submitted ? access.settle(reservation, undefined) : access.release(reservation)
      })
    )
  })

const sseOf = (event: GenerationEvent): string =>
  `id: ${event.seq}\nevent: ${event.event._tag}\ndata: ${JSON.stringify({ ...event.event, at: event.at.toISOString() })}\n\n`

/**
 * A generation's events as server-sent events, from `Last-Event-ID`, with a keep-alive comment
 * every 15 s, ending with its final status.
 */
const eventsResponse = (id: string, after: number | undefined) =>
  Effect.map(Generations, (generations) => {
    // The store's stream ends with the final status event (written before the final row).
    const events = generations.events(id, after !== undefined ? { afterSeq: after } : {}).pipe(Stream.map(sseOf))
    const keepAlive = Stream.tick("15 seconds").pipe(
      Stream.drop(1),
      Stream.map(() => ": keep-alive\n\n")
    )
    return HttpServerResponse.stream(Stream.encodeText(Stream.merge(events, keepAlive, { haltStrategy: "left" })), {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })

/** The result's bytes, honouring one `Range`. */
const resultResponse = (row: GenerationRow, range: string | undefined) =>
  Effect.gen(function* () {
    if (row.status !== "succeeded" || row.result === undefined) {
      return yield* Effect.fail(Conflict.of(`the generation is ${row.status}; its result is there once it has succeeded`, "not_ready"))
    }
    const output = resultOf(row)!.output
    if (output.path === undefined) return HttpServerResponse.text(output.text ?? "", { contentType: "text/plain; charset=utf-8" })
    const size = yield* Effect.promise(() => fs.promises.stat(output.path!).then((stat) => stat.size, () => -1))
    if (size < 0) return yield* Effect.fail(NotFound.of("the result file is gone (pruned?)", "result_gone"))
    const headers = { "accept-ranges": "bytes", "content-type": output.mimeType }
    const asked = range !== undefined ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null
    if (range !== undefined && asked === null) {
      return HttpServerResponse.empty({ status: 416, headers: { "content-range": `bytes */${size}` } })
    }
    if (asked !== null) {
      const [start, end] =
        asked[1] === "" ? [Math.max(0, size - Number(asked[2])), size - 1] : [Number(asked[1]), asked[2] === "" ? size - 1 : Math.min(Number(asked[2]), size - 1)]
      if (!(start <= end && start < size)) return HttpServerResponse.empty({ status: 416, headers: { "content-range": `bytes */${size}` } })
      return yield* HttpServerResponse.file(output.path, {
        offset: start,
        bytesToRead: end - start + 1,
        status: 206,
        headers: { ...headers, "content-range": `bytes ${start}-${end}/${size}` }
      }).pipe(Effect.orDie)
    }
    return yield* HttpServerResponse.file(output.path, { headers }).pipe(Effect.orDie)
  })

const GenerationsLive = HttpApiBuilder.group(GatewayApi, "generations", (handlers) =>
  handlers
    .handleRaw("create", ({ headers, request }) => createGeneration(request, headers["idempotency-key"]))
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const generations = yield* Generations
        const rows = yield* generations.list({
          ...(urlParams.status !== undefined ? { statuses: [urlParams.status] } : {}),
          idPrefix: `${caller.keyId}.`,
          limit: urlParams.limit ?? 100
        })
        return { object: "list" as const, data: rows.map(viewOf) }
      })
    )
    .handle("get", ({ path }) => Effect.flatMap(CurrentCaller, (caller) => Effect.map(owned(caller, path.id), viewOf)))
    .handleRaw("events", ({ path, headers }) =>
      Effect.flatMap(CurrentCaller, (caller) => Effect.flatMap(owned(caller, path.id), (row) => eventsResponse(row.id, headers["last-event-id"])))
    )
    .handleRaw("result", ({ path, request }) =>
      Effect.flatMap(CurrentCaller, (caller) => Effect.flatMap(owned(caller, path.id), (row) => resultResponse(row, request.headers.range)))
    )
    .handleRaw("cancel", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const generations = yield* Generations
        const row = yield* owned(caller, path.id)
        if (!finalStatuses.has(row.status)) yield* generations.cancel(row.id)
        const after = yield* owned(caller, path.id)
        return yield* HttpServerResponse.json(viewOf(after), { status: 202 }).pipe(Effect.orDie)
      })
    )
)

// ---------------------------------------------------------------------------------------------
// OpenAI-compatible

/** What an OpenAI-compatible route runs: the call, and what its worst-case cost is reckoned on. */
interface Planned<C extends MediaCapability, R> {
  readonly estimate: { readonly input: InputOf<C>; readonly options?: OptionsOf<C> }
  readonly call: Effect.Effect<HttpServerResponse.HttpServerResponse, ApiError, R>
}

/**
 * An OpenAI-compatible JSON route: the body decoded with `schema`, its `model` resolved for
 * `capability`, then the planned call within the caller's spend limit, settled at what the answer
 * cost (its `x-automarket-cost-usd` header) or, when it does not say (a stream, an unpriced
 * model), at the worst case reserved (see `Access.settle`).
 */
const openAiRoute = <A extends { readonly model?: string | undefined }, I, C extends MediaCapability, R>(
  request: HttpServerRequest.HttpServerRequest,
  schema: Schema.Schema<A, I>,
  capability: C,
  plan: (body: A, registry: ProviderRegistryService, route: OpenAi.ModelRoute) => Effect.Effect<Planned<C, R>, InvalidRequest>
) =>
  Effect.gen(function* () {
    const caller = yield* CurrentCaller
    const registry = yield* ProviderRegistry
    const json = yield* request.json.pipe(Effect.mapError(() => InvalidRequest.of("the body is not JSON", "invalid_json")))
    const body = yield* OpenAi.decodeBody(schema, json)
    const route = yield* OpenAi.resolveModel(registry, capability, body.model)
    const { call, estimate } = yield* plan(body, registry, route)
    // Settled at what the answer says it cost (its header), else at the worst case reserved.
    return yield* withinBudget(caller, capability, route, estimate, Effect.catchAll(call, fail), OpenAi.costOfResponse)
  })

const OpenAiLive = HttpApiBuilder.group(GatewayApi, "openai", (handlers) =>
  handlers
    .handleRaw("chat", ({ request }) =>
      openAiRoute(request, Wire.ChatCompletionRequest, "text-to-text", (body, registry, route) =>
        Effect.map(OpenAi.chatInput(body.messages), (input) => ({
          estimate: { input: text(input.prompt), options: OpenAi.chatOptions(body, input, route).options ?? {} },
          call: body.stream === true ? OpenAi.chatCompletionStream(registry, body, input, route) : OpenAi.chatCompletion(registry, body, input, route)
        }))
      )
    )
    .handleRaw("images", ({ request }) =>
      openAiRoute(request, Wire.ImageGenerationRequest, "text-to-image", (body, registry, route) => {
        const [width, height] = body.size != null ? body.size.split("x").map(Number) : [undefined, undefined]
        return Effect.succeed({
          estimate: {
            input: text(body.prompt),
            options: { ...(width !== undefined && height !== undefined ? { width, height } : {}), extra: { n: body.n ?? 1 } }
          },
          call: OpenAi.images(registry, body, route)
        })
      })
    )
    .handleRaw("speech", ({ request }) =>
      openAiRoute(request, Wire.SpeechRequest, "text-to-speech", (body, registry, route) =>
        Effect.succeed({ estimate: { input: text(body.input) }, call: OpenAi.speech(registry, body, route) })
      )
    )
    .handleRaw("transcriptions", ({ request }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const registry = yield* ProviderRegistry
        const settings = yield* GatewaySettings
        const received = yield* Uploads.receive(request, { dir: path.join(settings.stateDir, "uploads"), maxBytes: settings.maxUploadBytes, fileField: "file" })
        const file = received.file
        return yield* Effect.gen(function* () {
          if (file === undefined) return yield* Effect.fail(InvalidRequest.of("the audio goes in the file part `file`", "invalid_request", "file"))
          const fields = yield* OpenAi.decodeBody(Wire.TranscriptionFields, received.fields)
          const route = yield* OpenAi.resolveModel(registry, "speech-to-text", fields.model)
          const audio = new Audio({ source: new FileSource({ path: file.path }), mimeType: file.mimeType })
          return yield* withinBudget(
            caller,
            "speech-to-text",
            route,
            { input: audio },
            Effect.catchAll(OpenAi.transcription(registry, file, fields, route), fail),
            OpenAi.costOfResponse
          )
        }).pipe(Effect.ensuring(Effect.sync(() => file !== undefined && fs.rmSync(file.path, { force: true }))))
      })
    )
    .handle("models", () => Effect.flatMap(ProviderRegistry, OpenAi.models))
)

// ---------------------------------------------------------------------------------------------
// Operators

const OperatorsLive = HttpApiBuilder.group(GatewayApi, "operators", (handlers) =>
  handlers
    .handle("health", () =>
      Effect.gen(function* () {
        const settings = yield* GatewaySettings
        const registry = yield* ProviderRegistry
        const providers = yield* registry.all
        const states = yield* Effect.forEach(
          providers,
          (provider) => Effect.map(provider.isAvailable, (available) => ({ id: provider.id, configured: provider.configured, available })),
          { concurrency: "unbounded" }
        )
        return {
          status: "ok" as const,
          version: settings.version,
          uptime_seconds: Math.round((Date.now() - settings.startedAt) / 1000),
          database: settings.database,
          providers: states
        }
      })
    )
    .handle("metrics", () =>
      Effect.gen(function* () {
        const store = yield* GenerationStore
        const inFlight = yield* Effect.orElseSucceed(store.count(GenerationStatus.literals.filter((status) => !finalStatuses.has(status))), () => 0)
        return yield* GatewayMetrics.render({ generationsInFlight: inFlight })
      })
    )
)

// ---------------------------------------------------------------------------------------------
// The server

/** Largest JSON body and multipart body (the upload cap plus room for the fields). */
const bodyLimits = (settings: { readonly maxJsonBytes: number; readonly maxUploadBytes: number }) =>
  HttpMiddleware.make((app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      HttpIncomingMessage.withMaxBodySize(
        app,
        Option.some((request.headers["content-type"] ?? "").startsWith("multipart/") ? settings.maxUploadBytes + 1024 * 1024 : settings.maxJsonBytes)
      )
    )
  )

/** The API's handlers, with their dependencies still open. */
export const apiLayer = HttpApiBuilder.api(GatewayApi).pipe(
  Layer.provide([GenerationsLive, OpenAiLive, Webhooks.layer, OperatorsLive, DashboardRoutes.layer]),
  Layer.provide(AuthorizationLive)
)

/**
 * The gateway as a layer: binds `host:port` and serves until the scope closes; offers the
 * `HttpServer` (its `address`). Needs the
 * registry, the generations service and store, `Access`, the webhook receiver, the cost ledger
 * (the dashboard's spend) and an HTTP client.
 */
export const layer = (options: GatewayOptions) => {
  const settings = {
    stateDir: options.stateDir,
    database: options.database,
    maxJsonBytes: options.maxJsonBytes ?? 32 * 1024 * 1024,
    maxUploadBytes: options.maxUploadBytes ?? 512 * 1024 * 1024,
    version: options.version ?? "0.0.0",
    startedAt: Date.now()
  }
  return HttpApiBuilder.serve((app) => GatewayMetrics.middleware(bodyLimits(settings)(app))).pipe(
    Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(apiLayer),
    Layer.provide(Layer.scoped(Settlements, FiberSet.make())),
    Layer.provide(Layer.succeed(GatewaySettings, settings)),
    // No span per request: tracing is off unless asked for (a span with its attributes costs ~0.1 ms a request here).
    (self) => HttpMiddleware.withTracerDisabledWhen(self, () => true),
    // The server is offered too: its address is where the gateway listens (port 0: the one picked).
    Layer.provideMerge(NodeHttpServer.layer(createServer, { host: options.host ?? "127.0.0.1", port: options.port ?? 8080 }))
  )
}

export type { HttpClient, Schema }
