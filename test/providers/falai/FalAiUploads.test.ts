/**
 * Input uploads to fal's storage, against the fal emulator over real HTTP: a local image above
 * the inline limit is initiated with the key and PUT without it, once for two submits of the same
 * content (and once for two concurrent ones); the submits name the stored file's URL, whose bytes
 * are the file's; a large local video for video-to-video goes the same way, as `video_url`; a
 * small image still goes inline; a failed upload is a typed error and nothing is submitted.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { fromBytes, fromFile, Image, Video } from "../../../src/domain/Asset.js"
import * as Uploads from "../../../src/jobs/Uploads.js"
import * as FalAi from "../../../src/providers/falai/index.js"
import { jsonReply, makeFal, serve } from "../../emulators/falai.js"
import { env } from "./drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-falai-uploads-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

// A "PNG" of `size` bytes: the signature, then a pattern (no two files of different sizes alike).
const imageFile = (name: string, size: number): string => {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + size) % 256
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(bytes)
  const file = path.join(dir, name)
  fs.writeFileSync(file, bytes)
  return file
}

const model = "fal-ai/flux/dev/image-to-image"

const setup = (fal: ReturnType<typeof makeFal>) =>
  FalAi.makeWithJobs({ downloadDir: dir, config: { retries: 0 } }).pipe(
    Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
  )

const submitted = (fal: ReturnType<typeof makeFal>) => [...fal.jobs.values()].map((job) => job.input["image_url"])

describe("FalAi input uploads (emulator over HTTP)", () => {
  it.scopedLive("uploads a local image once (initiate with the key, PUT without), submits its URL, and the stored bytes are the file's", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      const { jobs } = yield* setup(fal)
      const file = imageFile("large.png", Uploads.inlineLimitBytes + 4096)
      const image = new Image({ source: fromFile(file), mimeType: "image/png" })
      yield* jobs.submit("image-to-image", model, image, { prompt: "make it blue" })
      yield* jobs.submit("image-to-image", model, image, { prompt: "make it red" })

      expect(fal.count("initiate")).toBe(1)
      expect(fal.count("upload")).toBe(1)
      const initiate = fal.requests.find((request) => request.url.startsWith("/storage/upload/initiate"))!
      expect(initiate.headers["authorization"]).toBe(`Key ${fal.settings.key}`)
      expect(JSON.parse(initiate.body)).toEqual({ content_type: "image/png", file_name: "large.png" })
      const put = fal.requests.find((request) => request.method === "PUT")!
      expect(put.headers["authorization"]).toBeUndefined()
      expect(fal.keyedPuts()).toBe(0)

      const [url, again] = submitted(fal)
      expect(url).toMatch(new RegExp(`^${fal.baseUrl}/storage/files/`))
      expect(again).toBe(url)
      const stored = fal.stored.get(url as string)!
      expect(Buffer.from(stored.bytes).equals(fs.readFileSync(file))).toBe(true)
      expect(stored.contentType).toBe("image/png")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("video-to-video uploads a large local video and submits the stored file's URL as video_url", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      const { jobs } = yield* setup(fal)
      // Patterned bytes of an MP4's size class; nothing on the way reads the container.
      const file = imageFile("large.mp4", Uploads.inlineLimitBytes + 8192)
      const video = new Video({ source: fromFile(file), mimeType: "video/mp4" })
      yield* jobs.submit("video-to-video", "fal-ai/cogvideox-5b/video-to-video", video, { prompt: "make it night" })

      expect(fal.count("upload")).toBe(1)
      const initiate = fal.requests.find((request) => request.url.startsWith("/storage/upload/initiate"))!
      expect(JSON.parse(initiate.body)).toEqual({ content_type: "video/mp4", file_name: "large.mp4" })
      const [job] = [...fal.jobs.values()]
      expect(job!.input).toEqual({ video_url: expect.stringMatching(new RegExp(`^${fal.baseUrl}/storage/files/`)), prompt: "make it night" })
      const stored = fal.stored.get(job!.input["video_url"] as string)!
      expect(Buffer.from(stored.bytes).equals(fs.readFileSync(file))).toBe(true)
      expect(stored.contentType).toBe("video/mp4")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("concurrent submits of the same content share one upload", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      const { jobs } = yield* setup(fal)
      const bytes = fs.readFileSync(imageFile("shared.png", Uploads.inlineLimitBytes * 2))
      const image = new Image({ source: fromBytes(bytes), mimeType: "image/png" })
      yield* Effect.all([1, 2, 3].map((seed) => jobs.submit("image-to-image", model, image, { prompt: "p", seed })), { concurrency: "unbounded" })
      expect(fal.count("upload")).toBe(1)
      expect(new Set(submitted(fal)).size).toBe(1)
      expect(submitted(fal)).toHaveLength(3)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("an input the model's schema refuses uploads nothing: the check runs before the upload", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      const { jobs } = yield* setup(fal)
      const image = new Image({ source: fromFile(imageFile("refused-by-schema.png", Uploads.inlineLimitBytes + 3)), mimeType: "image/png" })
      // fal-ai/esrgan's published schema: output_format is png or jpeg.
      const exit = yield* Effect.exit(jobs.submit("image-upscaling", "fal-ai/esrgan", image, { scale: 2, extra: { output_format: "gif" } }))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("InvalidInput")
      expect(JSON.stringify(error)).toContain("output_format")
      expect([fal.count("initiate"), fal.count("upload"), fal.count("submit")]).toEqual([0, 0, 0])
      // The same input, valid: uploaded once, and the submit names the stored file, not a placeholder.
      yield* jobs.submit("image-upscaling", "fal-ai/esrgan", image, { scale: 2, extra: { output_format: "png" } })
      expect([fal.count("initiate"), fal.count("upload"), fal.count("submit")]).toEqual([1, 1, 1])
      const sent = [...fal.jobs.values()][0]!.input["image_url"]
      expect(typeof sent === "string" && sent.startsWith(fal.baseUrl)).toBe(true)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("a small image still goes inline, with no upload", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      const { jobs } = yield* setup(fal)
      const file = imageFile("small.png", 2048)
      yield* jobs.submit("image-to-image", model, new Image({ source: fromFile(file), mimeType: "image/png" }), { prompt: "p" })
      expect(fal.count("initiate")).toBe(0)
      expect(submitted(fal)).toEqual([`data:image/png;base64,${fs.readFileSync(file).toString("base64")}`])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("a failed upload is a typed error, nothing is submitted, and the next call uploads anew", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      let refusals = 1
      fal.settings.intercept = (_request, kind) =>
        kind === "upload" && refusals-- > 0 ? { _tag: "Reply", status: 403, headers: { "content-type": "application/xml" }, body: "<Error><Code>SignatureDoesNotMatch</Code></Error>" } : undefined
      const { jobs } = yield* setup(fal)
      const image = new Image({ source: fromFile(imageFile("refused.png", Uploads.inlineLimitBytes + 1)), mimeType: "image/png" })
      const exit = yield* Effect.exit(jobs.submit("image-to-image", model, image, { prompt: "p" }))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : "none").toBe("ProviderUnavailable")
      expect(fal.count("submit")).toBe(0)
      expect(fal.jobs.size).toBe(0)

      // The failure was not remembered: the next submit uploads and goes through.
      yield* jobs.submit("image-to-image", model, image, { prompt: "p" })
      expect(fal.count("upload")).toBe(2)
      expect(fal.jobs.size).toBe(1)

      // An initiation refused (here a 422) fails the same way before any PUT.
      fal.settings.intercept = (_request, kind) => (kind === "initiate" ? jsonReply(422, { detail: "bad content type" }) : undefined)
      const other = new Image({ source: fromFile(imageFile("other.png", Uploads.inlineLimitBytes + 2)), mimeType: "image/png" })
      const refused = yield* Effect.exit(jobs.submit("image-to-image", model, other, { prompt: "p" }))
      expect(Exit.isFailure(refused) && refused.cause._tag === "Fail" ? refused.cause.error._tag : "none").toBe("InvalidInput")
      expect(fal.count("upload")).toBe(2)
      expect(fal.jobs.size).toBe(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)
})
