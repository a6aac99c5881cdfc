/**
 * An emulator of fal.ai's queue (and of a file host serving results), as a stateful request
 * handler that runs either behind a real node:http server on 127.0.0.1 (`serve`) or as an
 * in-memory `HttpClient` (`clientLayer`, for TestClock tests: no real time, no sockets).
 *
 * A job advances one state per status poll: `queueSteps` polls IN_QUEUE (position counting down),
 * `runSteps` polls IN_PROGRESS (one more log line each, with a tqdm-style percent), then COMPLETED.
 * Faults: a job that fails (`failWith`), 429s with Retry-After on status polls (`rateLimitPolls`),
 * answers to the next submits (`submitReplies`), result files that are truncated (`truncateFiles`),
 * served without Range support (`ranges: false`), of another content type (`fileContentType`) or
 * of any size (`fileBytes`). Every request is recorded; `count` tells submits, polls, cancels.
 *
 * Results are in the shape fal's models answer for the kind the model makes (by its category in
 * `listing`, else by its id): `images[]`, `video`, `audio_file` (Stable Audio), `audio` (speech:
 * Kokoro, MiniMax), or a transcript. The model listing answers `listing` (`defaultListing`; the
 * catalog walk uses `fullListing`, a model in every category, some we cannot run).
 *
 * Per-call faults (the soak suite's load, where many calls are in flight at once): `intercept`
 * answers a request instead of the emulator (a submit refused before any job exists), and
 * `planJob` gives a job its own behaviour from its input when it is created (`JobPlan`: the
 * submit's answer lost or broken although the job was taken, a failure, a job that never leaves
 * the queue, faulty status answers, a result file that is gone). `jobsByInput` counts the jobs
 * created per input, which is how a double submit shows.
 *
 * Start timeout: a submit's `X-Fal-Request-Timeout: N` (seconds, more than 0.1, else 400
 * `bad_request`) gives the job N seconds, by the emulator's `now` (the wall clock unless a test
 * moves it), to leave the queue. A job still queued when that has passed ends as fal documents a
 * request timeout: its status is COMPLETED with `error: "Request timed out"` and `error_type:
 * "request_timeout"`, and its result answers 504 `{detail, error_type}` with `X-Fal-Error-Type:
 * request_timeout` and `X-Fal-Request-Timeout-Type: user`. A job that has started is not ended.
 *
 * Webhooks: a submit with `fal_webhook=<url>` makes a job that does not move on status polls
 * (IN_PROGRESS until done) but finishes by itself `webhookJobMs` (real milliseconds) after the
 * submit, and then POSTs fal's webhook to the URL: `{request_id, gateway_request_id, status: OK |
 * ERROR, payload, error}`, signed as fal signs (ED25519 over `request_id \n user_id \n timestamp
 * \n sha256-hex(body)`, hex, `X-Fal-Webhook-*` headers) with a key pair made per emulator, whose
 * public half is served as a JWKS at `/.well-known/jwks.json` (no key needed). Every delivery is
 * recorded in `webhooks` (the receiver's status, 0 when it could not be reached).
 *
 * Input schemas: `GET /api/openapi/queue/openapi.json?endpoint_id={model}` (public, no key, as
 * fal serves it) answers the endpoint's queue OpenAPI document from `schemas` (by default Seedream
 * v4 and FLUX.1 [schnell], see ./Schemas.ts), 404 for a model that has none.
 * Storage, as fal's REST API: `POST /storage/upload/initiate` (with the key) `{content_type,
 * file_name}` -> `{upload_url, file_url}`; `PUT upload_url` (pre-signed: no key, one with a key is
 * refused as a signed URL refuses a second credential) stores the bytes, served at `file_url`.
 *
 * It also exports the parts the Replicate emulator shares: `Reply`, `serve`, `clientLayer`,
 * `fileReply`, `postWebhook`.
 *
 * Not the shared Faults.ts kit: that one wraps real sockets only, and these emulators must also
 * run in memory under TestClock; their faults are protocol states (queue, wait, cancel) anyway.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as crypto from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { falSchemas } from "./Schemas.js"

/** A request as an emulator sees it. */
export interface EmuRequest {
  readonly method: string
  /** Path and query, e.g. `/fal-ai/flux/requests/r1/status?logs=1`. */
  readonly url: string
  /** Lower-cased names. */
  readonly headers: Readonly<Record<string, string>>
  /** The body as UTF-8 text; empty for a binary body (an upload: see `bytes`). */
  readonly body: string
  /** The body's bytes as received (behind `serve` only). */
  readonly bytes?: Uint8Array
}

// Bodies kept as bytes only: decoding an uploaded file as text would cost its size twice over, for nothing.
const binaryBody = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^(multipart\/|image\/|video\/|audio\/|application\/octet-stream)/i.test(contentType)

/**
 * An emulator's answer: a normal one, a body cut after `cutAt` bytes (socket destroyed), a reset,
 * a body that stalls halfway for `delayMs` (`SlowBody`), or no answer at all (`Hang`: the
 * connection stays open until the client gives up or the server closes).
 */
