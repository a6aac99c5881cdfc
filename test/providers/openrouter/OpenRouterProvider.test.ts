import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { BytesSource, Image, text, Video } from "../../../src/domain/Asset.js"
import * as OpenRouter from "../../../src/providers/openrouter/index.js"
import * as Together from "../../../src/providers/together/index.js"
import * as ProviderRegistry from "../../../src/registry/ProviderRegistry.js"
import type { ProviderConfig } from "../../../src/provider/ProviderConfig.js"
import * as Faults from "../../emulators/Faults.js"
import { openrouter, openRouterModelsFixture, tinyMp4 } from "../../emulators/openrouter.js"
import { tinyPng } from "../../emulators/Samples.js"
import { together } from "../../emulators/together.js"

const key = "sk-or-v1-secret-0123456789"
const config = (baseUrl: string, overrides: Partial<ProviderConfig> = {}): ProviderConfig => ({
  apiKeys: [Redacted.make(key)],
  baseUrl,
  timeout: Duration.seconds(5),
  retries: 2,
  ...overrides
})
const llama = "meta-llama/llama-3.3-70b-instruct"

const setup = (overrides: Partial<ProviderConfig> = {}) =>
  Effect.gen(function* () {
    const emulator = yield* openrouter()
    const provider = yield* OpenRouter.make(config(emulator.baseUrl, overrides))
    return { emulator, provider }
  })
const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)
const chat = (provider: OpenRouter.OpenRouterProviderService, extra?: Record<string, unknown>) =>
  Effect.flatMap(provider.textToText(llama), (model) => model.transform(text("hi"), extra !== undefined ? { extra } : {}))

