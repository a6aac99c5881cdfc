/**
 * The FFmpeg provider's behaviour against a running FFmpeg service at `baseUrl()`: run by
 * FFmpegProvider.test.ts against a service started in the test process, and runnable against a
 * separately started one. Media are generated here with the real ffmpeg and flite, and results
 * are checked with ffprobe, frame grabs and level measurements (astats, volumedetect).
 *
 * `options.workDir` (when the service's work directory is visible) adds the check that nothing
 * is left in it after each call; `options.maxBodyBytes` is the service's body limit (read from
 * its /health when not given).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type AssetSource, Audio, fromBytes, fromFile, fromUrl, Image, text } from "../../../src/domain/Asset.js"
import type { CompositionInput } from "../../../src/domain/Composition.js"
import { Composition } from "../../../src/domain/Composition.js"
import type { MediaError } from "../../../src/domain/Errors.js"
import type { AudioOptions, EnhancementOptions, ImageOptions, MediaProviderService } from "../../../src/domain/MediaProvider.js"
import * as FFmpegProvider from "../../../src/providers/ffmpeg/FFmpegProvider.js"
import { Health } from "../../../src/services/ffmpeg/Api.js"
import * as Schema from "effect/Schema"
import {
  frameAt,
  integratedLoudness,
  isRed,
  makeClip,
  makeNoise,
  makePng,
  makeSpeech,
  makeTone,
  meanVolume,
  pixel,
  probe,
  rmsLevel
} from "../../services/ffmpeg/support.js"

/** What the suite may know about the service beyond its URL. */
export interface FFmpegSuiteOptions {
  /** The service's work directory, to check that calls leave nothing behind. */
  readonly workDir?: () => string
  /** The service's body limit; read from its /health when absent. */
  readonly maxBodyBytes?: number
}

