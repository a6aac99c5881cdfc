/**
 * The gateway on a real socket, called by the real clients people point at it: the openai SDK
 * and the AI SDK's OpenAI-compatible provider (and plain fetch for the generations API). Behind
 * it: Together's emulator out of credit for chat and images (402/429 quota), OpenRouter's
 * emulator that answers, Together's speech and transcription, and fal's emulator for queued
 * generations; keys, rate and spend limits from the key store in the gateway's SQLite file.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpServer from "@effect/platform/HttpServer"
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { generateImage, generateText, streamText } from "ai"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Exit from "effect/Exit"
import { createHmac } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import OpenAI, { toFile } from "openai"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Durable } from "../../src/durable/index.js"
import * as Chatterbox from "../../src/providers/chatterbox/index.js"
import * as Whisper from "../../src/providers/whisper/index.js"
import { layer as sttLayer } from "../../src/services/stt/Server.js"
import { layer as ttsLayer } from "../../src/services/tts/Server.js"
import { type RunningServer, startServer } from "../support/inProcessServer.js"
import * as Access from "../../src/gateway/Access.js"
import * as Gateway from "../../src/gateway/Gateway.js"
import * as Keys from "../../src/gateway/Keys.js"
import { KeyStore } from "../../src/gateway/KeyState.js"
import * as RateLimiter from "../../src/gateway/RateLimiter.js"
import * as Webhooks from "../../src/gateway/Webhooks.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as OpenRouter from "../../src/providers/openrouter/OpenRouterProvider.js"
import * as Together from "../../src/providers/together/TogetherProvider.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { clientLayer, makeFal } from "../emulators/falai.js"
import * as Faults from "../emulators/Faults.js"
import { openrouter as openRouter } from "../emulators/openrouter.js"
import { silentWav, tinyMp4, tinyPng } from "../emulators/Samples.js"
import { together } from "../emulators/together.js"
import { env } from "../providers/falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-gateway-"))
const scope = Effect.runSync(Scope.make())
const fal = makeFal({ queueSteps: 1, runSteps: 1 })
type Emulators = { readonly tg: Effect.Effect.Success<ReturnType<typeof together>>; readonly or: Effect.Effect.Success<ReturnType<typeof openRouter>> }
let emulators: Emulators
let runtime: ManagedRuntime.ManagedRuntime<Durable.Generations | KeyStore | HttpServer.HttpServer, unknown>
let base = ""
let secret = ""

const remote = (baseUrl: string, key: string) => ({ apiKeys: [Redacted.make(key)], baseUrl, timeout: Duration.seconds(5), retries: 0 })

let engines: { readonly tts: RunningServer; readonly stt: RunningServer }

beforeAll(async () => {
  const serverOptions = { host: "127.0.0.1", port: 0, maxBodyBytes: 16 * 1024 * 1024, concurrency: 2 }
  const [tts, stt] = await Promise.all([startServer(ttsLayer(serverOptions)), startServer(sttLayer(serverOptions))])
  engines = { tts: tts!, stt: stt! }
  emulators = await Effect.runPromise(
    Effect.all({ tg: together(), or: openRouter() }).pipe(Scope.extend(scope))
  )
  // Together is out of credit for chat and images, and the fallback moves on to OpenRouter.
  emulators.tg.faults.inject(Faults.quota(402), { times: Infinity, route: /chat\/completions|images\/generations/ })
  const providers = Effect.gen(function* () {
    const tg = yield* Together.make(remote(emulators.tg.baseUrl, "tg-key-0123456789"))
    const or = yield* OpenRouter.make(remote(emulators.or.baseUrl, "or-key-0123456789"))
    const queued = yield* FalAi.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("10 millis") }).pipe(
      Effect.provide(clientLayer(fal)),
      Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
    )
    // The local engines (flite, pocketsphinx) behind our TTS and STT services, in this process.
    const speaker = yield* Chatterbox.make({ url: Effect.succeed(engines.tts.url), configured: true }, { outputDir: path.join(dir, "speech") })
    const listener = yield* Whisper.make({ url: Effect.succeed(engines.stt.url), configured: true })
    return { list: [tg, or, queued.provider, speaker, listener], jobs: queued.jobs }
  })
  const layer = Layer.unwrapScoped(
    Effect.map(providers, ({ list, jobs }) => {
      const stateDir = path.join(dir, "state")
      const durable = Durable.layerSqlite({ stateDir, jobClients: { falai: jobs }, watchEvery: "20 millis" }).pipe(
        Layer.provide(ProviderRegistry.fromProviders(list)),
        Layer.provide(clientLayer(fal))
      )
      const access = Access.layerKeys({ keyCacheTtlMs: 0 }).pipe(Layer.provide(Keys.layer), Layer.provide(RateLimiter.layer()))
      return Gateway.layer({ port: 0, stateDir, database: "sqlite", maxUploadBytes: 256 * 1024 }).pipe(
        Layer.provide(access),
        Layer.provide(Webhooks.layer({ replicate: { secret: Redacted.make("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") } })),
        Layer.provideMerge(Keys.layer),
        Layer.provideMerge(durable),
        Layer.provide(ProviderRegistry.fromProviders(list))
      )
    })
  ).pipe(Layer.provide(NodeHttpClient.layerUndici))
  runtime = ManagedRuntime.make(layer as Layer.Layer<Durable.Generations | KeyStore | HttpServer.HttpServer, unknown>)
  const address = await runtime.runPromise(Effect.map(HttpServer.HttpServer, (server) => server.address))
  base = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
  secret = await newKey({ name: "tests" })
}, 60_000)

afterAll(async () => {
  await runtime?.dispose()
  await Promise.all([engines?.tts.stop(), engines?.stt.stop()])
  await Effect.runPromise(Scope.close(scope, Exit.void))
  fs.rmSync(dir, { recursive: true, force: true })
})

const newKey = (options: { readonly name: string; readonly ratePerMinute?: number; readonly spendLimitUsd?: number }) =>
  runtime.runPromise(Effect.flatMap(KeyStore, (store) => Effect.map(store.create(options), (made) => Redacted.value(made.secret))))

const openai = () => new OpenAI({ baseURL: `${base}/v1`, apiKey: secret, maxRetries: 0 })

describe("the gateway with the openai SDK", () => {
  it("answers a chat through the fallback: Together out of credit, OpenRouter answers", async () => {
    const before = emulators.tg.count("/v1/chat/completions")
    const answer = await openai().chat.completions.create({ model: "auto", messages: [{ role: "user", content: "say hi" }] })
    expect(answer.choices[0]?.message.content).toBe("Echo: say hi")
    expect((answer as unknown as { provider: string }).provider).toBe("openrouter")
    expect(answer.model.startsWith("openrouter/")).toBe(true)
    expect(emulators.tg.count("/v1/chat/completions")).toBeGreaterThan(before)
  })

  it("streams a chat as chunks in OpenAI's format, ending with [DONE]", async () => {
    const stream = await openai().chat.completions.create({ model: "auto", stream: true, messages: [{ role: "user", content: "stream this please" }] })
    let text = ""
    let provider = ""
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? ""
      provider = (chunk as unknown as { provider: string }).provider
    }
    expect(text).toBe("Echo: stream this please")
    expect(provider).toBe("openrouter")
  })

  it("keeps the conversation: earlier turns and the system prompt reach the provider", async () => {
    await openai().chat.completions.create({
      model: "openrouter/openai/gpt-4o-mini",
      messages: [
        { role: "system", content: "be brief" },
        { role: "user", content: "first" },
        { role: "assistant", content: "ok" },
        { role: "user", content: "second" }
      ]
    })
    const last = emulators.or.requests.filter((r) => r.path.includes("/chat/completions")).at(-1)!
    expect((last.json as { messages: ReadonlyArray<{ role: string; content: string }> }).messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "first" },
      { role: "assistant", content: "ok" },
      { role: "user", content: "second" }
    ])
    expect((last.json as { model: string }).model).toBe("openai/gpt-4o-mini")
  })

  it("makes images (b64_json) through the fallback", async () => {
    const images = await openai().images.generate({ model: "auto", prompt: "a fox", response_format: "b64_json", size: "512x512" })
    const png = Buffer.from(images.data![0]!.b64_json!, "base64")
    expect(png).toEqual(tinyPng)
    expect((images as unknown as { provider: string }).provider).toBe("openrouter")
  })

  it("speaks and transcribes on the local engines (Together's account is out of credit by now)", async () => {
    const speech = await openai().audio.speech.create({ model: "auto", input: "hello world", voice: "alloy", response_format: "wav" })
    const bytes = Buffer.from(await speech.arrayBuffer())
    expect(bytes.subarray(0, 4).toString()).toBe("RIFF")
    expect(speech.headers.get("x-automarket-provider")).toBe("chatterbox")
    const transcript = await openai().audio.transcriptions.create({ model: "auto", file: await toFile(bytes, "hello.wav", { type: "audio/wav" }) })
    expect(transcript.text.toLowerCase()).toContain("hello")
  }, 60_000)

  it("lists the catalog as models, provider/model", async () => {
    const ids: Array<string> = []
    for await (const model of openai().models.list()) ids.push(model.id)
    expect(ids).toContain("openrouter/openai/gpt-4o-mini")
    expect(ids).toContain("falai/fal-ai/flux/schnell")
  })

  it("answers 404 model_not_found for a model nobody lists", async () => {
    const error = await openai()
      .chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OpenAI.NotFoundError)
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found")
  })
})

describe("the gateway with the AI SDK's OpenAI-compatible provider", () => {
  const provider = () => createOpenAICompatible({ name: "automarket", baseURL: `${base}/v1`, apiKey: secret })

  it("generates and streams text", async () => {
    const whole = await generateText({ model: provider()("auto"), prompt: "ai sdk", maxRetries: 0 })
    expect(whole.text).toBe("Echo: ai sdk")
    const streamed = streamText({ model: provider()("auto"), prompt: "ai sdk stream", maxRetries: 0 })
    let text = ""
    for await (const delta of streamed.textStream) text += delta
    expect(text).toBe("Echo: ai sdk stream")
  })

  it("generates an image", async () => {
    const result = await generateImage({ model: provider().imageModel("auto"), prompt: "a heron", maxRetries: 0 })
    expect(result.image.uint8Array.length).toBeGreaterThan(8)
  })
})

describe("keys and limits", () => {
  const chat = (key: string | undefined) =>
    fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(key !== undefined ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ model: "auto", messages: [{ role: "user", content: "x" }] })
    })

  it("refuses a request without a key, with an unknown key and with a revoked key (401)", async () => {
    expect((await chat(undefined)).status).toBe(401)
    expect((await chat("amk_not-a-key")).status).toBe(401)
    const key = await newKey({ name: "to-revoke" })
    expect((await chat(key)).status).toBe(200)
    const store = await runtime.runPromise(Effect.flatMap(KeyStore, (s) => s.list))
    const id = store.find((k) => k.name === "to-revoke")!.id
    await runtime.runPromise(Effect.flatMap(KeyStore, (s) => s.revoke(id)))
    const refused = await chat(key)
    expect(refused.status).toBe(401)
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key")
  })

  it("answers 429 with Retry-After past the key's rate", async () => {
    const key = await newKey({ name: "slow", ratePerMinute: 2 })
    expect((await chat(key)).status).toBe(200)
    expect((await chat(key)).status).toBe(200)
    const over = await chat(key)
    expect(over.status).toBe(429)
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThanOrEqual(1)
    expect(((await over.json()) as { error: { code: string } }).error.code).toBe("rate_limit_exceeded")
  })

  it("refuses a request that could pass the spend limit before any provider is called (402)", async () => {
    const key = await newKey({ name: "poor", spendLimitUsd: 0.000001 })
    const before = emulators.or.count("/api/v1/chat/completions") + emulators.tg.count("/v1/chat/completions")
    const refused = await chat(key)
    expect(refused.status).toBe(402)
    const body = (await refused.json()) as { error: { code: string }; limit_usd: number }
    expect(body.error.code).toBe("spend_limit_exceeded")
    expect(body.limit_usd).toBe(0.000001)
    expect(emulators.or.count("/api/v1/chat/completions") + emulators.tg.count("/v1/chat/completions")).toBe(before)
  })

  it("charges the key what the answer cost (its x-automarket-cost-usd), not the worst case it reserved", async () => {
    const key = await newKey({ name: "metered", spendLimitUsd: 5 })
    // A model with a known price (free: its worst case is $0), so that a key with a limit may call it.
    const answered = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: "openrouter/openai/gpt-oss-20b:free", messages: [{ role: "user", content: "x" }] })
    })
    expect(answered.status).toBe(200)
    // OpenRouter's emulator reports (and bills) usage.cost 0.00042 for every answer, free model or not.
    expect(answered.headers.get("x-automarket-cost-usd")).toBe("0.00042")
    const spent = await runtime.runPromise(
      Effect.gen(function* () {
        const store = yield* KeyStore
        const found = yield* store.authenticate(Redacted.make(key))
        if (found._tag === "None") return -1
        return yield* store.spent(found.value.id, 0)
      })
    )
    expect(spent).toBeCloseTo(0.00042, 12)
  })

  it("never shows a provider key in an answer", async () => {
    const texts = await Promise.all([chat(secret).then((r) => r.text()), fetch(`${base}/health`).then((r) => r.text()), fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.text())])
    for (const text of texts) {
      expect(text).not.toContain("tg-key-0123456789")
      expect(text).not.toContain("or-key-0123456789")
    }
  })
})

describe("the generations API", () => {
  const post = (body: unknown, idempotencyKey?: string) =>
    fetch(`${base}/v1/generations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${secret}`, ...(idempotencyKey !== undefined ? { "idempotency-key": idempotencyKey } : {}) },
      body: JSON.stringify(body)
    })
  const get = (url: string, headers: Record<string, string> = {}) => fetch(`${base}${url}`, { headers: { authorization: `Bearer ${secret}`, ...headers } })
  const request = { capability: "text-to-image", provider: "falai", model: "fal-ai/flux/schnell", input: { type: "text", text: "a lighthouse" } }

  const waitFinal = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const view = (await (await get(`/v1/generations/${id}`)).json()) as { status: string }
      if (["succeeded", "failed", "cancelled"].includes(view.status)) return view
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error("not finished")
  }

  it("the same Idempotency-Key POSTed twice at once makes one submit; the result streams with Range", async () => {
    const submits = fal.count("submit")
    const [a, b] = await Promise.all([post(request, "lighthouse-1"), post(request, "lighthouse-1")])
    expect([a.status, b.status]).toEqual([202, 202])
    const [va, vb] = (await Promise.all([a.json(), b.json()])) as Array<{ id: string }>
    expect(va!.id).toBe(vb!.id)
    const done = (await waitFinal(va!.id)) as { status: string; result: { url: string; bytes: number } }
    expect(done.status).toBe("succeeded")
    expect(fal.count("submit") - submits).toBe(1)
    // A retry after it finished: the same generation, no new submit.
    const again = await post(request, "lighthouse-1")
    expect(((await again.json()) as { id: string }).id).toBe(va!.id)
    expect(fal.count("submit") - submits).toBe(1)
    const whole = Buffer.from(await (await get(done.result.url)).arrayBuffer())
    expect(whole.length).toBe(done.result.bytes)
    const part = await get(done.result.url, { range: "bytes=10-19" })
    expect(part.status).toBe(206)
    expect(part.headers.get("content-range")).toBe(`bytes 10-19/${whole.length}`)
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(10, 20))
    // The same key for another request: 409, nothing submitted.
    const other = await post({ ...request, input: { type: "text", text: "another" } }, "lighthouse-1")
    expect(other.status).toBe(409)
    expect(fal.count("submit") - submits).toBe(1)
  })

  it("streams progress as server-sent events, resumable with Last-Event-ID", async () => {
    const created = (await (await post(request)).json()) as { id: string }
    await waitFinal(created.id)
    const events = await (await get(`/v1/generations/${created.id}/events`)).text()
    const ids = [...events.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))
    expect(ids.length).toBeGreaterThan(2)
    expect(events).toContain("event: Status")
    const resumed = await (await get(`/v1/generations/${created.id}/events`, { "last-event-id": String(ids[1]) })).text()
    expect([...resumed.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual(ids.slice(2))
  })

  it("cancels a waiting generation with DELETE; another key cannot see it", async () => {
    fal.settings.queueSteps = 100_000
    try {
      const created = (await (await post(request)).json()) as { id: string }
      for (let i = 0; i < 100 && fal.count("submit") === 0; i++) await new Promise((r) => setTimeout(r, 20))
      const other = await newKey({ name: "stranger" })
      expect((await fetch(`${base}/v1/generations/${created.id}`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(404)
      const listed = async (key: string) =>
        ((await (await fetch(`${base}/v1/generations?limit=1000`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: ReadonlyArray<{ id: string }> }).data.map((g) => g.id)
      expect(await listed(other)).toEqual([])
      expect(await listed(secret)).toContain(created.id)
      expect(await (await get("/metrics")).text()).toMatch(/^automarket_generations_in_flight [1-9]\d*$/m)
      const cancelled = await fetch(`${base}/v1/generations/${created.id}`, { method: "DELETE", headers: { authorization: `Bearer ${secret}` } })
      expect(cancelled.status).toBe(202)
      expect(((await waitFinal(created.id)) as { status: string }).status).toBe("cancelled")
    } finally {
      fal.settings.queueSteps = 1
    }
  })

  it("takes media as multipart (streamed to the state folder) and refuses an upload over the cap with 413", async () => {
    const form = (bytes: Buffer) => {
      const body = new FormData()
      body.set("capability", "speech-to-text")
      body.set("provider", "falai")
      body.set("model", "fal-ai/wizper")
      body.set("input", new Blob([bytes], { type: "audio/wav" }), "clip.wav")
      return body
    }
    const send = (bytes: Buffer, key: string) =>
      fetch(`${base}/v1/generations`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "idempotency-key": key }, body: form(bytes) })
    const uploads = path.join(dir, "state", "uploads")
    const before = fs.existsSync(uploads) ? fs.readdirSync(uploads).length : 0
    const accepted = await send(silentWav(1), "clip-1")
    expect(accepted.status).toBe(202)
    const done = (await waitFinal(((await accepted.json()) as { id: string }).id)) as { status: string; capability: string }
    expect(done).toMatchObject({ status: "succeeded", capability: "speech-to-text" })
    const submitted = fal.requests.filter((r) => r.method === "POST" && r.url.startsWith("/fal-ai/wizper")).at(-1)!
    expect(submitted.body).toContain("data:audio/wav;base64,")
    const submits = fal.count("submit")
    const tooLarge = await send(silentWav(10), "clip-2")
    expect(tooLarge.status).toBe(413)
    expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe("payload_too_large")
    expect(fal.count("submit")).toBe(submits)
    // The refused upload left no file behind.
    expect(fs.readdirSync(uploads).length).toBe(before + 1)
  })

  it("runs video-to-video from a multipart video and image-upscaling from a JSON image, each answering its kind", async () => {
    const body = new FormData()
    body.set("capability", "video-to-video")
    body.set("provider", "falai")
    body.set("model", "fal-ai/cogvideox-5b/video-to-video")
    body.set("options", JSON.stringify({ prompt: "make it night" }))
    body.set("input", new Blob([tinyMp4], { type: "video/mp4" }), "clip.mp4")
    const restyled = await fetch(`${base}/v1/generations`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "idempotency-key": "clip-v2v" }, body })
    expect([restyled.status, restyled.status === 202 ? "" : await restyled.text()]).toEqual([202, ""])
    const video = (await waitFinal(((await restyled.json()) as { id: string }).id)) as { status: string; result: { kind: string; mime_type: string } }
    expect(video).toMatchObject({ status: "succeeded", result: { kind: "video", mime_type: "video/mp4" } })
    const sent = fal.requests.filter((r) => r.method === "POST" && r.url.startsWith("/fal-ai/cogvideox-5b/video-to-video")).at(-1)!
    expect(JSON.parse(sent.body)).toEqual({ video_url: `data:video/mp4;base64,${tinyMp4.toString("base64")}`, prompt: "make it night" })

    const upscaled = await post(
      { capability: "image-upscaling", provider: "falai", model: "fal-ai/esrgan", input: { type: "image", data: tinyPng.toString("base64"), mime_type: "image/png" }, options: { scale: 2 } },
      "pic-up"
    )
    expect([upscaled.status, upscaled.status === 202 ? "" : await upscaled.text()]).toEqual([202, ""])
    const image = (await waitFinal(((await upscaled.json()) as { id: string }).id)) as { status: string; result: { kind: string; mime_type: string } }
    expect(image).toMatchObject({ status: "succeeded", result: { kind: "image", mime_type: "image/png" } })
    const submitted = fal.requests.filter((r) => r.method === "POST" && r.url.startsWith("/fal-ai/esrgan")).at(-1)!
    expect(JSON.parse(submitted.body)).toEqual({ image_url: `data:image/png;base64,${tinyPng.toString("base64")}`, scale: 2 })
  })

  it("refuses an input of another kind than the capability takes, as JSON and as multipart, with nothing submitted", async () => {
    const submits = fal.count("submit")
    const wrongJson = await post(
      { capability: "image-upscaling", provider: "falai", model: "fal-ai/esrgan", input: { type: "audio", data: silentWav(1).toString("base64"), mime_type: "audio/wav" } },
      "kind-json"
    )
    expect(wrongJson.status).toBe(400)
    expect(((await wrongJson.json()) as { error: { message: string; param: string } }).error).toMatchObject({
      message: expect.stringContaining("image-upscaling takes an image input, not an audio"),
      param: "input.type"
    })
    const textForImage = await post({ capability: "image-to-video", provider: "falai", input: { type: "text", text: "waves" } }, "kind-text")
    expect(textForImage.status).toBe(400)
    const body = new FormData()
    body.set("capability", "video-to-video")
    body.set("provider", "falai")
    body.set("input", "make it night")
    const noFile = await fetch(`${base}/v1/generations`, { method: "POST", headers: { authorization: `Bearer ${secret}`, "idempotency-key": "kind-multipart" }, body })
    expect(noFile.status).toBe(400)
    expect(((await noFile.json()) as { error: { message: string } }).error.message).toContain("video-to-video takes a video file")
    expect(fal.count("submit")).toBe(submits)
  })

  it("refuses forged, replayed and unknown webhooks, changing nothing", async () => {
    const created = (await (await post(request)).json()) as { id: string }
    await waitFinal(created.id)
    const before = await (await get(`/v1/generations/${created.id}`)).text()
    const hook = (headers: Record<string, string>, body: string) =>
      fetch(`${base}/webhooks/replicate`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body })
    const now = Math.floor(Date.now() / 1000)
    // No signature headers at all; a wrong signature; a signature over a timestamp an hour old; a valid signature for a job nobody waits for.
    expect((await hook({}, "{}")).status).toBe(400)
    const forged = await hook({ "webhook-id": "msg_1", "webhook-timestamp": String(now), "webhook-signature": "v1,AAAA" }, JSON.stringify({ id: "p1", status: "succeeded" }))
    expect(forged.status).toBe(401)
    const sign = (id: string, ts: number, body: string) => {
      const key = Buffer.from("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "base64")
      return `v1,${createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64")}`
    }
    const oldBody = JSON.stringify({ id: "p1", status: "succeeded" })
    const replayed = await hook({ "webhook-id": "msg_2", "webhook-timestamp": String(now - 3600), "webhook-signature": sign("msg_2", now - 3600, oldBody) }, oldBody)
    expect(replayed.status).toBe(401)
    const unknown = await hook({ "webhook-id": "msg_3", "webhook-timestamp": String(now), "webhook-signature": sign("msg_3", now, oldBody) }, oldBody)
    expect(unknown.status).toBe(404)
    const after = await (await get(`/v1/generations/${created.id}`)).text()
    expect(after).toBe(before)
  })

  it("serves its OpenAPI document and the reference page", async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as { paths: Record<string, unknown> }
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/v1/generations", "/v1/chat/completions", "/v1/models", "/webhooks/fal"]))
    const page = await fetch(`${base}/docs`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain("swagger")
    const metrics = await (await get("/metrics")).text()
    expect(metrics).toMatch(/automarket_gateway_requests_total\{route="\/v1\/chat\/completions",method="POST",status="200"\} \d+/)
  })
})
