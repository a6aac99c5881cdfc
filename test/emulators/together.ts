/**
 * An emulator of Together AI's API on 127.0.0.1 (under `/v1`, like the real one): models list,
 * chat completions (whole and SSE-streamed), image generation (base64 or URL, URLs served by the
 * emulator; an input image as `image_url` or `reference_images` must be an http(s) or image
 * `data:` URL), text-to-speech (WAV/MP3 bytes) and transcription (multipart, verbose_json). It
 * checks the bearer key (401 otherwise), records every request, and plays the faults of
 * `Faults.ts`. It refuses, with 400 `invalid_request_error`, the values Together publishes as out
 * of range: image `steps` outside 1-50 (its image docs), and a chat `max_tokens` above the
 * model's listed `context_length` (the wording of both messages is the emulator's own). State (`reply`, `models`, accepted `keys`) can be changed by a test at any time.
 */
import * as Effect from "effect/Effect"
import { readFileSync } from "node:fs"
import * as path from "node:path"
import { bearerOf, type EmulatorServer, json, type RecordedRequest, serve, type ServeOptions, writeSse } from "./Faults.js"
import { deltasOf, lastUserMessage, silentWav, tinyPng } from "./Samples.js"

/** The realistic `/models` fixture (53 models of every type). */
export const togetherModelsFixture: ReadonlyArray<Record<string, unknown>> = JSON.parse(
  readFileSync(path.join(import.meta.dirname, "..", "providers", "together", "fixtures", "models.json"), "utf8")
)

/** What a test can change while the emulator runs. */
export interface TogetherState {
  /** The chat answer; default: `Echo: <last user message>`. */
  reply: string | undefined
  models: ReadonlyArray<Record<string, unknown>>
  /** Accepted keys; empty accepts any non-empty bearer token. */
  keys: ReadonlyArray<string>
  /** Usage reported by chat answers. */
  usage: { prompt_tokens: number; completion_tokens: number }
  /** Told of each image URL the emulator hands out, with the request it answers (a per-call fault on that file). */
  onImageUrl: ((request: RecordedRequest, url: string) => void) | undefined
  /**
   * What each answered request was billed (USD), by the listed prices: a completion its tokens at the
   * model's `pricing.input`/`pricing.output` per million, an image its megapixels at `pricing.base`.
   */
  billed: Array<number>
}

/** A running Together emulator. */
export interface TogetherEmulator extends EmulatorServer {
  /** The base URL to configure (`<url>/v1`). */
  readonly baseUrl: string
  readonly state: TogetherState
}

