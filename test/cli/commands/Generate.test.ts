/**
 * `automarket generate ...` and `models --free/--refresh` in-process, against providers built
 * with the real `Provider.make` and a real (in-memory) `Catalog`: streamed deltas reach stdout in
 * order, media is saved where `--out` says (a URL result downloaded from a loopback server), job
 * progress is printed as plain lines, and interrupting a generation cancels the job and leaves
 * no file. `upscale` and `video-to-video` take an input file (checked before any provider is
 * called) as the asset of their kind.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Audio, fromBytes, fromFile, fromUrl, Image, Text, Video } from "../../../src/domain/Asset.js"
import { QuotaExceeded } from "../../../src/domain/Errors.js"
import type { ProviderModel } from "../../../src/domain/Model.js"
import { JobEvent, report } from "../../../src/domain/Progress.js"
import * as Commands from "../../../src/cli/Commands.js"
import { extensionOf } from "../../../src/cli/AssetFiles.js"
import { CliOutput } from "../../../src/cli/Output.js"
import * as ProviderRegistry from "../../../src/registry/ProviderRegistry.js"
import * as Catalog from "../../../src/provider/Catalog.js"
import * as Provider from "../../../src/provider/Provider.js"
import { capture } from "../../support/CaptureConsole.js"
import { loopback } from "../../support/LoopbackServer.js"
import { model } from "../../support/TestProviders.js"

const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 1, 2, 3])
const mp4 = Buffer.from("....ftypisom fake video bytes")
const upscaled = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 9, 9, 9, 9])

interface Setup {
  readonly layer: Layer.Layer<ProviderRegistry.ProviderRegistry | Catalog.Catalog>
  /** Discovery calls of the remote provider. */
  readonly discoveries: Ref.Ref<number>
  /** Interrupted image jobs (the provider's "cancel"). */
  readonly cancelled: Ref.Ref<number>
  /** Completed when an image job that never ends has started. */
  readonly hanging: Deferred.Deferred<void>
  /** The inputs and options the file-taking capabilities (image-upscaling, video-to-video) were given. */
  readonly received: Array<{ readonly asset: Image | Video; readonly options: unknown }>
}

/**
 * Two providers: `alpha` (remote, cached in the catalog; text streamed, images with job
 * progress, video as a URL on `videoUrl`, speech as a file) and `beta` (local; text out of quota).
 */
