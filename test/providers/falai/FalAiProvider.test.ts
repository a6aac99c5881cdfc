/**
 * The fal.ai provider against the fal emulator, in memory under TestClock: a queued job moves
 * through its states with progress events in order; a failed job is GenerationFailed with fal's
 * message; interruption sends exactly one cancel and stops polling; 429s on status polls back off
 * without a second submit; a submit that may have been accepted is never repeated; a ticket
 * resumes in a fresh provider without submitting; a job over its budget is cancelled.
 *
 * Deadlines: a submit's deadline is sent as `X-Fal-Request-Timeout` (the seconds left by the
 * TestClock, rounded up), a deadline already passed is Timeout with nothing sent, and a job the
 * emulator ended because no runner started it in time (by its own clock) reads back as
 * GenerationFailed with fal's `Request timed out`; a job that had started is not ended.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Audio, FileSource, Image, text } from "../../../src/domain/Asset.js"
import * as FalAi from "../../../src/providers/falai/index.js"
import * as Jobs from "../../../src/jobs/index.js"
import { clientLayer, jsonReply, makeFal } from "../../emulators/falai.js"
import { drive, driveUntil, env, errorOf, realPause, runWithEvents, valueOf } from "./drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-falai-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const setup = (emulator: ReturnType<typeof makeFal>, options: FalAi.FalAiOptions = {}) =>
  FalAi.makeWithJobs({ downloadDir: dir, ...options }).pipe(
    Effect.provide(clientLayer(emulator)),
    Effect.withConfigProvider(env({ FALAI_API_KEY: emulator.settings.key, FALAI_BASE_URL: emulator.baseUrl }))
  )

describe("FalAi provider (emulator, TestClock)", () => {
  it.effect("runs a queued job through its states, with progress events in order, and downloads the image", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToImage("fal-ai/flux/schnell")
      const { events, exit } = yield* runWithEvents(model.transform(text("a lighthouse at dusk"), { width: 64, height: 64, seed: 7 }))
      const image = valueOf(exit)
      expect(image).toBeInstanceOf(Image)
      expect(image.mimeType).toBe("image/png")
      expect(image.source).toBeInstanceOf(FileSource)
      const file = (image.source as FileSource).path
      expect(fs.statSync(file).size).toBe(4096)
      expect(image.origin).toMatchObject({ provider: "falai", model: "fal-ai/flux/schnell", jobId: "req-1" })
      expect(events.map((event) => event._tag)).toEqual([
        "Submitted",
        "Queued",
        "Queued",
        "Running",
        "Running",
        "Completed",
        "Downloading",
        "Downloading"
      ])
      expect(events[1]).toMatchObject({ _tag: "Queued", position: 1 })
      expect(events[2]).toMatchObject({ _tag: "Queued", position: 0 })
      expect(events[3]).toMatchObject({ _tag: "Running", logs: ["step 1/2 50%|###"], percent: 50 })
      expect(events[4]).toMatchObject({ _tag: "Running", logs: ["step 2/2 100%|###"], percent: 100 })
      expect(events.at(-1)).toMatchObject({ _tag: "Downloading", received: 4096, total: 4096 })
      // The submit carried the mapped input; every status poll asked for logs.
      const submit = fal.requests.find((request) => request.method === "POST")!
      expect(JSON.parse(submit.body)).toEqual({ prompt: "a lighthouse at dusk", image_size: { width: 64, height: 64 }, seed: 7 })
      expect(submit.headers["authorization"]).toBe(`Key ${fal.settings.key}`)
      expect(fal.count("submit")).toBe(1)
      expect(fal.count("status")).toBe(5)
      expect(fal.requests.filter((r) => r.url.includes("/status")).every((r) => r.url.endsWith("?logs=1"))).toBe(true)
      // fal's status URL drops the model subpath: it was followed as given.
      expect(fal.requests.some((r) => r.url.startsWith("/fal-ai/flux/requests/req-1/status"))).toBe(true)
    }))

  it.effect("a job fal reports FAILED is GenerationFailed with fal's message", () =>
    Effect.gen(function* () {
      const fal = makeFal({ failWith: "CUDA out of memory on the runner" })
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToImage()
      const { exit } = yield* runWithEvents(model.transform(text("x")))
      const error = errorOf(exit)
      expect(error).toMatchObject({ _tag: "GenerationFailed", providerMessage: "CUDA out of memory on the runner", jobId: "req-1" })
      expect(error?.message).toContain("CUDA out of memory")
      expect(fal.count("result")).toBe(0)
      expect(fal.count("cancel")).toBe(0)
    }))

  it.effect("interruption cancels the fal job exactly once and stops polling", () =>
    Effect.gen(function* () {
      const fal = makeFal({ queueSteps: 50 })
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToImage()
      const fiber = yield* Effect.fork(model.transform(text("x")))
      yield* driveUntil(() => fal.count("status") >= 3)
      yield* Fiber.interrupt(fiber)
      expect(fal.count("cancel")).toBe(1)
      const polls = fal.count("status")
      yield* TestClock.adjust("5 minutes")
      yield* realPause(20)
      expect(fal.count("status")).toBe(polls)
      expect(fal.count("cancel")).toBe(1)
      expect(fal.count("submit")).toBe(1)
      const cancel = fal.requests.find((request) => request.url.endsWith("/cancel"))!
      expect(cancel.method).toBe("PUT")
      expect(cancel.url).toBe("/fal-ai/flux/requests/req-1/cancel")
    }))

  it.effect("an interruption that arrives during the submit still cancels the job once it is accepted", () =>
    Effect.gen(function* () {
      const fal = makeFal({ queueSteps: 50, submitDelayMs: 100 })
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToImage()
      const fiber = yield* Effect.fork(model.transform(text("x")))
      yield* realPause(20)
      expect(fal.count("submit")).toBe(1)
      yield* Fiber.interrupt(fiber)
      expect(fal.count("submit")).toBe(1)
      expect(fal.count("cancel")).toBe(1)
    }))

  it.effect("429 on status polls backs off (Retry-After) and never submits again", () =>
    Effect.gen(function* () {
      const fal = makeFal({ rateLimitPolls: 3, retryAfterSeconds: 4 })
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToImage()
      const started = yield* TestClock.currentTimeMillis
      const { exit } = yield* runWithEvents(model.transform(text("x")), "500 millis")
      expect(valueOf(exit)).toBeInstanceOf(Image)
      expect(fal.count("submit")).toBe(1)
      expect(fal.count("status")).toBe(5 + 3)
      const elapsed = (yield* TestClock.currentTimeMillis) - started
      expect(elapsed).toBeGreaterThanOrEqual(3 * 4000)
    }))

  it.effect("a submit answered 5xx is not repeated (it may have been accepted); a 429 submit is", () =>
    Effect.gen(function* () {
      const fal = makeFal({ submitReplies: [jsonReply(500, { detail: "internal error" })] })
      const { provider } = yield* setup(fal)
      const model = yield* provider.textToImage()
      const { exit } = yield* runWithEvents(model.transform(text("x")))
      expect(errorOf(exit)).toMatchObject({ _tag: "ProviderUnavailable", status: 500 })
      expect(fal.count("submit")).toBe(1)

      fal.settings.submitReplies.push(jsonReply(429, { detail: "slow down" }, { "retry-after": "1" }))
      const again = yield* runWithEvents(model.transform(text("x")))
      expect(valueOf(again.exit)).toBeInstanceOf(Image)
      expect(fal.count("submit")).toBe(1 + 2)
      expect(fal.jobs.size).toBe(1)
    }))

  it.effect("resume(ticket) in a fresh provider follows and downloads the job without submitting", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const first = yield* setup(fal)
      const ticket = yield* first.jobs.submit("text-to-video", "fal-ai/minimax/video-01", text("waves"), { durationSeconds: 6 })
      const json = Jobs.encodeTicket(ticket)
      expect(JSON.parse(json)).toMatchObject({ provider: "falai", model: "fal-ai/minimax/video-01", capability: "text-to-video", requestId: "req-1" })

      const second = yield* setup(fal)
      const restored = yield* Jobs.decodeTicket(json)
      expect(restored).toEqual(ticket)
      const { events, exit } = yield* runWithEvents(second.jobs.resume(restored))
      const video = valueOf(exit)
      expect(video._tag).toBe("Video")
      expect(fal.count("submit")).toBe(1)
      expect(events.map((event) => event._tag)).not.toContain("Submitted")
      expect(events.map((event) => event._tag)).toContain("Completed")
      expect(JSON.parse(fal.requests.find((r) => r.method === "POST")!.body)).toEqual({ prompt: "waves", duration: 6 })
    }))

  it.effect("a pool of keys of separate accounts: each job is followed, fetched and resumed with the key that submitted it", () =>
    Effect.gen(function* () {
      const fal = makeFal({ otherKeys: ["fal-key-b"], accountsPerKey: true })
      const pool = { FALAI_API_KEY: `${fal.settings.key},fal-key-b`, FALAI_BASE_URL: fal.baseUrl }
      const inPool = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withConfigProvider(effect, env(pool))
      const first = yield* inPool(FalAi.makeWithJobs({ downloadDir: dir }).pipe(Effect.provide(clientLayer(fal))))
      const model = yield* first.provider.textToImage("fal-ai/flux/schnell")
      // Round robin: the two submits go out with the two keys; every follow-up with its job's.
      for (const prompt of ["a", "b"]) expect(valueOf((yield* runWithEvents(model.transform(text(prompt)))).exit)).toBeInstanceOf(Image)
      // Every request about a job carries one key: the one its submit went out with.
      const keysOf = (id: string) => new Set(fal.requests.filter((r) => r.url.includes(`/requests/${id}`)).map((r) => r.headers["authorization"]))
      const submitKeys = fal.requests.filter((r) => r.method === "POST" && !r.url.includes("/requests/")).map((r) => r.headers["authorization"])
      expect(submitKeys).toHaveLength(2)
      expect(new Set(submitKeys)).toEqual(new Set([`Key ${fal.settings.key}`, "Key fal-key-b"]))
      expect(keysOf("req-1")).toEqual(new Set([submitKeys[0]]))
      expect(keysOf("req-2")).toEqual(new Set([submitKeys[1]]))

      // A ticket resumed in a fresh provider (a new process) goes on with the key it names, not the pool's next one.
      const ticket = yield* first.jobs.submit("text-to-image", "fal-ai/flux/schnell", text("c"))
      expect(ticket.key).toMatch(/^[0-9a-f]{16}$/)
      expect(Jobs.encodeTicket(ticket)).not.toContain("fal-key")
      const second = yield* inPool(FalAi.makeWithJobs({ downloadDir: dir }).pipe(Effect.provide(clientLayer(fal))))
      const resumed = yield* runWithEvents(second.jobs.resume(yield* Jobs.decodeTicket(Jobs.encodeTicket(ticket))))
      expect(valueOf(resumed.exit)).toBeInstanceOf(Image)
      expect(keysOf("req-3").size).toBe(1)
      expect(fal.count("submit")).toBe(3)
    }))

  it.effect("a job over its budget is cancelled and fails with Timeout", () =>
    Effect.gen(function* () {
      const fal = makeFal({ queueSteps: 1000 })
      const { provider } = yield* setup(fal, { jobTimeout: "20 seconds" })
      const model = yield* provider.textToImage()
      const { exit } = yield* runWithEvents(model.transform(text("x")))
      expect(errorOf(exit)).toMatchObject({ _tag: "Timeout" })
      expect(fal.count("cancel")).toBe(1)
    }))

  it.effect("speech-to-text sends the audio as a data URI and returns the transcript with segments", () =>
    Effect.gen(function* () {
      const fal = makeFal({ queueSteps: 0, runSteps: 1 })
      const { provider } = yield* setup(fal)
      const model = yield* provider.speechToText()
      const audio = new Audio({ source: new FileSource({ path: writeTemp("a.wav", "RIFF....WAVE") }), mimeType: "audio/wav" })
      const { exit } = yield* runWithEvents(model.transform(audio, { language: "en" }))
      const transcript = valueOf(exit)
      expect(transcript.text).toBe("hello from the emulator")
      expect(transcript.segments).toEqual([{ start: 0, end: 1.5, text: "hello from the emulator" }])
      const body = JSON.parse(fal.requests.find((r) => r.method === "POST")!.body)
      expect(body.audio_url).toBe(`data:audio/wav;base64,${Buffer.from("RIFF....WAVE").toString("base64")}`)
      expect(body.language).toBe("en")
    }))

  it.effect("discovery categorizes fal's listing by category and keeps the curated table", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { provider } = yield* setup(fal, { platformUrl: fal.baseUrl })
      const models = yield* provider.models
      const ids = models.map((model) => model.id)
      expect(ids).toContain("fal-ai/emu/listed-video")
      expect(ids).not.toContain("fal-ai/emu/trainer")
      expect(models.find((model) => model.id === "fal-ai/emu/listed-video")?.capabilities).toEqual(["text-to-video"])
      expect(models.find((model) => model.id === "fal-ai/flux/schnell")?.pricing[0]).toMatchObject({ unit: "megapixel" })
      expect((yield* provider.getModelsForCapability("speech-to-text")).map((model) => model.id)).toContain("fal-ai/whisper")
    }))

  it.effect("the queue and the model listing share one key ring: a key refused by one is not sent to the other", () =>
    Effect.gen(function* () {
      const withKeys = (fal: ReturnType<typeof makeFal>) =>
        FalAi.makeWithJobs({ downloadDir: dir, platformUrl: fal.baseUrl }).pipe(
          Effect.provide(clientLayer(fal)),
          Effect.withConfigProvider(env({ FALAI_API_KEY: "refused-key,good-key", FALAI_BASE_URL: fal.baseUrl }))
        )
      const refusals = (fal: ReturnType<typeof makeFal>) => fal.requests.filter((request) => request.headers["authorization"] === "Key refused-key")

      // Refused by the listing first: the queue's submit goes out with the good key only.
      const listedFirst = makeFal({ key: "good-key" })
      const first = yield* withKeys(listedFirst)
      expect((yield* first.provider.models).map((model) => model.id)).toContain("fal-ai/emu/listed-video")
      const image = yield* runWithEvents(Effect.flatMap(first.provider.textToImage("fal-ai/flux/schnell"), (model) => model.transform(text("x"))))
      expect(valueOf(image.exit)).toBeInstanceOf(Image)
      expect(refusals(listedFirst).map((request) => request.url.split("?")[0])).toEqual(["/models"])

      // Refused by the queue first: the listing asks with the good key only.
      const queuedFirst = makeFal({ key: "good-key" })
      const second = yield* withKeys(queuedFirst)
      yield* second.jobs.submit("text-to-image", "fal-ai/flux/schnell", text("x"))
      expect((yield* second.provider.models).map((model) => model.id)).toContain("fal-ai/emu/listed-video")
      expect(refusals(queuedFirst).map((request) => request.method)).toEqual(["POST"])
      expect(queuedFirst.count("submit")).toBe(2)
      expect(queuedFirst.jobs.size).toBe(1)
    }))

  it.effect("without a key the provider is not configured and calls fail with MissingConfig", () =>
    Effect.gen(function* () {
      const made = yield* FalAi.makeWithJobs().pipe(Effect.provide(clientLayer(makeFal())), Effect.withConfigProvider(env({})))
      expect(made.provider.configured).toBe(false)
      const exit = yield* Effect.exit(made.provider.textToImage())
      expect(Exit.isFailure(exit) && errorOf(exit)).toMatchObject({ _tag: "MissingConfig" })
    }))
})

describe("FalAi deadlines (X-Fal-Request-Timeout)", () => {
  it.effect("a deadline 90 s ahead is X-Fal-Request-Timeout: 90 (seconds, rounded up); none without a deadline", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { jobs } = yield* setup(fal)
      const now = yield* TestClock.currentTimeMillis
      yield* jobs.submit("text-to-image", "fal-ai/flux/schnell", text("a"), undefined, { deadline: new Date(now + 90_000) })
      yield* jobs.submit("text-to-image", "fal-ai/flux/schnell", text("b"), undefined, { deadline: new Date(now + 200) })
      yield* TestClock.adjust("10 seconds")
      yield* jobs.submit("text-to-image", "fal-ai/flux/schnell", text("c"), undefined, { deadline: new Date(now + 90_000) })
      yield* jobs.submit("text-to-image", "fal-ai/flux/schnell", text("d"))
      const submits = fal.requests.filter((request) => request.method === "POST")
      expect(submits.map((request) => request.headers["x-fal-request-timeout"])).toEqual(["90", "1", "80", undefined])
      expect([...fal.jobs.values()].map((job) => job.startBy !== undefined)).toEqual([true, true, true, false])
    }))

  it.effect("a deadline already passed is Timeout and nothing is sent", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { jobs } = yield* setup(fal)
      yield* TestClock.adjust("1 hour")
      const now = yield* TestClock.currentTimeMillis
      const error = yield* Effect.flip(jobs.submit("text-to-image", "fal-ai/flux/schnell", text("a"), undefined, { deadline: new Date(now - 1_000) }))
      expect(error).toMatchObject({ _tag: "Timeout", provider: "falai" })
      expect(fal.count("submit")).toBe(0)
      expect(fal.requests).toHaveLength(0)
    }))

  it.effect("a job no runner started before its deadline is ended by fal: GenerationFailed, Request timed out; its result is fal's 504", () =>
    Effect.gen(function* () {
      let wall = Date.parse("2026-03-01T12:00:00Z")
      const fal = makeFal({ queueSteps: 100, now: () => wall })
      const { jobs } = yield* setup(fal)
      const ticket = yield* jobs.submit("text-to-image", "fal-ai/flux/schnell", text("x"), undefined, {
        deadline: new Date((yield* TestClock.currentTimeMillis) + 30_000)
      })
      const fiber = yield* Effect.fork(jobs.resume(ticket))
      yield* driveUntil(() => fal.count("status") >= 3)
      wall += 31_000
      const error = errorOf(yield* drive(fiber))
      expect(error).toMatchObject({ _tag: "GenerationFailed", jobId: ticket.requestId, providerMessage: "Request timed out" })
      expect(fal.jobs.get(ticket.requestId)!.timedOut).toBe(true)
      expect(fal.count("result")).toBe(0)
      // What fal answers for its result, as documented for a request timeout.
      const result = fal.handle({ method: "GET", url: new URL(ticket.resultUrl).pathname, headers: { authorization: `Key ${fal.settings.key}` }, body: "" })
      expect(result).toMatchObject({
        status: 504,
        headers: { "x-fal-error-type": "request_timeout", "x-fal-request-timeout-type": "user" },
        body: JSON.stringify({ detail: "Request timed out", error_type: "request_timeout" })
      })
    }))

  it.effect("a job a runner started before its deadline runs to its end", () =>
    Effect.gen(function* () {
      let wall = Date.parse("2026-03-01T12:00:00Z")
      const fal = makeFal({ queueSteps: 1, runSteps: 3, now: () => wall })
      const { jobs } = yield* setup(fal)
      const ticket = yield* jobs.submit("text-to-image", "fal-ai/flux/schnell", text("x"), undefined, {
        deadline: new Date((yield* TestClock.currentTimeMillis) + 30_000)
      })
      const fiber = yield* Effect.fork(jobs.resume(ticket))
      yield* driveUntil(() => fal.count("status") >= 2)
      wall += 60_000
      expect(valueOf(yield* drive(fiber))).toBeInstanceOf(Image)
      expect(fal.jobs.get(ticket.requestId)!.timedOut).toBe(false)
    }))
})

function writeTemp(name: string, content: string): string {
  const file = path.join(dir, name)
  fs.writeFileSync(file, content)
  return file
}
