/**
 * Durable generations in one process on the embedded engine (a real SQLite file, Effect's cluster
 * engine), against the fal emulator in memory: a generation runs to a delivered file with its
 * events recorded; a key names one generation (same request: same result, one submit; another
 * request: refused); a resume in the submit window follows the policy; a cancel and a deadline
 * each cancel the remote job exactly once.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { BytesSource, Image, text } from "../../src/domain/Asset.js"
import { Durable, Generation } from "../../src/durable/index.js"
import * as GenerationStore from "../../src/durable/GenerationStore.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import * as Replicate from "../../src/providers/replicate/index.js"
import { clientLayer, makeFal } from "../emulators/falai.js"
import { makeReplicate } from "../emulators/replicate.js"
import { tinyPng } from "../emulators/Samples.js"
import { env } from "../providers/falai/drive.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-durable-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

let n = 0
/** A fresh state folder, the fal provider and its job client on `fal`, the embedded engine over them. */
const setup = (fal: ReturnType<typeof makeFal>, options: Durable.DurableOptions = {}) => {
  const dir = path.join(root, `state-${++n}`)
  const made = FalAi.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("5 millis") }).pipe(
    Effect.provide(clientLayer(fal)),
    Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
  )
  const layer = Layer.unwrapEffect(
    Effect.map(made, ({ jobs, provider }) =>
      Durable.layerSqlite({ stateDir: dir, jobClients: { falai: jobs }, watchEvery: "20 millis", ...options }).pipe(
        Layer.provide(ProviderRegistry.fromProviders([provider])),
        Layer.provide(clientLayer(fal))
      )
    )
  )
  return { dir, layer }
}

const image = (prompt: string, extra: Partial<Durable.StartRequest> = {}): Durable.StartRequest => ({
  capability: "text-to-image",
  input: text(prompt),
  provider: "falai",
  model: "fal-ai/flux/schnell",
  ...extra
})