export type Reply =
  | {
      readonly _tag: "Reply"
      readonly status: number
      readonly headers?: Record<string, string>
      readonly body?: string | Uint8Array
      /** Real milliseconds to wait before answering (a slow provider). */
      readonly delayMs?: number
    }
  | { readonly _tag: "Truncate"; readonly status: number; readonly headers: Record<string, string>; readonly body: Uint8Array; readonly cutAt: number }
  | { readonly _tag: "Reset" }
  | { readonly _tag: "SlowBody"; readonly status: number; readonly headers: Record<string, string>; readonly body: string | Uint8Array; readonly delayMs: number }
  | { readonly _tag: "Hang" }

/** A JSON reply. */
export const jsonReply = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  _tag: "Reply",
  status,
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body)
})

/** A normal reply whose body stalls halfway for `delayMs` (its headers and first half go out at once). */
export const slowBody = (reply: Reply, delayMs: number): Reply =>
  reply._tag === "Reply"
    ? { _tag: "SlowBody", status: reply.status, headers: reply.headers ?? {}, body: reply.body ?? "", delayMs }
    : reply

/** A 200 JSON answer whose body is not JSON (cut in the middle of an object). */
export const malformedJsonReply: Reply = {
  _tag: "Reply",
  status: 200,
  headers: { "content-type": "application/json" },
  body: '{"request_id": "req-broken", "status": '
}

/** Something that answers requests and knows its own base URL. */
export interface Emulator {
  baseUrl: string
  readonly requests: Array<EmuRequest>
  readonly handle: (request: EmuRequest) => Reply
}

/** The content of a result file of `size` bytes: a repeating pattern (checkable, not compressible to nothing). */
export const fileContent = (size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < size; i++) bytes[i] = i % 251
  return bytes
}

/** File serving options. */
export interface FileOptions {
  readonly bytes: number
  readonly contentType: string
  readonly ranges: boolean
  /** Cut this answer's body halfway. */
  readonly truncate: boolean
}

/** Serve a file: full (200) or a byte range (206) when `ranges` and asked; cut halfway when `truncate`. */
export const fileReply = (request: EmuRequest, options: FileOptions): Reply => {
  const content = fileContent(options.bytes)
  const base: Record<string, string> = { "content-type": options.contentType, etag: `"f${options.bytes}"` }
  if (options.ranges) base["accept-ranges"] = "bytes"
  let status = 200
  let body = content
  const range = /^bytes=(\d+)-$/.exec(request.headers["range"] ?? "")
  if (options.ranges && range !== null) {
    const start = Number(range[1])
    if (start >= content.length) return { _tag: "Reply", status: 416, headers: { "content-range": `bytes */${content.length}` } }
    status = 206
    body = content.subarray(start)
    base["content-range"] = `bytes ${start}-${content.length - 1}/${content.length}`
  }
  base["content-length"] = String(body.length)
  if (options.truncate) return { _tag: "Truncate", status, headers: base, body, cutAt: Math.floor(body.length / 2) }
  return { _tag: "Reply", status, headers: base, body }
}

