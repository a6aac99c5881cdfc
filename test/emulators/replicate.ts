/**
 * An emulator of Replicate's predictions API (and of the file host of its outputs), as a
 * stateful handler run behind node:http (`serve`) or in memory (`clientLayer`), both from
 * ./falai.ts.
 *
 * A prediction advances one state per `GET /predictions/{id}`: `startingSteps` polls `starting`,
 * `processingSteps` polls `processing` (logs grow by a tqdm line each: `33%|###`), then
 * `succeeded` (or `failed` with `failWith`). `Prefer: wait=N` on a create answers the finished
 * prediction when `finishWithinWait`, else the unfinished one (the wait ran out). Faults: 429s on
 * polls (`rateLimitPolls`, Retry-After), replies to the next creates (`createReplies`), result
 * files truncated/without ranges/of another type. Cancel calls are recorded.
 *
 * Time: `created_at` and the deadlines are read from `now` (the wall clock unless a test moves
 * it). A create's `Cancel-After` (`90s`, `5m`, `1h30m45s`, bare seconds; at least 5 s, else 422)
 * sets the prediction's `deadline`; a prediction still unfinished when its deadline has passed
 * ends as Replicate's spec says: `aborted` when it had not started (`starting`), else `canceled`.
 *
 * Listing: `GET /predictions` answers `{results, next, previous}`, most recent first, `pageSize`
 * a page (100, as Replicate), `next` an absolute URL with a `cursor`; `created_after` is honoured
 * unless `honourCreatedAfter` is off (a listing that ignores it, to see the client stop by itself).
 *
 * Webhooks: a create whose body has `webhook` makes a prediction that does not move on polls but
 * finishes by itself `webhookJobMs` (real milliseconds) after its creation, and then POSTs the
 * prediction to the URL (when `webhook_events_filter` is absent or holds `completed`), signed as
 * Standard Webhooks sign (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64
 * HMAC-SHA256 of id.timestamp.body>`) with a `whsec_` secret made per emulator and served, to a
 * caller with the token, at `GET /webhooks/default/secret` (`{key}`). Deliveries are recorded in
 * `webhooks`.
 *
 * Input schemas: `GET /models/{owner}/{name}` answers the model with `latest_version.openapi_schema`
 * and `GET /models/{owner}/{name}/versions/{id}` the version with `openapi_schema`, from `schemas`
 * (by default FLUX schnell, see ./Schemas.ts); 404 for a model that has none. A create whose
 * model has a schema is checked against it (required fields, types, enums, ranges; fields it does
 * not declare are let through) and refused with 422 naming each field, before any prediction
 * (the body's wording is the emulator's own).
 *
 * Discovery: `GET /collections/{slug}` answers the collection's models from `collections` (404 for
 * a slug it has none of). The default is small (two models of text-to-image, one of
 * speech-to-text, in the short listing shape); `fullCatalog`, with `replicateCatalogSchemas`, is a
 * model or more in every collection the provider reads, in the full shape of Replicate's spec
 * (`is_official`, `latest_version` with its `openapi_schema`): official and community models, a
 * model in two collections, a community model with no version, a collection the provider does
 * not read. A model of the catalog makes the output its `output` says; as Replicate's spec says,
 * only an official model runs by name (`POST /models/{owner}/{name}/predictions`): a community
 * one is refused there (404 with the detail a Replicate maintainer quotes for it in
 * replicate/replicate-python#320; the status is not published) and runs by its version (`POST /predictions` with the version id,
 * its latest version's id being the SHA-256 of `owner/name`).
 * Files: `POST /files` (multipart, the bytes in `content` with their file name and type) stores
 * them and answers 201 with the file resource (`urls.get` = `{base}/files/{id}`); `GET
 * /files/{id}` answers the resource, `GET /files/{id}/download` the bytes (both with the token).
 *
 * Per-call faults, as in the fal emulator: `intercept` answers a request instead of the emulator,
 * `planJob` gives a prediction its own behaviour from its input (`JobPlan`), and
 * `predictionsByInput` counts the predictions created per input (a double submit shows there).
 */
import * as crypto from "node:crypto"
import { replicateSchemas } from "./Schemas.js"
import {
  countByInput,
  type EmuRequest,
  type Emulator,
  fileReply,
  type JobPlan,
  type StoredFile,
  jsonReply,
  nextPollReply,
  postWebhook,
  type Reply,
  type WebhookDelivery
} from "./falai.js"

