/**
 * An emulator of OpenRouter's API on 127.0.0.1 (under `/api/v1`, like the real one): models
 * list (`output_modalities` filter as documented: text by default, `all` for every model), chat
 * completions, whole or SSE-streamed with `: OPENROUTER PROCESSING` keep-alive comments, image
 * output through chat (`modalities: ["image", "text"]` -> `message.images` data URLs), and the
 * `models` fallback list (a model in `state.down` is skipped for the next one of `models`; the
 * answer's `model` says which served). Asking a model for an output modality it lacks is a 404, as
 * OpenRouter answers it. Images come as data URLs, or (`state.imageAs: "url"`) as
 * URLs of files the emulator serves under `/files/` without a key, as a CDN would. It checks the
 * bearer key (401 otherwise), records every request and plays the faults of `Faults.ts`. A chat
 * answers `state.answer(prompt, model)` when that gives one (a test scripting answers by question),
 * else `state.reply`, else an echo.
 *
 * With `freeLimits` it enforces OpenRouter's limits of free models (`:free` ids) per key, as a
 * sliding window (the strictest count: a client that keeps it keeps any other): past the
 * per-minute limit a 429 with Retry-After ("free-models-per-min"), past the per-day one a 429
 * that speaks of credits, as OpenRouter's does. Time is `state.now()`: a test ties it to its
 * `TestClock`, so the limit is counted in the same logical time the client paces itself by.
 * Every free-model call is logged in `state.freeCalls` with its key, time and status.
 *
 * Video jobs: `POST /videos` (202, `pending`; 400 for a model that does not output video, for
 * frame images to a model that reads no image or not given as http(s)/image `data:` URLs, and
 * for no prompt without frame images),
 * `GET /videos/{id}` (`in_progress` until poll `state.videoPolls`, then `completed` with
 * `usage.cost`), `GET /videos/{id}/content` (MP4 bytes once completed).
 */
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { bearerOf, type EmulatorServer, json, type RecordedRequest, serve, type ServeOptions, writeSse } from "./Faults.js"
import { deltasOf, lastUserMessage, tinyPng } from "./Samples.js"

/** The bytes the emulator answers as a video: an MP4's leading `ftyp` box, enough to be recognised. */
export const tinyMp4 = Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0x69, 0x73, 0x6f, 0x6d, 0x69, 0x73, 0x6f, 0x32])

interface FixtureModel {
  readonly id: string
  readonly architecture?: { readonly input_modalities?: ReadonlyArray<string>; readonly output_modalities?: ReadonlyArray<string> }
}

/** The realistic `/models` fixture (48 models, `:free` variants and multimodal ones included). */
export const openRouterModelsFixture: { readonly data: ReadonlyArray<FixtureModel & Record<string, unknown>> } = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "..", "providers", "openrouter", "fixtures", "models.json"), "utf8")
)

/** What a test can change while the emulator runs. */
export interface OpenRouterState {
  /** The chat answer; default: `Echo: <last user message>`. */
  reply: string | undefined
  /** The chat answer to a given last user message and model, before `reply` (undefined: `reply` answers). */
  answer: ((prompt: string, model: string) => string | undefined) | undefined
  models: ReadonlyArray<FixtureModel & Record<string, unknown>>
  /** Accepted keys; empty accepts any non-empty bearer token. */
  keys: ReadonlyArray<string>
  /** Models that are down: requests for them fall through to the `models` list, or get 503. */
  down: ReadonlyArray<string>
  /** `usage.cost` reported by answers (USD), and billed for each. */
  cost: number
  /** What each answered completion was billed (USD), in order. */
  billed: Array<number>
  /** How images are answered: inline data URLs (default), or URLs of files the emulator serves. */
  imageAs: "data" | "url"
  /** Told of each image URL the emulator hands out, with the request it answers (a per-call fault on that file). */
  onImageUrl: ((request: RecordedRequest, url: string) => void) | undefined
  /** Limits of free-model calls per key, enforced with 429s; none by default. */
  freeLimits: { readonly perMinute?: number; readonly perDay?: number } | undefined
  /** The emulator's clock (epoch milliseconds); default `Date.now`. */
  now: () => number
  /** The poll of `GET /videos/{id}` on which a video job reads completed (earlier ones: in progress). */
  videoPolls: number
  /** When set, every video job answers `failed` with this message. */
  videoFailure: string | undefined
  /** Every free-model chat call: its key, when it came (by `now`) and the status it got. */
  freeCalls: Array<{ readonly key: string; readonly at: number; readonly status: number }>
}

