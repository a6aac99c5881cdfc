/**
 * Replicate's image-upscaling against the Replicate emulator, in memory under TestClock: the
 * default upscaler (Real-ESRGAN, a community model pinned to a published version) runs by version
 * (`POST /predictions`) with `image` and `scale`, its one result URL read back as the image; the
 * super-resolution collection lists it under image-upscaling only, once; a factor its schema
 * refuses costs no prediction. Replicate lists no video-to-video model: the capability is not
 * offered, and a job submitted as one is refused before anything is sent.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { FileSource, fromUrl, Image, Video } from "../../../src/domain/Asset.js"
import { realEsrgan } from "../../../src/providers/replicate/models/Curated.js"
import * as Replicate from "../../../src/providers/replicate/index.js"
import { clientLayer, makeReplicate } from "../../emulators/replicate.js"
import { env, errorOf, runWithEvents, valueOf } from "../falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-replicate-upscale-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const setup = (emulator: ReturnType<typeof makeReplicate>) =>
  Replicate.makeWithJobs({ downloadDir: dir }).pipe(
    Effect.provide(clientLayer(emulator)),
    Effect.withConfigProvider(env({ REPLICATE_API_TOKEN: emulator.settings.token, REPLICATE_BASE_URL: emulator.baseUrl }))
  )

const picture = new Image({ source: fromUrl("https://example.test/cat.png"), mimeType: "image/png" })

describe("Replicate image-upscaling and video-to-video (emulator, TestClock)", () => {
  it.effect("image-upscaling with the default (Real-ESRGAN by version) sends image and scale and reads its one URL", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { provider } = yield* setup(rep)
      const model = yield* provider.imageUpscaling()
      expect(model.id).toBe(realEsrgan)
      const { exit } = yield* runWithEvents(model.transform(picture, { scale: 2 }))
      const image = valueOf(exit)
      expect(image).toBeInstanceOf(Image)
      expect(image.mimeType).toBe("image/png")
      expect(fs.statSync((image.source as FileSource).path).size).toBe(2048)
      expect(image.origin).toMatchObject({ provider: "replicate", model: realEsrgan, jobId: "pred1" })
      const create = rep.requests.find((request) => request.method === "POST")!
      expect(create.url).toBe("/predictions")
      expect(create.headers["prefer"]).toBe("wait=10")
      expect(JSON.parse(create.body)).toEqual({
        version: "42fed1c4974146d4d2414e2be2c5277c7fcf05fcc3a73abf41610695738c1d7b",
        input: { image: "https://example.test/cat.png", scale: 2 }
      })
    }))

  it.effect("the super-resolution collection lists Real-ESRGAN once, as the pinned version, under image-upscaling only", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { provider } = yield* setup(rep)
      expect(provider.capabilities).toContain("image-upscaling")
      const upscalers = yield* provider.getModelsForCapability("image-upscaling")
      expect(upscalers.map((model) => model.id)).toEqual([realEsrgan])
      expect((yield* provider.getModelsForCapability("image-to-image")).map((model) => model.id)).not.toContain(realEsrgan)
      expect((yield* provider.models).filter((model) => model.id.startsWith("nightmareai/real-esrgan"))).toHaveLength(1)
      expect(rep.requests.some((request) => request.url === "/collections/super-resolution")).toBe(true)
    }))

  it.effect("a factor Real-ESRGAN's schema refuses is InvalidInput naming `scale`, and no prediction is created", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { provider } = yield* setup(rep)
      const model = yield* provider.imageUpscaling()
      const { exit } = yield* runWithEvents(model.transform(picture, { scale: 16 }))
      const error = errorOf(exit)
      expect(error).toMatchObject({ _tag: "InvalidInput", provider: "replicate" })
      expect(error?._tag === "InvalidInput" ? error.issues.join(" ") : "").toContain("scale")
      expect(rep.count("create")).toBe(0)
    }))

  it.effect("video-to-video is not offered: no model listed, the factory and a submitted job fail with CapabilityNotSupported", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { jobs, provider } = yield* setup(rep)
      expect(provider.capabilities).not.toContain("video-to-video")
      expect(yield* provider.getModelsForCapability("video-to-video")).toEqual([])
      const refused = yield* Effect.flip(provider.videoToVideo("owner/some-model"))
      expect(refused).toMatchObject({ _tag: "CapabilityNotSupported", capability: "video-to-video" })
      const clip = new Video({ source: fromUrl("https://example.test/clip.mp4"), mimeType: "video/mp4" })
      const submitted = yield* Effect.flip(jobs.submit("video-to-video", "owner/some-model", clip, { prompt: "make it night" }))
      expect(submitted).toMatchObject({ _tag: "CapabilityNotSupported", provider: "replicate", capability: "video-to-video" })
      expect(rep.count("create")).toBe(0)
    }))
})