/** Run an emulator behind a node:http server on 127.0.0.1 (free port); closed with the scope. Sets `baseUrl`. */
export const serve = <E extends Emulator>(emulator: E) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: http.Server; readonly timers: Set<NodeJS.Timeout> }>((resume) => {
      // Pending delayed answers, cleared when the server closes.
      const timers = new Set<NodeJS.Timeout>()
      const later = (ms: number, run: () => void) => {
        const timer = setTimeout(() => {
          timers.delete(timer)
          run()
        }, ms)
        timers.add(timer)
      }
      const server = http.createServer((req, res) => {
        const chunks: Array<Buffer> = []
        req.on("data", (chunk: Buffer) => chunks.push(chunk))
        req.on("end", () => {
          const headers: Record<string, string> = {}
          for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers[name] = value
          const raw = Buffer.concat(chunks)
          const body = binaryBody(headers["content-type"]) ? "" : raw.toString("utf8")
          const request: EmuRequest = { method: req.method ?? "GET", url: req.url ?? "/", headers, body, bytes: raw }
          emulator.requests.push(request)
          const reply = emulator.handle(request)
          switch (reply._tag) {
            case "Reset":
              req.socket.destroy()
              return
            case "Truncate":
              res.writeHead(reply.status, reply.headers)
              res.write(Buffer.from(reply.body.subarray(0, reply.cutAt)), () => setTimeout(() => res.socket?.destroy(), 5))
              return
            case "Hang":
              return
            case "SlowBody": {
              const body = typeof reply.body === "string" ? Buffer.from(reply.body, "utf8") : Buffer.from(reply.body)
              const cut = Math.floor(body.length / 2)
              res.writeHead(reply.status, { ...reply.headers, "content-length": String(body.length) })
              res.write(body.subarray(0, cut))
              later(reply.delayMs, () => {
                if (!res.destroyed) res.end(body.subarray(cut))
              })
              return
            }
            case "Reply":
              later(reply.delayMs ?? 0, () => {
                if (res.destroyed) return
                res.writeHead(reply.status, reply.headers ?? {})
                res.end(reply.body === undefined ? undefined : typeof reply.body === "string" ? reply.body : Buffer.from(reply.body))
              })
          }
        })
      })
      server.listen(0, "127.0.0.1", () => {
        emulator.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        resume(Effect.succeed({ server, timers }))
      })
    }),
    ({ server, timers }) =>
      Effect.async<void>((resume) => {
        for (const timer of timers) clearTimeout(timer)
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.as(emulator))

/**
 * The emulator as an in-memory `HttpClient` (no sockets; TestClock-friendly): the providers' API
 * calls and their result downloads both go through it. Keeps `baseUrl` as set.
 */
export const clientLayer = (emulator: Emulator): Layer.Layer<HttpClient.HttpClient> => Layer.succeed(HttpClient.HttpClient, inMemoryClient(emulator))

const inMemoryClient = (emulator: Emulator): HttpClient.HttpClient =>
    HttpClient.make((request, url) =>
      Effect.suspend(() => {
        const body = request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""
        const seen: EmuRequest = { method: request.method, url: `${url.pathname}${url.search}`, headers: { ...request.headers }, body }
        emulator.requests.push(seen)
        const reply = emulator.handle(seen)
        if (reply._tag === "Hang") return Effect.never
        if (reply._tag === "SlowBody") {
          const body = typeof reply.body === "string" ? new TextEncoder().encode(reply.body) : reply.body
          const cut = Math.floor(body.length / 2)
          let step = 0
          const stream = new ReadableStream<Uint8Array>({
            async pull(controller) {
              step += 1
              if (step === 1) controller.enqueue(body.slice(0, cut))
              else if (step === 2) {
                await new Promise<void>((resolve) => setTimeout(resolve, reply.delayMs))
                controller.enqueue(body.slice(cut))
              } else controller.close()
            }
          })
          return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(stream, { status: reply.status, headers: reply.headers })))
        }
        if (reply._tag === "Reset") {
          return Effect.fail(
            new HttpClientError.RequestError({ request, reason: "Transport", cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) })
          )
        }
        if (reply._tag === "Truncate") {
          const part = reply.body.slice(0, reply.cutAt)
          const stream = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (part.length > 0 && !(controller as { sent?: boolean }).sent) {
                ;(controller as { sent?: boolean }).sent = true
                controller.enqueue(part)
              } else controller.error(Object.assign(new Error("terminated"), { code: "UND_ERR_SOCKET" }))
            }
          })
          return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(stream, { status: reply.status, headers: reply.headers })))
        }
        const payload = reply.body === undefined ? null : typeof reply.body === "string" ? reply.body : Buffer.from(reply.body)
        const response = HttpClientResponse.fromWeb(request, new Response(reply.status === 204 ? null : payload, { status: reply.status, headers: reply.headers ?? {} }))
        return reply.delayMs === undefined
          ? Effect.succeed(response)
          : Effect.as(Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, reply.delayMs))), response)
      })
    )

/**
 * How one job behaves, decided from its input when it is created (`planJob`): what the submit
 * answers although the job was taken (`answer`, given the normal answer: a 500, a reset, a late
 * or broken answer), a failure message, a job that never leaves the queue (`stuck`), replies to
 * its next status polls instead of its status (`pollReplies`, consumed in order), and what its
 * result file answers instead of the file (`fileReply`: a 404 of a URL that expired ...).
 */
export interface JobPlan {
  readonly answer?: (accepted: Reply) => Reply
  readonly failWith?: string
  readonly stuck?: boolean
  readonly pollReplies?: ReadonlyArray<Reply>
  readonly fileReply?: Reply
}

/** What an emulator knows of a job's plan while it runs: the poll replies still to play. */
interface PlanState {
  readonly plan: JobPlan
  pollReplies: Array<Reply>
}

const planState = (plan: JobPlan | undefined): PlanState | undefined =>
  plan === undefined ? undefined : { plan, pollReplies: [...(plan.pollReplies ?? [])] }

/** The next planned status reply of a job, consuming it. */
export const nextPollReply = (state: PlanState | undefined): Reply | undefined => state?.pollReplies.shift()

/** How many jobs were created per input (its JSON): more than one for the same input is a double submit. */
export const countByInput = (inputs: Iterable<Record<string, unknown>>): ReadonlyMap<string, number> => {
  const counts = new Map<string, number>()
  for (const input of inputs) {
    const key = JSON.stringify(input)
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return counts
}

/** One webhook an emulator sent. */
export interface WebhookDelivery {
  readonly url: string
  /** The job (prediction) it is about. */
  readonly requestId: string
  /** The receiver's HTTP status; 0 when it could not be reached. */
  readonly status: number
  readonly body: string
  /** How many status polls of this job the emulator had answered when it sent it. */
  readonly pollsBefore: number
}

/** POST a webhook (real sockets), recording the delivery once the receiver answered (or failed). */
export const postWebhook = (
  url: string,
  headers: Record<string, string>,
  body: string,
  record: (status: number) => void
): void => {
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body })
    .then(async (response) => {
      await response.arrayBuffer().catch(() => undefined)
      record(response.status)
    })
    .catch(() => record(0))
}