describe("Durable generations (SQLite engine, fal emulator)", () => {
  it.live("runs a generation to a delivered file, its events recorded", () => {
    const fal = makeFal()
    const { dir, layer } = setup(fal)
    const out = path.join(dir, "out", "fox.png")
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const result = yield* generations.run(image("a fox", { key: "fox-1", deliverTo: out }))
      expect(result.output).toMatchObject({ provider: "falai", model: "fal-ai/flux/schnell", requestId: "req-1", kind: "image", mimeType: "image/png", bytes: 4096 })
      expect(result.deliveredTo).toBe(out)
      expect(fs.statSync(out).size).toBe(4096)
      expect(fs.statSync(result.output.path!).size).toBe(4096)
      expect(fal.count("submit")).toBe(1)
      const row = Option.getOrThrow(yield* generations.status("fox-1"))
      expect(row).toMatchObject({ status: "succeeded", provider: "falai", requestId: "req-1" })
      expect(row.submittedAt! - row.intentAt!).toBeGreaterThanOrEqual(0)
      const events = yield* Stream.runCollect(generations.events("fox-1"))
      const tags = [...events].map((e) => (e.event._tag === "Status" ? `Status:${String(e.event.status)}` : e.event._tag))
      expect(tags[0]).toBe("Status:routed")
      expect(tags).toContain("Submitted")
      expect(tags).toContain("Completed")
      expect(tags.at(-1)).toBe("Status:succeeded")
      // Nothing left half-written next to the delivered file.
      expect(fs.readdirSync(path.dirname(out))).toEqual(["fox.png"])
    }).pipe(Effect.provide(layer), Effect.scoped)
  }, 30_000)

  it.live("an image given as bytes is kept as a file of the state folder and upscaled (image-upscaling)", () => {
    const fal = makeFal()
    const { dir, layer } = setup(fal)
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const picture = new Image({ source: new BytesSource({ bytes: new Uint8Array(tinyPng) }), mimeType: "image/png" })
      const result = yield* generations.run({ capability: "image-upscaling", input: picture, options: { scale: 2 }, provider: "falai", model: "fal-ai/esrgan", key: "up-1" })
      expect(result.output).toMatchObject({ provider: "falai", model: "fal-ai/esrgan", kind: "image", mimeType: "image/png", bytes: 4096 })
      const kept = fs.readdirSync(path.join(dir, "inputs"))
      expect(kept).toHaveLength(1)
      expect(fs.readFileSync(path.join(dir, "inputs", kept[0]!)).equals(tinyPng)).toBe(true)
      const submitted = JSON.parse(fal.requests.find((request) => request.method === "POST" && request.url.startsWith("/fal-ai/esrgan"))!.body)
      expect(submitted).toEqual({ image_url: `data:image/png;base64,${tinyPng.toString("base64")}`, scale: 2 })
    }).pipe(Effect.provide(layer), Effect.scoped)
  }, 30_000)

  it.live("a key names one generation: the same request again is the same result with one submit; another request is refused", () => {
    const fal = makeFal()
    const { layer } = setup(fal)
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const first = yield* generations.run(image("a heron", { key: "heron" }))
      const again = yield* generations.run(image("a heron", { key: "heron" }))
      expect(again.output).toEqual(first.output)
      expect(fal.count("submit")).toBe(1)
      const other = yield* Effect.exit(generations.start(image("a crane", { key: "heron" })))
      expect(Exit.isFailure(other) && JSON.stringify(other.cause)).toContain("was used for another request")
      // Without a key, two calls are two generations.
      yield* generations.run(image("a heron"))
      yield* generations.run(image("a heron"))
      expect(fal.count("submit")).toBe(3)
    }).pipe(Effect.provide(layer), Effect.scoped)
  }, 30_000)

  it.live("resumed in the submit window (intent journaled, no ticket): SubmitOutcomeUnknown under 'fail', one new submit under 'resubmit'", () => {
    const fal = makeFal()
    const failing = setup(fal)
    const crashed = (generations: Durable.GenerationsService, store: GenerationStore.GenerationStoreService, key: string) =>
      Effect.gen(function* () {
        // What a process that died right after sending the submit leaves: the row with its intent.
        const request = { id: key, capability: "text-to-image" as const, input: text("an owl"), provider: "falai", model: "fal-ai/flux/schnell" }
        const executionId = yield* Generation.Generation.executionId(request)
        yield* store.create({ id: key, executionId, capability: "text-to-image", request: JSON.stringify(Schema.encodeSync(Generation.GenerationRequest)(request)) })
        yield* store.setAttempt(key, 0, "falai", "fal-ai/flux/schnell")
        yield* store.recordIntent(key, 0, Date.now() - 1000)
        return yield* Effect.exit(generations.run(image("an owl", { key })))
      })
    const underFail = Effect.gen(function* () {
      const exit = yield* crashed(yield* Durable.Generations, yield* GenerationStore.GenerationStore, "owl-1")
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("SubmitOutcomeUnknown")
      expect(fal.count("submit")).toBe(0)
      const row = Option.getOrThrow(yield* (yield* Durable.Generations).status("owl-1"))
      expect(row.status).toBe("failed")
    }).pipe(Effect.provide(failing.layer), Effect.scoped)
    const resubmitting = setup(fal, { policy: "resubmit" })
    const underResubmit = Effect.gen(function* () {
      const exit = yield* crashed(yield* Durable.Generations, yield* GenerationStore.GenerationStore, "owl-2")
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(fal.count("submit")).toBe(1)
    }).pipe(Effect.provide(resubmitting.layer), Effect.scoped)
    return Effect.zipRight(underFail, underResubmit)
  }, 30_000)

  it.live("a cancel from another caller stops the running job: one cancel at the provider, the generation Cancelled", () => {
    const fal = makeFal({ queueSteps: 100_000 })
    const { layer } = setup(fal)
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const id = yield* generations.start(image("a slow wolf", { key: "wolf" }))
      yield* Effect.repeat(generations.status(id), { schedule: Schedule.spaced("20 millis"), until: (row) => Option.exists(row, (r) => r.ticket !== undefined) })
      expect(yield* generations.cancel(id)).toBe(true)
      const exit = yield* Effect.exit(generations.await(id))
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("Cancelled")
      expect(fal.count("cancel")).toBe(1)
      expect(Option.getOrThrow(yield* generations.status(id)).status).toBe("cancelled")
      // A second cancel changes nothing and sends nothing.
      expect(yield* generations.cancel(id)).toBe(false)
      expect(fal.count("cancel")).toBe(1)
    }).pipe(Effect.provide(layer), Effect.scoped)
  }, 30_000)

  it.live("a deadline passed while the job runs: Timeout, the remote job cancelled once", () => {
    const fal = makeFal({ queueSteps: 100_000 })
    const { layer } = setup(fal)
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const exit = yield* Effect.exit(generations.run(image("a late bat", { key: "bat", timeout: "600 millis" })))
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("Timeout")
      expect(fal.count("submit")).toBe(1)
      // fal was told the budget with the submit (its own request timeout), in whole seconds.
      const submit = fal.requests.find((request) => request.method === "POST")!
      expect(submit.headers["x-fal-request-timeout"]).toBe("1")
      expect(fal.count("cancel")).toBe(1)
      expect(Option.getOrThrow(yield* generations.status("bat")).status).toBe("failed")
    }).pipe(Effect.provide(layer), Effect.scoped)
  }, 30_000)

  it.live("resumed in the submit window on Replicate: the prediction is found by its model and input, not created again", () => {
    const replicate = makeReplicate()
    const dir = path.join(root, `state-${++n}`)
    const made = Replicate.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("5 millis") }).pipe(
      Effect.provide(clientLayer(replicate)),
      Effect.withConfigProvider(env({ REPLICATE_API_TOKEN: replicate.settings.token, REPLICATE_BASE_URL: replicate.baseUrl }))
    )
    return Effect.gen(function* () {
      const { jobs, provider } = yield* made
      const layer = Durable.layerSqlite({ stateDir: dir, jobClients: { replicate: jobs }, watchEvery: "20 millis" }).pipe(
        Layer.provide(ProviderRegistry.fromProviders([provider])),
        Layer.provide(clientLayer(replicate))
      )
      yield* Effect.gen(function* () {
        const generations = yield* Durable.Generations
        const store = yield* GenerationStore.GenerationStore
        const model = "black-forest-labs/flux-schnell"
        const request = { id: "kite", capability: "text-to-image" as const, input: text("a red kite"), provider: "replicate", model }
        const executionId = yield* Generation.Generation.executionId(request)
        yield* store.create({ id: "kite", executionId, capability: "text-to-image", request: JSON.stringify(Schema.encodeSync(Generation.GenerationRequest)(request)) })
        yield* store.setAttempt("kite", 0, "replicate", model)
        yield* store.recordIntent("kite", 0, Date.now() - 1000)
        // The submit that was sent before the crash (and another prediction, of another input).
        const sent = yield* jobs.submit("text-to-image", model, text("a red kite"), undefined)
        yield* jobs.submit("text-to-image", model, text("a blue kite"), undefined)
        expect(replicate.count("create")).toBe(2)
        const result = yield* generations.run({ capability: "text-to-image", input: text("a red kite"), provider: "replicate", model, key: "kite" })
        expect(result.output.requestId).toBe(sent.requestId)
        expect(replicate.count("create")).toBe(2)
        const events = yield* Stream.runCollect(generations.events("kite"))
        expect([...events].some((e) => e.event._tag === "Status" && e.event.status === "reconciled")).toBe(true)
      }).pipe(Effect.provide(layer), Effect.scoped)
    })
  }, 30_000)

  it.live("a notification (a webhook said the job changed) makes the run poll at once instead of at its next interval", () => {
    const fal = makeFal({ queueSteps: 1, runSteps: 0 })
    const dir = path.join(root, `state-${++n}`)
    // Polls an hour apart: without the notification this job would wait an hour for its result.
    const made = FalAi.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("1 hour") }).pipe(
      Effect.provide(clientLayer(fal)),
      Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
    )
    return Effect.gen(function* () {
      const { jobs, provider } = yield* made
      const layer = Durable.layerSqlite({ stateDir: dir, jobClients: { falai: jobs }, watchEvery: "20 millis" }).pipe(
        Layer.provide(ProviderRegistry.fromProviders([provider])),
        Layer.provide(clientLayer(fal))
      )
      yield* Effect.gen(function* () {
        const generations = yield* Durable.Generations
        const id = yield* generations.start(image("a quick finch", { key: "finch" }))
        yield* Effect.repeat(Effect.sync(() => fal.count("status")), { schedule: Schedule.spaced("10 millis"), until: (polls) => polls >= 1 })
        yield* Effect.sleep("200 millis")
        expect(fal.count("status")).toBe(1)
        expect(yield* generations.notify(id)).toBe(true)
        const result = yield* generations.await(id).pipe(Effect.timeout("10 seconds"))
        expect(result.output.bytes).toBe(4096)
        expect(fal.count("status")).toBe(2)
        expect(yield* generations.notify(id)).toBe(false)
      }).pipe(Effect.provide(layer), Effect.scoped)
    })
  }, 30_000)
})
