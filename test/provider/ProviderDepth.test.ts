/**
 * What every provider gets from `Provider.make` beyond its own calls, against the fal and
 * Replicate emulators on 127.0.0.1 (the library's HTTP client) under TestClock:
 *
 * - fal and Replicate discover through the catalog: a forced refresh and an expired entry ask the
 *   emulator again; without a shared catalog they keep one of their own.
 * - A failed fal listing serves the curated table with health `degraded` naming the failure, is
 *   not cached as fresh (asked again after the back-off, not before), and a listing that answers
 *   makes the provider healthy again.
 * - The router puts a degraded provider after a healthy one of the same price (and only then).
 * - `queuedJobs`/`activeJobs` follow a job queued -> running -> done, and a cancelled or failed
 *   job leaves them at 0.
 * - `getFreeModels` through the `MediaProvider` tag; a capability model is built once per
 *   (capability, id) and again after the model list changed.
 */
import { describe, expect, it } from "@effect/vitest"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Image, text } from "../../src/domain/Asset.js"
import { NetworkError, type MediaError } from "../../src/domain/Errors.js"
import { MediaProvider } from "../../src/domain/MediaProvider.js"
import type { ProviderModel } from "../../src/domain/Model.js"
import * as Progress from "../../src/domain/Progress.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import * as Catalog from "../../src/provider/Catalog.js"
import * as Provider from "../../src/provider/Provider.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as Replicate from "../../src/providers/replicate/index.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { type Candidate, route } from "../../src/registry/Router.js"
import { jsonReply, makeFal, serve } from "../emulators/falai.js"
import { makeReplicate } from "../emulators/replicate.js"
import { drive, driveUntil, env, realPause, valueOf } from "../providers/falai/drive.js"
import { model } from "../support/TestProviders.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-depth-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

// A catalog living in the test's scope (a layer provided to `make` alone would close with it).
const memoryCatalog = Catalog.make({ ttl: "1 hour" }).pipe(Effect.provide(KeyValueStore.layerMemory))

const falEnv = (fal: ReturnType<typeof makeFal>) =>
  env({
    FALAI_API_KEY: fal.settings.key,
    FALAI_BASE_URL: fal.baseUrl,
    FALAI_PLATFORM_URL: fal.baseUrl,
    // A failure is one request, not retries waiting on the test clock.
    FALAI_RETRIES: "0",
    AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1"
  })

// The library's HTTP client, living in the test's scope like the catalog.
const http = Layer.build(UndiciHttpClient.layer)

const falProvider = (fal: ReturnType<typeof makeFal>, catalog?: Catalog.CatalogService) =>
  Effect.flatMap(http, (client) => {
    const made = FalAi.makeWithJobs({ downloadDir: dir }).pipe(Effect.provide(client), Effect.withConfigProvider(falEnv(fal)))
    return catalog === undefined ? made : Effect.provideService(made, Catalog.Catalog, catalog)
  })

/** Serve a fal emulator on 127.0.0.1 and run `body` with the environment pointing at it. */
const withFal = <A, E, R>(fal: ReturnType<typeof makeFal>, body: (fal: ReturnType<typeof makeFal>) => Effect.Effect<A, E, R>) =>
  Effect.flatMap(serve(fal), (served) => Effect.withConfigProvider(body(served), falEnv(served)))

const listings = (fal: ReturnType<typeof makeFal>) => fal.requests.filter((request) => request.url.split("?")[0] === "/models").length
const ids = (models: ReadonlyArray<ProviderModel>) => models.map((m) => m.id)

