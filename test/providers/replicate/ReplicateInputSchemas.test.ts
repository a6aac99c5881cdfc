/**
 * Replicate inputs checked against the model version's Cog schema before the create: over a
 * real socket (the emulator on 127.0.0.1), an input the schema refuses is InvalidInput naming the
 * field and the rule, and no prediction is created (for `owner/name` through the model's
 * `latest_version`, for `owner/name:version` through that version); a valid input, a model with
 * no schema and a bare version id are created. In memory under TestClock: the schema is fetched
 * once for many calls and again after the catalog's TTL; a picture, recording or text goes in the
 * field the model's schema declares for it.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Audio, fromUrl, Image, text } from "../../../src/domain/Asset.js"
import type { ImageOptions } from "../../../src/domain/MediaProvider.js"
import type { JobClient } from "../../../src/jobs/JobClient.js"
import * as Catalog from "../../../src/provider/Catalog.js"
import * as Replicate from "../../../src/providers/replicate/index.js"
import { placeBySchema } from "../../../src/providers/replicate/models/Inputs.js"
import { serve } from "../../emulators/falai.js"
import { clientLayer, makeReplicate } from "../../emulators/replicate.js"
import { replicateCatalogSchemas } from "../../emulators/Schemas.js"
import { env, errorOf } from "../falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-replicate-schemas-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const flux = "black-forest-labs/flux-schnell"
const version = "5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637"

const config = (rep: ReturnType<typeof makeReplicate>) => env({ REPLICATE_API_TOKEN: rep.settings.token, REPLICATE_BASE_URL: rep.baseUrl })

/** The provider over a real socket to the emulator, served for the test's scope (the HTTP client is the test's: see `live`). */
const served = Effect.gen(function* () {
  const rep = makeReplicate()
  yield* serve(rep)
  const made = yield* Replicate.makeWithJobs({ downloadDir: dir }).pipe(Effect.withConfigProvider(config(rep)))
  return { rep, ...made }
})

// The undici client lives as long as the test: provided to the whole test, not to the provider's making.
const live = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provide(self, NodeHttpClient.layerUndici)

const submit = (jobs: JobClient, model: string, options: ImageOptions) =>
  Effect.exit(jobs.submit("text-to-image", model, text("a red kite"), options))

describe("Replicate input schemas (emulator on 127.0.0.1)", () => {
  it.scopedLive("refuses steps over the maximum, a missing required field, a value not in the enum and a wrong type, naming the field; nothing is created", () =>
    Effect.gen(function* () {
      const { rep, jobs } = yield* served
      const refused = [
        { model: flux, options: { steps: 8 }, issue: "num_inference_steps: must be <= 4" },
        { model: flux, options: { extra: { prompt: undefined } }, issue: "prompt: is required" },
        { model: flux, options: { extra: { aspect_ratio: "7:3" } }, issue: 'aspect_ratio: must be one of "1:1", "16:9"' },
        { model: flux, options: { extra: { go_fast: "yes" } }, issue: "go_fast: must be a boolean" },
        { model: `${flux}:${version}`, options: { extra: { num_outputs: 0 } }, issue: "num_outputs: must be >= 1" }
      ]
      for (const { model, options, issue } of refused) {
        const error = errorOf(yield* submit(jobs, model, options))
        expect(error?._tag).toBe("InvalidInput")
        if (error?._tag !== "InvalidInput") continue
        expect(error.provider).toBe("replicate")
        expect(error.issues.some((line) => line.startsWith(issue))).toBe(true)
      }
      expect(rep.count("create")).toBe(0)
      expect(rep.predictions.size).toBe(0)
      // One model answer for the four calls on the model, one version answer for the versioned one.
      expect(rep.count("model")).toBe(1)
      expect(rep.count("version")).toBe(1)
      expect(rep.requests.filter((request) => request.method === "GET").map((request) => request.url)).toEqual([
        `/models/${flux}`,
        `/models/${flux}/versions/${version}`
      ])
    }).pipe(live))

  it.scopedLive("creates a valid input, as built", () =>
    Effect.gen(function* () {
      const { rep, jobs } = yield* served
      expect(Exit.isSuccess(yield* submit(jobs, flux, { steps: 4, seed: 3, extra: { aspect_ratio: "16:9" } }))).toBe(true)
      expect(rep.count("create")).toBe(1)
      expect([...rep.predictions.values()][0]?.input).toEqual({ prompt: "a red kite", num_inference_steps: 4, seed: 3, aspect_ratio: "16:9" })
    }).pipe(live))

  it.scopedLive("a model without a schema, and a bare version id, are created unchecked", () =>
    Effect.gen(function* () {
      const { rep, jobs } = yield* served
      expect(Exit.isSuccess(yield* submit(jobs, "emu/pixels", { extra: { anything: -1 } }))).toBe(true)
      expect(rep.count("model")).toBe(1)
      expect(Exit.isSuccess(yield* submit(jobs, version, { steps: 99 }))).toBe(true)
      expect(rep.count("version")).toBe(0)
      expect(rep.count("create")).toBe(2)
    }).pipe(live))

  it.scopedLive("defaultsOf tells the schema's defaults (enums' beside their $ref); none for a model without one", () =>
    Effect.gen(function* () {
      const { schemas } = yield* served
      expect(yield* schemas.defaultsOf(flux)).toMatchObject({ aspect_ratio: "1:1", num_outputs: 1, output_format: "webp", go_fast: true })
      expect(yield* schemas.defaultsOf("emu/pixels")).toEqual({})
    }).pipe(live))
})