export { clientLayer, serve } from "./falai.js"

interface Prediction {
  readonly id: string
  readonly model: string
  readonly version: string | undefined
  readonly input: Record<string, unknown>
  /** `now` when it was created (epoch ms). */
  readonly createdAt: number
  /** When Replicate stops it (`Cancel-After` after its creation), epoch ms. */
  readonly deadline: number | undefined
  /** How it ended at its deadline, once it passed. */
  expired: "aborted" | "canceled" | undefined
  polls: number
  canceled: boolean
  readonly failWith: string | undefined
  readonly plan: { readonly plan: JobPlan; pollReplies: Array<Reply> } | undefined
  /** The URL it calls once final (`webhook`): it then finishes by itself, not by polls. */
  readonly webhook: string | undefined
  /** A webhook prediction that finished. */
  finished: boolean
}

/** The kinds of request the Replicate emulator tells apart. */
export type ReplicateRequestKind = "create" | "get" | "cancel" | "list" | "file" | "collection" | "models" | "model" | "version" | "secret" | "upload" | "stored" | "other"

/** The Replicate emulator's knobs. */
export interface ReplicateSettings {
  startingSteps: number
  processingSteps: number
  /** A create with `Prefer: wait` answers the finished prediction. Default false. */
  finishWithinWait: boolean
  failWith: string | undefined
  rateLimitPolls: number
  retryAfterSeconds: number
  createReplies: Array<Reply>
  fileBytes: number
  fileContentType: string | undefined
  ranges: boolean
  truncateFiles: number
  token: string
  /** More tokens it accepts (a provider configured with a key ring). Default none. */
  otherTokens: ReadonlyArray<string>
  /** A reply to a request instead of the emulator's own (after the token check): a create refused before any prediction exists. */
  intercept: ((request: EmuRequest, kind: ReplicateRequestKind) => Reply | undefined) | undefined
  /** A new prediction's own behaviour, from its input. */
  planJob: ((input: Record<string, unknown>) => JobPlan | undefined) | undefined
  /** The emulator's clock (epoch ms): `created_at`, deadlines. Default the wall clock. */
  now: () => number
  /** Predictions a page of `GET /predictions`. Default 100. */
  pageSize: number
  /** Whether the listing filters by `created_after`. Default true. */
  honourCreatedAfter: boolean
  /** Real milliseconds a prediction created with `webhook` takes before it finishes and calls. Default 200. */
  webhookJobMs: number
  /** The latest version's Cog OpenAPI document of each model that has one (`owner/name`, see ./Schemas.ts). */
  schemas: Record<string, Record<string, unknown>>
  /** The models of each collection (slug -> models). Default `defaultCatalog`. */
  collections: Readonly<Record<string, ReadonlyArray<CatalogModel>>>
}

/** The Replicate emulator. */
export interface ReplicateEmulator extends Emulator {
  readonly settings: ReplicateSettings
  readonly predictions: Map<string, Prediction>
  readonly count: (kind: "create" | "get" | "cancel" | "list" | "file" | "collection" | "model" | "version") => number
  /** How many predictions were created per input (its JSON). */
  readonly predictionsByInput: () => ReadonlyMap<string, number>
  /** The webhooks sent, in the order their receivers answered. */
  readonly webhooks: Array<WebhookDelivery>
  /** The files `POST /files` stored, by id. */
  readonly stored: Map<string, StoredFile>
  /** The account's webhook signing secret (`whsec_` then base64), as `GET /webhooks/default/secret` answers it. */
  readonly webhookSecret: string
}

/** What a model's prediction outputs: a list of image URLs, one image URL, a video, an audio file, or a transcript in one of three shapes. */
export type CatalogOutput = "images" | "image" | "video" | "audio" | "whisper" | "text-chunks" | "segments"

/** One model of the emulator's catalog. */
export interface CatalogModel {
  readonly owner: string
  readonly name: string
  readonly description: string
  /** Listed with `is_official` and `latest_version` (Replicate's full shape) when set; the short `{owner, name, description}` when not. */
  readonly official?: boolean
  /** A model with no version yet (`latest_version: null`). */
  readonly unreleased?: boolean
  /** What its predictions output; by its name when not said. */
  readonly output?: CatalogOutput
}

