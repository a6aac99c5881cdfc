/**
 * Every capability fal lists a model under runs, against the fal emulator under TestClock:
 * text-to-speech (Kokoro's `prompt`/`voice`/`speed`, MiniMax Speech-02's `text` and
 * `voice_setting`, the `audio` file read back), image-to-image, image-upscaling (the factor where
 * the upscaler's schema puts it, fal's one `image` read back), image-to-video, video-to-video
 * (`video_url`, the prompt when given) and text-to-audio (the submit body's fields and the asset
 * downloaded). The catalog walk discovers a listing with a
 * model in every category and runs each model under each capability it is listed with: a model is
 * only listed where calling it works.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Audio, BytesSource, FileSource, fromUrl, Image, text, Video } from "../../../src/domain/Asset.js"
import type { MediaCapability } from "../../../src/domain/Capability.js"
import type { MediaError } from "../../../src/domain/Errors.js"
import type { MediaProviderService } from "../../../src/domain/MediaProvider.js"
import * as FalAi from "../../../src/providers/falai/index.js"
import { categorize } from "../../../src/providers/falai/models/Categories.js"
import { placeImage, placeScale, placeText, placeVideo } from "../../../src/providers/falai/models/Inputs.js"
import { clientLayer, fullListing, makeFal } from "../../emulators/falai.js"
import { tinyMp4 } from "../../emulators/Samples.js"
import { falQueueDocument } from "../../emulators/Schemas.js"
import { env, errorOf, runWithEvents, valueOf } from "./drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-falai-caps-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const setup = (emulator: ReturnType<typeof makeFal>) =>
  FalAi.makeWithJobs({ downloadDir: dir }).pipe(
    Effect.provide(clientLayer(emulator)),
    Effect.withConfigProvider(env({ FALAI_API_KEY: emulator.settings.key, FALAI_BASE_URL: emulator.baseUrl }))
  )

// The JSON body of the one submit the emulator saw.
const submitted = (fal: ReturnType<typeof makeFal>): unknown => {
  const submits = fal.requests.filter((request) => request.method === "POST" && !request.url.startsWith("/storage"))
  expect(submits).toHaveLength(1)
  return JSON.parse(submits[0]!.body)
}

const sizeOf = (asset: Image | Audio | Video): number => {
  expect(asset.source).toBeInstanceOf(FileSource)
  return fs.statSync((asset.source as FileSource).path).size
}

const picture = new Image({ source: fromUrl("https://example.test/cat.png"), mimeType: "image/png" })
const recording = new Audio({ source: fromUrl("https://example.test/talk.wav"), mimeType: "audio/wav" })
const clip = new Video({ source: fromUrl("https://example.test/clip.mp4"), mimeType: "video/mp4" })

describe("FalAi capabilities (emulator, TestClock)", () => {
  it.effect("text-to-speech with Kokoro sends prompt, voice and speed and returns the audio file", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToSpeech("fal-ai/kokoro/american-english")
      const { exit } = yield* runWithEvents(model.transform(text("Hello there."), { voice: "af_bella", speed: 1.2 }))
      const audio = valueOf(exit)
      expect(audio).toBeInstanceOf(Audio)
      expect(audio.mimeType).toBe("audio/wav")
      expect(sizeOf(audio)).toBe(4096)
      expect(audio.origin).toMatchObject({ provider: "falai", model: "fal-ai/kokoro/american-english", jobId: "req-1" })
      expect(submitted(fal)).toEqual({ prompt: "Hello there.", voice: "af_bella", speed: 1.2 })
    }))

  it.effect("text-to-speech with no model named uses the default (Kokoro)", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToSpeech()
      const { exit } = yield* runWithEvents(model.transform(text("Hi")))
      expect(valueOf(exit).origin).toMatchObject({ model: "fal-ai/kokoro/american-english" })
      expect(submitted(fal)).toEqual({ prompt: "Hi" })
    }))

  it.effect("text-to-speech with MiniMax Speech-02 sends text, voice_setting and asks for a URL", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToSpeech("fal-ai/minimax/speech-02-hd")
      const { exit } = yield* runWithEvents(model.transform(text("Good morning"), { voice: "Wise_Woman", speed: 0.9 }))
      const audio = valueOf(exit)
      expect(audio).toBeInstanceOf(Audio)
      expect(sizeOf(audio)).toBe(4096)
      expect(submitted(fal)).toEqual({ text: "Good morning", voice_setting: { voice_id: "Wise_Woman", speed: 0.9 }, output_format: "url" })
    }))

  it.effect("text-to-speech to an endpoint whose schema names the text `input` sends it there", () =>
    Effect.gen(function* () {
      const model = "fal-ai/emu/speech-input"
      const fal = makeFal()
      fal.settings.schemas[model] = falQueueDocument(model, "SpeechInput", {
        type: "object",
        properties: { input: { type: "string", minLength: 1 }, voice: { type: "string" } },
        required: ["input"]
      })
      const { provider } = yield* setup(fal)
      const speech = yield* provider.textToSpeech(model)
      const { exit } = yield* runWithEvents(speech.transform(text("Read this"), { voice: "Jennifer" }))
      expect(valueOf(exit)).toBeInstanceOf(Audio)
      expect(submitted(fal)).toEqual({ input: "Read this", voice: "Jennifer" })
    }))

  it.effect("text-to-audio to a speech model fal lists there, whose schema names the text `text`, sends it there", () =>
    Effect.gen(function* () {
      const model = "fal-ai/emu/listed-as-audio"
      const fal = makeFal()
      fal.settings.schemas[model] = falQueueDocument(model, "SpokenAudioInput", {
        type: "object",
        properties: { text: { type: "string", minLength: 1 }, duration: { type: "number" } },
        required: ["text"]
      })
      const { provider } = yield* setup(fal)
      const sound = yield* provider.textToAudio(model)
      const { exit } = yield* runWithEvents(sound.transform(text("Welcome aboard"), { durationSeconds: 3 }))
      expect(valueOf(exit)).toBeInstanceOf(Audio)
      expect(submitted(fal)).toEqual({ text: "Welcome aboard", duration: 3 })
    }))

  it("placeText leaves the text where the schema declares it, or where it is without a schema", () => {
    expect(placeText({ prompt: "a", voice: "v" }, ["prompt", "voice"])).toEqual({ prompt: "a", voice: "v" })
    expect(placeText({ text: "a" }, [])).toEqual({ text: "a" })
    expect(placeText({ text: "a" }, ["prompt", "speed"])).toEqual({ prompt: "a" })
    expect(placeText({ text: "a" }, ["script"])).toEqual({ text: "a" })
  })

  it.effect("text-to-speech with a voice to clone is InvalidInput and submits nothing", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToSpeech("fal-ai/kokoro/american-english")
      const { exit } = yield* runWithEvents(model.transform(text("x"), { referenceAudio: recording }))
      expect(errorOf(exit)).toMatchObject({ _tag: "InvalidInput", provider: "falai" })
      expect(fal.count("submit")).toBe(0)
    }))

  it.effect("image-to-image sends the image URL, prompt and strength and returns the image", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.imageToImage("fal-ai/flux/dev/image-to-image")
      const { exit } = yield* runWithEvents(model.transform(picture, { prompt: "as a watercolour", strength: 0.6, seed: 3 }))
      const image = valueOf(exit)
      expect(image).toBeInstanceOf(Image)
      expect(image.mimeType).toBe("image/png")
      expect(sizeOf(image)).toBe(4096)
      expect(image.origin).toMatchObject({ provider: "falai", model: "fal-ai/flux/dev/image-to-image" })
      expect(submitted(fal)).toEqual({ image_url: "https://example.test/cat.png", prompt: "as a watercolour", strength: 0.6, seed: 3 })
    }))

  it.effect("image-to-image to an edit endpoint whose schema takes `image_urls` sends the picture in that list", () =>
    Effect.gen(function* () {
      const model = "fal-ai/emu/edit"
      const fal = makeFal()
      fal.settings.schemas[model] = falQueueDocument(model, "EditInput", {
        type: "object",
        properties: { prompt: { type: "string" }, image_urls: { type: "array", items: { type: "string" }, minItems: 1 } },
        required: ["prompt", "image_urls"]
      })
      const { provider } = yield* setup(fal)
      const edit = yield* provider.imageToImage(model)
      const { exit } = yield* runWithEvents(edit.transform(picture, { prompt: "add a hat" }))
      expect(valueOf(exit)).toBeInstanceOf(Image)
      expect(submitted(fal)).toEqual({ prompt: "add a hat", image_urls: ["https://example.test/cat.png"] })
      expect(placeImage({ image_url: "u" }, [])).toEqual({ image_url: "u" })
      expect(placeImage({ image_url: "u" }, ["image_url", "image_urls"])).toEqual({ image_url: "u" })
    }))

  it.effect("image-to-video sends the picture, prompt and Kling's duration as a string and returns the video", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.imageToVideo("fal-ai/kling-video/v1.6/standard/image-to-video")
      const { exit } = yield* runWithEvents(model.transform(picture, { prompt: "the cat blinks", durationSeconds: 5 }))
      const video = valueOf(exit)
      expect(video).toBeInstanceOf(Video)
      expect(video.mimeType).toBe("video/mp4")
      expect(sizeOf(video)).toBe(4096)
      expect(submitted(fal)).toEqual({ image_url: "https://example.test/cat.png", prompt: "the cat blinks", duration: "5" })
    }))

  it.effect("video-to-video sends the video as video_url, the prompt and seed, and returns fal's video", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.videoToVideo("fal-ai/cogvideox-5b/video-to-video")
      const { exit } = yield* runWithEvents(model.transform(clip, { prompt: "make it night", seed: 7 }))
      const video = valueOf(exit)
      expect(video).toBeInstanceOf(Video)
      expect(video.mimeType).toBe("video/mp4")
      expect(sizeOf(video)).toBe(4096)
      expect(video.origin).toMatchObject({ provider: "falai", model: "fal-ai/cogvideox-5b/video-to-video", jobId: "req-1" })
      expect(submitted(fal)).toEqual({ video_url: "https://example.test/clip.mp4", prompt: "make it night", seed: 7 })
    }))

  it.effect("video-to-video inlines a small local video as a data URI; with no model named it uses the default", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.videoToVideo()
      expect(model.id).toBe("fal-ai/cogvideox-5b/video-to-video")
      const small = new Video({ source: new BytesSource({ bytes: new Uint8Array(tinyMp4) }), mimeType: "video/mp4" })
      const { exit } = yield* runWithEvents(model.transform(small, { prompt: "as a watercolour" }))
      expect(valueOf(exit)).toBeInstanceOf(Video)
      expect(submitted(fal)).toEqual({ video_url: `data:video/mp4;base64,${tinyMp4.toString("base64")}`, prompt: "as a watercolour" })
      expect(fal.count("initiate")).toBe(0)
    }))

  it.effect("video-to-video without a prompt, to a model whose schema requires one, is InvalidInput and submits nothing", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.videoToVideo("fal-ai/cogvideox-5b/video-to-video")
      const { exit } = yield* runWithEvents(model.transform(clip))
      expect(errorOf(exit)).toMatchObject({ _tag: "InvalidInput", provider: "falai" })
      expect(fal.count("submit")).toBe(0)
    }))

  it.effect("video-to-video to an endpoint whose schema takes `video_urls` sends the video in that list", () =>
    Effect.gen(function* () {
      const model = "fal-ai/emu/video-edit"
      const fal = makeFal()
      fal.settings.schemas[model] = falQueueDocument(model, "VideoEditInput", {
        type: "object",
        properties: { prompt: { type: "string" }, video_urls: { type: "array", items: { type: "string" }, minItems: 1 } },
        required: ["video_urls"]
      }, {}, "video-to-video")
      const { provider } = yield* setup(fal)
      const edit = yield* provider.videoToVideo(model)
      const { exit } = yield* runWithEvents(edit.transform(clip, { prompt: "snow" }))
      expect(valueOf(exit)).toBeInstanceOf(Video)
      expect(submitted(fal)).toEqual({ prompt: "snow", video_urls: ["https://example.test/clip.mp4"] })
      expect(placeVideo({ video_url: "u" }, [])).toEqual({ video_url: "u" })
      expect(placeVideo({ video_url: "u" }, ["video_url", "video_urls"])).toEqual({ video_url: "u" })
    }))

  it.effect("image-upscaling with ESRGAN (the default) sends image_url and scale and reads fal's one `image`", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.imageUpscaling()
      expect(model.id).toBe("fal-ai/esrgan")
      const { exit } = yield* runWithEvents(model.transform(picture, { scale: 4 }))
      const image = valueOf(exit)
      expect(image).toBeInstanceOf(Image)
      expect(image.mimeType).toBe("image/png")
      expect(image).toMatchObject({ width: 256, height: 256 })
      expect(sizeOf(image)).toBe(4096)
      expect(image.origin).toMatchObject({ provider: "falai", model: "fal-ai/esrgan" })
      expect(submitted(fal)).toEqual({ image_url: "https://example.test/cat.png", scale: 4 })
    }))

  it.effect("image-upscaling with Clarity Upscaler sends the factor as the upscale_factor its schema declares", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.imageUpscaling("fal-ai/clarity-upscaler")
      const { exit } = yield* runWithEvents(model.transform(picture, { scale: 2 }))
      expect(valueOf(exit)).toBeInstanceOf(Image)
      expect(submitted(fal)).toEqual({ image_url: "https://example.test/cat.png", upscale_factor: 2 })
    }))

  it.effect("image-upscaling with a factor the schema refuses is InvalidInput naming the field, and submits nothing", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.imageUpscaling("fal-ai/clarity-upscaler")
      const { exit } = yield* runWithEvents(model.transform(picture, { scale: 8 }))
      const error = errorOf(exit)
      expect(error).toMatchObject({ _tag: "InvalidInput" })
      expect(error?._tag === "InvalidInput" ? error.issues.join(" ") : "").toContain("upscale_factor")
      expect(fal.count("submit")).toBe(0)
    }))

  it("placeScale moves the factor to the name the schema declares, and leaves it without a schema", () => {
    expect(placeScale({ image_url: "u", scale: 4 }, ["image_url", "upscaling_factor"])).toEqual({ image_url: "u", upscaling_factor: 4 })
    expect(placeScale({ image_url: "u", scale: 4 }, ["image_url", "scale", "upscale_factor"])).toEqual({ image_url: "u", scale: 4 })
    expect(placeScale({ image_url: "u", scale: 4 }, [])).toEqual({ image_url: "u", scale: 4 })
    expect(placeScale({ image_url: "u", scale: 4 }, ["image_url"])).toEqual({ image_url: "u", scale: 4 })
    expect(placeScale({ image_url: "u" }, ["upscale_factor"])).toEqual({ image_url: "u" })
  })

  it.effect("text-to-audio with Stable Audio sends seconds_total and returns the audio file", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToAudio("fal-ai/stable-audio")
      const { exit } = yield* runWithEvents(model.transform(text("rain on a tin roof"), { durationSeconds: 8 }))
      const audio = valueOf(exit)
      expect(audio).toBeInstanceOf(Audio)
      expect(audio.mimeType).toBe("audio/wav")
      expect(sizeOf(audio)).toBe(4096)
      expect(submitted(fal)).toEqual({ prompt: "rain on a tin roof", seconds_total: 8 })
    }))

  it.effect("catalog walk: every model discovered runs under every capability it is listed with", () =>
    Effect.gen(function* () {
      const fal = makeFal({ listing: fullListing })
      // Voice cloning publishes what it needs: a recording (were it listed, its call would be refused).
      fal.settings.schemas["fal-ai/minimax/voice-clone"] = falQueueDocument("fal-ai/minimax/voice-clone", "VoiceCloneInput", {
        type: "object",
        properties: { audio_url: { type: "string" }, text: { type: "string" } },
        required: ["audio_url"]
      })
      const { provider } = yield* setup(fal)
      const models = yield* provider.models
      // The listing's unmapped categories (3D, training) and voice cloning are not offered.
      const ids = models.map((model) => model.id)
      for (const id of ["fal-ai/trellis", "fal-ai/emu/trainer", "fal-ai/minimax/voice-clone"]) {
        expect(ids).not.toContain(id)
      }
      // fal lists its upscalers under image-to-image: they are offered as image-upscaling only; its
      // video upscaler under video-to-video stays there.
      const under = (capability: MediaCapability) => models.filter((model) => model.capabilities.includes(capability)).map((model) => model.id)
      expect(under("image-to-image")).toEqual(["fal-ai/flux/dev/image-to-image"])
      expect(under("image-upscaling").sort()).toEqual(["fal-ai/aura-sr", "fal-ai/clarity-upscaler", "fal-ai/creative-upscaler", "fal-ai/esrgan"])
      expect(under("video-to-video").sort()).toEqual(["fal-ai/cogvideox-5b/video-to-video", "fal-ai/hunyuan-video/video-to-video", "fal-ai/video-upscaler"])
      const runs = models.flatMap((model) => model.capabilities.map((capability) => ({ id: model.id, capability })))
      const listedCapabilities = new Set(runs.map((run) => run.capability))
      // Every capability fal's categories map to is listed here, so the walk covers each.
      expect([...listedCapabilities].sort()).toEqual(
        [
          "image-to-image",
          "image-to-video",
          "image-upscaling",
          "speech-to-text",
          "text-to-audio",
          "text-to-image",
          "text-to-speech",
          "text-to-video",
          "video-to-video"
        ]
      )
      const failures: Array<string> = []
      for (const run of runs) {
        const { exit } = yield* runWithEvents(runOne(provider, run.capability, run.id))
        if (Exit.isFailure(exit)) failures.push(`${run.capability} ${run.id}: ${Cause.pretty(exit.cause)}`)
      }
      expect(failures).toEqual([])
      expect(fal.count("submit")).toBe(runs.length)
    }))

  it("categorize: upscalers listed under image-to-image are image-upscaling; video-to-video stays; 3D, training, voice cloning and design have no capability", () => {
    const entry = (endpoint_id: string, category: string) => ({ endpoint_id, metadata: { display_name: endpoint_id, category, status: "active" } })
    expect(categorize(entry("fal-ai/hunyuan-video/video-to-video", "video-to-video"))).toBe("video-to-video")
    expect(categorize(entry("fal-ai/video-upscaler", "video-to-video"))).toBe("video-to-video")
    for (const id of ["fal-ai/esrgan", "fal-ai/clarity-upscaler", "fal-ai/aura-sr", "fal-ai/creative-upscaler", "fal-ai/ccsr", "fal-ai/drct-super-resolution", "fal-ai/topaz/upscale/image"]) {
      expect(categorize(entry(id, "image-to-image"))).toBe("image-upscaling")
    }
    expect(categorize(entry("fal-ai/flux/dev/image-to-image", "image-to-image"))).toBe("image-to-image")
    expect(categorize(entry("fal-ai/trellis", "image-to-3d"))).toBeUndefined()
    expect(categorize(entry("fal-ai/kokoro/american-english", "text-to-speech"))).toBe("text-to-speech")
    // Voice cloning and design need more than text: not offered as text-to-speech.
    expect(categorize(entry("fal-ai/minimax/voice-clone", "text-to-speech"))).toBeUndefined()
    expect(categorize(entry("fal-ai/minimax/voice-design", "text-to-speech"))).toBeUndefined()
  })
})

// One call of `id` under `capability` with a plain input; a capability fal should never be listed under fails.
const runOne = (provider: MediaProviderService, capability: MediaCapability, id: string): Effect.Effect<unknown, MediaError | string> => {
  switch (capability) {
    case "text-to-image":
      return Effect.flatMap(provider.textToImage(id), (model) => model.transform(text("a lighthouse")))
    case "image-to-image":
      return Effect.flatMap(provider.imageToImage(id), (model) => model.transform(picture, { prompt: "sharper" }))
    case "text-to-video":
      return Effect.flatMap(provider.textToVideo(id), (model) => model.transform(text("waves")))
    case "image-upscaling":
      return Effect.flatMap(provider.imageUpscaling(id), (model) => model.transform(picture, { scale: 2 }))
    case "image-to-video":
      return Effect.flatMap(provider.imageToVideo(id), (model) => model.transform(picture))
    case "video-to-video":
      return Effect.flatMap(provider.videoToVideo(id), (model) => model.transform(clip, { prompt: "make it night" }))
    case "text-to-audio":
      return Effect.flatMap(provider.textToAudio(id), (model) => model.transform(text("birdsong")))
    case "text-to-speech":
      return Effect.flatMap(provider.textToSpeech(id), (model) => model.transform(text("Hello")))
    case "speech-to-text":
      return Effect.flatMap(provider.speechToText(id), (model) => model.transform(recording))
    case "text-to-text":
    case "video-composition":
    case "audio-enhancement":
      return Effect.fail(`fal listed ${id} under ${capability}`)
  }
}
