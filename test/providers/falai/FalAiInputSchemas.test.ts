/**
 * fal inputs checked against the endpoint's published schema before the submit: over a real
 * socket (the emulator on 127.0.0.1), an input the schema refuses is InvalidInput naming the
 * field and the rule, and no submit reaches the queue; a valid input, and a model that publishes
 * no schema (or whose schema cannot be fetched), are submitted. In memory under TestClock: the
 * schema is fetched once for many calls and again after the catalog's TTL.
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
import { text } from "../../../src/domain/Asset.js"
import type { ImageOptions } from "../../../src/domain/MediaProvider.js"
import type { JobClient } from "../../../src/jobs/JobClient.js"
import * as Catalog from "../../../src/provider/Catalog.js"
import * as FalAi from "../../../src/providers/falai/index.js"
import { clientLayer, jsonReply, makeFal, serve } from "../../emulators/falai.js"
import { env, errorOf } from "./drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-falai-schemas-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const seedream = "fal-ai/bytedance/seedream/v4/text-to-image"

const config = (fal: ReturnType<typeof makeFal>) => env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl })

/** The provider over a real socket to the emulator, served for the test's scope (the HTTP client is the test's: see `live`). */
const served = Effect.gen(function* () {
  const fal = makeFal()
  yield* serve(fal)
  const made = yield* FalAi.makeWithJobs({ downloadDir: dir }).pipe(Effect.withConfigProvider(config(fal)))
  return { fal, ...made }
})

// The undici client lives as long as the test: provided to the whole test, not to the provider's making.
const live = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provide(self, NodeHttpClient.layerUndici)

const submit = (jobs: JobClient, model: string, options: ImageOptions) =>
  Effect.exit(jobs.submit("text-to-image", model, text("a lighthouse at dusk"), options))

describe("fal input schemas (emulator on 127.0.0.1)", () => {
  it.scopedLive("refuses a width over the maximum, a missing required field and a value not in the enum, naming the field; nothing is submitted", () =>
    Effect.gen(function* () {
      const { fal, jobs } = yield* served
      const refused = [
        { options: { width: 20_000, height: 2048 }, issue: "image_size.width: must be <= 14142" },
        { options: { extra: { prompt: undefined } }, issue: "prompt: is required" },
        { options: { extra: { image_size: "huge" } }, issue: "image_size: must be one of" },
        { options: { extra: { num_images: "2" } }, issue: "num_images: must be an integer" }
      ]
      for (const { options, issue } of refused) {
        const error = errorOf(yield* submit(jobs, seedream, options))
        expect(error?._tag).toBe("InvalidInput")
        if (error?._tag !== "InvalidInput") continue
        expect(error.provider).toBe("falai")
        expect(error.issues.some((line) => line.startsWith(issue))).toBe(true)
      }
      expect(fal.count("submit")).toBe(0)
      expect(fal.jobs.size).toBe(0)
      // One document for the four calls.
      expect(fal.count("schema")).toBe(1)
      expect(fal.requests.find((request) => request.url.startsWith("/api/openapi/"))?.url).toBe(
        `/api/openapi/queue/openapi.json?endpoint_id=${encodeURIComponent(seedream)}`
      )
      // The document is public: no key goes with it.
      expect(fal.requests.find((request) => request.url.startsWith("/api/openapi/"))?.headers["authorization"]).toBeUndefined()
    }).pipe(live))

  it.scopedLive("submits a valid input, as built", () =>
    Effect.gen(function* () {
      const { fal, jobs } = yield* served
      const exit = yield* submit(jobs, seedream, { width: 2048, height: 2048, seed: 3 })
      expect(Exit.isSuccess(exit)).toBe(true)
      expect(fal.count("submit")).toBe(1)
      expect([...fal.jobs.values()][0]?.input).toEqual({ prompt: "a lighthouse at dusk", image_size: { width: 2048, height: 2048 }, seed: 3 })
    }).pipe(live))

  it.scopedLive("a model that publishes no schema, or whose schema cannot be fetched, is submitted unchecked", () =>
    Effect.gen(function* () {
      const { fal, jobs } = yield* served
      expect(Exit.isSuccess(yield* submit(jobs, "fal-ai/emu/unpublished", { extra: { anything: -1 } }))).toBe(true)
      // A 500 on the document (after its one retry) is no reason to refuse: the input goes as is.
      fal.settings.intercept = (_request, kind) => (kind === "schema" ? jsonReply(500, { detail: "boom" }) : undefined)
      expect(Exit.isSuccess(yield* submit(jobs, seedream, { extra: { num_images: 99 } }))).toBe(true)
      expect(fal.count("schema")).toBe(3)
      expect(fal.count("submit")).toBe(2)
    }).pipe(live))

  it.scopedLive("defaultsOf tells the schema's defaults; none for a model without one", () =>
    Effect.gen(function* () {
      const { schemas } = yield* served
      expect(yield* schemas.defaultsOf(seedream)).toMatchObject({ num_images: 1, image_size: { width: 2048, height: 2048 }, enable_safety_checker: true })
      expect(yield* schemas.defaultsOf("fal-ai/emu/unpublished")).toEqual({})
    }).pipe(live))
})

describe("fal input schemas are cached for the catalog's TTL (TestClock)", () => {
  it.effect("fetched once for many calls, again after the TTL", () =>
    Effect.gen(function* () {
      const fal = makeFal()
      const { jobs } = yield* FalAi.makeWithJobs({ downloadDir: dir }).pipe(
        Effect.provide(clientLayer(fal)),
        Effect.provide(Catalog.layerMemory({ ttl: "1 hour" })),
        Effect.withConfigProvider(config(fal))
      )
      for (let i = 0; i < 5; i++) expect(Exit.isSuccess(yield* submit(jobs, seedream, { seed: i }))).toBe(true)
      expect(Exit.isSuccess(yield* submit(jobs, seedream, { extra: { num_images: 9 } }))).toBe(false)
      expect(fal.count("schema")).toBe(1)
      yield* TestClock.adjust("59 minutes")
      yield* submit(jobs, seedream, {})
      expect(fal.count("schema")).toBe(1)
      yield* TestClock.adjust("2 minutes")
      yield* submit(jobs, seedream, {})
      expect(fal.count("schema")).toBe(2)
      expect(fal.count("submit")).toBe(7)
    }))
})