/** The latest version id of a model of the emulator: the SHA-256 of `owner/name`, in hex (64 digits, as Replicate's). */
export const latestVersionOf = (model: string): string => crypto.createHash("sha256").update(model).digest("hex")

const short = (owner: string, name: string, description: string): CatalogModel => ({ owner, name, description })

/** The default discovery: two text-to-image models, one transcriber, one upscaler, in the short listing shape. */
export const defaultCatalog: Readonly<Record<string, ReadonlyArray<CatalogModel>>> = {
  "text-to-image": [short("black-forest-labs", "flux-schnell", "fast"), short("emu", "pixels", "an emulated image model")],
  "speech-to-text": [short("emu", "ears", "an emulated transcriber")],
  "super-resolution": [short("nightmareai", "real-esrgan", "Real-ESRGAN with optional face correction")]
}

/**
 * Published versions the emulator knows by their real ids, beside each model's latest
 * (`latestVersionOf`): a create by one is a prediction of that model. Real-ESRGAN's, which the
 * provider's curated table pins.
 */
export const knownVersions: Readonly<Record<string, string>> = {
  "42fed1c4974146d4d2414e2be2c5277c7fcf05fcc3a73abf41610695738c1d7b": "nightmareai/real-esrgan"
}

const model = (id: string, official: boolean, output: CatalogOutput, description: string, unreleased = false): CatalogModel => {
  const [owner = "", name = ""] = id.split("/")
  return { owner, name, description, official, output, ...(unreleased ? { unreleased } : {}) }
}

/**
 * A model or more in every collection the provider reads (the schemas of their latest versions
 * are `replicateCatalogSchemas`), with Nano Banana in text-to-image and image-editing, MiniMax
 * video-01 in text-to-video and image-to-video, a community model with no version yet, and
 * `language-models`, a collection the provider does not read.
 */
export const fullCatalog: Readonly<Record<string, ReadonlyArray<CatalogModel>>> = {
  "text-to-image": [
    model("black-forest-labs/flux-schnell", true, "images", "FLUX.1 schnell"),
    model("black-forest-labs/flux-dev", true, "images", "FLUX.1 dev"),
    model("black-forest-labs/flux-1.1-pro", true, "image", "FLUX 1.1 pro"),
    model("google/nano-banana", true, "image", "Gemini 2.5 Flash Image"),
    model("bytedance/sdxl-lightning-4step", false, "images", "SDXL-Lightning in 4 steps"),
    model("emu/unreleased", false, "images", "a community model with no version yet", true)
  ],
  "image-editing": [
    model("black-forest-labs/flux-kontext-pro", true, "image", "edit an image with a prompt"),
    model("qwen/qwen-image-edit", true, "images", "Qwen image editing"),
    model("google/nano-banana", true, "image", "Gemini 2.5 Flash Image")
  ],
  "text-to-video": [
    model("minimax/video-01", true, "video", "MiniMax Hailuo video"),
    model("tencent/hunyuan-video", false, "video", "HunyuanVideo")
  ],
  "image-to-video": [
    model("wan-video/wan-2.1-i2v-480p", true, "video", "Wan 2.1 image-to-video"),
    model("kwaivgi/kling-v2.1", true, "video", "Kling 2.1 from a first frame"),
    model("minimax/video-01", true, "video", "MiniMax Hailuo video")
  ],
  "ai-music-generation": [model("meta/musicgen", true, "audio", "MusicGen"), model("emu/tunes", false, "audio", "an emulated community music model")],
  "text-to-speech": [
    model("minimax/speech-02-turbo", true, "audio", "MiniMax speech"),
    model("resemble-ai/chatterbox", true, "audio", "Chatterbox"),
    model("jaaari/kokoro-82m", false, "audio", "Kokoro 82M")
  ],
  "super-resolution": [model("nightmareai/real-esrgan", false, "image", "Real-ESRGAN with optional face correction")],
  "speech-to-text": [
    model("openai/whisper", true, "whisper", "Whisper large-v3"),
    model("vaibhavs10/incredibly-fast-whisper", false, "text-chunks", "Whisper large-v3, batched"),
    model("victor-upmeet/whisperx", false, "segments", "WhisperX")
  ],
  "language-models": [model("meta/meta-llama-3-8b-instruct", true, "image", "a language model")]
}

