/**
 * The Replicate provider against the Replicate emulator, in memory under TestClock: a prediction
 * moves through starting/processing/succeeded with progress (percent from tqdm logs); a wait
 * that runs out falls back to polling `urls.get`; a wait that finishes needs no poll; a failed
 * prediction is GenerationFailed with Replicate's error; interruption cancels once; 429s on polls
 * back off without a second create; a ticket resumes in a fresh provider; versions go to
 * `POST /predictions`; discovery reads collections.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Audio, FileSource, fromUrl, Image, text } from "../../../src/domain/Asset.js"
import * as Replicate from "../../../src/providers/replicate/index.js"
import * as Jobs from "../../../src/jobs/index.js"
import { jsonReply } from "../../emulators/falai.js"
import { clientLayer, makeReplicate } from "../../emulators/replicate.js"
import { driveUntil, env, errorOf, realPause, runWithEvents, valueOf } from "../falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-replicate-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const setup = (emulator: ReturnType<typeof makeReplicate>, options: Replicate.ReplicateOptions = {}) =>
  Replicate.makeWithJobs({ downloadDir: dir, ...options }).pipe(
    Effect.provide(clientLayer(emulator)),
    Effect.withConfigProvider(env({ REPLICATE_API_TOKEN: emulator.settings.token, REPLICATE_BASE_URL: emulator.baseUrl }))
  )

describe("Replicate provider (emulator, TestClock)", () => {
  it.effect("a Prefer-wait that runs out falls back to polling urls.get, with progress in order", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { provider } = yield* setup(rep)
      const model = yield* provider.textToImage("black-forest-labs/flux-schnell")
      const { events, exit } = yield* runWithEvents(model.transform(text("a red kite"), { width: 512, height: 512 }))
      const image = valueOf(exit)
      expect(image).toBeInstanceOf(Image)
      expect(fs.statSync((image.source as FileSource).path).size).toBe(2048)
      expect(image.origin).toMatchObject({ provider: "replicate", model: "black-forest-labs/flux-schnell", jobId: "pred1", costUsd: 0.003 })
      const create = rep.requests.find((request) => request.method === "POST")!
      expect(create.url).toBe("/models/black-forest-labs/flux-schnell/predictions")
      expect(create.headers["prefer"]).toBe("wait=10")
      expect(JSON.parse(create.body)).toEqual({ input: { prompt: "a red kite", width: 512, height: 512 } })
      expect(rep.count("create")).toBe(1)
      expect(rep.count("get")).toBe(3)
      expect(events.map((event) => event._tag)).toEqual(["Submitted", "Queued", "Running", "Running", "Completed", "Downloading", "Downloading"])
      expect(events[2]).toMatchObject({ _tag: "Running", logs: ["33%|#| 1/3"], percent: 33 })
      expect(events[3]).toMatchObject({ _tag: "Running", logs: ["67%|##| 2/3"], percent: 67 })
    }))

  it.effect("a prediction finished within the wait needs no poll", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ finishWithinWait: true })
      const { provider } = yield* setup(rep)
      const model = yield* provider.textToImage()
      const { exit } = yield* runWithEvents(model.transform(text("x")))
      expect(valueOf(exit)).toBeInstanceOf(Image)
      expect(rep.count("get")).toBe(0)
    }))

  it.effect("a failed prediction is GenerationFailed with Replicate's error", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ failWith: "NSFW-free but the GPU fell over: CUDA error" })
      const { provider } = yield* setup(rep)
      const model = yield* provider.textToImage()
      const { exit } = yield* runWithEvents(model.transform(text("x")))
      expect(errorOf(exit)).toMatchObject({ _tag: "GenerationFailed", jobId: "pred1", providerMessage: "NSFW-free but the GPU fell over: CUDA error" })
    }))

  it.effect("interruption cancels the prediction once (POST urls.cancel) and stops polling", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ startingSteps: 100 })
      const { provider } = yield* setup(rep)
      const model = yield* provider.textToVideo()
      const fiber = yield* Effect.fork(model.transform(text("x")))
      yield* driveUntil(() => rep.count("get") >= 2)
      yield* Fiber.interrupt(fiber)
      const polls = rep.count("get")
      yield* TestClock.adjust("10 minutes")
      yield* realPause(20)
      expect(rep.count("cancel")).toBe(1)
      expect(rep.count("get")).toBe(polls)
      const cancel = rep.requests.find((request) => request.url.endsWith("/cancel"))!
      expect(cancel).toMatchObject({ method: "POST", url: "/predictions/pred1/cancel" })
      // Video is not a short job: created without Prefer: wait.
      expect(rep.requests.find((request) => request.method === "POST" && !request.url.endsWith("/cancel"))!.headers["prefer"]).toBeUndefined()
    }))

  it.effect("429 on polls backs off with Retry-After and never creates a second prediction", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ rateLimitPolls: 4, retryAfterSeconds: 3 })
      const { provider } = yield* setup(rep)
      const model = yield* provider.textToAudio()
      const start = yield* TestClock.currentTimeMillis
      const { exit } = yield* runWithEvents(model.transform(text("a calm tune"), { durationSeconds: 8 }), "500 millis")
      expect(valueOf(exit)).toBeInstanceOf(Audio)
      expect(rep.count("create")).toBe(1)
      expect(rep.count("get")).toBe(3 + 4)
      expect((yield* TestClock.currentTimeMillis) - start).toBeGreaterThanOrEqual(4 * 3000)
    }))

  it.effect("a create answered 502 is not repeated", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ createReplies: [jsonReply(502, { detail: "bad gateway" })] })
      const { provider } = yield* setup(rep)
      const model = yield* provider.textToImage()
      const { exit } = yield* runWithEvents(model.transform(text("x")))
      expect(errorOf(exit)).toMatchObject({ _tag: "ProviderUnavailable" })
      expect(rep.count("create")).toBe(1)
    }))

  it.effect("resume(ticket) in a fresh provider polls and downloads without creating", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ processingSteps: 3 })
      const first = yield* setup(rep)
      const ticket = yield* first.jobs.submit("image-to-video", "owner/model:5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa", new Image({ source: fromUrl("https://example.invalid/cat.png"), mimeType: "image/png" }), { prompt: "blink" })
      const create = rep.requests.find((request) => request.method === "POST")!
      expect(create.url).toBe("/predictions")
      expect(JSON.parse(create.body)).toEqual({
        version: "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa",
        input: { image: "https://example.invalid/cat.png", prompt: "blink" }
      })
      const second = yield* setup(rep)
      const restored = yield* Jobs.decodeTicket(Jobs.encodeTicket(ticket))
      const { exit } = yield* runWithEvents(second.jobs.resume(restored))
      expect(valueOf(exit)._tag).toBe("Video")
      expect(rep.count("create")).toBe(1)
    }))

  it.effect("speech-to-text returns whisper's transcription with segments and language", () =>
    Effect.gen(function* () {
      const rep = makeReplicate({ finishWithinWait: true })
      const { provider } = yield* setup(rep)
      const model = yield* provider.speechToText()
      const { exit } = yield* runWithEvents(model.transform(new Audio({ source: fromUrl("https://example.invalid/a.wav"), mimeType: "audio/wav" })))
      expect(valueOf(exit)).toMatchObject({ text: "hello from replicate", language: "en", segments: [{ start: 0, end: 1.2, text: "hello from replicate" }] })
    }))

  it.effect("discovery reads the collections (a missing one is skipped) and keeps the curated models", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { provider } = yield* setup(rep)
      const models = yield* provider.models
      expect(models.find((model) => model.id === "emu/pixels")?.capabilities).toEqual(["text-to-image"])
      expect(models.find((model) => model.id === "emu/ears")?.capabilities).toEqual(["speech-to-text"])
      expect(models.find((model) => model.id === "black-forest-labs/flux-schnell")?.pricing[0]?.usd).toBe(0.003)
      expect(rep.count("collection")).toBe(7)
    }))

  it.effect("a model id that is no Replicate reference is InvalidInput before any request", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { provider } = yield* setup(rep)
      const model = yield* provider.textToImage("not a model")
      const { exit } = yield* runWithEvents(model.transform(text("x")))
      expect(errorOf(exit)).toMatchObject({ _tag: "InvalidInput" })
      expect(rep.requests).toHaveLength(0)
    }))
})