const setup = (videoUrl: string, dir: string): Effect.Effect<Setup, never, Scope.Scope> =>
  Effect.gen(function* () {
    const discoveries = yield* Ref.make(0)
    const cancelled = yield* Ref.make(0)
    const hanging = yield* Deferred.make<void>()
    const received: Array<{ readonly asset: Image | Video; readonly options: unknown }> = []
    const catalog = yield* Layer.build(Catalog.layerMemory({ ttl: "1 hour" })).pipe(Effect.orDie)
    const alphaModels: ReadonlyArray<ProviderModel> = [
      { ...model("alpha-chat", ["text-to-text"], 0.000002), provider: "alpha" },
      { ...model("alpha-chat-free", ["text-to-text"], 0), provider: "alpha" },
      { ...model("alpha-img", ["text-to-image"], 0.03), provider: "alpha" },
      { ...model("alpha-video", ["text-to-video"], 0.5), provider: "alpha" },
      { ...model("alpha-voice", ["text-to-speech"], 0), provider: "alpha" },
      { ...model("alpha-upscaler", ["image-upscaling"], 0.002), provider: "alpha" },
      { ...model("alpha-v2v", ["video-to-video"], 0.1), provider: "alpha" }
    ]
    const origin = (m: string) => ({ provider: "alpha", model: m })
    const alpha = yield* Provider.make({
      id: "alpha",
      name: "Alpha",
      type: "remote",
      configured: true,
      baseUrl: "http://127.0.0.1:1/v1",
      discover: Effect.as(Ref.update(discoveries, (n) => n + 1), alphaModels),
      defaultModels: { "text-to-text": "alpha-chat", "text-to-image": "alpha-img" },
      transforms: {
        "text-to-text": (m, input) => Effect.succeed(new Text({ text: `${m} answers ${input.text}`, origin: origin(m) })),
        "text-to-image": (m, input) =>
          Effect.gen(function* () {
            yield* report(JobEvent.Submitted({ provider: "alpha", model: m, jobId: "job-1" }))
            yield* report(JobEvent.Queued({ provider: "alpha", model: m, position: 2 }))
            yield* report(JobEvent.Queued({ provider: "alpha", model: m, position: 2 }))
            if (input.text === "hang") {
              yield* Deferred.succeed(hanging, undefined)
              yield* Effect.onInterrupt(Effect.never, () => Ref.update(cancelled, (n) => n + 1))
            }
            yield* report(JobEvent.Running({ provider: "alpha", model: m, percent: 50, logs: ["step 1 of 2"] }))
            yield* report(JobEvent.Completed({ provider: "alpha", model: m }))
            return new Image({ source: fromBytes(png), mimeType: "image/png", origin: origin(m) })
          }),
        "text-to-video": (m) => Effect.succeed(new Video({ source: fromUrl(videoUrl), mimeType: "video/mp4", origin: origin(m) })),
        "image-upscaling": (m, input, options) =>
          Effect.sync(() => {
            received.push({ asset: input, options })
            return new Image({ source: fromBytes(upscaled), mimeType: "image/png", origin: origin(m) })
          }),
        "video-to-video": (m, input, options) =>
          Effect.sync(() => {
            received.push({ asset: input, options })
            return new Video({ source: fromUrl(videoUrl), mimeType: "video/mp4", origin: origin(m) })
          }),
        "text-to-speech": (m, _input, options) =>
          Effect.sync(() => {
            const file = path.join(dir, `voice-${options?.voice ?? "default"}.${options?.format ?? "wav"}`)
            fs.writeFileSync(file, "RIFF....WAVE")
            return new Audio({ source: fromFile(file), mimeType: "audio/wav", origin: origin(m) })
          })
      },
      streamText: (m, input, options) =>
        Stream.fromIterable([`[${m}${options?.system !== undefined ? ` as ${options.system}` : ""}${options?.maxTokens !== undefined ? ` max ${options.maxTokens}` : ""}] `, "Hel", "", "lo, ", input.text])
    }).pipe(Effect.provide(catalog))
    const beta = yield* Provider.make({
      id: "beta",
      name: "Beta",
      type: "local",
      configured: true,
      discover: Effect.succeed([{ ...model("beta-chat", ["text-to-text"], 0), provider: "beta" }]),
      transforms: { "text-to-text": () => Effect.fail(new QuotaExceeded({ provider: "beta", detail: "out of credits" })) },
      streamText: () => Stream.fail(new QuotaExceeded({ provider: "beta", detail: "out of credits" }))
    })
    const registry = Layer.effect(ProviderRegistry.ProviderRegistry, ProviderRegistry.make([beta, alpha]))
    return { layer: Layer.merge(registry, Layer.succeedContext(catalog)), discoveries, cancelled, hanging, received }
  })

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "automarket-generate-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A loopback server of one video file, the provider's "CDN". */
const videoServer = loopback((_req, res) => {
  res.writeHead(200, { "content-type": "video/mp4", "content-length": String(mp4.length) })
  res.end(mp4)
})

const world = Effect.gen(function* () {
  const dir = yield* tempDir
  const server = yield* videoServer
  const env = yield* setup(`${server.url}/files/clip.mp4`, dir)
  const stdout: Array<string> = []
  const progress: Array<string> = []
  const output = Context.make(CliOutput, {
    stdout: (chunk: string) => Effect.sync(() => void stdout.push(chunk)),
    progress: { live: false, write: (chunk: string) => void progress.push(chunk) }
  })
  const cli = (...args: Array<string>) =>
    Effect.gen(function* () {
      const io = capture()
      stdout.length = 0
      progress.length = 0
      const result = yield* Commands.run(["node", "automarket", ...args]).pipe(
        Effect.provide(env.layer),
        Effect.provide(output),
        Effect.provide(NodeContext.layer),
        Effect.provide(NodeHttpClient.layerUndici),
        Effect.withConsole(io.console),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_ALLOW_LOOPBACK_HTTP", "1"]]))),
        Effect.either
      )
      return { result, stdout: [...stdout], progress: progress.join(""), out: io.out.join("\n"), err: io.err.join("\n") }
    })
  return { dir, env, cli }
})