describe("OpenRouter against its emulator", () => {
  it.scopedLive("discovers every output modality; free models are the :free ones", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      expect((yield* provider.models).length).toBe(48)
      expect(emulator.requests[0]!.path).toBe("/api/v1/models?output_modalities=all")
      const images = (yield* provider.getModelsForCapability("text-to-image")).map((m) => m.id)
      expect(images).toContain("google/gemini-2.5-flash-image")
      expect(images).not.toContain("openai/gpt-4o")
      const free = yield* provider.getFreeModels
      expect(free.length).toBeGreaterThanOrEqual(8)
      expect(free.every((m) => m.id.endsWith(":free"))).toBe(true)
      expect(provider.capabilities).toEqual(["text-to-text", "text-to-image", "text-to-video", "image-to-video"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("generates text; origin carries OpenRouter's usage.cost", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      const answer = yield* chat(provider)
      expect(answer.text).toBe("Echo: hi")
      expect(answer.origin).toMatchObject({ provider: "openrouter", model: llama, costUsd: 0.00042 })
      expect(emulator.requests[0]!.json).toMatchObject({ model: llama, stream: false, messages: [{ role: "user", content: "hi" }] })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("extra.models is sent as OpenRouter's fallback list; origin names the model that served", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.state.down = [llama]
      const answer = yield* chat(provider, { models: ["deepseek/deepseek-chat-v3-0324", "openai/gpt-4o-mini"] })
      expect(answer.origin?.model).toBe("deepseek/deepseek-chat-v3-0324")
      expect(emulator.requests[0]!.json).toMatchObject({ models: ["deepseek/deepseek-chat-v3-0324", "openai/gpt-4o-mini"] })
      expect((yield* Effect.flip(chat(provider, { models: "not-a-list" })))._tag).toBe("InvalidInput")
      expect(emulator.count()).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("streams deltas in order, skipping the : OPENROUTER PROCESSING comments", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.state.reply = "Paris is the capital"
      expect(yield* collect(provider.streamText(text("capital?"), { model: llama }))).toEqual(["Paris ", "is ", "the ", "capital"])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a truncated stream is NetworkError after the deltas it got", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.state.reply = "Paris is the capital"
      emulator.faults.inject(Faults.truncatedStream(3))
      const seen: Array<string> = []
      const error = yield* Effect.flip(Stream.runForEach(provider.streamText(text("x"), { model: llama }), (d) => Effect.sync(() => seen.push(d))))
      expect(error._tag).toBe("NetworkError")
      expect(seen).toEqual(["Paris ", "is ", "the "])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("text-to-image through chat modalities: the data URL becomes the Image's bytes", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      const model = yield* provider.textToImage()
      const image = yield* model.transform(text("a lighthouse"))
      expect(image).toBeInstanceOf(Image)
      expect(image.mimeType).toBe("image/png")
      expect(image.source._tag === "Bytes" && Buffer.from(image.source.bytes).equals(tinyPng)).toBe(true)
      expect(emulator.requests[0]!.json).toMatchObject({ model: "google/gemini-2.5-flash-image", modalities: ["image", "text"] })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("OpenRouter video jobs", () => {
  const fastPolls = Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_POLL_INTERVAL", "10 millis"]])))

  it.scopedLive("text-to-video submits a job, follows it to completed, reads the content; cost from the job's usage", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      expect((yield* provider.getModelsForCapability("text-to-video")).map((m) => m.id)).toEqual(["google/veo-3.1"])
      emulator.state.videoPolls = 3
      const model = yield* provider.textToVideo()
      const video = yield* model.transform(text("waves at dusk"), { durationSeconds: 8, width: 1280, height: 720, seed: 5, extra: { resolution: "720p" } }).pipe(fastPolls)
      expect(video).toBeInstanceOf(Video)
      expect(video.mimeType).toBe("video/mp4")
      expect(video.source._tag === "Bytes" && Buffer.from(video.source.bytes).equals(tinyMp4)).toBe(true)
      expect(video.origin).toMatchObject({ provider: "openrouter", model: "google/veo-3.1", costUsd: 0.00042, costSource: "provider" })
      const submitted = emulator.requests.find((r) => r.method === "POST" && r.path === "/api/v1/videos")
      expect(submitted?.json).toEqual({ model: "google/veo-3.1", prompt: "waves at dusk", duration: 8, size: "1280x720", seed: 5, resolution: "720p" })
      const polls = emulator.requests.filter((r) => r.method === "GET" && /^\/api\/v1\/videos\/job-\d+$/.test(r.path))
      expect(polls.length).toBe(3)
      expect(emulator.requests.at(-1)!.path).toMatch(/^\/api\/v1\/videos\/job-\d+\/content$/)
      expect(emulator.requests.at(-1)!.headers.authorization).toBe(`Bearer ${key}`)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("image-to-video sends the image as the first frame, the prompt when given", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      expect((yield* provider.getModelsForCapability("image-to-video")).map((m) => m.id)).toEqual(["google/veo-3.1"])
      const model = yield* provider.imageToVideo()
      const still = new Image({ source: new BytesSource({ bytes: new Uint8Array(tinyPng) }), mimeType: "image/png" })
      const video = yield* model.transform(still, { prompt: "the lamp turns", durationSeconds: 5 }).pipe(fastPolls)
      expect(video.source._tag === "Bytes" && Buffer.from(video.source.bytes).equals(tinyMp4)).toBe(true)
      const submitted = emulator.requests.find((r) => r.method === "POST" && r.path === "/api/v1/videos")
      expect(submitted?.json).toEqual({
        model: "google/veo-3.1",
        prompt: "the lamp turns",
        duration: 5,
        frame_images: [{ type: "image_url", image_url: { url: `data:image/png;base64,${tinyPng.toString("base64")}` }, frame_type: "first_frame" }]
      })
      // Without a prompt the frame alone is sent.
      yield* model.transform(still).pipe(fastPolls)
      expect(emulator.requests.filter((r) => r.method === "POST" && r.path === "/api/v1/videos").at(-1)!.json).not.toHaveProperty("prompt")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a failed job is GenerationFailed with OpenRouter's message; its content is never asked for", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.state.videoPolls = 1000
      const model = yield* provider.textToVideo("google/veo-3.1")
      // The job fails at its first poll: the emulator is told to answer `failed` from then on.
      emulator.state.videoFailure = "content policy violation"
      const error = yield* Effect.flip(model.transform(text("x")).pipe(fastPolls))
      expect(error).toMatchObject({ _tag: "GenerationFailed" })
      expect(error.message).toMatch(/content policy violation/)
      expect(emulator.requests.some((r) => r.path.endsWith("/content"))).toBe(false)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("OpenRouter image-only models", () => {
  it.scopedLive("a discovered model that writes only images is asked for images alone (asked for text too, OpenRouter refuses)", () =>
    Effect.gen(function* () {
      const flux = {
        id: "black-forest-labs/flux.2-pro",
        name: "FLUX.2 Pro",
        architecture: { modality: "text+image->image", input_modalities: ["text", "image"], output_modalities: ["image"] },
        pricing: { prompt: "0", completion: "0", request: "0", image: "0.03" }
      }
      const emulator = yield* openrouter({ models: [...openRouterModelsFixture.data, flux] })
      const provider = yield* OpenRouter.make(config(emulator.baseUrl))
      const before = yield* Effect.flip(Effect.flatMap(provider.textToImage(flux.id), (m) => m.transform(text("a fox"))))
      // Before discovery nothing says the model writes no text: it is asked for both, and refused.
      expect(before).toMatchObject({ _tag: "ModelNotFound" })
      expect((yield* provider.getModelsForCapability("text-to-image")).map((m) => m.id)).toContain(flux.id)
      const image = yield* Effect.flatMap(provider.textToImage(flux.id), (m) => m.transform(text("a fox")))
      expect(image.source._tag === "Bytes" && Buffer.from(image.source.bytes).equals(tinyPng)).toBe(true)
      expect(emulator.requests.at(-1)!.json).toMatchObject({ model: flux.id, modalities: ["image"] })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("OpenRouter faults", () => {
  it.scopedLive("401 InvalidApiKey and 402 insufficient credits QuotaExceeded, neither retried", () =>
    Effect.gen(function* () {
      const first = yield* setup()
      first.emulator.faults.inject(Faults.unauthorized("No auth credentials found"))
      expect((yield* Effect.flip(chat(first.provider)))._tag).toBe("InvalidApiKey")
      expect(first.emulator.count()).toBe(1)
      const second = yield* setup()
      second.emulator.faults.inject(Faults.quota(402, "Insufficient credits. Add more using https://openrouter.ai/credits"))
      expect((yield* Effect.flip(chat(second.provider)))._tag).toBe("QuotaExceeded")
      expect(second.emulator.count()).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("429 with Retry-After is honoured, then succeeds", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.faults.inject(Faults.rateLimited(1, "Rate limit exceeded: free-models-per-min"))
      expect((yield* chat(provider)).text).toBe("Echo: hi")
      expect(emulator.count()).toBe(2)
      expect(emulator.requests[1]!.at - emulator.requests[0]!.at).toBeGreaterThanOrEqual(950)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("503 throughout, reset, slow headers, malformed JSON: their tags and request counts", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup({ retries: 1, timeout: Duration.millis(400) })
      emulator.faults.inject(Faults.serverError(503), { times: 2 })
      expect((yield* Effect.flip(chat(provider)))._tag).toBe("ProviderUnavailable")
      expect(emulator.count()).toBe(2)
      emulator.faults.inject(Faults.reset, { times: 2 })
      expect((yield* Effect.flip(chat(provider)))._tag).toBe("NetworkError")
      expect(emulator.count()).toBe(4)
      emulator.faults.inject(Faults.slowHeaders(1500), { times: 2 })
      expect((yield* Effect.flip(chat(provider)))._tag).toBe("Timeout")
      expect(emulator.count()).toBe(6)
      emulator.faults.inject(Faults.malformedJson)
      expect((yield* Effect.flip(chat(provider)))._tag).toBe("MalformedResponse")
      expect(emulator.count()).toBe(7)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a key echoed by the server is scrubbed from the error", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.faults.inject(Faults.status(422, (request: Faults.RecordedRequest) => ({ error: { code: 422, message: `got ${request.headers.authorization}` } })))
      const error = yield* Effect.flip(chat(provider))
      expect(error._tag).toBe("InvalidInput")
      expect(JSON.stringify(error)).not.toContain(key)
      expect(error.message).toContain("[redacted]")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("registry fallback", () => {
  it.scopedLive("text generation falls back from Together to OpenRouter on QuotaExceeded", () =>
    Effect.gen(function* () {
      const tg = yield* together()
      const or = yield* openrouter()
      tg.faults.inject(Faults.quota(402, "Credit limit exceeded"), { times: Infinity, route: "/v1/chat/completions" })
      const togetherProvider = yield* Together.make(config(tg.baseUrl))
      const openRouterProvider = yield* OpenRouter.make(config(or.baseUrl))
      const registry = yield* ProviderRegistry.make([togetherProvider, openRouterProvider])
      const result = yield* registry.generateDetailed("text-to-text", text("hello"), {
        providers: ["together", "openrouter"],
        models: { together: "meta-llama/Llama-3.3-70B-Instruct-Turbo", openrouter: llama }
      })
      expect(result.provider).toBe("openrouter")
      expect(result.output.text).toBe("Echo: hello")
      expect(result.attempts.map((a) => [a.provider, a.error?.tag])).toEqual([
        ["together", "QuotaExceeded"],
        ["openrouter", undefined]
      ])
      expect(tg.count("/v1/chat/completions")).toBe(1)
      expect(or.count("/api/v1/chat/completions")).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("OpenRouterClient as a service", () => {
  it.scopedLive("layerConfig builds the client from the configuration; without a key its calls fail MissingConfig", () =>
    Effect.gen(function* () {
      const emulator = yield* openrouter()
      const configured = OpenRouter.OpenRouterConfig.config({ apiKey: key, baseUrl: emulator.baseUrl })
      const models = yield* Effect.flatMap(OpenRouter.OpenRouterClient.OpenRouterClient, (client) => client.models).pipe(
        Effect.provide(OpenRouter.OpenRouterClient.layerConfig(configured))
      )
      expect(models.length).toBe(48)
      expect(emulator.requests[0]!.headers.authorization).toBe(`Bearer ${key}`)
      const keyless = yield* Effect.flatMap(OpenRouter.OpenRouterClient.OpenRouterClient, (client) => client.models).pipe(
        Effect.provide(OpenRouter.OpenRouterClient.layer(config(emulator.baseUrl, { apiKeys: [] }))),
        Effect.flip
      )
      expect(keyless).toMatchObject({ _tag: "MissingConfig", setting: "OPENROUTER_API_KEY" })
      expect(emulator.requests.length).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