describe("fal and Replicate discover through the catalog (127.0.0.1)", () => {
  it.scoped("fal: cached within the TTL; a forced refresh and an expired entry ask the listing again", () =>
    withFal(makeFal(), (fal) => Effect.gen(function* () {
      const catalog = yield* memoryCatalog
      const { provider } = yield* falProvider(fal, catalog)
      expect(ids(yield* provider.models)).toContain("fal-ai/emu/listed-video")
      yield* provider.models
      expect(listings(fal)).toBe(1)
      expect(Option.isSome(yield* catalog.refresh("falai"))).toBe(true)
      expect(listings(fal)).toBe(2)
      // Expired: served at once, refreshed in the background.
      yield* TestClock.adjust("2 hours")
      yield* provider.models
      yield* driveUntil(() => listings(fal) === 3, "1 millis", 200)
      expect(listings(fal)).toBe(3)
    })))

  it.scoped("fal without a shared catalog keeps one of its own: the listing is asked once", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      const { provider } = yield* falProvider(fal)
      yield* provider.models
      yield* provider.getModelsForCapability("text-to-video")
      expect(listings(fal)).toBe(1)
    }))

  it.scoped("Replicate: a forced refresh reads the collections again", () =>
    Effect.gen(function* () {
      const rep = yield* serve(makeReplicate())
      const catalog = yield* memoryCatalog
      const { provider } = yield* Replicate.makeWithJobs({ downloadDir: dir }).pipe(
        Effect.provide(yield* http),
        Effect.provideService(Catalog.Catalog, catalog),
        Effect.withConfigProvider(env({ REPLICATE_API_TOKEN: rep.settings.token, REPLICATE_BASE_URL: rep.baseUrl, REPLICATE_RETRIES: "0" }))
      )
      expect(ids(yield* provider.models)).toContain("emu/pixels")
      yield* provider.models
      const once = rep.count("collection")
      expect(once).toBeGreaterThan(0)
      yield* catalog.refresh("replicate")
      expect(rep.count("collection")).toBe(2 * once)
    }))

  it.scoped("a failed fal listing serves the curated table, degraded, not as fresh; after the back-off it is asked again", () =>
    Effect.gen(function* () {
      let failing = true
      const fal = yield* serve(
        makeFal({ intercept: (_request, kind) => (failing && kind === "models" ? jsonReply(503, { detail: "listing down" }) : undefined) })
      )
      const catalog = yield* memoryCatalog
      const { provider } = yield* falProvider(fal, catalog)
      const served = ids(yield* provider.models)
      expect(served).toContain("fal-ai/flux/schnell")
      expect(served).not.toContain("fal-ai/emu/listed-video")
      const health = yield* provider.getHealth
      expect(health.status).toBe("degraded")
      expect(health.lastError).toMatch(/\(serving the built-in model list\)/)
      expect(yield* provider.isDegraded).toBe(true)
      // Nothing stored as fresh, and within the back-off the listing is not asked again.
      expect(Option.isNone(yield* catalog.entry("falai", fal.baseUrl))).toBe(true)
      yield* provider.models
      expect(listings(fal)).toBe(1)
      // Past the back-off (and past the 60 s in which any error reads degraded): asked again, still failing, still degraded.
      yield* TestClock.adjust("61 seconds")
      yield* provider.models
      expect(listings(fal)).toBe(2)
      yield* TestClock.adjust("61 seconds")
      expect((yield* provider.getHealth).status).toBe("degraded")
      // The listing answers: the discovered list, healthy again.
      failing = false
      expect(ids(yield* provider.models)).toContain("fal-ai/emu/listed-video")
      expect(listings(fal)).toBe(3)
      const healed = yield* provider.getHealth
      expect(healed.status).toBe("healthy")
      expect(yield* provider.isDegraded).toBe(false)
      // A forced refresh failing while the entry is fresh: degraded, the entry served, and asked
      // again (in the background) on the first read after the back-off, not at the TTL's end.
      failing = true
      expect((yield* Effect.either(catalog.refresh("falai")))._tag).toBe("Left")
      expect(listings(fal)).toBe(4)
      expect(ids(yield* provider.models)).toContain("fal-ai/emu/listed-video")
      expect((yield* provider.getHealth).status).toBe("degraded")
      expect(listings(fal)).toBe(4)
      failing = false
      yield* TestClock.adjust("61 seconds")
      yield* provider.models
      // The background refresh lands when its answer is read: wait for that (bounded), not for a time.
      for (let i = 0; i < 200 && (yield* provider.isDegraded); i++) yield* realPause()
      expect(listings(fal)).toBe(5)
      expect((yield* provider.getHealth).status).toBe("healthy")
    }))
})

