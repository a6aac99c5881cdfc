import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Audio, BytesSource, Image, text, UrlSource } from "../../../src/domain/Asset.js"
import * as Together from "../../../src/providers/together/index.js"
import type { ProviderConfig } from "../../../src/provider/ProviderConfig.js"
import * as Faults from "../../emulators/Faults.js"
import { together } from "../../emulators/together.js"
import { silentWav, tinyPng } from "../../emulators/Samples.js"

const key = "tg-secret-key-0123456789"
const config = (baseUrl: string, overrides: Partial<ProviderConfig> = {}): ProviderConfig => ({
  apiKeys: [Redacted.make(key)],
  baseUrl,
  timeout: Duration.seconds(5),
  retries: 2,
  ...overrides
})
const llama = "meta-llama/Llama-3.3-70B-Instruct-Turbo"

const setup = (overrides: Partial<ProviderConfig> = {}) =>
  Effect.gen(function* () {
    const emulator = yield* together()
    const provider = yield* Together.make(config(emulator.baseUrl, overrides))
    return { emulator, provider }
  })

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

describe("Together against its emulator", () => {
  it.scopedLive("discovers and categorizes the models; free models are the zero-priced ones", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      const models = yield* provider.models
      expect(models.length).toBe(53)
      expect((yield* provider.getModelsForCapability("text-to-speech")).map((m) => m.id)).toContain("cartesia/sonic")
      expect((yield* provider.getFreeModels).map((m) => m.id)).toContain("meta-llama/Llama-3.3-70B-Instruct-Turbo-Free")
      expect(provider.capabilities).toEqual(["text-to-text", "text-to-image", "image-to-image", "text-to-speech", "speech-to-text"])
      expect((yield* provider.getModelsForCapability("image-to-image")).map((m) => m.id)).toEqual([
        "black-forest-labs/FLUX.1-kontext-pro",
        "black-forest-labs/FLUX.2-pro"
      ])
      expect(emulator.requests[0]).toMatchObject({ method: "GET", path: "/v1/models" })
      expect(emulator.requests[0]!.headers.authorization).toBe(`Bearer ${key}`)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("generates text with system prompt, options and extra fields; cost from usage x price", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      yield* provider.models
      const model = yield* provider.textToText()
      expect(model.id).toBe(llama)
      const answer = yield* model.transform(text("Hello there"), { system: "Be brief", maxTokens: 50, temperature: 0.2, extra: { top_p: 0.9 } })
      expect(answer.text).toBe("Echo: Hello there")
      expect(answer.origin).toMatchObject({ provider: "together", model: llama, jobId: "cmpl-1" })
      expect(answer.origin?.costUsd).toBeCloseTo((12 * 0.88 + 8 * 0.88) / 1e6, 12)
      const sent = emulator.requests.find((r) => r.path === "/v1/chat/completions")!.json
      expect(sent).toEqual({
        model: llama,
        messages: [
          { role: "system", content: "Be brief" },
          { role: "user", content: "Hello there" }
        ],
        max_tokens: 50,
        temperature: 0.2,
        top_p: 0.9,
        stream: false
      })
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("streams text deltas in order", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.state.reply = "one two three four"
      const deltas = yield* collect(provider.streamText(text("count"), { model: llama }))
      expect(deltas).toEqual(["one ", "two ", "three ", "four"])
      expect(emulator.requests[0]!.json).toMatchObject({ stream: true, model: llama })
      expect(emulator.requests[0]!.headers.accept).toBe("text/event-stream")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a stream cut before [DONE] fails with NetworkError after the deltas it got (reset and clean end)", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.state.reply = "one two three four"
      for (const cut of ["reset", "end"] as const) {
        emulator.faults.inject(Faults.truncatedStream(2, cut))
        const seen: Array<string> = []
        const error = yield* Effect.flip(Stream.runForEach(provider.streamText(text("count"), { model: llama }), (d) => Effect.sync(() => seen.push(d))))
        expect(error._tag, cut).toBe("NetworkError")
        expect(seen, cut).toEqual(["one ", "two "])
      }
      // Not retried once the stream had started.
      expect(emulator.count("/v1/chat/completions")).toBe(2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("images: base64 by default, URL results downloaded to a file under the download policy; cost per megapixel", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      yield* provider.models
      const model = yield* provider.textToImage("black-forest-labs/FLUX.1-schnell")
      const b64 = yield* model.transform(text("a red fox"), { width: 512, height: 512, steps: 4, seed: 7 })
      expect(b64).toBeInstanceOf(Image)
      expect(b64.source).toEqual(new BytesSource({ bytes: new Uint8Array(tinyPng) }))
      expect(b64.origin?.costUsd).toBeCloseTo((0.0027 * 512 * 512) / 1e6, 12)
      expect(emulator.requests.at(-1)!.json).toMatchObject({ prompt: "a red fox", width: 512, height: 512, steps: 4, seed: 7, response_format: "base64", n: 1 })
      const urlOptions = { extra: { response_format: "url", output_format: "png" } }
      // The emulator's result URL is plain http to loopback: refused unless allowed, as any file host's would be.
      const refused = yield* Effect.flip(model.transform(text("a blue fox"), urlOptions))
      expect(refused).toMatchObject({ _tag: "DownloadFailed", provider: "together" })
      expect(refused.message).toMatch(/refused: plain http to a loopback host/)
      expect(emulator.requests.some((request) => request.path.startsWith("/files/"))).toBe(false)
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-together-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
      const viaUrl = yield* model.transform(text("a blue fox"), urlOptions).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_ALLOW_LOOPBACK_HTTP", "1"], ["AUTOMARKET_DOWNLOAD_DIR", dir]])))
      )
      expect(viaUrl.mimeType).toBe("image/png")
      expect(viaUrl.source._tag).toBe("File")
      expect(viaUrl.source._tag === "File" && path.dirname(viaUrl.source.path)).toBe(dir)
      expect(viaUrl.source._tag === "File" && fs.readFileSync(viaUrl.source.path).equals(tinyPng)).toBe(true)
      expect(emulator.requests.at(-1)!.path).toMatch(/^\/files\/img-\d+\.png$/)
      expect(emulator.requests.at(-1)!.headers.authorization).toBeUndefined()
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("image-to-image sends the input image in the model's field, the instruction as the prompt", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      yield* provider.models
      const input = new Image({ source: new BytesSource({ bytes: new Uint8Array(tinyPng) }), mimeType: "image/png" })
      const kontext = yield* provider.imageToImage()
      expect(kontext.id).toBe("black-forest-labs/FLUX.1-kontext-pro")
      const edited = yield* kontext.transform(input, { prompt: "make the sky red", seed: 3, strength: 0.4 })
      expect(edited).toBeInstanceOf(Image)
      expect(edited.source).toEqual(new BytesSource({ bytes: new Uint8Array(tinyPng) }))
      expect(edited.origin).toMatchObject({ provider: "together", model: "black-forest-labs/FLUX.1-kontext-pro" })
      const sent = emulator.requests.at(-1)!.json as Record<string, unknown>
      expect(sent).toMatchObject({ model: "black-forest-labs/FLUX.1-kontext-pro", prompt: "make the sky red", seed: 3, image_url: `data:image/png;base64,${tinyPng.toString("base64")}` })
      expect(sent).not.toHaveProperty("strength")
      expect(sent).not.toHaveProperty("reference_images")

      const flux2 = yield* provider.imageToImage("black-forest-labs/FLUX.2-pro")
      yield* flux2.transform(new Image({ source: new UrlSource({ url: "https://example.com/cat.png" }), mimeType: "image/png" }), { prompt: "as a watercolour" })
      expect(emulator.requests.at(-1)!.json).toMatchObject({ model: "black-forest-labs/FLUX.2-pro", reference_images: ["https://example.com/cat.png"] })
      expect(emulator.requests.at(-1)!.json).not.toHaveProperty("image_url")

      // Refused before anything is sent: no instruction; a model that would ignore the image.
      const before = emulator.requests.length
      expect(yield* Effect.flip(kontext.transform(input))).toMatchObject({ _tag: "InvalidInput" })
      const schnell = yield* Effect.flip(Effect.flatMap(provider.imageToImage("black-forest-labs/FLUX.1-schnell"), (m) => m.transform(input, { prompt: "x" })))
      expect(schnell).toMatchObject({ _tag: "CapabilityNotSupported", capability: "image-to-image" })
      expect(emulator.requests.length).toBe(before)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("text-to-speech returns the audio bytes; opus is refused before sending", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      const model = yield* provider.textToSpeech()
      const audio = yield* model.transform(text("Hello"), { voice: "laidback woman" })
      expect(audio).toBeInstanceOf(Audio)
      expect(audio.mimeType).toBe("audio/wav")
      expect(audio.source._tag === "Bytes" && audio.source.bytes.length).toBe(silentWav().length)
      expect(emulator.requests[0]!.json).toMatchObject({ model: "cartesia/sonic", input: "Hello", voice: "laidback woman", response_format: "wav" })
      const refused = yield* Effect.flip(model.transform(text("Hello"), { format: "opus" }))
      expect(refused._tag).toBe("InvalidInput")
      expect(emulator.count("/v1/audio/speech")).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("speech-to-text uploads multipart and returns segments", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      const model = yield* provider.speechToText()
      const transcript = yield* model.transform(new Audio({ source: new BytesSource({ bytes: new Uint8Array(silentWav()) }), mimeType: "audio/wav" }), { language: "en" })
      expect(transcript.text).toBe("Hello from the emulator.")
      expect(transcript.segments).toEqual([
        { start: 0, end: 0.7, text: "Hello" },
        { start: 0.7, end: 1.5, text: "from the emulator." }
      ])
      const form = emulator.requests[0]!.body.toString("latin1")
      expect(emulator.requests[0]!.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
      expect(form).toContain('name="model"\r\n\r\nopenai/whisper-large-v3')
      expect(form).toContain('name="response_format"\r\n\r\nverbose_json')
      expect(form).toContain('name="file"; filename="audio.wav"')
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("Together faults", () => {
  const chat = (provider: Together.TogetherProviderService) =>
    Effect.flatMap(provider.textToText(llama), (model) => model.transform(text("hi")))

  it.scopedLive("401 is InvalidApiKey, not retried", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.faults.inject(Faults.unauthorized(), { times: Infinity })
      expect((yield* Effect.flip(chat(provider)))._tag).toBe("InvalidApiKey")
      expect(emulator.count()).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("402 and 429-with-a-quota-message are QuotaExceeded, not retried", () =>
    Effect.gen(function* () {
      for (const fault of [
        Faults.quota(402, "Credit limit exceeded. Please add credits."),
        Faults.quota(429, "You have exceeded your current quota, please check your billing details")
      ]) {
        const { emulator, provider } = yield* setup()
        emulator.faults.inject(fault)
        expect((yield* Effect.flip(chat(provider)))._tag).toBe("QuotaExceeded")
        expect(emulator.count()).toBe(1)
        // The only key now rests (KeyRing): the next call fails at once, sending nothing.
        expect((yield* Effect.flip(chat(provider)))._tag).toBe("QuotaExceeded")
        expect(emulator.count()).toBe(1)
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("429 with Retry-After is retried after the wait it asked for", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.faults.inject(Faults.rateLimited(1))
      const answer = yield* chat(provider)
      expect(answer.text).toBe("Echo: hi")
      expect(emulator.count()).toBe(2)
      expect(emulator.requests[1]!.at - emulator.requests[0]!.at).toBeGreaterThanOrEqual(950)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("429 on every attempt is RateLimited with its retryAfter, after 1 + retries requests", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup({ retries: 1 })
      emulator.faults.inject(Faults.rateLimited(0), { times: Infinity })
      const error = yield* Effect.flip(chat(provider))
      expect(error).toMatchObject({ _tag: "RateLimited", retryAfter: Duration.zero })
      expect(emulator.count()).toBe(2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("500 then 503 then success: retried; 503 throughout is ProviderUnavailable after 3 requests", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.faults.inject(Faults.serverError(500))
      emulator.faults.inject(Faults.serverError(503))
      expect((yield* chat(provider)).text).toBe("Echo: hi")
      expect(emulator.count()).toBe(3)
      emulator.faults.inject(Faults.serverError(503), { times: Infinity })
      expect(yield* Effect.flip(chat(provider))).toMatchObject({ _tag: "ProviderUnavailable", status: 503 })
      expect(emulator.count()).toBe(6)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a reset connection is NetworkError after the retries", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup({ retries: 1 })
      emulator.faults.inject(Faults.reset, { times: Infinity })
      expect((yield* Effect.flip(chat(provider)))._tag).toBe("NetworkError")
      expect(emulator.count()).toBe(2)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("slow headers hit the per-attempt timeout as Timeout", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup({ retries: 0, timeout: Duration.millis(300) })
      emulator.faults.inject(Faults.slowHeaders(2000))
      expect(yield* Effect.flip(chat(provider))).toMatchObject({ _tag: "Timeout" })
      expect(emulator.count()).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("malformed JSON is MalformedResponse", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.faults.inject(Faults.malformedJson)
      expect((yield* Effect.flip(chat(provider)))._tag).toBe("MalformedResponse")
      expect(emulator.count()).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("errors on a stream's request are typed too (429 retried before the stream starts)", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.state.reply = "a b"
      emulator.faults.inject(Faults.rateLimited(0))
      expect(yield* collect(provider.streamText(text("x"), { model: llama }))).toEqual(["a ", "b"])
      emulator.faults.inject(Faults.serverError(503), { times: Infinity })
      expect((yield* Effect.flip(collect(provider.streamText(text("x"), { model: llama }))))._tag).toBe("ProviderUnavailable")
      expect(emulator.count("/v1/chat/completions")).toBe(2 + 3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("a key the server echoes back never appears in the error", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup()
      emulator.faults.inject(Faults.status(400, (request: Faults.RecordedRequest) => ({ error: { message: `bad request from ${request.headers.authorization}` } })))
      const error = yield* Effect.flip(chat(provider))
      expect(error._tag).toBe("InvalidInput")
      expect(error.message).toContain("[redacted]")
      expect(JSON.stringify(error)).not.toContain(key)
      expect(String(error)).not.toContain(key)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scopedLive("unconfigured: listed with configured false, calls fail with MissingConfig naming TOGETHER_API_KEY, nothing sent", () =>
    Effect.gen(function* () {
      const { emulator, provider } = yield* setup({ apiKeys: [] })
      expect(provider.configured).toBe(false)
      expect(yield* provider.isAvailable).toBe(false)
      expect(yield* Effect.flip(chat(provider))).toMatchObject({ _tag: "MissingConfig", setting: "TOGETHER_API_KEY" })
      expect(yield* Effect.flip(collect(provider.streamText(text("x"))))).toMatchObject({ _tag: "MissingConfig" })
      expect(yield* Effect.flip(provider.models)).toMatchObject({ _tag: "MissingConfig" })
      expect(emulator.count()).toBe(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("TogetherClient as a service", () => {
  it.scopedLive("layerConfig builds the client from the configuration; without a key its calls fail MissingConfig", () =>
    Effect.gen(function* () {
      const emulator = yield* together()
      const configured = Together.TogetherConfig.config({ apiKey: key, baseUrl: emulator.baseUrl })
      const models = yield* Effect.flatMap(Together.TogetherClient.TogetherClient, (client) => client.models).pipe(
        Effect.provide(Together.TogetherClient.layerConfig(configured))
      )
      expect(models.length).toBe(53)
      expect(emulator.requests[0]!.headers.authorization).toBe(`Bearer ${key}`)
      const keyless = yield* Effect.flatMap(Together.TogetherClient.TogetherClient, (client) => client.models).pipe(
        Effect.provide(Together.TogetherClient.layer(config(emulator.baseUrl, { apiKeys: [] }))),
        Effect.flip
      )
      expect(keyless).toMatchObject({ _tag: "MissingConfig", setting: "TOGETHER_API_KEY" })
      expect(emulator.requests.length).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