/** A timer that does not hold the process open (an emulator's job finishing by itself). */
const later = (ms: number, run: () => void): void => {
  setTimeout(run, ms).unref()
}

/** The kinds of request the fal emulator tells apart. */
export type FalRequestKind = "submit" | "status" | "result" | "cancel" | "file" | "models" | "schema" | "initiate" | "upload" | "stored" | "other"

/** A file uploaded to an emulator's storage. */
export interface StoredFile {
  readonly bytes: Uint8Array
  readonly contentType: string
  readonly fileName: string
}

/** One emulated fal job. */
interface FalJob {
  readonly id: string
  readonly model: string
  readonly input: Record<string, unknown>
  /** When no runner having started it ends it (`X-Fal-Request-Timeout` after the submit), epoch ms. */
  readonly startBy: number | undefined
  /** Ended by its start timeout. */
  timedOut: boolean
  polls: number
  cancelled: boolean
  readonly failWith: string | undefined
  readonly plan: PlanState | undefined
  /** The URL the job calls when done (`fal_webhook`): it then finishes by itself, not by polls. */
  readonly webhook: string | undefined
  /** A webhook job that finished. */
  finished: boolean
  /** The key that submitted it. */
  readonly key: string | undefined
}

/** The fal emulator's knobs (all mutable between calls). */
export interface FalSettings {
  /** Status polls spent IN_QUEUE. Default 2. */
  queueSteps: number
  /** Status polls spent IN_PROGRESS. Default 2. */
  runSteps: number
  /** The next job fails with this message. */
  failWith: string | undefined
  /** The next N status polls answer 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitPolls: number
  retryAfterSeconds: number
  /** Replies to the next submits instead of accepting them (e.g. a 500). */
  submitReplies: Array<Reply>
  /** Result file size in bytes. Default 4096. */
  fileBytes: number
  /** Content type of result files; default from the model kind. */
  fileContentType: string | undefined
  /** Whether files support Range. Default true. */
  ranges: boolean
  /** How many file answers to cut halfway (Infinity: all). Default 0. */
  truncateFiles: number
  /** Real milliseconds the submit answer takes. Default 0. */
  submitDelayMs: number
  /** The key the emulator accepts (`Authorization: Key <key>`). */
  key: string
  /** More keys it accepts (a provider configured with a key ring). Default none. */
  otherKeys: ReadonlyArray<string>
  /** Each key is its own account: a job's status, result and cancel answer 404 to any other key. Default false. */
  accountsPerKey: boolean
  /** A reply to a request instead of the emulator's own (after the key check; result files, which need no key, too): a submit refused before any job exists, a download that stalls. */
  intercept: ((request: EmuRequest, kind: FalRequestKind) => Reply | undefined) | undefined
  /** A new job's own behaviour, from its input. */
  planJob: ((input: Record<string, unknown>) => JobPlan | undefined) | undefined
  /** The emulator's clock (epoch ms), for start timeouts and webhook timestamps. Default the wall clock. */
  now: () => number
  /** Real milliseconds a job submitted with `fal_webhook` takes before it finishes and calls. Default 200. */
  webhookJobMs: number
  /** The user id fal signs webhooks with. */
  webhookUserId: string
  /**
   * What a finished job of a model is billed, in US dollars (fal's published per-request or
   * per-image prices). Failed and cancelled jobs are not billed; a model not listed bills 0.
   */
  prices: Readonly<Record<string, number>>
  /** The queue OpenAPI document of each model that publishes one (see ./Schemas.ts). */
  schemas: Record<string, Record<string, unknown>>
  /** What the model listing answers (one page). Default `defaultListing`. */
  listing: ReadonlyArray<ListedEntry>
}

/** One model of fal's listing, as `/v1/models` answers it. */
export interface ListedEntry {
  readonly endpoint_id: string
  readonly metadata: { readonly display_name: string; readonly category: string; readonly status: "active" | "deprecated"; readonly description?: string }
}

const listed = (id: string, name: string, category: string): ListedEntry => ({
  endpoint_id: id,
  metadata: { display_name: name, category, status: "active" }
})

/** The default listing: one curated model, one model only the listing has, one not offered. */
export const defaultListing: ReadonlyArray<ListedEntry> = [
  listed("fal-ai/flux/schnell", "FLUX.1 [schnell]", "text-to-image"),
  listed("fal-ai/emu/listed-video", "Listed video", "text-to-video"),
  listed("fal-ai/emu/trainer", "A trainer", "training")
]

/**
 * A listing with models under every category fal publishes that we may map, as fal names them
 * (real endpoint ids), including upscalers fal lists under image-to-image, a video upscaler under
 * video-to-video, and categories the provider cannot run (3D, training): for the catalog walk.
 */
