/**
 * The Replicate provider against the Replicate emulator, in memory under TestClock: a prediction
 * moves through starting/processing/succeeded with progress (percent from tqdm logs); a wait
 * that runs out falls back to polling `urls.get`; a wait that finishes needs no poll; a failed
 * prediction is GenerationFailed with Replicate's error; interruption cancels once; 429s on polls
 * back off without a second create; a ticket resumes in a fresh provider; versions go to
 * `POST /predictions`; discovery reads collections, a community model listed at its latest version.
 *
 * Deadlines: a submit's deadline is sent as `Cancel-After` (the seconds left by the TestClock,
 * rounded up, at least 5 s), a deadline already passed is Timeout with nothing sent, and a
 * prediction the emulator stopped at its deadline (by its own clock) reads back as Cancelled.
 * `find`: the prediction of the model with the same input created since a time, among others, over
 * pages; none when there is none; the listing read no further than the predictions older than
 * `since` less the clock-skew allowance.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Audio, FileSource, fromUrl, Image, text } from "../../../src/domain/Asset.js"
import * as Replicate from "../../../src/providers/replicate/index.js"
import * as Jobs from "../../../src/jobs/index.js"
import { jsonReply } from "../../emulators/falai.js"
import { clientLayer, fullCatalog, latestVersionOf, makeReplicate } from "../../emulators/replicate.js"
import { replicateCatalogSchemas } from "../../emulators/Schemas.js"
import { drive, driveUntil, env, errorOf, realPause, runWithEvents, valueOf } from "../falai/drive.js"

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
      expect(rep.count("collection")).toBe(8)
    }))

  it.effect("a community model is listed at its latest version and runs by it; one with no version is not listed", () =>
    Effect.gen(function* () {
      const sdxl = "bytedance/sdxl-lightning-4step"
      const community = fullCatalog["text-to-image"]!.filter((entry) => entry.official === false)
      const rep = makeReplicate({ collections: { "text-to-image": community }, schemas: replicateCatalogSchemas() })
      const { provider } = yield* setup(rep)
      const version = latestVersionOf(sdxl)
      const ids = (yield* provider.models).map((model) => model.id)
      expect(community.map((entry) => entry.name)).toEqual(["sdxl-lightning-4step", "unreleased"])
      expect(ids.filter((id) => id.startsWith("bytedance/") || id.startsWith("emu/"))).toEqual([`${sdxl}:${version}`])
      const model = yield* provider.textToImage(`${sdxl}:${version}`)
      const { exit } = yield* runWithEvents(model.transform(text("a red kite")))
      expect(valueOf(exit)).toBeInstanceOf(Image)
      const create = rep.requests.find((request) => request.method === "POST")!
      expect(create.url).toBe("/predictions")
      expect(JSON.parse(create.body)).toEqual({ version, input: { prompt: "a red kite" } })
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

describe("Replicate deadlines (Cancel-After)", () => {
  it.effect("a deadline 90 s ahead creates the prediction with Cancel-After: 90s; 89.2 s is 90s, 2 s is Replicate's 5s minimum", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { jobs } = yield* setup(rep)
      const now = yield* TestClock.currentTimeMillis
      yield* jobs.submit("text-to-image", "black-forest-labs/flux-schnell", text("a"), undefined, { deadline: new Date(now + 90_000) })
      yield* jobs.submit("text-to-video", "minimax/video-01", text("b"), undefined, { deadline: new Date(now + 89_200) })
      yield* jobs.submit("text-to-image", "black-forest-labs/flux-schnell", text("c"), undefined, { deadline: new Date(now + 2_000) })
      yield* jobs.submit("text-to-image", "black-forest-labs/flux-schnell", text("d"))
      const creates = rep.requests.filter((request) => request.method === "POST")
      expect(creates.map((request) => request.headers["cancel-after"])).toEqual(["90s", "90s", "5s", undefined])
      // Prefer: wait still goes with a short job.
      expect(creates[0]!.headers["prefer"]).toBe("wait=10")
      expect([...rep.predictions.values()].map((p) => p.deadline !== undefined && p.deadline - p.createdAt)).toEqual([90_000, 90_000, 5_000, false])
    }))

  it.effect("the seconds left are read from the Clock at the submit", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { jobs } = yield* setup(rep)
      const deadline = new Date((yield* TestClock.currentTimeMillis) + 120_000)
      yield* TestClock.adjust("45 seconds")
      yield* jobs.submit("text-to-image", "black-forest-labs/flux-schnell", text("a"), undefined, { deadline })
      expect(rep.requests.find((request) => request.method === "POST")!.headers["cancel-after"]).toBe("75s")
    }))

  it.effect("a deadline already passed is Timeout and nothing is sent", () =>
    Effect.gen(function* () {
      const rep = makeReplicate()
      const { jobs } = yield* setup(rep)
      yield* TestClock.adjust("1 hour")
      const now = yield* TestClock.currentTimeMillis
      const error = yield* Effect.flip(jobs.submit("text-to-image", "black-forest-labs/flux-schnell", text("a"), undefined, { deadline: new Date(now - 1) }))
      expect(error).toMatchObject({ _tag: "Timeout", provider: "replicate" })
      const atNow = yield* Effect.flip(jobs.submit("text-to-image", "black-forest-labs/flux-schnell", text("a"), undefined, { deadline: new Date(now) }))
      expect(atNow._tag).toBe("Timeout")
      expect(rep.count("create")).toBe(0)
      expect(rep.requests).toHaveLength(0)
    }))

  it.effect("a prediction the emulator stopped at its deadline reads back as Cancelled: aborted before it started, canceled while running", () =>
    Effect.gen(function* () {
      let wall = Date.parse("2026-03-01T12:00:00Z")
      const rep = makeReplicate({ startingSteps: 100, now: () => wall })
      const { jobs } = yield* setup(rep)
      const deadline = new Date((yield* TestClock.currentTimeMillis) + 30_000)
      const waiting = yield* jobs.submit("text-to-video", "minimax/video-01", text("never starts"), undefined, { deadline })
      expect(rep.requests.find((request) => request.method === "POST")!.headers["cancel-after"]).toBe("30s")
      wall += 31_000
      const { exit } = yield* runWithEvents(jobs.resume(waiting))
      expect(errorOf(exit)).toMatchObject({ _tag: "Cancelled", jobId: waiting.requestId })
      expect(rep.predictions.get(waiting.requestId)!.expired).toBe("aborted")

      rep.settings.startingSteps = 1
      rep.settings.processingSteps = 100
      const running = yield* jobs.submit("text-to-video", "minimax/video-01", text("runs long"), undefined, { deadline: new Date((yield* TestClock.currentTimeMillis) + 30_000) })
      const fiber = yield* Effect.fork(jobs.resume(running))
      yield* driveUntil(() => rep.predictions.get(running.requestId)!.polls >= 3)
      wall += 31_000
      expect(errorOf(yield* drive(fiber))).toMatchObject({ _tag: "Cancelled", jobId: running.requestId })
      expect(rep.predictions.get(running.requestId)!.expired).toBe("canceled")
      expect(rep.count("cancel")).toBe(0)
    }))
})

describe("Replicate find (GET /predictions)", () => {
  const model = "black-forest-labs/flux-schnell"
  const since = Date.parse("2026-03-01T12:00:00Z")

  /** A Replicate emulator whose clock a test sets, and a submit of `prompt` created at `at`. */
  const withClock = (overrides: Parameters<typeof makeReplicate>[0] = {}) => {
    let wall = since
    const rep = makeReplicate({ now: () => wall, ...overrides })
    const createAt = (jobs: Jobs.JobClient, at: number, prompt: string, on = model) =>
      Effect.suspend(() => {
        wall = at
        return jobs.submit("text-to-image", on, text(prompt), { width: 512, height: 512 })
      })
    return { rep, createAt }
  }

  it.effect("finds the prediction created since `since` with the same model and input, among others", () =>
    Effect.gen(function* () {
      const { rep, createAt } = withClock()
      const { jobs } = yield* setup(rep)
      yield* createAt(jobs, since - 5 * 60_000, "a red kite") // the same job, before the window
      yield* createAt(jobs, since + 1_000, "a blue kite")
      const ours = yield* createAt(jobs, since + 2_000, "a red kite")
      yield* createAt(jobs, since + 3_000, "a red kite", "emu/pixels")
      yield* createAt(jobs, since + 4_000, "a green kite")
      const creates = rep.count("create")

      const found = yield* jobs.find!({ capability: "text-to-image", model, input: text("a red kite"), options: { height: 512, width: 512 }, since: new Date(since) })
      expect(Option.isSome(found)).toBe(true)
      const ticket = Option.getOrThrow(found)
      expect(ticket).toMatchObject({ provider: "replicate", model, capability: "text-to-image", requestId: ours.requestId, statusUrl: ours.statusUrl, cancelUrl: ours.cancelUrl })
      expect(ticket.submittedAt.getTime()).toBe(since + 2_000)
      expect(rep.count("create")).toBe(creates)
      const list = rep.requests.find((request) => request.url.startsWith("/predictions?"))!
      expect(new URLSearchParams(list.url.split("?")[1]).get("created_after")).toBe(new Date(since - 60_000).toISOString())

      // The found ticket follows the prediction like any other.
      const { exit } = yield* runWithEvents(jobs.resume(ticket))
      expect(valueOf(exit)).toBeInstanceOf(Image)
    }))

  it.effect("none when no prediction has that input, or only one created before `since`", () =>
    Effect.gen(function* () {
      const { rep, createAt } = withClock()
      const { jobs } = yield* setup(rep)
      yield* createAt(jobs, since - 30_000, "a red kite")
      yield* createAt(jobs, since + 1_000, "a blue kite")
      const search = { capability: "text-to-image" as const, model, options: { width: 512, height: 512 }, since: new Date(since) }
      expect(Option.isNone(yield* jobs.find!({ ...search, input: text("a red kite") }))).toBe(true)
      expect(Option.isNone(yield* jobs.find!({ ...search, input: text("a yellow kite") }))).toBe(true)
      // Other options are another input.
      yield* createAt(jobs, since + 2_000, "a red kite")
      expect(Option.isNone(yield* jobs.find!({ ...search, input: text("a red kite"), options: { width: 512, height: 512, seed: 1 } }))).toBe(true)
      expect(Option.isSome(yield* jobs.find!({ ...search, input: text("a red kite") }))).toBe(true)
    }))

  it.effect("pages by `next`: the match on the third page of two is found after three reads", () =>
    Effect.gen(function* () {
      const { rep, createAt } = withClock({ pageSize: 2 })
      const { jobs } = yield* setup(rep)
      const ours = yield* createAt(jobs, since + 1_000, "a red kite")
      for (let i = 2; i <= 5; i++) yield* createAt(jobs, since + i * 1_000, `kite ${i}`)
      const found = yield* jobs.find!({ capability: "text-to-image", model, input: text("a red kite"), options: { width: 512, height: 512 }, since: new Date(since) })
      expect(Option.getOrThrow(found).requestId).toBe(ours.requestId)
      expect(rep.count("list")).toBe(3)
      // The later pages were asked by the cursor of the page before.
      expect(rep.requests.filter((request) => request.url.startsWith("/predictions?")).map((request) => new URLSearchParams(request.url.split("?")[1]).get("cursor"))).toEqual([
        null,
        "2",
        "4"
      ])
    }))

  it.effect("a listing that ignores created_after is read no further than the predictions older than since less 60 s", () =>
    Effect.gen(function* () {
      const { rep, createAt } = withClock({ pageSize: 2, honourCreatedAfter: false })
      const { jobs } = yield* setup(rep)
      for (let i = 1; i <= 2; i++) yield* createAt(jobs, since - 10 * 60_000 - i * 1_000, `old ${i}`)
      yield* createAt(jobs, since - 2 * 60_000, "a red kite")
      yield* createAt(jobs, since - 30_000, "skewed")
      for (let i = 1; i <= 2; i++) yield* createAt(jobs, since + i * 1_000, `new ${i}`)
      const found = yield* jobs.find!({ capability: "text-to-image", model, input: text("a red kite"), options: { width: 512, height: 512 }, since: new Date(since) })
      expect(Option.isNone(found)).toBe(true)
      // Page 1: the two new ones; page 2: "skewed" (within the allowance) and the red kite 2 min before since: the end.
      expect(rep.count("list")).toBe(2)
    }))
})
