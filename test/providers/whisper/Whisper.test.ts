/**
 * The Whisper provider against our STT service started in this process: the shared suite, plus
 * what needs a service set up for it: an oversized upload (InvalidInput), a failing engine
 * (ProviderUnavailable), an http(s) URL source fetched from a loopback server (and a missing one,
 * DownloadFailed), and an unreachable service (NetworkError, not available).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer as withLayer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { Audio, fromBytes, fromUrl } from "../../../src/domain/Asset.js"
import { ServiceRuntime } from "../../../src/local/ServiceRuntime.js"
import * as Whisper from "../../../src/providers/whisper/index.js"
import { layer } from "../../../src/services/stt/Server.js"
import { failingPocketsphinx } from "../../support/fakeEngines.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { fliteSpeak } from "../../support/media.js"
import { wordErrorRate } from "../../support/wer.js"
import { spokenText, whisperProviderSuite } from "./suite.js"

const maxBodyBytes = 512 * 1024
let root: string
let server: RunningServer
let small: RunningServer
let failing: RunningServer
let files: Http.Server
let filesUrl: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-whisper-test-"))
  fliteSpeak(spokenText, join(root, "speech.wav"))
  ;[server, small, failing] = await Promise.all([
    startServer(layer({ host: "127.0.0.1", port: 0, maxBodyBytes: 16 * 1024 * 1024, concurrency: 2 })),
    startServer(layer({ host: "127.0.0.1", port: 0, maxBodyBytes, concurrency: 1 })),
    startServer(layer({ host: "127.0.0.1", port: 0, maxBodyBytes, concurrency: 1 }, { pocketsphinx: failingPocketsphinx(root) }))
  ])
  // A loopback file server for URL sources: /speech.wav exists, anything else is 404.
  files = Http.createServer((req, res) => {
    if (req.url === "/speech.wav") {
      res.writeHead(200, { "content-type": "audio/wav" })
      res.end(readFileSync(join(root, "speech.wav")))
    } else {
      res.writeHead(404)
      res.end()
    }
  })
  await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve))
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`
})

afterAll(async () => {
  await Promise.all([server?.stop(), small?.stop(), failing?.stop()])
  await new Promise<void>((resolve) => {
    files.closeAllConnections()
    files.close(() => resolve())
  })
  rmSync(root, { recursive: true, force: true })
})

whisperProviderSuite("in-process service", () => server.url)

/** A runtime that must not be asked: the service is configured by URL. */
const unusedRuntime = ServiceRuntime.of({
  mode: "process",
  ensure: (service) => Effect.die(`${service} should not be started`),
  status: (service) => Effect.succeed({ service, running: false, healthy: false }),
  stop: () => Effect.void
})

const providerAt = (url: string) => Whisper.make({ url: Effect.succeed(url), configured: true })
const defaultModelAt = (url: string) => Effect.flatMap(providerAt(url), (p) => p.speechToText())

withLayer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Whisper provider: what needs a dedicated setup", (it) => {
  it.effect("an http URL source is downloaded and transcribed; a missing one is DownloadFailed", () =>
    Effect.gen(function* () {
      const model = yield* defaultModelAt(server.url)
      const result = yield* model.transform(new Audio({ source: fromUrl(`${filesUrl}/speech.wav`), mimeType: "audio/wav" }))
      expect(wordErrorRate(spokenText, result.text)).toBeLessThanOrEqual(0.25)
      const error = yield* Effect.flip(model.transform(new Audio({ source: fromUrl(`${filesUrl}/nothing.wav`), mimeType: "audio/wav" })))
      expect(error._tag).toBe("DownloadFailed")
      expect(error.message).toMatch(/HTTP 404/)
    }).pipe(
      // URL inputs are fetched by Download, which allows plain http only to loopback hosts and only when told to.
      Effect.withConfigProvider(ConfigProvider.fromJson({ AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1" }).pipe(ConfigProvider.orElse(ConfigProvider.fromEnv)))
    )
  )

  it.effect("an upload larger than the service accepts is InvalidInput (413)", () =>
    Effect.gen(function* () {
      const model = yield* defaultModelAt(small.url)
      const error = yield* Effect.flip(model.transform(new Audio({ source: fromBytes(new Uint8Array(maxBodyBytes * 2)), mimeType: "audio/wav" })))
      expect(error._tag).toBe("InvalidInput")
      expect(error.message).toMatch(/HTTP 413.*larger than this service accepts/)
    })
  )

  it.effect("an engine failure is ProviderUnavailable with the engine's message; the service stays available", () =>
    Effect.gen(function* () {
      const model = yield* defaultModelAt(failing.url)
      const audio = new Audio({ source: fromBytes(new Uint8Array(readFileSync(join(root, "speech.wav")))), mimeType: "audio/wav" })
      const error = yield* Effect.flip(model.transform(audio))
      expect(error._tag).toBe("ProviderUnavailable")
      expect(error.message).toMatch(/HTTP 500.*simulated recogniser crash/)
      expect(yield* Effect.flatMap(providerAt(failing.url), (p) => p.isAvailable)).toBe(true)
    })
  )

  it.effect("the client as a service: layerConfig finds the service at WHISPER_SERVICE_URL and names its engine", () =>
    Effect.gen(function* () {
      const client = yield* Whisper.WhisperClient.WhisperClient
      expect(yield* client.health).toMatchObject({ status: "healthy", engine: "pocketsphinx-en-us" })
      expect(yield* client.probe).toBe(true)
    }).pipe(
      Effect.provide(Whisper.WhisperClient.layerConfig()),
      Effect.provide(Layer.succeed(ServiceRuntime, unusedRuntime)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["WHISPER_SERVICE_URL", server.url]])))
    )
  )

  it.effect("a service that does not answer is NetworkError, and the provider is not available", () =>
    Effect.gen(function* () {
      const p = yield* providerAt("http://127.0.0.1:9")
      expect(yield* p.isAvailable).toBe(false)
      const error = yield* Effect.flip(p.models)
      expect(error._tag).toBe("NetworkError")
    })
  )
})

