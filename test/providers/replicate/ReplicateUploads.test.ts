/**
 * Input uploads to Replicate's files API, against the Replicate emulator over real HTTP: a local
 * image above the inline limit is sent once as a multipart `POST /files` (with the token) for two
 * predictions of the same content; the predictions' input names the file's `urls.get`, whose bytes
 * (as stored, and as downloaded) are the file's; a small image still goes inline; a refused upload
 * is a typed error and no prediction is created.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { fromFile, Image } from "../../../src/domain/Asset.js"
import * as Uploads from "../../../src/jobs/Uploads.js"
import * as Replicate from "../../../src/providers/replicate/index.js"
import { jsonReply } from "../../emulators/falai.js"
import { makeReplicate, serve } from "../../emulators/replicate.js"
import { replicateCatalogSchemas } from "../../emulators/Schemas.js"
import { env } from "../falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-replicate-uploads-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const imageFile = (name: string, size: number): string => {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i < size; i++) bytes[i] = (i * 17 + size) % 256
  const file = path.join(dir, name)
  fs.writeFileSync(file, bytes)
  return file
}

const model = "black-forest-labs/flux-kontext-pro"

const setup = (emulator: ReturnType<typeof makeReplicate>) =>
  Replicate.makeWithJobs({ downloadDir: dir, config: { retries: 0 } }).pipe(
    Effect.withConfigProvider(env({ REPLICATE_API_TOKEN: emulator.settings.token, REPLICATE_BASE_URL: emulator.baseUrl }))
  )

const inputs = (emulator: ReturnType<typeof makeReplicate>) => [...emulator.predictions.values()].map((p) => p.input["input_image"])

describe("Replicate input uploads (emulator over HTTP)", () => {
  it.scopedLive("uploads a local image once with the files API and names its urls.get in the predictions", () =>
    Effect.gen(function* () {
      const replicate = yield* serve(makeReplicate())
      const { jobs } = yield* setup(replicate)
      const file = imageFile("photo.jpg", Uploads.inlineLimitBytes + 1000)
      const image = new Image({ source: fromFile(file), mimeType: "image/jpeg" })
      yield* jobs.submit("image-to-image", model, image, { prompt: "sepia" })
      yield* jobs.submit("image-to-image", model, image, { prompt: "noir" })

      const uploads = replicate.requests.filter((request) => request.method === "POST" && request.url === "/files")
      expect(uploads).toHaveLength(1)
      expect(uploads[0]!.headers["authorization"]).toBe(`Bearer ${replicate.settings.token}`)
      expect(uploads[0]!.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/)
      expect(replicate.stored.size).toBe(1)
      const [id, stored] = [...replicate.stored.entries()][0]!
      expect(Buffer.from(stored.bytes).equals(fs.readFileSync(file))).toBe(true)
      expect(stored.contentType).toBe("image/jpeg")
      expect(stored.fileName).toBe("photo.jpg")
      expect(inputs(replicate)).toEqual([`${replicate.baseUrl}/files/${id}`, `${replicate.baseUrl}/files/${id}`])

      // What the emulator serves for the file is the file.
      const served = yield* Effect.promise(() =>
        fetch(`${replicate.baseUrl}/files/${id}/download`, { headers: { authorization: `Bearer ${replicate.settings.token}` } }).then((r) => r.arrayBuffer())
      )
      expect(Buffer.from(served).equals(fs.readFileSync(file))).toBe(true)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("a small image still goes inline, with no upload", () =>
    Effect.gen(function* () {
      const replicate = yield* serve(makeReplicate())
      const { jobs } = yield* setup(replicate)
      const file = imageFile("small.jpg", 1500)
      yield* jobs.submit("image-to-image", model, new Image({ source: fromFile(file), mimeType: "image/jpeg" }), { prompt: "p" })
      expect(replicate.stored.size).toBe(0)
      expect(inputs(replicate)).toEqual([`data:image/jpeg;base64,${fs.readFileSync(file).toString("base64")}`])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("a refused upload is a typed error and no prediction is created", () =>
    Effect.gen(function* () {
      const replicate = yield* serve(makeReplicate())
      replicate.settings.intercept = (_request, kind) =>
        kind === "upload" ? jsonReply(413, { detail: "Files must be less than 100MB in size" }, { "content-type": "application/problem+json" }) : undefined
      const { jobs } = yield* setup(replicate)
      const image = new Image({ source: fromFile(imageFile("huge.jpg", Uploads.inlineLimitBytes + 7)), mimeType: "image/jpeg" })
      const exit = yield* Effect.exit(jobs.submit("image-to-image", model, image, { prompt: "p" }))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : "none").toBe("InvalidInput")
      expect(replicate.count("create")).toBe(0)
      expect(replicate.predictions.size).toBe(0)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)

  it.scopedLive("an input the model's schema refuses uploads nothing: the check runs before the upload", () =>
    Effect.gen(function* () {
      const replicate = yield* serve(makeReplicate())
      replicate.settings.schemas = replicateCatalogSchemas()
      const { jobs } = yield* setup(replicate)
      const image = new Image({ source: fromFile(imageFile("refused-by-schema.jpg", Uploads.inlineLimitBytes + 5)), mimeType: "image/jpeg" })
      const uploads = () => replicate.requests.filter((request) => request.method === "POST" && request.url === "/files").length
      // flux-kontext-pro's schema: safety_tolerance is at most 6.
      const exit = yield* Effect.exit(jobs.submit("image-to-image", model, image, { prompt: "sepia", extra: { safety_tolerance: 9 } }))
      const error = Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined
      expect(error?._tag).toBe("InvalidInput")
      expect(JSON.stringify(error)).toContain("safety_tolerance")
      expect([uploads(), replicate.predictions.size]).toEqual([0, 0])
      // Valid, the same input is uploaded once and the prediction names the stored file.
      yield* jobs.submit("image-to-image", model, image, { prompt: "sepia", extra: { safety_tolerance: 2 } })
      expect([uploads(), replicate.predictions.size]).toEqual([1, 1])
      expect(String(inputs(replicate)[0])).toMatch(new RegExp(`^${replicate.baseUrl}/files/`))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 30_000)
})