describe("automarket generate (in-process)", () => {
  it("a result's file extension comes from its mime type", () => {
    expect(extensionOf("image/png")).toBe("png")
    expect(extensionOf("image/jpeg; q=1")).toBe("jpg")
    expect(extensionOf("audio/mpeg")).toBe("mp3")
    expect(extensionOf("application/x-unknown")).toBe("bin")
  })

  it.scopedLive("text --stream writes each delta to stdout as it arrives, in order, then a newline", () =>
    Effect.gen(function* () {
      const { cli } = yield* world
      const run = yield* cli("generate", "text", "world", "--stream", "--system", "a poet", "--max-tokens", "32")
      expect(Either.isRight(run.result)).toBe(true)
      // beta (tried first: local and free) is out of quota before any delta; alpha streams.
      expect(run.stdout).toEqual(["[alpha-chat-free as a poet max 32] ", "Hel", "lo, ", "world", "\n"])
    }))

  it.scopedLive("text without --stream prints the whole answer; --provider and --model pin the call", () =>
    Effect.gen(function* () {
      const { cli } = yield* world
      const run = yield* cli("generate", "text", "hi", "--provider", "alpha", "--model", "alpha-chat")
      expect(Either.isRight(run.result)).toBe(true)
      expect(run.stdout).toEqual(["alpha-chat answers hi\n"])
      // --model alone: only the provider that lists it is asked (beta, tried first otherwise, is not).
      const byModel = yield* cli("generate", "text", "hi", "--model", "alpha-chat")
      expect(Either.isRight(byModel.result)).toBe(true)
      expect(byModel.stdout).toEqual(["alpha-chat answers hi\n"])
      const routed = yield* cli("generate", "text", "hi")
      expect(Either.isRight(routed.result)).toBe(true)
      expect(routed.stdout).toEqual(["alpha-chat-free answers hi\n"])
      const unknown = yield* cli("generate", "text", "hi", "--provider", "nope")
      expect(Either.isLeft(unknown.result) && unknown.result.left).toMatchObject({ _tag: "UnknownProvider", id: "nope" })
      const incapable = yield* cli("generate", "image", "a cat", "--provider", "beta")
      expect(Either.isLeft(incapable.result) && incapable.result.left).toMatchObject({ _tag: "CapabilityNotSupported", provider: "beta" })
    }))

  it.scopedLive("image --out writes the file and prints the job's progress as plain lines", () =>
    Effect.gen(function* () {
      const { cli, dir } = yield* world
      const target = path.join(dir, "sub", "cat.png")
      const run = yield* cli("generate", "image", "a cat", "--out", target, "--width", "512", "--height", "512")
      expect(Either.isRight(run.result)).toBe(true)
      expect(new Uint8Array(fs.readFileSync(target))).toEqual(png)
      expect(run.stdout).toEqual([`${target} by alpha/alpha-img\n`])
      expect(run.progress.split("\n")).toEqual([
        "alpha alpha-img: submitted (job job-1)",
        "alpha alpha-img: queued (position 2)",
        "alpha alpha-img: step 1 of 2",
        "alpha alpha-img: running 50%",
        "alpha alpha-img: completed",
        ""
      ])
      expect(fs.readdirSync(path.dirname(target))).toEqual(["cat.png"])
    }))

  it.scopedLive("video downloads a URL result to --out (with download progress); speech saves a file result", () =>
    Effect.gen(function* () {
      const { cli, dir } = yield* world
      const clip = path.join(dir, "clip.mp4")
      const video = yield* cli("generate", "video", "waves", "--out", clip, "--duration", "5")
      expect(Either.isRight(video.result)).toBe(true)
      expect(fs.readFileSync(clip)).toEqual(mp4)
      expect(video.progress).toMatch(new RegExp(`alpha alpha-video: downloading ${mp4.length} B of ${mp4.length} B \\(100%\\)`))
      const voice = path.join(dir, "hello.wav")
      const speech = yield* cli("generate", "speech", "hello", "--out", voice, "--voice", "slt")
      expect(Either.isRight(speech.result)).toBe(true)
      expect(fs.readFileSync(voice, "utf8")).toBe("RIFF....WAVE")
      expect(speech.stdout).toEqual([`${voice} by alpha/alpha-voice\n`])
      // No text-to-audio provider here: a typed failure, nothing written.
      const audio = yield* cli("generate", "audio", "rain", "--out", path.join(dir, "rain.wav"))
      expect(Either.isLeft(audio.result) && audio.result.left).toMatchObject({ _tag: "CapabilityNotSupported" })
      expect(fs.existsSync(path.join(dir, "rain.wav"))).toBe(false)
    }))

  it.scopedLive("upscale gives the image file, as an image of its type, and --scale to image-upscaling, and writes the result to --out", () =>
    Effect.gen(function* () {
      const { cli, dir, env } = yield* world
      const input = path.join(dir, "small.png")
      fs.writeFileSync(input, png)
      const out = path.join(dir, "big.png")
      const run = yield* cli("generate", "upscale", input, "--scale", "2", "--out", out)
      expect(Either.isRight(run.result), run.err).toBe(true)
      expect(new Uint8Array(fs.readFileSync(out))).toEqual(upscaled)
      expect(run.stdout).toEqual([`${out} by alpha/alpha-upscaler
`])
      expect(env.received).toHaveLength(1)
      const [given] = env.received
      expect(given!.asset).toBeInstanceOf(Image)
      expect(given!.asset).toMatchObject({ mimeType: "image/png", source: { _tag: "File", path: input } })
      expect(given!.options).toEqual({ scale: 2 })
    }))

  it.scopedLive("video-to-video gives the video file and --prompt, and writes the video made to --out", () =>
    Effect.gen(function* () {
      const { cli, dir, env } = yield* world
      const input = path.join(dir, "day.webm")
      fs.writeFileSync(input, mp4)
      const out = path.join(dir, "night.mp4")
      const run = yield* cli("generate", "video-to-video", input, "--prompt", "make it night", "--out", out)
      expect(Either.isRight(run.result), run.err).toBe(true)
      expect(fs.readFileSync(out)).toEqual(mp4)
      expect(run.stdout).toEqual([`${out} by alpha/alpha-v2v
`])
      expect(env.received.map(({ asset, options }) => [asset._tag, asset.mimeType, asset.source, options])).toEqual([
        ["Video", "video/webm", expect.objectContaining({ _tag: "File", path: input }), { prompt: "make it night" }]
      ])
    }))

  it.scopedLive("an input file of the wrong kind, or unreadable, is refused before any provider is called", () =>
    Effect.gen(function* () {
      const { cli, dir, env } = yield* world
      const clip = path.join(dir, "clip.mp4")
      fs.writeFileSync(clip, mp4)
      const wrong = yield* cli("generate", "upscale", clip)
      expect(Either.isLeft(wrong.result) && wrong.result.left).toMatchObject({ _tag: "InvalidOptions", message: `${clip}: not an image by its extension (video/mp4)` })
      const picture = path.join(dir, "still.png")
      fs.writeFileSync(picture, png)
      const notVideo = yield* cli("generate", "video-to-video", picture, "--prompt", "x")
      expect(Either.isLeft(notVideo.result) && notVideo.result.left).toMatchObject({ _tag: "InvalidOptions" })
      const missing = yield* cli("generate", "upscale", path.join(dir, "nowhere.png"))
      expect(Either.isLeft(missing.result) && missing.result.left).toMatchObject({ _tag: "UnreadableFile", reason: "not found" })
      expect(env.received).toEqual([])
    }))

  it.scopedLive("interrupting a generation cancels the provider's job and leaves no file", () =>
    Effect.gen(function* () {
      const { cli, dir, env } = yield* world
      const target = path.join(dir, "never.png")
      const fiber = yield* Effect.fork(cli("generate", "image", "hang", "--out", target))
      yield* Deferred.await(env.hanging)
      yield* Fiber.interrupt(fiber)
      expect(yield* Ref.get(env.cancelled)).toBe(1)
      expect(fs.readdirSync(dir).filter((f) => f.startsWith("never"))).toEqual([])
    }))

  it.scopedLive("models --free lists only free models (from the catalog); --refresh discovers again", () =>
    Effect.gen(function* () {
      const { cli, env } = yield* world
      const free = yield* cli("models", "--free", "--json")
      expect(Either.isRight(free.result)).toBe(true)
      const listed = JSON.parse(free.out) as Array<{ id: string; free: boolean }>
      expect(listed.map((m) => m.id).sort()).toEqual(["alpha-chat-free", "alpha-voice", "beta-chat"])
      expect(listed.every((m) => m.free)).toBe(true)
      const table = yield* cli("models", "--provider", "alpha")
      expect(table.out).toMatch(/alpha-img\s+text-to-image\s+\$0\.0300\/image/)
      // Both listings came from one discovery: the catalog answered the second.
      expect(yield* Ref.get(env.discoveries)).toBe(1)
      const refreshed = yield* cli("models", "--refresh", "--provider", "alpha", "--free", "--json")
      expect(Either.isRight(refreshed.result)).toBe(true)
      expect((JSON.parse(refreshed.out) as Array<{ id: string }>).map((m) => m.id)).toEqual(["alpha-chat-free", "alpha-voice"])
      expect(yield* Ref.get(env.discoveries)).toBe(2)
    }))
})