/**
 * A stand-in for the real whisper-asr-webservice (no /health): the provider finds it available
 * through /openapi.json, names its model `whisper`, and sends the spec's request: `POST /asr` with
 * `output=json` and the query parameters, the audio as the multipart field `audio_file`.
 */
withLayer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Whisper provider against a service without /health", (it) => {
  const seen: Array<{ method: string; url: string; contentType: string; body: string }> = []
  let real: Http.Server
  let realUrl: string
  const answer = {
    text: " Hello world. Second part.",
    segments: [
      { id: 0, seek: 0, start: 0, end: 1.2, text: " Hello world.", tokens: [1, 2], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01 },
      { id: 1, seek: 0, start: 1.5, end: 2.25, text: " Second part.", tokens: [3], temperature: 0, avg_logprob: -0.3, compression_ratio: 1, no_speech_prob: 0.02 }
    ],
    language: "de"
  }

  beforeAll(async () => {
    real = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", contentType: req.headers["content-type"] ?? "", body: Buffer.concat(chunks).toString("latin1") })
        if (req.method === "GET" && req.url === "/openapi.json") {
          res.writeHead(200, { "content-type": "application/json" })
          res.end("{}")
        } else if (req.method === "POST" && req.url?.startsWith("/asr?")) {
          res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "asr-engine": "faster_whisper" })
          res.end(JSON.stringify(answer))
        } else {
          res.writeHead(404, { "content-type": "application/json" })
          res.end(JSON.stringify({ detail: "Not Found" }))
        }
      })
    })
    await new Promise<void>((resolve) => real.listen(0, "127.0.0.1", resolve))
    realUrl = `http://127.0.0.1:${(real.address() as AddressInfo).port}`
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => {
      real.closeAllConnections()
      real.close(() => resolve())
    })
  })

  it.effect("is available, names the generic model, sends /asr as the spec has it and reads whisper's JSON", () =>
    Effect.gen(function* () {
      const p = yield* providerAt(realUrl)
      expect(yield* p.isAvailable).toBe(true)
      expect((yield* p.models).map((m) => m.id)).toEqual(["whisper"])
      const model = yield* p.speechToText()
      const bytes = new TextEncoder().encode("RIFF-not-really")
      const result = yield* model.transform(new Audio({ source: fromBytes(bytes), mimeType: "audio/wav" }), {
        language: "de",
        extra: { format: "vtt", initial_prompt: "Greetings", task: "transcribe" }
      })
      expect(result.text).toBe("WEBVTT\n\n00:00.000 --> 00:01.200\nHello world.\n\n00:01.500 --> 00:02.250\nSecond part.\n\n")
      expect(result.segments).toEqual([
        { start: 0, end: 1.2, text: "Hello world." },
        { start: 1.5, end: 2.25, text: "Second part." }
      ])
      expect(result.language).toBe("de")
      expect(result.origin).toEqual({ provider: "whisper", model: "whisper", costUsd: 0 })
      const request = seen.find((r) => r.method === "POST")!
      const url = new URL(request.url, realUrl)
      expect(url.pathname).toBe("/asr")
      expect(Object.fromEntries(url.searchParams)).toEqual({ output: "json", language: "de", initial_prompt: "Greetings", task: "transcribe" })
      const boundary = /boundary=(.+)$/.exec(request.contentType)?.[1]
      expect(boundary).toBeDefined()
      expect(request.body).toBe(
        `--${boundary}\r\nContent-Disposition: form-data; name="audio_file"; filename="audio.wav"\r\nContent-Type: audio/wav\r\n\r\nRIFF-not-really\r\n--${boundary}--\r\n`
      )
    })
  )
})