/** Start the emulator (`options`: how faults are chosen, see `Faults.serve`); stopped with the scope. */
export const together = (initial: Partial<TogetherState> = {}, options: ServeOptions = {}) =>
  Effect.gen(function* () {
    const state: TogetherState = {
      reply: undefined,
      models: togetherModelsFixture,
      keys: [],
      usage: { prompt_tokens: 12, completion_tokens: 8 },
      onImageUrl: undefined,
      billed: [],
      ...initial
    }
    let created = 0
    const server = yield* serve((request, res, play) => {
      const key = bearerOf(request)
      const route = request.path.split("?")[0] ?? ""
      if (route.startsWith("/files/")) {
        // Result files need no key (like a CDN URL).
        res.writeHead(200, { "content-type": "image/png" })
        res.end(tinyPng)
        return
      }
      if (key === undefined || key === "" || (state.keys.length > 0 && !state.keys.includes(key))) {
        json(res, 401, { error: { message: "Invalid API key provided. You can find your API key at https://api.together.xyz/settings/api-keys.", type: "invalid_request_error", code: "invalid_api_key" } })
        return
      }
      const body = request.json as Record<string, unknown> | undefined
      const model = typeof body?.model === "string" ? body.model : "unknown"
      if (request.method === "GET" && route === "/v1/models") return json(res, 200, state.models)
      const pricing = (state.models.find((m) => m.id === model)?.pricing ?? {}) as { input?: number; output?: number; base?: number }
      if (request.method === "POST" && route === "/v1/chat/completions") {
        const context = state.models.find((m) => m.id === model)?.context_length
        if (typeof body?.max_tokens === "number" && typeof context === "number" && body.max_tokens > context) {
          return json(res, 400, { error: { message: `max_tokens ${body.max_tokens} exceeds the context length of ${model} (${context})`, type: "invalid_request_error" } })
        }
        state.billed.push(((pricing.input ?? 0) * state.usage.prompt_tokens + (pricing.output ?? 0) * state.usage.completion_tokens) / 1_000_000)
        const reply = state.reply ?? `Echo: ${lastUserMessage(body)}`
        const id = `cmpl-${++created}`
        if (body?.stream === true) {
          const deltas = deltasOf(reply)
          const events = [
            ...deltas.map((content) => ({
              id,
              object: "chat.completion.chunk",
              created: 1700000000,
              model,
              choices: [{ index: 0, delta: { role: "assistant", content }, finish_reason: null }]
            })),
            { id, object: "chat.completion.chunk", created: 1700000000, model, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: "stop" }], usage: { ...state.usage, total_tokens: state.usage.prompt_tokens + state.usage.completion_tokens } }
          ]
          return writeSse(res, events, play)
        }
        return json(res, 200, {
          id,
          object: "chat.completion",
          created: 1700000000,
          model,
          prompt: [],
          choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: reply } }],
          usage: { ...state.usage, total_tokens: state.usage.prompt_tokens + state.usage.completion_tokens }
        })
      }
      if (request.method === "POST" && route === "/v1/images/generations") {
        if (typeof body?.prompt !== "string" || body.prompt === "") return json(res, 400, { error: { message: "prompt is required", type: "invalid_request_error" } })
        if (body.steps !== undefined && !(Number.isInteger(body.steps) && Number(body.steps) >= 1 && Number(body.steps) <= 50)) {
          return json(res, 400, { error: { message: "steps must be an integer between 1 and 50", type: "invalid_request_error" } })
        }
        // An input image must be a URL the service can fetch: http(s) or an inline data URL.
        const inputs = [...(body.image_url !== undefined ? [body.image_url] : []), ...(Array.isArray(body.reference_images) ? body.reference_images : [])]
        if (body.reference_images !== undefined && !Array.isArray(body.reference_images)) return json(res, 400, { error: { message: "reference_images must be an array", type: "invalid_request_error" } })
        if (inputs.some((url) => typeof url !== "string" || !/^(https?:|data:image\/[a-z+.-]+;base64,.)/.test(url))) {
          return json(res, 400, { error: { message: "Invalid image URL", type: "invalid_request_error" } })
        }
        const id = `img-${++created}`
        const [width, height] = [Number(body.width ?? 1024), Number(body.height ?? 1024)]
        state.billed.push(((pricing.base ?? 0) * width * height) / 1_000_000)
        const url = `${server.url}/files/${id}.png`
        if (body.response_format === "url") state.onImageUrl?.(request, url)
        const data =
          body.response_format === "url"
            ? [{ index: 0, type: "url", url }]
            : [{ index: 0, type: "b64_json", b64_json: tinyPng.toString("base64") }]
        return json(res, 200, { id, model, object: "list", data })
      }
      if (request.method === "POST" && route === "/v1/audio/speech") {
        if (typeof body?.input !== "string" || typeof body.voice !== "string") return json(res, 400, { error: { message: "input and voice are required", type: "invalid_request_error" } })
        const mp3 = body.response_format === "mp3"
        res.writeHead(200, { "content-type": mp3 ? "audio/mpeg" : "audio/wav" })
        res.end(mp3 ? Buffer.from([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0]) : silentWav())
        return
      }
      if (request.method === "POST" && route === "/v1/audio/transcriptions") {
        const form = request.body.toString("latin1")
        if (!/name="file"; filename="/.test(form)) return json(res, 400, { error: { message: "file is required", type: "invalid_request_error" } })
        const language = /name="language"\r\n\r\n([^\r]*)/.exec(form)?.[1] ?? "en"
        return json(res, 200, {
          task: "transcribe",
          language,
          duration: 1.5,
          text: " Hello from the emulator.",
          segments: [
            { id: 0, start: 0, end: 0.7, text: " Hello" },
            { id: 1, start: 0.7, end: 1.5, text: " from the emulator." }
          ]
        })
      }
      return json(res, 404, { error: { message: `Unable to access model ${model}. Not found: ${request.method} ${route}`, type: "invalid_request_error", code: "model_not_found" } })
    }, options)
    return { ...server, baseUrl: `${server.url}/v1`, state }
  })