export const fullListing: ReadonlyArray<ListedEntry> = [
  ...defaultListing,
  listed("fal-ai/flux/dev/image-to-image", "FLUX.1 [dev] image-to-image", "image-to-image"),
  listed("fal-ai/kling-video/v1.6/standard/image-to-video", "Kling 1.6 image-to-video", "image-to-video"),
  listed("fal-ai/stable-audio", "Stable Audio Open", "text-to-audio"),
  listed("fal-ai/ace-step", "ACE-Step", "text-to-music"),
  listed("fal-ai/kokoro/american-english", "Kokoro TTS", "text-to-speech"),
  listed("fal-ai/minimax/speech-02-hd", "MiniMax Speech-02 HD", "text-to-speech"),
  listed("fal-ai/minimax/voice-clone", "MiniMax Voice Cloning", "text-to-speech"),
  listed("fal-ai/minimax/voice-design", "MiniMax Voice Design", "text-to-speech"),
  listed("fal-ai/whisper", "Whisper", "speech-to-text"),
  listed("fal-ai/elevenlabs/speech-to-text", "ElevenLabs Speech to Text", "audio-to-text"),
  listed("fal-ai/clarity-upscaler", "Clarity Upscaler", "image-to-image"),
  listed("fal-ai/esrgan", "Upscale Images", "image-to-image"),
  listed("fal-ai/aura-sr", "AuraSR", "image-to-image"),
  listed("fal-ai/creative-upscaler", "Creative Upscaler", "image-to-image"),
  listed("fal-ai/hunyuan-video/video-to-video", "Hunyuan video-to-video", "video-to-video"),
  listed("fal-ai/cogvideox-5b/video-to-video", "CogVideoX-5B video-to-video", "video-to-video"),
  listed("fal-ai/video-upscaler", "Video Upscaler", "video-to-video"),
  listed("fal-ai/trellis", "Trellis", "image-to-3d")
]

/** The fal emulator. */
export interface FalEmulator extends Emulator {
  readonly settings: FalSettings
  readonly jobs: Map<string, FalJob>
  /** The webhooks sent, in the order their receivers answered. */
  readonly webhooks: Array<WebhookDelivery>
  /** The emulator's webhook signing key pair (the public half is served at `/.well-known/jwks.json` with `kid` `webhookKid`). */
  readonly webhookKeys: crypto.KeyPairKeyObjectResult
  readonly webhookKid: string
  /** How many requests of a kind it has seen. */
  readonly count: (kind: "submit" | "status" | "result" | "cancel" | "file" | "schema" | "initiate" | "upload") => number
  /** How many jobs were created per input (its JSON). */
  readonly jobsByInput: () => ReadonlyMap<string, number>
  /** What each job that finished well was billed (job id -> US dollars), as fal's usage page would list it. */
  readonly billed: ReadonlyMap<string, number>
  /** The files PUT to its storage, by the `file_url` their initiation answered. */
  readonly stored: Map<string, StoredFile>
  /** PUTs to an upload URL that came with an `Authorization` header (refused, as a pre-signed URL refuses a second credential). */
  readonly keyedPuts: () => number
}

type ResultKind = "image" | "upscaled" | "video" | "audio" | "speech" | "text"

// A listed model's result is the kind its category makes; other models' by their id.
const kindOfCategory: Readonly<Record<string, ResultKind>> = {
  "text-to-image": "image",
  "image-to-image": "image",
  "text-to-video": "video",
  "image-to-video": "video",
  "video-to-video": "video",
  "text-to-audio": "audio",
  "text-to-music": "audio",
  "text-to-speech": "speech",
  "speech-to-text": "text",
  "audio-to-text": "text"
}

// fal's picture upscalers (ESRGAN, Clarity, AuraSR, Creative Upscaler) answer one `image`, not `images`.
const upscalers = /esrgan|clarity-upscaler|aura-sr|creative-upscaler/

const kindOfModel = (model: string, listing: ReadonlyArray<ListedEntry>): ResultKind => {
  const category = listing.find((entry) => entry.endpoint_id === model)?.metadata.category
  const kind = (category !== undefined ? kindOfCategory[category] : undefined) ?? kindOfId(model)
  return kind === "image" && upscalers.test(model) ? "upscaled" : kind
}

const kindOfId = (model: string): ResultKind =>
  /whisper|wizper|speech-to-text/.test(model)
    ? "text"
    : /video/.test(model)
      ? "video"
      : /kokoro|speech|tts/.test(model)
        ? "speech"
        : /audio|music/.test(model)
          ? "audio"
          : "image"