describe("routing and health counts", () => {
  const imageProvider = (id: string, discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>, fallback?: ReadonlyArray<ProviderModel>) =>
    Provider.make({
      id,
      name: id,
      type: "remote",
      configured: true,
      baseUrl: `http://127.0.0.1:9/${id}`,
      discover,
      ...(fallback !== undefined ? { fallbackModels: fallback } : {}),
      transforms: { "text-to-image": () => Effect.fail(new NetworkError({ provider: id, detail: "not used" })) }
    })

  it.scoped("a degraded provider is routed after a healthy one of the same price, and back before it once healthy", () =>
    Effect.gen(function* () {
      const catalog = yield* memoryCatalog
      const listed = (provider: string) => [{ ...model(`${provider}-img`, ["text-to-image"], 0.01), provider }]
      const broken = yield* Ref.make(true)
      const first = yield* Effect.provideService(
        imageProvider(
          "first",
          Effect.flatMap(Ref.get(broken), (down) =>
            down ? Effect.fail(new NetworkError({ provider: "first", detail: "connection refused" })) : Effect.succeed(listed("first"))
          ),
          listed("first")
        ),
        Catalog.Catalog,
        catalog
      )
      const second = yield* Effect.provideService(imageProvider("second", Effect.succeed(listed("second"))), Catalog.Catalog, catalog)
      const registry = yield* ProviderRegistry.make([first, second])
      const order = Effect.map(registry.candidates("text-to-image"), (list) => list.map((choice) => choice.provider.id))
      // `first` is registered first, but its listing failed: the healthy one goes first.
      expect(yield* order).toEqual(["second", "first"])
      expect((yield* first.getHealth).status).toBe("degraded")
      // The listing answers again (after the back-off): registration order again.
      yield* Ref.set(broken, false)
      yield* TestClock.adjust("61 seconds")
      expect(yield* order).toEqual(["first", "second"])
    }))

  it("route: health breaks a tie only; a cheaper degraded provider still goes before a dearer healthy one", () => {
    const candidate = (providerId: string, rank: number, price: number, degraded: boolean): Candidate => ({
      providerId,
      providerType: "remote",
      available: true,
      degraded,
      model: { ...model(`${providerId}-m`, ["text-to-image"], price), provider: providerId },
      rank
    })
    expect(route([candidate("a", 0, 0.01, true), candidate("b", 1, 0.01, false)]).map((c) => c.providerId)).toEqual(["b", "a"])
    expect(route([candidate("a", 0, 0.01, true), candidate("b", 1, 0.02, false)]).map((c) => c.providerId)).toEqual(["a", "b"])
  })

  it.scoped("queuedJobs/activeJobs follow a fal job: queued -> running -> done; a cancelled and a failed job return to 0", () =>
    withFal(makeFal({ queueSteps: 2, runSteps: 2 }), (fal) => Effect.gen(function* () {
      const { provider } = yield* falProvider(fal)
      const counts = Effect.map(provider.getHealth, (h) => ({ queued: h.queuedJobs, active: h.activeJobs }))
      const seen: Array<{ readonly event: string; readonly queued: number; readonly active: number }> = []
      const image = yield* provider.textToImage("fal-ai/flux/schnell")
      const fiber = yield* Effect.fork(
        Progress.listen(image.transform(text("a lighthouse")), (event) =>
          Effect.flatMap(counts, (c) => Effect.sync(() => void seen.push({ event: event._tag, ...c })))
        )
      )
      expect(valueOf(yield* drive(fiber))).toBeInstanceOf(Image)
      const at = (tag: string) => seen.find((entry) => entry.event === tag)
      expect(at("Submitted")).toMatchObject({ queued: 1, active: 0 })
      expect(at("Queued")).toMatchObject({ queued: 1, active: 0 })
      expect(at("Running")).toMatchObject({ queued: 0, active: 1 })
      expect(at("Completed")).toMatchObject({ queued: 0, active: 1 })
      expect(yield* counts).toEqual({ queued: 0, active: 0 })

      // Interrupted while queued at fal: cancelled, and counted no more.
      const waiting = yield* Effect.fork(image.transform(text("never mind")))
      yield* driveUntil(() => fal.count("status") > 5, "1 second", 50)
      expect(yield* counts).toEqual({ queued: 1, active: 0 })
      yield* Fiber.interrupt(waiting)
      expect(fal.count("cancel")).toBe(1)
      expect(yield* counts).toEqual({ queued: 0, active: 0 })
    })))

  it.scoped("a job fal fails leaves the counts at 0", () =>
    withFal(makeFal({ failWith: "CUDA out of memory" }), (fal) => Effect.gen(function* () {
      const { provider } = yield* falProvider(fal)
      const image = yield* provider.textToImage("fal-ai/flux/schnell")
      const exit = yield* drive(yield* Effect.fork(image.transform(text("x"))))
      expect(Exit.isFailure(exit)).toBe(true)
      const health = yield* provider.getHealth
      expect(health.lastError).toMatch(/CUDA out of memory/)
      expect({ queued: health.queuedJobs, active: health.activeJobs }).toEqual({ queued: 0, active: 0 })
    })))
})

describe("free models and model instances", () => {
  it.effect("getFreeModels through the MediaProvider tag: priced at 0 or flagged free", () =>
    Effect.gen(function* () {
      const models: ReadonlyArray<ProviderModel> = [
        { ...model("flagged", ["text-to-text"], 0), provider: "p", free: true },
        { ...model("zero", ["text-to-text"]), provider: "p", free: false, pricing: [{ usd: 0, unit: "token", applies: "input" }] },
        { ...model("paid", ["text-to-text"], 0.5), provider: "p" },
        { ...model("unpriced", ["text-to-text"]), provider: "p", free: false }
      ]
      const provider = yield* Provider.make({ id: "p", name: "P", type: "remote", configured: true, discover: Effect.succeed(models), transforms: {} })
      const free = yield* Effect.flatMap(MediaProvider, (p) => p.getFreeModels).pipe(Effect.provideService(MediaProvider, provider))
      expect(ids(free)).toEqual(["flagged", "zero"])
    }))

  it.scoped("a capability model is built once per (capability, id), and again after the model list changed", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal())
      const catalog = yield* memoryCatalog
      const { provider } = yield* falProvider(fal, catalog)
      yield* provider.models
      const a = yield* provider.textToImage("fal-ai/flux/schnell")
      expect(yield* provider.model("text-to-image", "fal-ai/flux/schnell")).toBe(a)
      // Another capability with the same id is another model.
      expect(yield* provider.model("image-to-image", "fal-ai/flux/schnell")).not.toBe(a)
      yield* catalog.refresh("falai")
      yield* provider.models
      yield* realPause()
      expect(yield* provider.textToImage("fal-ai/flux/schnell")).not.toBe(a)
    }))
})