// The violations of `input` against a Cog document's `Input` (required fields, types, enums
// through `allOf: [{$ref}]`, ranges), each `field: rule`; a field the schema does not declare passes.
const inputIssues = (document: Record<string, unknown>, input: Record<string, unknown>): ReadonlyArray<string> => {
  const components = (document.components ?? {}) as { schemas?: Record<string, Record<string, unknown>> }
  const schemas = components.schemas ?? {}
  const schema = schemas.Input ?? {}
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>
  const issues: Array<string> = []
  for (const name of (schema.required ?? []) as ReadonlyArray<string>) if (!(name in input)) issues.push(`${name}: field required`)
  for (const [name, value] of Object.entries(input)) {
    const declared = properties[name]
    if (declared === undefined) continue
    const ref = ((declared.allOf ?? []) as ReadonlyArray<{ $ref?: string }>)[0]?.$ref
    const property = ref === undefined ? declared : { ...(schemas[ref.split("/").pop() ?? ""] ?? {}), ...declared }
    const type = property.type
    const fits =
      type === "string" ? typeof value === "string"
      : type === "integer" ? Number.isInteger(value)
      : type === "number" ? typeof value === "number"
      : type === "boolean" ? typeof value === "boolean"
      : type === "array" ? Array.isArray(value)
      : true
    if (!fits) issues.push(`${name}: not a valid ${String(type)}`)
    else if (Array.isArray(property.enum) && !property.enum.includes(value)) issues.push(`${name}: must be one of ${JSON.stringify(property.enum)}`)
    else if (typeof value === "number" && typeof property.minimum === "number" && value < property.minimum) issues.push(`${name}: must be >= ${property.minimum}`)
    else if (typeof value === "number" && typeof property.maximum === "number" && value > property.maximum) issues.push(`${name}: must be <= ${property.maximum}`)
  }
  return issues
}

// What a model outside the catalog outputs, by its name.
const kindOf = (model: string): CatalogOutput =>
  /whisper/.test(model)
    ? "whisper"
    : /video|wan/.test(model)
      ? "video"
      : /music|speech|audio/.test(model)
        ? "audio"
        : // Upscalers (Real-ESRGAN) answer one URL, not a list.
          /esrgan|upscal|super-resolution/.test(model)
          ? "image"
          : "images"

// A succeeded prediction's output of `kind`, its file at `file` (an extension added).
const outputOf = (kind: CatalogOutput, file: string): unknown => {
  switch (kind) {
    case "images":
      return [`${file}.png`]
    case "image":
      return `${file}.png`
    case "video":
      return `${file}.mp4`
    case "audio":
      return `${file}.wav`
    case "whisper":
      return { transcription: "hello from replicate", segments: [{ start: 0, end: 1.2, text: " hello from replicate" }], detected_language: "en" }
    case "text-chunks":
      return { text: " hello from replicate", chunks: [{ timestamp: [0, 1.2], text: " hello from replicate" }] }
    case "segments":
      return { segments: [{ start: 0, end: 1.2, text: " hello from replicate" }], detected_language: "en" }
  }
}

