/**
 * The FFmpeg provider against the FFmpeg service started in this process on a free port (the
 * shared suite, with the work directory visible so leftovers are checked), plus what needs a
 * set-up of its own: a service that is not running, and the provider's layer reading its
 * configuration.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Audio, fromFile, fromUrl } from "../../../src/domain/Asset.js"
import { Composition } from "../../../src/domain/Composition.js"
import { ServiceNotRunning } from "../../../src/domain/Errors.js"
import { MediaProvider } from "../../../src/domain/MediaProvider.js"
import * as FFmpegClient from "../../../src/providers/ffmpeg/FFmpegClient.js"
import * as FFmpegProvider from "../../../src/providers/ffmpeg/FFmpegProvider.js"
import { ServiceRuntime } from "../../../src/local/ServiceRuntime.js"
import { layer } from "../../../src/services/ffmpeg/Server.js"
import { makeClip, makeSpeech, probe, type RunningServer, startServer } from "../../services/ffmpeg/support.js"
import { ffmpegProviderSuite } from "./suite.js"

const maxBodyBytes = 4 * 1024 * 1024
let root: string
let workDir: string
let server: RunningServer

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-provider-test-"))
  workDir = join(root, "work")
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes, concurrency: 2 }))
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

ffmpegProviderSuite("a service in this process", () => server.url, { workDir: () => workDir, maxBodyBytes })

/** A loopback port nothing listens on. */
const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const probe = Http.createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