describe("Replicate input schemas are cached for the catalog's TTL (TestClock)", () => {
  it.effect("fetched once for many calls, again after the TTL", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { jobs } = yield* Replicate.makeWithJobs({ downloadDir: dir }).pipe(
        Effect.provide(clientLayer(rep)),
        Effect.provide(Catalog.layerMemory({ ttl: "1 hour" })),
        Effect.withConfigProvider(config(rep))
      )
      for (let i = 0; i < 5; i++) expect(Exit.isSuccess(yield* submit(jobs, flux, { seed: i }))).toBe(true)
      expect(Exit.isSuccess(yield* submit(jobs, flux, { steps: 9 }))).toBe(false)
      expect(rep.count("model")).toBe(1)
      yield* TestClock.adjust("59 minutes")
      yield* submit(jobs, flux, {})
      expect(rep.count("model")).toBe(1)
      yield* TestClock.adjust("2 minutes")
      yield* submit(jobs, flux, {})
      expect(rep.count("model")).toBe(2)
      expect(rep.count("create")).toBe(7)
    }))
})

describe("Replicate inputs go where the model's schema takes them (TestClock)", () => {
  it.effect("a picture, recording or text in the field the model declares; as built without a schema; options.extra wins", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ schemas: replicateCatalogSchemas() })
      const { jobs } = yield* Replicate.makeWithJobs({ downloadDir: dir }).pipe(Effect.provide(clientLayer(rep)), Effect.withConfigProvider(config(rep)))
      const url = "https://example.test/cat.png"
      const picture = new Image({ source: fromUrl(url), mimeType: "image/png" })
      const recording = new Audio({ source: fromUrl("https://example.test/talk.wav"), mimeType: "audio/wav" })
      const calls = [
        jobs.submit("image-to-image", "black-forest-labs/flux-kontext-pro", picture, { prompt: "night" }),
        jobs.submit("image-to-image", "qwen/qwen-image-edit", picture, { prompt: "night" }),
        jobs.submit("image-to-image", "google/nano-banana", picture, { prompt: "night" }),
        jobs.submit("image-to-video", "wan-video/wan-2.1-i2v-480p", picture, { prompt: "waves" }),
        jobs.submit("image-to-video", "kwaivgi/kling-v2.1", picture, { prompt: "waves" }),
        jobs.submit("image-to-video", "minimax/video-01", picture, { prompt: "waves" }),
        jobs.submit("text-to-speech", "minimax/speech-02-turbo", text("Hello")),
        jobs.submit("text-to-speech", "resemble-ai/chatterbox", text("Hello")),
        jobs.submit("speech-to-text", "openai/whisper", recording),
        jobs.submit("speech-to-text", "victor-upmeet/whisperx", recording),
        // No schema: as built.
        jobs.submit("image-to-image", "emu/pixels", picture, { prompt: "night" }),
        // The caller's own field stays where the caller put it.
        jobs.submit("image-to-image", "qwen/qwen-image-edit", picture, { prompt: "night", extra: { image: "https://example.test/dog.png" } })
      ]
      for (const call of calls) expect(Exit.isSuccess(yield* Effect.exit(call))).toBe(true)
      expect([...rep.predictions.values()].map((prediction) => prediction.input)).toEqual([
        { input_image: url, prompt: "night" },
        { image: url, prompt: "night" },
        { image_input: [url], prompt: "night" },
        { image: url, prompt: "waves" },
        { start_image: url, prompt: "waves" },
        { first_frame_image: url, prompt: "waves" },
        { text: "Hello" },
        { prompt: "Hello" },
        { audio: "https://example.test/talk.wav" },
        { audio_file: "https://example.test/talk.wav" },
        { input_image: url, prompt: "night" },
        { input_image: url, prompt: "night", image: "https://example.test/dog.png" }
      ])
      // The placement alone: nothing moves without a schema or for a capability with one name.
      expect(placeBySchema("image-to-image", { input_image: url }, [])).toEqual({ input_image: url })
      expect(placeBySchema("text-to-image", { prompt: "a kite" }, ["caption"])).toEqual({ prompt: "a kite" })
    }))
})