/** Make a Replicate emulator (base URL set by `serve`, or `https://replicate.emulator.test` in memory). */
export const makeReplicate = (overrides: Partial<ReplicateSettings> = {}): ReplicateEmulator => {
  const settings: ReplicateSettings = {
    startingSteps: 1,
    processingSteps: 2,
    finishWithinWait: false,
    failWith: undefined,
    rateLimitPolls: 0,
    retryAfterSeconds: 2,
    createReplies: [],
    fileBytes: 2048,
    fileContentType: undefined,
    ranges: true,
    truncateFiles: 0,
    token: "r8_test_token",
    otherTokens: [],
    intercept: undefined,
    planJob: undefined,
    now: Date.now,
    pageSize: 100,
    honourCreatedAfter: true,
    webhookJobMs: 200,
    schemas: replicateSchemas(),
    collections: defaultCatalog,
    ...overrides
  }
  const predictions = new Map<string, Prediction>()
  const requests: Array<EmuRequest> = []
  const webhooks: Array<WebhookDelivery> = []
  const webhookSecret = `whsec_${crypto.randomBytes(24).toString("base64")}`
  let next = 0

  // A model of the catalog, by `owner/name`.
  const catalogModel = (id: string): CatalogModel | undefined =>
    Object.values(settings.collections)
      .flat()
      .find((entry) => `${entry.owner}/${entry.name}` === id)
  // The model a version id is the latest version of, among the catalog's and those with a schema.
  const modelOfVersion = (version: string): string | undefined =>
    knownVersions[version] ??
    [...Object.values(settings.collections).flat().map((entry) => `${entry.owner}/${entry.name}`), ...Object.keys(settings.schemas)].find(
      (id) => latestVersionOf(id) === version
    )
  // A collection's model as listed: the short shape, or Replicate's full model with its latest version.
  const listed = (entry: CatalogModel) => {
    const id = `${entry.owner}/${entry.name}`
    if (entry.official === undefined) return { owner: entry.owner, name: entry.name, description: entry.description }
    return {
      url: `https://replicate.com/${id}`,
      owner: entry.owner,
      name: entry.name,
      description: entry.description,
      visibility: "public",
      github_url: null,
      paper_url: null,
      license_url: null,
      run_count: 1,
      cover_image_url: null,
      default_example: null,
      is_official: entry.official,
      latest_version:
        entry.unreleased === true
          ? null
          : { id: latestVersionOf(id), created_at: "2026-01-01T00:00:00.000000Z", cog_version: "0.14.0", openapi_schema: settings.schemas[id] ?? null }
    }
  }

  const sendWebhook = (p: Prediction, url: string) => {
    const body = JSON.stringify(view(p))
    const id = `msg_${crypto.randomUUID().replace(/-/g, "")}`
    const timestamp = String(Math.floor(settings.now() / 1000))
    const key = Buffer.from(webhookSecret.slice("whsec_".length), "base64")
    const signature = crypto.createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")
    const pollsBefore = requests.filter((request) => classify(request) === "get" && request.url.split("?")[0] === `/predictions/${p.id}`).length
    postWebhook(url, { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` }, body, (status) =>
      webhooks.push({ url, requestId: p.id, status, body, pollsBefore })
    )
  }

  const stored = new Map<string, StoredFile>()

  const classify = (request: EmuRequest): ReplicateRequestKind => {
    const path = request.url.split("?")[0]!
    if (request.method === "POST" && path === "/files") return "upload" as const
    if (/^\/files\/upl[^/.]+(\/download)?$/.test(path)) return "stored" as const
    if (path.startsWith("/files/")) return "file" as const
    if (path.startsWith("/collections/")) return "collection" as const
    if (/^\/predictions\/[^/]+\/cancel$/.test(path)) return "cancel" as const
    if (/^\/predictions\/[^/]+$/.test(path)) return "get" as const
    if (request.method === "POST" && (path === "/predictions" || /^\/models\/[^/]+\/[^/]+\/predictions$/.test(path))) return "create" as const
    if (request.method === "GET" && path === "/predictions") return "list" as const
    if (path === "/models") return "models" as const
    if (request.method === "GET" && /^\/models\/[^/]+\/[^/]+$/.test(path)) return "model" as const
    if (request.method === "GET" && /^\/models\/[^/]+\/[^/]+\/versions\/[^/]+$/.test(path)) return "version" as const
    if (request.method === "GET" && path === "/webhooks/default/secret") return "secret" as const
    return "other" as const
  }

  // The file resource, as Replicate's spec (`schemas_file_response`) has it.
  const fileResource = (id: string, file: StoredFile) => {
    const created = settings.now()
    return {
      id,
      name: file.fileName,
      content_type: file.contentType,
      size: file.bytes.length,
      etag: crypto.createHash("md5").update(file.bytes).digest("hex"),
      checksums: { sha256: crypto.createHash("sha256").update(file.bytes).digest("hex") },
      metadata: {},
      created_at: new Date(created).toISOString(),
      expires_at: new Date(created + 24 * 3600_000).toISOString(),
      urls: { get: `${emulator.baseUrl}/files/${id}` }
    }
  }

  const isDone = (p: Prediction) => p.plan?.plan.stuck !== true && p.polls >= settings.startingSteps + settings.processingSteps

  // A prediction still unfinished once its deadline passed ends there: aborted before it started, else canceled.
  const settle = (p: Prediction) => {
    if (p.expired !== undefined || p.canceled || isDone(p) || p.deadline === undefined || settings.now() < p.deadline) return
    p.expired = p.polls < settings.startingSteps || p.plan?.plan.stuck === true ? "aborted" : "canceled"
  }

  const view = (p: Prediction) => {
    settle(p)
    const done = isDone(p)
    const running = Math.max(0, Math.min(p.polls - settings.startingSteps + 1, settings.processingSteps))
    const logs = Array.from({ length: p.polls >= settings.startingSteps ? running : 0 }, (_, i) => {
      const pct = Math.round(((i + 1) / (settings.processingSteps + 1)) * 100)
      return `${pct}%|${"#".repeat(i + 1)}| ${i + 1}/${settings.processingSteps + 1}`
    }).join("\n")
    const status = p.canceled
      ? "canceled"
      : p.expired !== undefined
        ? p.expired
        : done
        ? p.failWith !== undefined
          ? "failed"
          : "succeeded"
        : p.polls < settings.startingSteps || p.plan?.plan.stuck === true
          ? "starting"
          : "processing"
    const base = emulator.baseUrl
    // A model of the catalog outputs what it says; a version of no model the emulator knows has no telling name: an `image` input means image-to-video.
    const unknownVersion = p.version !== undefined && modelOfVersion(p.version) === undefined
    const kind = catalogModel(p.model)?.output ?? (unknownVersion && "image" in p.input ? "video" : kindOf(p.model))
    const output = status === "succeeded" ? outputOf(kind, `${base}/files/${p.id}`) : null
    return {
      id: p.id,
      model: p.model,
      version: p.version ?? "hidden",
      input: p.input,
      logs,
      output,
      data_removed: false,
      error: status === "failed" ? p.failWith : null,
      status,
      created_at: new Date(p.createdAt).toISOString(),
      ...(p.deadline !== undefined ? { deadline: new Date(p.deadline).toISOString() } : {}),
      urls: { get: `${base}/predictions/${p.id}`, cancel: `${base}/predictions/${p.id}/cancel`, web: `https://replicate.com/p/${p.id}` }
    }
  }

  const emulator: ReplicateEmulator = {
    baseUrl: "https://replicate.emulator.test",
    requests,
    settings,
    predictions,
    count: (kind) => requests.filter((request) => classify(request) === kind).length,
    predictionsByInput: () => countByInput([...predictions.values()].map((p) => p.input)),
    webhooks,
    webhookSecret,
    stored,
    handle: (request) => {
      const kind = classify(request)
      const path = request.url.split("?")[0]!
      if (kind === "file") {
        const planned = predictions.get(/^\/files\/([^./]+)/.exec(path)?.[1] ?? "")?.plan?.plan.fileReply
        if (planned !== undefined) return planned
        const ext = path.split(".").pop() ?? "png"
        const type =
          settings.fileContentType ?? ({ png: "image/png", mp4: "video/mp4", wav: "audio/wav" } as Record<string, string>)[ext] ?? "application/octet-stream"
        const truncate = settings.truncateFiles > 0
        if (truncate) settings.truncateFiles -= 1
        return fileReply(request, { bytes: settings.fileBytes, contentType: type, ranges: settings.ranges, truncate })
      }
      const authorization = request.headers["authorization"]
      if (authorization !== `Bearer ${settings.token}` && !settings.otherTokens.some((token) => authorization === `Bearer ${token}`)) {
        return jsonReply(401, { title: "Unauthenticated", detail: "You did not pass a valid authentication token", status: 401 })
      }
      const intercepted = settings.intercept?.(request, kind)
      if (intercepted !== undefined) return intercepted
      if (kind === "secret") return jsonReply(200, { key: webhookSecret })
      if (kind === "upload") {
        const form = parseMultipart(request.bytes ?? new Uint8Array(), request.headers["content-type"] ?? "")
        const content = form?.find((part) => part.name === "content")
        if (form === undefined || content === undefined) return jsonReply(400, { title: "Bad request", detail: "content is required", status: 400 })
        const field = (name: string) => {
          const part = form.find((p) => p.name === name && p.filename === undefined)
          return part === undefined ? undefined : Buffer.from(part.bytes).toString("utf8")
        }
        const id = `upl${crypto.randomBytes(10).toString("hex")}`
        const file: StoredFile = {
          bytes: content.bytes,
          contentType: field("type") ?? content.contentType ?? "application/octet-stream",
          fileName: field("filename") ?? content.filename ?? "file"
        }
        stored.set(id, file)
        return jsonReply(201, fileResource(id, file))
      }
      if (kind === "stored") {
        const id = path.split("/")[2] ?? ""
        const file = stored.get(id)
        if (file === undefined) return jsonReply(404, { detail: "File not found" })
        if (!path.endsWith("/download")) return jsonReply(200, fileResource(id, file))
        return { _tag: "Reply", status: 200, headers: { "content-type": file.contentType, "content-length": String(file.bytes.length) }, body: file.bytes }
      }
      if (kind === "collection") {
        const slug = path.split("/")[2]
        const found = slug === undefined ? undefined : settings.collections[slug]
        if (found === undefined) return jsonReply(404, { title: "Not found", detail: "Not found.", status: 404 })
        return jsonReply(200, { name: slug, slug, description: slug, models: found.map(listed) })
      }
      if (kind === "create") {
        const fault = settings.createReplies.shift()
        if (fault !== undefined) return fault
        const cancelAfter = request.headers["cancel-after"]
        const lifetime = cancelAfter === undefined ? undefined : durationMillis(cancelAfter)
        if (lifetime === null || (lifetime !== undefined && lifetime < 5000)) {
          return jsonReply(422, { title: "Invalid Cancel-After", detail: `Cancel-After "${cancelAfter}" is not a duration of at least 5s`, status: 422 })
        }
        const body = JSON.parse(request.body || "{}") as {
          input?: Record<string, unknown>
          version?: string
          webhook?: string
          webhook_events_filter?: ReadonlyArray<string>
        }
        const official = /^\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(path)
        const named = official !== null ? `${official[1]}/${official[2]}` : undefined
        // Only an official model runs by name; any other needs its version.
        if (named !== undefined && catalogModel(named)?.official === false) {
          return jsonReply(404, { title: "Not found", detail: "The specified version does not exist (or perhaps you don't have permission to use it?)", status: 404 })
        }
        const modelId = named ?? (body.version === undefined ? undefined : modelOfVersion(body.version))
        const input = body.input ?? {}
        const document = modelId === undefined ? undefined : settings.schemas[modelId]
        const issues = document === undefined ? [] : inputIssues(document, input)
        if (issues.length > 0) return jsonReply(422, { title: "Input validation failed", detail: issues.map((issue) => `- ${issue}`).join("\n"), status: 422 })
        const id = `pred${++next}`
        const plan = settings.planJob?.(input)
        const prediction: Prediction = {
          id,
          model: modelId ?? "someone/versioned",
          version: body.version,
          input,
          createdAt: settings.now(),
          deadline: lifetime === undefined ? undefined : settings.now() + lifetime,
          expired: undefined,
          polls: 0,
          canceled: false,
          failWith: plan?.failWith ?? settings.failWith,
          plan: plan === undefined ? undefined : { plan, pollReplies: [...(plan.pollReplies ?? [])] },
          webhook: body.webhook,
          finished: false
        }
        settings.failWith = undefined
        predictions.set(id, prediction)
        const webhook = body.webhook
        if (webhook !== undefined) {
          const calls = body.webhook_events_filter === undefined || body.webhook_events_filter.includes("completed")
          setTimeout(() => {
            prediction.finished = true
            // As if polled to its end: it reads final from now on.
            prediction.polls = settings.startingSteps + settings.processingSteps
            if (calls) sendWebhook(prediction, webhook)
          }, settings.webhookJobMs).unref()
        }
        const waited = /^wait/.test(request.headers["prefer"] ?? "")
        if (waited && settings.finishWithinWait) prediction.polls = settings.startingSteps + settings.processingSteps
        const created = jsonReply(201, view(prediction))
        return plan?.answer !== undefined ? plan.answer(created) : created
      }
      if (kind === "list") {
        const query = new URLSearchParams(request.url.split("?")[1] ?? "")
        const after = query.get("created_after")
        const from = after === null || !settings.honourCreatedAfter ? Number.NEGATIVE_INFINITY : Date.parse(after)
        const listed = [...predictions.values()]
          .map((p, order) => ({ p, order }))
          .filter(({ p }) => p.createdAt >= from)
          .sort((a, b) => b.p.createdAt - a.p.createdAt || b.order - a.order)
          .map(({ p }) => p)
        const cursor = Number(query.get("cursor") ?? "0")
        const page = listed.slice(cursor, cursor + settings.pageSize)
        const link = (at: number) => {
          const params = new URLSearchParams(after === null ? {} : { created_after: after })
          params.set("cursor", String(at))
          return `${emulator.baseUrl}/predictions?${params.toString()}`
        }
        return jsonReply(200, {
          results: page.map(view),
          next: cursor + settings.pageSize < listed.length ? link(cursor + settings.pageSize) : null,
          previous: cursor > 0 ? link(Math.max(0, cursor - settings.pageSize)) : null
        })
      }
      if (kind === "model" || kind === "version") {
        const [, , owner, name, , version] = path.split("/")
        const document = settings.schemas[`${owner}/${name}`]
        if (document === undefined) return jsonReply(404, { title: "Not found", detail: "Not found.", status: 404 })
        const versionId = version ?? latestVersionOf(`${owner}/${name}`)
        const answer = { id: versionId, created_at: "2026-01-01T00:00:00.000000Z", cog_version: "0.14.0", openapi_schema: document }
        return jsonReply(
          200,
          kind === "version"
            ? answer
            : {
                url: `https://replicate.com/${owner}/${name}`,
                owner,
                name,
                description: "an emulated model",
                visibility: "public",
                github_url: null,
                paper_url: null,
                license_url: null,
                run_count: 1,
                cover_image_url: null,
                default_example: null,
                latest_version: answer
              }
        )
      }
      if (kind === "models") {
        return jsonReply(200, { results: [{ owner: "emu", name: "pixels", description: "an emulated image model" }], next: null })
      }
      const id = path.split("/")[2] ?? ""
      const prediction = predictions.get(id)
      if (prediction === undefined) return jsonReply(404, { title: "Not found", detail: "Not found.", status: 404 })
      if (kind === "cancel") {
        settle(prediction)
        if (prediction.expired === undefined) prediction.canceled = true
        return jsonReply(200, view(prediction))
      }
      if (kind === "get") {
        if (settings.rateLimitPolls > 0) {
          settings.rateLimitPolls -= 1
          return jsonReply(429, { title: "Request was throttled", detail: "Request was throttled.", status: 429 }, { "retry-after": String(settings.retryAfterSeconds) })
        }
        const planned = nextPollReply(prediction.plan)
        if (planned !== undefined) return planned
        // A webhook prediction moves by the clock, not by polls.
        if (prediction.webhook !== undefined && !prediction.finished) return jsonReply(200, view(prediction))
        // Its deadline is judged as it stood before this poll moved it on.
        settle(prediction)
        if (prediction.expired === undefined) prediction.polls += 1
        return jsonReply(200, view(prediction))
      }
      return jsonReply(404, { detail: "Not found." })
    }
  }
  return emulator
}

/**
 * A `Cancel-After` value in milliseconds: `90s`, `5m`, `1h30m45s`, or bare seconds (`30`); null
 * when it is none of those.
 */
export const durationMillis = (value: string): number | null => {
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const parts = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text)
  if (parts === null || text === "") return null
  const [, h = "0", m = "0", sec = "0"] = parts
  return ((Number(h) * 60 + Number(m)) * 60 + Number(sec)) * 1000
}