/** Make a fal emulator (base URL set by `serve`, or `https://fal.emulator.test` in memory). */
export const makeFal = (overrides: Partial<FalSettings> = {}): FalEmulator => {
  const settings: FalSettings = {
    queueSteps: 2,
    runSteps: 2,
    failWith: undefined,
    rateLimitPolls: 0,
    retryAfterSeconds: 2,
    submitReplies: [],
    fileBytes: 4096,
    fileContentType: undefined,
    ranges: true,
    truncateFiles: 0,
    submitDelayMs: 0,
    key: "test-fal-key",
    otherKeys: [],
    intercept: undefined,
    accountsPerKey: false,
    planJob: undefined,
    now: Date.now,
    webhookJobMs: 200,
    webhookUserId: "emu-user",
    schemas: falSchemas(),
    listing: defaultListing,
    prices: { "fal-ai/minimax/video-01": 0.5, "fal-ai/minimax/video-01/image-to-video": 0.5, "fal-ai/bytedance/seedream/v4/text-to-image": 0.03 },
    ...overrides
  }
  const jobs = new Map<string, FalJob>()
  const billed = new Map<string, number>()
  const bill = (job: FalJob) => {
    if (!billed.has(job.id)) billed.set(job.id, settings.prices[job.model] ?? 0)
  }
  const requests: Array<EmuRequest> = []
  const webhooks: Array<WebhookDelivery> = []
  const webhookKeys = crypto.generateKeyPairSync("ed25519")
  const webhookKid = `emu-${crypto.randomUUID().slice(0, 8)}`
  let next = 0

  const statusPolls = (id: string) => requests.filter((request) => classify(request) === "status" && request.url.includes(`/requests/${id}/`)).length

  // The job's end, as fal's webhook says it: the payload of a success, or the error of a failure.
  const sendWebhook = (job: FalJob, url: string) => {
    const failure = job.cancelled ? "Request was cancelled" : job.failWith
    const body = JSON.stringify({
      request_id: job.id,
      gateway_request_id: job.id,
      status: failure === undefined ? "OK" : "ERROR",
      payload: failure === undefined ? resultOf(job) : { detail: failure },
      ...(failure !== undefined ? { error: failure } : {})
    })
    const timestamp = String(Math.floor(settings.now() / 1000))
    const digest = crypto.createHash("sha256").update(body).digest("hex")
    const signature = crypto.sign(null, Buffer.from(`${job.id}\n${settings.webhookUserId}\n${timestamp}\n${digest}`), webhookKeys.privateKey).toString("hex")
    const pollsBefore = statusPolls(job.id)
    postWebhook(
      url,
      {
        "x-fal-webhook-request-id": job.id,
        "x-fal-webhook-user-id": settings.webhookUserId,
        "x-fal-webhook-timestamp": timestamp,
        "x-fal-webhook-signature": signature
      },
      body,
      (status) => webhooks.push({ url, requestId: job.id, status, body, pollsBefore })
    )
  }

  // What a finished job's result answers.
  const resultOf = (job: FalJob): unknown => {
    const file = `${emulator.baseUrl}/files/${job.id}`
    switch (kindOfModel(job.model, settings.listing)) {
      case "text":
        return { text: "hello from the emulator", chunks: [{ timestamp: [0, 1.5], text: " hello from the emulator" }] }
      case "video":
        return { video: { url: `${file}.mp4`, content_type: "video/mp4" } }
      case "audio":
        return { audio_file: { url: `${file}.wav`, content_type: "audio/wav" } }
      case "speech":
        // fal's speech endpoints (Kokoro, MiniMax) answer one `audio` File.
        return { audio: { url: `${file}.wav`, content_type: "audio/wav", file_name: `${job.id}.wav`, file_size: settings.fileBytes } }
      case "image":
        return { images: [{ url: `${file}.png`, content_type: "image/png", width: 64, height: 64 }], seed: 42 }
      case "upscaled":
        return { image: { url: `${file}.png`, content_type: "image/png", width: 256, height: 256 } }
    }
  }

  // Storage: initiations not yet PUT (upload token -> the file's URL, type and name), and what was stored.
  const pending = new Map<string, { readonly fileUrl: string; readonly contentType: string; readonly fileName: string }>()
  const stored = new Map<string, StoredFile>()
  let keyedPuts = 0

  const classify = (request: EmuRequest): FalRequestKind => {
    const path = request.url.split("?")[0]!
    if (path.startsWith("/files/")) return "file"
    if (path === "/api/openapi/queue/openapi.json") return "schema"
    if (request.method === "POST" && path === "/storage/upload/initiate") return "initiate"
    if (request.method === "PUT" && path.startsWith("/storage/put/")) return "upload"
    if (request.method === "GET" && path.startsWith("/storage/files/")) return "stored"
    if (path === "/models" || path === "/v1/models") return "models"
    if (/\/requests\/[^/]+\/status$/.test(path)) return "status"
    if (/\/requests\/[^/]+\/cancel$/.test(path)) return "cancel"
    if (/\/requests\/[^/]+$/.test(path)) return "result"
    if (request.method === "POST") return "submit"
    return "other"
  }

  const emulator: FalEmulator = {
    baseUrl: "https://fal.emulator.test",
    requests,
    settings,
    jobs,
    webhooks,
    webhookKeys,
    webhookKid,
    count: (kind) => requests.filter((request) => classify(request) === kind).length,
    jobsByInput: () => countByInput([...jobs.values()].map((job) => job.input)),
    billed,
    stored,
    keyedPuts: () => keyedPuts,
    handle: (request) => {
      const kind = classify(request)
      const path = request.url.split("?")[0]!
      if (kind === "upload" || kind === "stored") {
        // The pre-signed upload URL and the stored file's URL are public: no key (a key on the PUT is refused).
        const faulted = settings.intercept?.(request, kind)
        if (faulted !== undefined) return faulted
        if (kind === "stored") {
          const file = stored.get(`${emulator.baseUrl}${path}`)
          if (file === undefined) return jsonReply(404, { detail: "Not found" })
          return { _tag: "Reply", status: 200, headers: { "content-type": file.contentType, "content-length": String(file.bytes.length) }, body: file.bytes }
        }
        if (request.headers["authorization"] !== undefined) {
          keyedPuts += 1
          return { _tag: "Reply", status: 400, headers: { "content-type": "application/xml" }, body: "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>" }
        }
        const token = path.slice("/storage/put/".length)
        const target = pending.get(token)
        if (target === undefined) return { _tag: "Reply", status: 403, headers: { "content-type": "application/xml" }, body: "<Error><Code>AccessDenied</Code></Error>" }
        pending.delete(token)
        stored.set(target.fileUrl, { bytes: request.bytes ?? new TextEncoder().encode(request.body), contentType: request.headers["content-type"] ?? target.contentType, fileName: target.fileName })
        return { _tag: "Reply", status: 200, headers: {}, body: "" }
      }
      if (kind === "file") {
        // Result files are public URLs (no key asked), but a test may still fault them.
        const faulted = settings.intercept?.(request, kind)
        if (faulted !== undefined) return faulted
        const planned = jobs.get(/^\/files\/([^./]+)/.exec(path)?.[1] ?? "")?.plan?.plan.fileReply
        if (planned !== undefined) return planned
        const ext = path.split(".").pop() ?? "png"
        const type =
          settings.fileContentType ?? ({ png: "image/png", mp4: "video/mp4", wav: "audio/wav" } as Record<string, string>)[ext] ?? "application/octet-stream"
        const truncate = settings.truncateFiles > 0
        if (truncate) settings.truncateFiles -= 1
        return fileReply(request, { bytes: settings.fileBytes, contentType: type, ranges: settings.ranges, truncate })
      }
      if (kind === "schema") {
        // Public documents, as on fal.ai: no key asked; a test may still fault them.
        const faulted = settings.intercept?.(request, kind)
        if (faulted !== undefined) return faulted
        const model = new URLSearchParams(request.url.split("?")[1] ?? "").get("endpoint_id") ?? ""
        const document = settings.schemas[model]
        return document === undefined ? jsonReply(404, { detail: `Endpoint ${model} not found` }) : jsonReply(200, document)
      }
      if (request.method === "GET" && path === "/.well-known/jwks.json") {
        const jwk = webhookKeys.publicKey.export({ format: "jwk" })
        return jsonReply(200, { keys: [{ ...jwk, kid: webhookKid, alg: "EdDSA", use: "sig" }] })
      }
      const authorization = request.headers["authorization"]
      if (authorization !== `Key ${settings.key}` && !settings.otherKeys.some((key) => authorization === `Key ${key}`)) {
        return jsonReply(401, { detail: "Invalid key" })
      }
      const intercepted = settings.intercept?.(request, kind)
      if (intercepted !== undefined) return intercepted
      if (kind === "initiate") {
        const asked = JSON.parse(request.body || "{}") as { content_type?: unknown; file_name?: unknown }
        if (typeof asked.content_type !== "string" || typeof asked.file_name !== "string") {
          return jsonReply(422, { detail: [{ loc: ["body"], msg: "content_type and file_name are required", type: "value_error" }] })
        }
        const token = crypto.randomBytes(12).toString("hex")
        const fileUrl = `${emulator.baseUrl}/storage/files/${crypto.randomUUID().replace(/-/g, "")}/${encodeURIComponent(asked.file_name)}`
        pending.set(token, { fileUrl, contentType: asked.content_type, fileName: asked.file_name })
        return jsonReply(200, { upload_url: `${emulator.baseUrl}/storage/put/${token}?X-Goog-Signature=emulated`, file_url: fileUrl })
      }
      if (kind === "models") {
        return jsonReply(200, {
          models: settings.listing,
          next_cursor: null,
          has_more: false
        })
      }
      if (kind === "submit") {
        const fault = settings.submitReplies.shift()
        if (fault !== undefined) return fault
        const startTimeout = request.headers["x-fal-request-timeout"]
        const startWithin = startTimeout === undefined ? undefined : Number(startTimeout)
        if (startWithin !== undefined && !(Number.isFinite(startWithin) && startWithin > 0.1)) {
          return jsonReply(400, { detail: `Invalid X-Fal-Request-Timeout header: ${startTimeout}`, error_type: "bad_request" }, { "x-fal-error-type": "bad_request" })
        }
        const model = path.slice(1)
        const id = `req-${++next}`
        const [owner, alias] = model.split("/")
        const root = `${emulator.baseUrl}/${owner}/${alias}/requests/${id}`
        const input: Record<string, unknown> = JSON.parse(request.body || "{}")
        const plan = planState(settings.planJob?.(input))
        const startBy = startWithin === undefined ? undefined : settings.now() + startWithin * 1000
        const webhook = new URLSearchParams(request.url.split("?")[1] ?? "").get("fal_webhook") ?? undefined
        const job: FalJob = {
          id,
          model,
          input,
          startBy,
          timedOut: false,
          polls: 0,
          cancelled: false,
          failWith: plan?.plan.failWith ?? settings.failWith,
          plan,
          webhook,
          finished: false,
          key: request.headers["authorization"]
        }
        jobs.set(id, job)
        settings.failWith = undefined
        if (webhook !== undefined) {
          later(settings.webhookJobMs, () => {
            job.finished = true
            // As if polled to its end: its status answers final and its result is there.
            job.polls = settings.queueSteps + settings.runSteps + 1
            if (!job.cancelled && job.failWith === undefined) bill(job)
            sendWebhook(job, webhook)
          })
        }
        const accepted = jsonReply(200, { request_id: id, response_url: root, status_url: `${root}/status`, cancel_url: `${root}/cancel`, queue_position: settings.queueSteps })
        const answer = settings.submitDelayMs > 0 && accepted._tag === "Reply" ? { ...accepted, delayMs: settings.submitDelayMs } : accepted
        return plan?.plan.answer !== undefined ? plan.plan.answer(answer) : answer
      }
      const id = /\/requests\/([^/]+)/.exec(path)?.[1] ?? ""
      const job = jobs.get(id)
      if (job === undefined) return jsonReply(404, { detail: "Request not found" })
      // Keys of separate accounts: a job is not found by another account's key.
      if (settings.accountsPerKey && job.key !== request.headers["authorization"]) return jsonReply(404, { detail: "Request not found" })
      // A job no runner started within its start timeout is ended (judged as it stood before this request moved it on).
      const started = job.plan?.plan.stuck !== true && job.polls >= settings.queueSteps
      if (!job.timedOut && !job.cancelled && !started && job.startBy !== undefined && settings.now() >= job.startBy) job.timedOut = true
      if (job.timedOut) {
        if (kind === "cancel") return jsonReply(400, { status: "ALREADY_COMPLETED" })
        if (kind === "status") return jsonReply(200, { status: "COMPLETED", request_id: id, error: "Request timed out", error_type: "request_timeout", logs: [] })
        return jsonReply(504, { detail: "Request timed out", error_type: "request_timeout" }, {
          "x-fal-error-type": "request_timeout",
          "x-fal-request-timeout-type": "user"
        })
      }
      if (kind === "cancel") {
        const done = job.plan?.plan.stuck !== true && job.polls >= settings.queueSteps + settings.runSteps
        job.cancelled = true
        return jsonReply(done ? 400 : 202, { status: done ? "ALREADY_COMPLETED" : "CANCELLATION_REQUESTED" })
      }
      if (kind === "status") {
        if (settings.rateLimitPolls > 0) {
          settings.rateLimitPolls -= 1
          return jsonReply(429, { detail: "Too many requests" }, { "retry-after": String(settings.retryAfterSeconds) })
        }
        const planned = nextPollReply(job.plan)
        if (planned !== undefined) return planned
        // A webhook job moves by the clock, not by polls: running until it finished.
        if (job.webhook !== undefined && !job.finished && !job.cancelled) return jsonReply(200, { status: "IN_PROGRESS", request_id: id, logs: [] })
        const step = job.polls++
        const logsOn = /[?&]logs=1/.test(request.url)
        if (job.cancelled) return jsonReply(200, { status: "COMPLETED", request_id: id, error: "Request was cancelled", error_type: "cancelled" })
        if (job.plan?.plan.stuck === true) return jsonReply(200, { status: "IN_QUEUE", request_id: id, queue_position: 0 })
        if (step < settings.queueSteps) return jsonReply(200, { status: "IN_QUEUE", request_id: id, queue_position: settings.queueSteps - step - 1 })
        const ran = step - settings.queueSteps + 1
        const logs = Array.from({ length: Math.min(ran, settings.runSteps) }, (_, i) => ({
          message: `step ${i + 1}/${settings.runSteps} ${Math.round(((i + 1) / settings.runSteps) * 100)}%|###`,
          level: "INFO",
          timestamp: "2026-01-01T00:00:00Z"
        }))
        if (step < settings.queueSteps + settings.runSteps) {
          return jsonReply(200, { status: "IN_PROGRESS", request_id: id, logs: logsOn ? logs : null })
        }
        if (job.failWith !== undefined) {
          return jsonReply(200, { status: "FAILED", request_id: id, error: job.failWith, error_type: "runner_error", logs: logsOn ? logs : null })
        }
        bill(job)
        return jsonReply(200, { status: "COMPLETED", request_id: id, logs: logsOn ? logs : null })
      }
      // result
      if (job.plan?.plan.stuck === true || job.polls <= settings.queueSteps + settings.runSteps) return jsonReply(400, { detail: "Request is still in progress" })
      return jsonReply(200, resultOf(job))
    }
  }
  return emulator
}