describe("FFmpeg provider: set-ups of its own", () => {
  it.effect("URL sources are downloaded by the provider and uploaded: the service (URL inputs off) is never asked to fetch", () =>
    Effect.gen(function* () {
      const media = join(root, "served")
      mkdirSync(media, { recursive: true })
      const files = new Map([
        ["/clip.mp4", readFileSync(makeClip(media, "clip.mp4", "blue", { seconds: 1 }))],
        ["/voice.wav", readFileSync(makeSpeech(media, "voice.wav", "From a URL."))]
      ])
      const asked: Array<string> = []
      const fileServer = Http.createServer((request, response) => {
        asked.push(request.url ?? "")
        const body = files.get(request.url ?? "")
        if (body === undefined) return response.writeHead(404).end()
        response.writeHead(200, { "content-type": request.url?.endsWith(".wav") ? "audio/wav" : "video/mp4", "content-length": body.length })
        response.end(body)
      })
      yield* Effect.acquireRelease(
        Effect.promise(() => new Promise<void>((resolve) => fileServer.listen(0, "127.0.0.1", resolve))),
        () => Effect.promise(() => new Promise<void>((resolve) => fileServer.close(() => resolve())))
      )
      const address = fileServer.address()
      const base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
      const provider = yield* FFmpegProvider.make({ url: Effect.succeed(server.url), configured: true }, { outputDir: join(root, "out") })
      const composer = yield* provider.videoComposer()
      const video = yield* composer.transform(Schema.decodeUnknownSync(Composition)({ clips: [{ src: `${base}/clip.mp4` }], output: { width: 320, height: 180 } }))
      expect(video.source._tag === "File" ? probe(video.source.path).duration : 0).toBeGreaterThan(0.5)
      const enhancer = yield* provider.audioEnhancer()
      const audio = yield* enhancer.transform(new Audio({ source: fromUrl(`${base}/voice.wav`), mimeType: "audio/wav" }), { format: "mp3" })
      expect(audio.mimeType).toBe("audio/mpeg")
      // Each file fetched once, by the provider's download (the service would have been refused).
      expect(asked.sort()).toEqual(["/clip.mp4", "/voice.wav"])
    }).pipe(
      Effect.scoped,
      Effect.provide(NodeHttpClient.layerUndici),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_ALLOW_LOOPBACK_HTTP", "1"]])))
    )
  )

  it.effect("a service that is not running: NetworkError, and not available", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(closedPort)
      const provider = yield* FFmpegProvider.make({ url: Effect.succeed(`http://127.0.0.1:${port}`), configured: true }, { outputDir: join(root, "out") })
      expect(yield* provider.isAvailable).toBe(false)
      const speech = makeSpeech(root, "down.wav", "Nobody is listening.")
      const model = yield* provider.audioEnhancer()
      const error = yield* Effect.flip(model.transform(new Audio({ source: fromFile(speech), mimeType: "audio/wav" }), { format: "mp3" }))
      expect(error._tag).toBe("NetworkError")
      expect(error.message).toContain("ECONNREFUSED")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.effect("a service the runtime cannot start: its ServiceNotRunning comes through", () =>
    Effect.gen(function* () {
      const provider = yield* FFmpegProvider.make({
        url: Effect.fail(new ServiceNotRunning({ provider: "ffmpeg", service: "ffmpeg", detail: "could not start the service" })),
        configured: false
      })
      expect(yield* provider.isAvailable).toBe(false)
      const model = yield* provider.audioEnhancer()
      const error = yield* Effect.flip(model.transform(new Audio({ source: fromFile(join(root, "x.wav")), mimeType: "audio/wav" })))
      expect(error._tag).toBe("ServiceNotRunning")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.effect("the default output folder is the user's private one: a link planted by another user (in the shared temp dir or in the runtime dir) gets no result", () => {
    const planted = join(root, "planted")
    const attacker = join(planted, "attacker")
    const saved = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR, TMPDIR: process.env.TMPDIR }
    const plant = Effect.sync(() => {
      mkdirSync(attacker, { recursive: true })
      mkdirSync(join(planted, "shared"))
      mkdirSync(join(planted, "run"), { mode: 0o700 })
      // The old default, <tmp>/automarket-ffmpeg, and the new one's folder, both links to the attacker's folder.
      symlinkSync(attacker, join(planted, "shared", "automarket-ffmpeg"))
      symlinkSync(attacker, join(planted, "run", "automarket"))
      process.env.TMPDIR = join(planted, "shared")
      process.env.XDG_RUNTIME_DIR = join(planted, "run")
    })
    const restore = Effect.sync(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
    })
    return Effect.gen(function* () {
      yield* plant
      const provider = yield* FFmpegProvider.make({ url: Effect.succeed(server.url), configured: true })
      const speech = makeSpeech(root, "planted.wav", "Where does this go?")
      const model = yield* provider.audioEnhancer()
      const error = yield* Effect.flip(model.transform(new Audio({ source: fromFile(speech), mimeType: "audio/wav" }), { format: "mp3" }))
      expect(error._tag).toBe("DownloadFailed")
      expect(error.message).toContain(`${join(planted, "run", "automarket")}: it is a symbolic link`)
      expect(readdirSync(attacker)).toEqual([])
    }).pipe(Effect.ensuring(restore), Effect.provide(NodeHttpClient.layerUndici))
  })

  it.effect("the layer uses FFMPEG_SERVICE_URL when set, without asking the runtime", () =>
    Effect.gen(function* () {
      const provider = yield* MediaProvider
      expect(provider.id).toBe("ffmpeg")
      expect(yield* provider.isAvailable).toBe(true)
    }).pipe(
      Effect.provide(
        FFmpegProvider.layer.pipe(
          Layer.provide(
            Layer.succeed(ServiceRuntime, {
              mode: "process",
              ensure: () => Effect.dieMessage("the runtime must not be asked when the URL is configured"),
              status: (service) => Effect.succeed({ service, running: false, healthy: false }),
              stop: () => Effect.void
            })
          ),
          Layer.provide(NodeHttpClient.layerUndici),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["FFMPEG_SERVICE_URL", server.url]]))))
        )
      )
    )
  )
  it.effect("the client as a service: layerConfig reaches the service at FFMPEG_SERVICE_URL without asking the runtime", () =>
    Effect.gen(function* () {
      const client = yield* FFmpegClient.FFmpegClient
      expect(yield* client.health).toMatchObject({ status: "healthy", service: "ffmpeg" })
    }).pipe(
      Effect.provide(
        FFmpegClient.layerConfig().pipe(
          Layer.provide(
            Layer.succeed(ServiceRuntime, {
              mode: "process",
              ensure: () => Effect.dieMessage("the runtime must not be asked when the URL is configured"),
              status: (service) => Effect.succeed({ service, running: false, healthy: false }),
              stop: () => Effect.void
            })
          ),
          Layer.provide(NodeHttpClient.layerUndici),
          Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["FFMPEG_SERVICE_URL", server.url]]))))
        )
      )
    )
  )
})