/** One part of a `multipart/form-data` body. */
interface FormPart {
  readonly name: string | undefined
  readonly filename: string | undefined
  readonly contentType: string | undefined
  readonly bytes: Uint8Array
}

/** The parts of a `multipart/form-data` body (undefined when the content type names no boundary). */
export const parseMultipart = (body: Uint8Array, contentType: string): ReadonlyArray<FormPart> | undefined => {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1]
  if (boundary === undefined) return undefined
  const raw = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const delimiter = Buffer.from(`--${boundary}`)
  const parts: Array<FormPart> = []
  let at = raw.indexOf(delimiter)
  while (at >= 0) {
    const start = at + delimiter.length
    if (raw.subarray(start, start + 2).toString() === "--") break
    const next = raw.indexOf(delimiter, start)
    if (next < 0) break
    // A part: CRLF, headers, a blank line, the content, CRLF before the next delimiter.
    const part = raw.subarray(start + 2, next - 2)
    const split = part.indexOf("\r\n\r\n")
    const head = part.subarray(0, split).toString("utf8")
    parts.push({
      name: /name="([^"]*)"/i.exec(head)?.[1],
      filename: /filename="([^"]*)"/i.exec(head)?.[1],
      contentType: /content-type:\s*([^\r\n]+)/i.exec(head)?.[1],
      bytes: part.subarray(split + 4)
    })
    at = next
  }
  return parts
}