const minuteMs = 60_000
const dayMs = 24 * 60 * minuteMs

// Of the times accepted in the last `window` before `now`, whether `limit` are used; if so, the seconds until one leaves.
const overLimit = (accepted: ReadonlyArray<number>, now: number, window: number, limit: number | undefined): number | undefined => {
  if (limit === undefined) return undefined
  const inside = accepted.filter((at) => at > now - window)
  if (inside.length < limit) return undefined
  return Math.max(1, Math.ceil((inside[inside.length - limit]! + window - now) / 1000))
}

/** A running OpenRouter emulator. */
export interface OpenRouterEmulator extends EmulatorServer {
  /** The base URL to configure (`<url>/api/v1`). */
  readonly baseUrl: string
  readonly state: OpenRouterState
}

/** Start the emulator (`options`: how faults are chosen, see `Faults.serve`); stopped with the scope. */
export const openrouter = (initial: Partial<OpenRouterState> = {}, options: ServeOptions = {}) =>
  Effect.gen(function* () {
    const state: OpenRouterState = {
      reply: undefined,
      answer: undefined,
      models: openRouterModelsFixture.data,
      keys: [],
      down: [],
      cost: 0.00042,
      billed: [],
      imageAs: "data",
      onImageUrl: undefined,
      freeLimits: undefined,
      now: Date.now,
      freeCalls: [],
      videoPolls: 2,
      videoFailure: undefined,
      ...initial
    }
    // The times of the free-model calls each key was served.
    const freeServed = new Map<string, Array<number>>()
    // Video jobs by id: how often each was polled (it completes on poll `state.videoPolls`).
    const videoJobs = new Map<string, { polls: number; readonly model: string }>()
    let created = 0
    const server = yield* serve((request, res, play) => {
      const key = bearerOf(request)
      const [route = "", query = ""] = request.path.split("?")
      if (route.startsWith("/files/")) {
        res.writeHead(200, { "content-type": "image/png" })
        res.end(tinyPng)
        return
      }
      if (key === undefined || key === "" || (state.keys.length > 0 && !state.keys.includes(key))) {
        json(res, 401, { error: { code: 401, message: "No auth credentials found" } })
        return
      }
      const body = request.json as Record<string, unknown> | undefined
      if (request.method === "GET" && route === "/api/v1/models") {
        const wanted = new URLSearchParams(query).get("output_modalities") ?? "text"
        const data =
          wanted === "all"
            ? state.models
            : state.models.filter((m) => wanted.split(",").some((w) => m.architecture?.output_modalities?.includes(w) === true))
        return json(res, 200, { data, total_count: data.length, links: { next: null } })
      }
      if (request.method === "POST" && route === "/api/v1/chat/completions") {
        const asked = typeof body?.model === "string" ? body.model : ""
        if (asked.endsWith(":free")) {
          const now = state.now()
          const served = freeServed.get(key) ?? []
          const perMinute = overLimit(served, now, minuteMs, state.freeLimits?.perMinute)
          const perDay = overLimit(served, now, dayMs, state.freeLimits?.perDay)
          if (perMinute !== undefined || perDay !== undefined) {
            state.freeCalls.push({ key, at: now, status: 429 })
            const message =
              perDay !== undefined
                ? "Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day"
                : "Rate limit exceeded: free-models-per-min."
            return json(res, 429, { error: { code: 429, message } }, { "retry-after": String(perDay ?? perMinute) })
          }
          served.push(now)
          freeServed.set(key, served)
          state.freeCalls.push({ key, at: now, status: 200 })
        }
        const fallbacks = Array.isArray(body?.models) ? body.models.filter((m): m is string => typeof m === "string") : []
        const served = [asked, ...fallbacks].find((m) => !state.down.includes(m))
        if (served === undefined) return json(res, 503, { error: { code: 503, message: `No endpoints available for ${asked}` } })
        if (!state.models.some((m) => m.id === served)) return json(res, 404, { error: { code: 404, message: `No endpoints found for ${served}.` } })
        const outputs = state.models.find((m) => m.id === served)?.architecture?.output_modalities ?? ["text"]
        const asks = Array.isArray(body?.modalities) ? body.modalities : ["text"]
        if (asks.some((modality) => !outputs.includes(String(modality)))) {
          return json(res, 404, { error: { code: 404, message: `No endpoints found that support the requested output modalities: ${asks.join(", ")}` } })
        }
        const reply = state.answer?.(lastUserMessage(body), served) ?? state.reply ?? `Echo: ${lastUserMessage(body)}`
        const id = `gen-${++created}`
        const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cost: state.cost }
        state.billed.push(state.cost)
        const wantsImage = Array.isArray(body?.modalities) && body.modalities.includes("image")
        const imageUrl = `${server.url}/files/${id}.png`
        if (wantsImage && state.imageAs === "url") state.onImageUrl?.(request, imageUrl)
        if (body?.stream === true) {
          const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) => ({
            id,
            provider: "Emulated",
            model: served,
            object: "chat.completion.chunk",
            created: 1740000000,
            choices: [{ index: 0, delta: { role: "assistant", ...delta }, finish_reason: finish, native_finish_reason: finish }],
            ...extra
          })
          const events = [...deltasOf(reply).map((content) => chunk({ content }, null)), chunk({ content: "" }, "stop", { usage })]
          return writeSse(res, events, play, { comments: ["OPENROUTER PROCESSING", "OPENROUTER PROCESSING"] })
        }
        return json(res, 200, {
          id,
          provider: "Emulated",
          model: served,
          object: "chat.completion",
          created: 1740000000,
          system_fingerprint: null,
          choices: [
            {
              index: 0,
              finish_reason: "stop",
              native_finish_reason: "STOP",
              message: {
                role: "assistant",
                content: wantsImage ? (outputs.includes("text") ? "Here is your image." : null) : reply,
                ...(wantsImage
                  ? {
                      images: [
                        {
                          type: "image_url",
                          image_url: { url: state.imageAs === "url" ? imageUrl : `data:image/png;base64,${tinyPng.toString("base64")}` }
                        }
                      ]
                    }
                  : {})
              }
            }
          ],
          usage
        })
      }
      if (request.method === "POST" && route === "/api/v1/videos") {
        const asked = typeof body?.model === "string" ? body.model : ""
        const listed = state.models.find((m) => m.id === asked)
        if (listed === undefined) return json(res, 404, { error: { code: 404, message: `No endpoints found for ${asked}.` } })
        if (listed.architecture?.output_modalities?.includes("video") !== true) {
          return json(res, 400, { error: { code: 400, message: `${asked} does not generate video` } })
        }
        const frames = Array.isArray(body?.frame_images) ? body.frame_images : []
        if (frames.length > 0 && listed.architecture?.input_modalities?.includes("image") !== true) {
          return json(res, 400, { error: { code: 400, message: `${asked} does not take frame images` } })
        }
        const frameUrls = frames.map((frame: unknown) => (frame as { image_url?: { url?: unknown } } | null)?.image_url?.url)
        if (frameUrls.some((url) => typeof url !== "string" || !/^(https?:|data:image\/[a-z+.-]+;base64,.)/.test(url))) {
          return json(res, 400, { error: { code: 400, message: "Invalid frame image URL" } })
        }
        if ((typeof body?.prompt !== "string" || body.prompt === "") && frames.length === 0) {
          return json(res, 400, { error: { code: 400, message: "prompt is required" } })
        }
        const id = `job-${++created}`
        videoJobs.set(id, { polls: 0, model: asked })
        state.billed.push(state.cost)
        return json(res, 202, { id, generation_id: `gen-${id}`, polling_url: `/api/v1/videos/${id}`, status: "pending" })
      }
      const videoRoute = /^\/api\/v1\/videos\/([^/]+)(\/content)?$/.exec(route)
      if (request.method === "GET" && videoRoute !== null) {
        const id = decodeURIComponent(videoRoute[1]!)
        const job = videoJobs.get(id)
        if (job === undefined) return json(res, 404, { error: { code: 404, message: "Resource not found" } })
        const completed = job.polls >= state.videoPolls
        if (videoRoute[2] !== undefined) {
          if (!completed) return json(res, 400, { error: { code: 400, message: "the video is not ready" } })
          res.writeHead(200, { "content-type": "video/mp4" })
          res.end(tinyMp4)
          return
        }
        job.polls++
        if (state.videoFailure !== undefined) {
          return json(res, 200, { id, polling_url: `/api/v1/videos/${id}`, status: "failed", error: state.videoFailure })
        }
        const status = job.polls >= state.videoPolls ? "completed" : "in_progress"
        return json(res, 200, {
          id,
          generation_id: `gen-${id}`,
          polling_url: `/api/v1/videos/${id}`,
          status,
          ...(status === "completed" ? { unsigned_urls: [`${server.url}/files/${id}.mp4`], usage: { cost: state.cost } } : {})
        })
      }
      return json(res, 404, { error: { code: 404, message: `Not found: ${request.method} ${route}` } })
    }, options)
    return { ...server, baseUrl: `${server.url}/api/v1`, state }
  })
