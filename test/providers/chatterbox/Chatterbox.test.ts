/**
 * The Chatterbox provider against our TTS service started in this process: the shared suite,
 * plus what needs a service set up for it: an oversized request (InvalidInput) and a failing
 * engine (ProviderUnavailable), an unreachable service (NetworkError, not available), and a
 * stand-in for the real server (no /health) that records what the provider sends.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer as withLayer } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { mkdtempSync, rmSync } from "node:fs"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { text } from "../../../src/domain/Asset.js"
import { ServiceRuntime } from "../../../src/local/ServiceRuntime.js"
import * as Chatterbox from "../../../src/providers/chatterbox/index.js"
import { layer } from "../../../src/services/tts/Server.js"
import { failingFlite } from "../../support/fakeEngines.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { chatterboxProviderSuite } from "./suite.js"

const maxBodyBytes = 16 * 1024
let root: string
let server: RunningServer
let failing: RunningServer

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-chatterbox-test-"))
  server = await startServer(layer({ host: "127.0.0.1", port: 0, maxBodyBytes, concurrency: 2 }))
  failing = await startServer(layer({ host: "127.0.0.1", port: 0, maxBodyBytes, concurrency: 1 }, { flite: failingFlite(root) }))
})

afterAll(async () => {
  await server?.stop()
  await failing?.stop()
  rmSync(root, { recursive: true, force: true })
})

chatterboxProviderSuite("in-process service", () => server.url)

/** A runtime that must not be asked: the service is configured by URL. */
const unusedRuntime = ServiceRuntime.of({
  mode: "process",
  ensure: (service) => Effect.die(`${service} should not be started`),
  status: (service) => Effect.succeed({ service, running: false, healthy: false }),
  stop: () => Effect.void
})

const providerAt = (url: string) =>
  Chatterbox.make({ url: Effect.succeed(url), configured: true }, { outputDir: join(root, "out"), client: { retry: { retries: 0 } } })

withLayer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Chatterbox provider: failures that need a dedicated service", (it) => {
  it.effect("a text larger than the service accepts is InvalidInput (413)", () =>
    Effect.gen(function* () {
      const model = yield* Effect.flatMap(providerAt(server.url), (p) => p.textToSpeech("slt.wav"))
      const error = yield* Effect.flip(model.transform(text("word ".repeat(maxBodyBytes))))
      expect(error._tag).toBe("InvalidInput")
      expect(error.message).toMatch(/HTTP 413.*larger than this service accepts/)
    })
  )

  it.effect("an engine failure is ProviderUnavailable with the engine's message", () =>
    Effect.gen(function* () {
      const model = yield* Effect.flatMap(providerAt(failing.url), (p) => p.textToSpeech("slt.wav"))
      const error = yield* Effect.flip(model.transform(text("Hello.")))
      expect(error._tag).toBe("ProviderUnavailable")
      expect(error.message).toMatch(/HTTP 500.*simulated flite crash/)
      const p = yield* providerAt(failing.url)
      expect(yield* p.isAvailable).toBe(true)
    })
  )

  it.effect("the client as a service: layerConfig finds the service at CHATTERBOX_DOCKER_URL and lists its voices", () =>
    Effect.gen(function* () {
      const client = yield* Chatterbox.ChatterboxClient.ChatterboxClient
      expect((yield* client.voices).map((voice) => voice.filename)).toContain("slt.wav")
      expect(yield* client.health).toMatchObject({ status: "healthy", engine: "flite" })
      expect(yield* client.probe).toBe(true)
    }).pipe(
      Effect.provide(Chatterbox.ChatterboxClient.layerConfig()),
      Effect.provide(Layer.succeed(ServiceRuntime, unusedRuntime)),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["CHATTERBOX_DOCKER_URL", server.url]])))
    )
  )

  it.effect("a service that does not answer is NetworkError, and the provider is not available", () =>
    Effect.gen(function* () {
      const p = yield* providerAt("http://127.0.0.1:9")
      expect(yield* p.isAvailable).toBe(false)
      const error = yield* Effect.flip(p.textToSpeech())
      expect(error._tag).toBe("NetworkError")
    })
  )
})

/**
 * A stand-in for the real Chatterbox TTS Server (no /health; voices named like Emily.wav): the
 * provider finds it available through /get_predefined_voices and sends the spec's request shape.
 */
withLayer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Chatterbox provider against a server without /health", (it) => {
  const seen: Array<{ method: string; url: string; body: string }> = []
  let real: Http.Server
  let realUrl: string
  const wav = (seconds: number) => {
    const data = 32000 * seconds
    const head = Buffer.alloc(44)
    head.write("RIFF", 0); head.writeUInt32LE(36 + data, 4); head.write("WAVE", 8); head.write("fmt ", 12)
    head.writeUInt32LE(16, 16); head.writeUInt16LE(1, 20); head.writeUInt16LE(1, 22); head.writeUInt32LE(16000, 24)
    head.writeUInt32LE(32000, 28); head.writeUInt16LE(2, 32); head.writeUInt16LE(16, 34); head.write("data", 36); head.writeUInt32LE(data, 40)
    return Buffer.concat([head, Buffer.alloc(data)])
  }

  beforeAll(async () => {
    real = Http.createServer((req, res) => {
      let body = ""
      req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
      req.on("end", () => {
        seen.push({ method: req.method ?? "", url: req.url ?? "", body })
        if (req.method === "GET" && req.url === "/get_predefined_voices") {
          res.writeHead(200, { "content-type": "application/json" })
          res.end(JSON.stringify([{ display_name: "Emily", filename: "Emily.wav" }, { display_name: "Gianna", filename: "Gianna.wav" }]))
        } else if (req.method === "POST" && req.url === "/tts") {
          res.writeHead(200, { "content-type": "audio/wav" })
          res.end(wav(1.5))
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

  it.effect("is available, lists the server's voices, and sends /tts as the spec has it", () =>
    Effect.gen(function* () {
      const p = yield* providerAt(realUrl)
      expect(yield* p.isAvailable).toBe(true)
      expect((yield* p.models).map((m) => [m.id, m.name])).toEqual([["Emily.wav", "Emily"], ["Gianna.wav", "Gianna"]])
      const model = yield* p.textToSpeech()
      const audio = yield* model.transform(text("Hello there."), { voice: "gianna", speed: 1.25, extra: { exaggeration: 0.7, seed: 42 } })
      expect(audio.duration).toBe(1.5)
      expect(audio.sampleRate).toBe(16000)
      expect(audio.origin).toEqual({ provider: "chatterbox", model: "Emily.wav", costUsd: 0 })
      const request = seen.find((r) => r.method === "POST")
      expect(request?.url).toBe("/tts")
      expect(JSON.parse(request?.body ?? "{}")).toEqual({
        text: "Hello there.",
        voice_mode: "predefined",
        predefined_voice_id: "Gianna.wav",
        output_format: "wav",
        speed_factor: 1.25,
        exaggeration: 0.7,
        seed: 42
      })
    })
  )
})