/** The shared behaviour of the FFmpeg provider against the service at `baseUrl()`. */
export const ffmpegProviderSuite = (label: string, baseUrl: () => string, options: FFmpegSuiteOptions = {}) => {
  describe(`FFmpeg provider against ${label}`, () => {
    let root: string
    let outputDir: string
    let clips: ReadonlyArray<string>
    let overlay: string
    let narration: string
    let speech: string

    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-provider-"))
      outputDir = join(root, "out")
      const media = join(root, "media")
      mkdirSync(media)
      clips = [
        makeClip(media, "blue.mp4", "blue", { frequency: 330 }),
        makeClip(media, "green.mp4", "green", { audio: false }),
        makeClip(media, "gray.mp4", "gray", { frequency: 550 })
      ]
      overlay = makePng(media, "red.png", "red", "160x90")
      narration = makeSpeech(media, "narration.wav", "Welcome to the automarket composition test.")
      speech = makeSpeech(media, "speech.wav", "The quick brown fox jumps over the lazy dog.")
    })

    afterAll(() => {
      rmSync(root, { recursive: true, force: true })
    })

    // Built per test: the URL and the output directory are known once the suite has started.
    const provider = Effect.suspend(() => FFmpegProvider.make({ url: Effect.sync(() => baseUrl()), configured: true }, { outputDir }))

    const withProvider = <A, E>(use: (provider: MediaProviderService) => Effect.Effect<A, E>) =>
      Effect.flatMap(provider, use).pipe(Effect.provide(NodeHttpClient.layerUndici))

    const compose = (composition: CompositionInput) =>
      withProvider((p) =>
        Effect.flatMap(p.videoComposer(), (model) => model.transform(Schema.decodeUnknownSync(Composition)(composition)))
      )

    const enhance = (input: Audio, enhancement: EnhancementOptions) =>
      withProvider((p) => Effect.flatMap(p.audioEnhancer(), (model) => model.transform(input, enhancement)))

    const slide = (prompt: string, imageOptions?: ImageOptions) =>
      withProvider((p) => Effect.flatMap(p.textToImage(), (model) => model.transform(text(prompt), imageOptions)))

    const ambient = (prompt: string, audioOptions?: AudioOptions) =>
      withProvider((p) => Effect.flatMap(p.textToAudio(), (model) => model.transform(text(prompt), audioOptions)))

    const pathOf = (asset: { readonly source: AssetSource }): string => (asset.source._tag === "File" ? asset.source.path : "")

    /** How many pixels of rows [top, bottom) differ clearly from `background`. */
    const differing = (image: Image, background: readonly [number, number, number], top: number, bottom: number): number => {
      const width = image.width ?? 0
      const frame = frameAt(pathOf(image), 0)
      let count = 0
      for (let y = top; y < bottom; y++) {
        for (let x = 0; x < width; x++) {
          const value = pixel(frame, width, x, y)
          if (value.some((channel, i) => Math.abs(channel - background[i]!) > 60)) count++
        }
      }
      return count
    }

    const failure = <A>(self: Effect.Effect<A, MediaError>) =>
      Effect.flatMap(Effect.either(self), (result) =>
        Either.isLeft(result) ? Effect.succeed(result.left) : Effect.dieMessage("expected the call to fail")
      )

    /** The service still answers, and (when visible) holds nothing from the call. */
    const stillServing = Effect.gen(function* () {
      const available = yield* withProvider((p) => p.isAvailable)
      expect(available).toBe(true)
      if (options.workDir !== undefined) expect(readdirSync(options.workDir())).toEqual([])
    })

    const wavOf = (path: string) => new Audio({ source: fromFile(path), mimeType: "audio/wav" })

    it.effect("lists five free models, defaults to them, and reports itself available", () =>
      withProvider((p) =>
        Effect.gen(function* () {
          expect(p.id).toBe("ffmpeg")
          expect(p.type).toBe("local")
          expect(p.capabilities).toEqual(["text-to-image", "image-upscaling", "text-to-audio", "video-composition", "audio-enhancement"])
          const models = yield* p.models
          expect(models.map((m) => [m.id, m.capabilities, m.free, m.pricing])).toEqual([
            ["ffmpeg-composer", ["video-composition"], true, []],
            ["ffmpeg-audio", ["audio-enhancement"], true, []],
            ["ffmpeg-slide", ["text-to-image"], true, []],
            ["ffmpeg-ambient", ["text-to-audio"], true, []],
            ["ffmpeg-lanczos", ["image-upscaling"], true, []]
          ])
          expect((yield* p.imageUpscaling()).id).toBe("ffmpeg-lanczos")
          expect((yield* p.textToImage()).id).toBe("ffmpeg-slide")
          expect((yield* p.textToAudio()).id).toBe("ffmpeg-ambient")
          expect((yield* p.getModelsForCapability("text-to-image")).map((m) => m.id)).toEqual(["ffmpeg-slide"])
          expect(yield* p.isAvailable).toBe(true)
          expect((yield* p.getHealth).status).toBe("healthy")
        })
      )
    )

    it.effect("composes three clips with a transition, an image overlay top-right and a ducked narration", () =>
      Effect.gen(function* () {
        const video = yield* compose({
          clips: [{ src: clips[0]! }, { src: clips[1]! }, { src: clips[2]! }],
          layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
          overlays: [{ _tag: "image", src: overlay, position: { anchor: "top-right", margin: 10 } }],
          audio: { mode: "duck", tracks: [{ src: narration, start: 0.25 }] },
          output: { width: 480, height: 270 }
        })
        // 3 clips of 2 s, two 0.5 s overlaps.
        const expected = 3 * 2 - 2 * 0.5
        expect(video._tag).toBe("Video")
        expect(video.mimeType).toBe("video/mp4")
        expect(video.origin).toEqual({ provider: "ffmpeg", model: "ffmpeg-composer", costUsd: 0 })
        expect(video.width).toBe(480)
        expect(video.height).toBe(270)
        expect(video.source._tag).toBe("File")
        const path = video.source._tag === "File" ? video.source.path : ""
        expect(path.startsWith(outputDir)).toBe(true)

        const probed = probe(path)
        expect(Math.abs(probed.duration - expected)).toBeLessThanOrEqual(0.1)
        expect(Math.abs((video.duration ?? 0) - expected)).toBeLessThanOrEqual(0.1)
        expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"])
        const stream = probed.streams.find((s) => s.codec_type === "video")
        expect([stream?.width, stream?.height]).toEqual([480, 270])

        // Mid second clip (green, 1.5 s .. 3.5 s): the red overlay at 310..470 x 10..100, nowhere else.
        const frame = frameAt(path, 2.5)
        expect(frame.length).toBe(480 * 270 * 3)
        for (const [x, y] of [[315, 15], [390, 55], [465, 95]] as const) expect(isRed(pixel(frame, 480, x, y))).toBe(true)
        for (const [x, y] of [[300, 55], [390, 108], [100, 200], [20, 20], [475, 55]] as const) {
          const value = pixel(frame, 480, x, y)
          expect(isRed(value)).toBe(false)
        }
        const [r, g, b] = pixel(frame, 480, 100, 200)
        expect(g).toBeGreaterThan(100)
        expect(r).toBeLessThan(40)
        expect(b).toBeLessThan(40)
        yield* stillServing
      })
    )

    it.effect("composes picture-in-picture with a text overlay and mixed audio; paths with '..' are uploaded safely", () =>
      Effect.gen(function* () {
        const dotted = join(root, "media", "..", "media", "blue.mp4")
        const video = yield* compose({
          clips: [{ src: dotted }, { src: clips[2]! }],
          layout: { _tag: "picture-in-picture", scale: 0.25, position: { anchor: "bottom-right", margin: 8 } },
          overlays: [{ _tag: "text", text: "Hello: 'world' %{pts}", start: 0.2, end: 1.8 }],
          audio: { mode: "mix", tracks: [{ src: speech, volume: 0.5 }] },
          output: { width: 320, height: 180 }
        })
        const path = video.source._tag === "File" ? video.source.path : ""
        const probed = probe(path)
        expect(Math.abs(probed.duration - 2)).toBeLessThanOrEqual(0.1)
        // The inset (gray) sits in the bottom-right corner over the blue main clip.
        const frame = frameAt(path, 1)
        const [ir, ig, ib] = pixel(frame, 320, 320 - 8 - 20, 180 - 8 - 10)
        expect(Math.abs(ir - ig)).toBeLessThan(20)
        expect(Math.abs(ig - ib)).toBeLessThan(20)
        const [, , mainBlue] = pixel(frame, 320, 40, 40)
        expect(mainBlue).toBeGreaterThan(200)
        yield* stillServing
      })
    )

    it.effect("composes three image slides (png, jpeg, png) with a fade: d1 + d2 + d3 seconds, each slide's colour in its middle", () =>
      Effect.gen(function* () {
        const media = join(root, "media")
        const slides = [
          makePng(media, "slide-red.png", "red", "640x360"),
          makePng(media, "slide-green.jpg", "0x00ff00", "320x240"),
          makePng(media, "slide-blue.png", "blue", "640x360")
        ]
        const [d1, d2, d3, t] = [2, 1.5, 2, 0.5]
        const video = yield* compose({
          clips: [
            { src: slides[0]!, duration: d1 + t },
            { src: slides[1]!, duration: d2 + t },
            { src: slides[2]!, duration: d3 }
          ],
          layout: { _tag: "concat", transition: { kind: "fade", duration: t } },
          output: { width: 320, height: 180, fps: 25 }
        })
        const path = pathOf(video)
        const probed = probe(path)
        expect(Math.abs(probed.duration - (d1 + d2 + d3))).toBeLessThanOrEqual(0.1)
        expect(probed.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"])
        // Slide i is alone on screen from the end of the fade before it to the start of the one after.
        const middles = [d1 / 2, d1 + t + (d2 - t) / 2, d1 + d2 + (d3 + t) / 2]
        const [red, green, blue] = middles.map((at) => pixel(frameAt(path, at), 320, 160, 90))
        expect(red![0]).toBeGreaterThan(200)
        expect(Math.max(red![1], red![2])).toBeLessThan(50)
        expect(green![1]).toBeGreaterThan(200)
        expect(Math.max(green![0], green![2])).toBeLessThan(50)
        expect(blue![2]).toBeGreaterThan(200)
        expect(Math.max(blue![0], blue![1])).toBeLessThan(50)
        // The 320x240 jpeg is letterboxed: black bars left and right.
        const [lr, lg, lb] = pixel(frameAt(path, middles[1]!), 320, 5, 90)
        expect(Math.max(lr, lg, lb)).toBeLessThan(30)
        yield* stillServing
      })
    )

    it.effect("an image clip without a duration: InvalidInput saying so", () =>
      Effect.gen(function* () {
        const error = yield* failure(compose({ clips: [{ src: overlay }] }))
        expect(error._tag).toBe("InvalidInput")
        expect(error.message).toContain("HTTP 400")
        expect(error.message).toContain('is a still image: give the clip a "duration" in seconds')
        yield* stillServing
      })
    )

    it.effect("ducks a music bed under several narrations, each at its start; the bed comes back between them", () =>
      Effect.gen(function* () {
        const media = join(root, "media")
        const first = makeSpeech(media, "scene-1.wav", "Welcome to the slides.")
        const second = makeSpeech(media, "scene-2.wav", "And the next part.")
        // A 10 kHz bed: above everything flite's 16 kHz speech holds, so a band-pass hears only the bed.
        const music = makeTone(media, "bed.wav", 10000, 8)
        const [firstStart, secondStart] = [0.3, 4.2]
        const video = yield* compose({
          clips: [
            { src: clips[0]!, duration: 3 },
            { src: overlay, duration: 2.5 },
            { src: clips[2]!, duration: 2 }
          ],
          layout: { _tag: "concat", transition: { kind: "fade", duration: 0.5 } },
          audio: {
            mode: "duck",
            tracks: [
              { src: first, start: firstStart },
              { src: second, start: secondStart },
              { src: music, volume: 0.8 }
            ]
          },
          output: { width: 320, height: 180, fps: 25 }
        })
        const path = pathOf(video)
        expect(Math.abs(probe(path).duration - 6.5)).toBeLessThanOrEqual(0.1)
        const bed = "bandpass=f=10000:width_type=q:w=10,bandpass=f=10000:width_type=q:w=10"
        const firstLength = probe(first).duration
        const secondLength = probe(second).duration
        const speaking = [
          { start: firstStart + 0.3, seconds: firstLength - 0.6 },
          { start: secondStart + 0.3, seconds: Math.min(secondLength - 0.6, 6.5 - secondStart - 0.4) }
        ]
        // Nobody speaks from 0.7 s after the first narration (the compressor's release) to the second.
        const gap = { start: firstStart + firstLength + 0.7, seconds: secondStart - 0.1 - (firstStart + firstLength + 0.7) }
        expect(gap.seconds).toBeGreaterThan(0.5)
        const bedInGap = rmsLevel(path, gap.start, gap.seconds, bed)
        for (const window of speaking) {
          expect(window.seconds).toBeGreaterThan(0.3)
          // The voice is there, and the bed under it is much quieter than where nobody speaks.
          expect(rmsLevel(path, window.start, window.seconds)).toBeGreaterThan(-35)
          expect(rmsLevel(path, window.start, window.seconds, bed)).toBeLessThan(bedInGap - 12)
        }
        expect(bedInGap).toBeGreaterThan(-40)
        yield* stillServing
      })
    )

    it.effect("draws a text slide (text-to-image): a PNG of the asked size, background in the corners, the title drawn", () =>
      Effect.gen(function* () {
        const image = yield* slide("a picture of a market", {
          width: 640,
          height: 360,
          extra: { slide: { title: "Automarket", body: "One typed interface for every media service, local or remote." } }
        })
        expect(image._tag).toBe("Image")
        expect(image.mimeType).toBe("image/png")
        expect([image.width, image.height]).toEqual([640, 360])
        expect(image.origin).toEqual({ provider: "ffmpeg", model: "ffmpeg-slide", costUsd: 0 })
        const path = pathOf(image)
        expect(path.startsWith(outputDir)).toBe(true)
        expect(path.endsWith(".png")).toBe(true)
        expect(probe(path).streams[0]).toMatchObject({ codec_name: "png", width: 640, height: 360 })
        // The default background: a gradient from #1f3b5c at the top.
        const frame = frameAt(path, 0)
        for (const [x, y] of [[0, 0], [3, 2], [636, 1]] as const) {
          const [r, g, b] = pixel(frame, 640, x, y)
          expect(Math.abs(r - 0x1f) + Math.abs(g - 0x3b) + Math.abs(b - 0x5c)).toBeLessThanOrEqual(6)
        }
        // The title is drawn in the top band; the raw prompt is not what was drawn (the slide was).
        expect(differing(image, [0x1f, 0x3b, 0x5c], 20, 80)).toBeGreaterThan(500)

        const plain = yield* slide("Just the prompt", { extra: { slide: { background: "#f0e0d0", color: "#202020" } } })
        expect([plain.width, plain.height]).toEqual([1280, 720])
        const [r, g, b] = pixel(frameAt(pathOf(plain), 0), 1280, 4, 715)
        expect([r, g, b]).toEqual([0xf0, 0xe0, 0xd0])
        expect(differing(plain, [0xf0, 0xe0, 0xd0], 300, 420)).toBeGreaterThan(500)
        yield* stillServing
      })
    )

    it.effect("upscales a picture (image-upscaling, Lanczos): scale x its width and height by ffprobe, default 2x, a jpeg stays jpeg", () =>
      Effect.gen(function* () {
        const media = join(root, "upscale")
        mkdirSync(media, { recursive: true })
        const small = makePng(media, "small.png", "red", "40x30")
        const upscale = (image: Image, scale?: number) =>
          withProvider((p) => Effect.flatMap(p.imageUpscaling(), (model) => model.transform(image, scale !== undefined ? { scale } : undefined)))
        const tripled = yield* upscale(new Image({ source: fromFile(small), mimeType: "image/png" }), 3)
        expect(tripled.mimeType).toBe("image/png")
        expect([tripled.width, tripled.height]).toEqual([120, 90])
        expect(tripled.origin).toEqual({ provider: "ffmpeg", model: "ffmpeg-lanczos", costUsd: 0 })
        expect(pathOf(tripled).startsWith(outputDir)).toBe(true)
        expect(probe(pathOf(tripled)).streams[0]).toMatchObject({ codec_name: "png", width: 120, height: 90 })
        // Still red all over: a resample, not a new picture.
        expect(isRed(pixel(frameAt(pathOf(tripled), 0), 120, 60, 45))).toBe(true)

        // Bytes in, the default factor (2), a jpeg out for a jpeg in.
        const jpeg = makePng(media, "small.jpg", "blue", "50x20")
        const doubled = yield* upscale(new Image({ source: fromBytes(readFileSync(jpeg)), mimeType: "image/jpeg" }))
        expect(doubled.mimeType).toBe("image/jpeg")
        expect(probe(pathOf(doubled)).streams[0]).toMatchObject({ codec_name: "mjpeg", width: 100, height: 40 })

        // Past the service's limits (4096 a side): InvalidInput with its reason; a factor out of range is refused before sending.
        const wide = makePng(media, "wide.png", "red", "1024x8")
        const tooLarge = yield* failure(upscale(new Image({ source: fromFile(wide), mimeType: "image/png" }), 8))
        expect(tooLarge).toMatchObject({ _tag: "InvalidInput" })
        expect(tooLarge.message).toContain("more than this service renders")
        const outOfRange = yield* failure(upscale(new Image({ source: fromFile(small), mimeType: "image/png" }), 9))
        expect(outOfRange).toMatchObject({ _tag: "InvalidInput", detail: "the upscaling options are not valid" })
        yield* stillServing
      })
    )

    it.effect("draws quotes, colons, backslashes, percent signs and %{...} as they are, without error", () =>
      Effect.gen(function* () {
        const hostile = `It's "quoted": C:\\path\\to 100% off, '%{pts}' %{localtime} [out];[x]null drawtext=text=pwned \\:`
        const asPrompt = yield* slide(hostile, { width: 640, height: 360 })
        expect(differing(asPrompt, [0x1f, 0x3b, 0x5c], 0, 360)).toBeGreaterThan(300)
        const asSlide = yield* slide("ignored", { width: 640, height: 360, extra: { slide: { title: hostile, body: hostile } } })
        expect(differing(asSlide, [0x1f, 0x3b, 0x5c], 20, 100)).toBeGreaterThan(300)
        yield* stillServing
      })
    )

    it.effect("a slide with nothing to draw, or options the service would refuse: InvalidInput", () =>
      Effect.gen(function* () {
        for (const prompt of ["", "   \n\t "]) {
          const error = yield* failure(slide(prompt))
          expect(error._tag).toBe("InvalidInput")
          expect(error.message).toContain("nothing to draw")
        }
        const blank = yield* failure(slide("", { extra: { slide: { title: " ", body: "" } } }))
        expect(blank._tag).toBe("InvalidInput")
        const tiny = yield* failure(slide("hello", { width: 10 }))
        expect(tiny._tag).toBe("InvalidInput")
        const colour = yield* failure(slide("hello", { extra: { slide: { background: "red" } } }))
        expect(colour._tag).toBe("InvalidInput")
        expect(colour.message).toContain("options.extra.slide")
        yield* stillServing
      })
    )

    it.effect("synthesizes an ambient music bed (text-to-audio): the asked duration, audible, fading in", () =>
      Effect.gen(function* () {
        const audio = yield* ambient("calm ambient pad", { durationSeconds: 6 })
        expect(audio._tag).toBe("Audio")
        expect(audio.mimeType).toBe("audio/wav")
        expect(audio.origin).toEqual({ provider: "ffmpeg", model: "ffmpeg-ambient", costUsd: 0 })
        expect(Math.abs((audio.duration ?? 0) - 6)).toBeLessThan(0.05)
        const path = pathOf(audio)
        expect(path.endsWith(".wav")).toBe(true)
        const probed = probe(path)
        expect(Math.abs(probed.duration - 6)).toBeLessThan(0.05)
        expect(probed.streams[0]).toMatchObject({ codec_name: "pcm_s16le", sample_rate: "48000", channels: 2 })
        expect(meanVolume(path)).toBeGreaterThan(-40)
        expect(meanVolume(path, { start: 0, seconds: 0.1 })).toBeLessThan(meanVolume(path, { start: 2.5, seconds: 1 }) - 12)

        const standard = yield* ambient("dark and mysterious")
        expect(Math.abs((standard.duration ?? 0) - 10)).toBeLessThan(0.05)
        const tooLong = yield* failure(ambient("calm", { durationSeconds: 601 }))
        expect(tooLong._tag).toBe("InvalidInput")
        const badMood = yield* failure(ambient("calm", { extra: { mood: "angry" } }))
        expect(badMood._tag).toBe("InvalidInput")
        yield* stillServing
      })
    )

    it.effect("normalises loudness to the target (EBU R128)", () =>
      Effect.gen(function* () {
        const before = integratedLoudness(speech)
        const target = -23
        // The input is several LU away from the target, so reaching it means something.
        expect(Math.abs(before - target)).toBeGreaterThan(3)
        const audio = yield* enhance(wavOf(speech), { loudnessLufs: target })
        expect(audio.mimeType).toBe("audio/wav")
        expect(audio.origin).toEqual({ provider: "ffmpeg", model: "ffmpeg-audio", costUsd: 0 })
        const path = audio.source._tag === "File" ? audio.source.path : ""
        expect(Math.abs(integratedLoudness(path) - target)).toBeLessThanOrEqual(1)
        yield* stillServing
      })
    )

    it.effect("denoises: steady noise comes out much quieter, speech keeps its level", () =>
      Effect.gen(function* () {
        const noise = makeNoise(join(root, "media"), "noise.wav")
        const quieter = yield* enhance(wavOf(noise), { denoise: true })
        const noisePath = quieter.source._tag === "File" ? quieter.source.path : ""
        expect(integratedLoudness(noisePath)).toBeLessThan(integratedLoudness(noise) - 6)
        const voice = yield* enhance(wavOf(speech), { denoise: true })
        const voicePath = voice.source._tag === "File" ? voice.source.path : ""
        expect(Math.abs(integratedLoudness(voicePath) - integratedLoudness(speech))).toBeLessThan(1.5)
        yield* stillServing
      })
    )

    it.effect("converts formats and sample rates, from a file or from bytes", () =>
      Effect.gen(function* () {
        const mp3 = yield* enhance(wavOf(speech), { format: "mp3" })
        expect(mp3.mimeType).toBe("audio/mpeg")
        const mp3Path = mp3.source._tag === "File" ? mp3.source.path : ""
        expect(mp3Path.endsWith(".mp3")).toBe(true)
        expect(probe(mp3Path).streams[0]?.codec_name).toBe("mp3")

        const opus = yield* enhance(new Audio({ source: fromBytes(readFileSync(speech)), mimeType: "audio/wav" }), { format: "opus" })
        const opusPath = opus.source._tag === "File" ? opus.source.path : ""
        const probedOpus = probe(opusPath)
        expect(probedOpus.formatName).toBe("ogg")
        expect(probedOpus.streams[0]?.codec_name).toBe("opus")
        expect(opus.sampleRate).toBe(48000)

        const flac = yield* enhance(wavOf(speech), { format: "flac", sampleRate: 22050 })
        const flacPath = flac.source._tag === "File" ? flac.source.path : ""
        expect(probe(flacPath).streams[0]).toMatchObject({ codec_name: "flac", sample_rate: "22050" })
        expect(flac.sampleRate).toBe(22050)
        expect(Math.abs((flac.duration ?? 0) - probe(speech).duration)).toBeLessThan(0.1)
        yield* stillServing
      })
    )

    it.effect("a missing local file: InvalidInput naming it", () =>
      Effect.gen(function* () {
        const missing = join(root, "media", "no-such-clip.mp4")
        const error = yield* failure(compose({ clips: [{ src: clips[0]! }, { src: missing }] }))
        expect(error._tag).toBe("InvalidInput")
        expect(error.message).toContain(missing)
        const audioError = yield* failure(enhance(wavOf(missing), {}))
        expect(audioError._tag).toBe("InvalidInput")
        expect(audioError.message).toContain(missing)
        yield* stillServing
      })
    )

    it.effect("a composition the service cannot render: InvalidInput with the service's reason", () =>
      Effect.gen(function* () {
        const error = yield* failure(
          compose({ clips: [{ src: clips[0]! }, { src: clips[1]! }], layout: { _tag: "concat", transition: { kind: "fade", duration: 3 } } })
        )
        expect(error._tag).toBe("InvalidInput")
        expect(error.message).toContain("HTTP 400")
        expect(error.message).toContain("too short for a 3 s transition")
        yield* stillServing
      })
    )

    it.effect("a clip that is not media: InvalidInput (415)", () =>
      Effect.gen(function* () {
        const notes = join(root, "media", "notes.mp4")
        writeFileSync(notes, "these are not video frames")
        const error = yield* failure(compose({ clips: [{ src: notes }] }))
        expect(error._tag).toBe("InvalidInput")
        expect(error.message).toContain("HTTP 415")
        expect(error.message).toContain("is not media ffprobe can read")
        yield* stillServing
      })
    )

    it.effect("an upload over the service's limit: InvalidInput (413)", () =>
      Effect.gen(function* () {
        const limit =
          options.maxBodyBytes ??
          (yield* Effect.promise(async () => {
            const health = Schema.decodeUnknownSync(Health)(await (await fetch(`${baseUrl()}/health`)).json())
            return health.limits?.maxBodyBytes ?? 0
          }))
        const big = join(root, "media", "big.mp4")
        writeFileSync(big, "")
        truncateSync(big, limit + 1024 * 1024)
        const error = yield* failure(compose({ clips: [{ src: big }] }))
        expect(error._tag).toBe("InvalidInput")
        expect(error.message).toContain("HTTP 413")
        rmSync(big)
        yield* stillServing
      })
    )

    it.effect("an ffmpeg failure: GenerationFailed carrying ffmpeg's message", () =>
      Effect.gen(function* () {
        const error = yield* failure(enhance(wavOf(speech), { format: "opus", sampleRate: 44100 }))
        expect(error._tag).toBe("GenerationFailed")
        if (error._tag === "GenerationFailed") {
          expect(error.providerMessage).toContain("Specified sample rate 44100 is not supported")
        }
        yield* stillServing
      })
    )

    it.effect("options the service would refuse are refused before sending: InvalidInput", () =>
      Effect.gen(function* () {
        const error = yield* failure(enhance(wavOf(speech), { loudnessLufs: 3 }))
        expect(error._tag).toBe("InvalidInput")
        const url = yield* failure(enhance(new Audio({ source: fromUrl("ftp://example.invalid/a.wav"), mimeType: "audio/wav" }), {}))
        expect(url._tag).toBe("InvalidInput")
        const composition = Schema.decodeUnknownSync(Composition)({ clips: [{ src: clips[0]! }] })
        const model = yield* failure(withProvider((p) => Effect.flatMap(p.videoComposer("no-such-model"), (m) => m.transform(composition))))
        expect(model._tag).toBe("ModelNotFound")
        yield* stillServing
      })
    )

    it("wrote every result into the output directory and nothing else there", () => {
      const written = existsSync(outputDir) ? readdirSync(outputDir) : []
      expect(written.length).toBeGreaterThan(0)
      expect(written.every((name) => /^ffmpeg-(composer|audio|slide|ambient|lanczos)-[0-9a-f-]{36}\.(mp4|wav|mp3|opus|flac|png|jpg)$/.test(name))).toBe(true)
    })
  })
}

