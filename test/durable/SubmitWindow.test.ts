/**
 * The submit step stopped from outside while its submit is on the wire (a worker handing a shard
 * to another, or stopping on SIGTERM: the engine interrupts the generations it runs) still keeps
 * the provider's answer: the row leaves the step with its ticket, never with an intent alone, which
 * a resume could not tell from a job never sent (SubmitOutcomeUnknown under policy "fail", a second
 * submit under "resubmit"). The fal emulator runs in memory and answers the submit after 300 ms.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { text } from "../../src/domain/Asset.js"
import { Durable, Generation, GenerationStore } from "../../src/durable/index.js"
import * as Steps from "../../src/durable/Steps.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { clientLayer, makeFal } from "../emulators/falai.js"
import { env } from "../providers/falai/drive.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-submit-window-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

describe("the submit step interrupted while its submit is on the wire", () => {
  it.live("keeps the provider's answer: the row has its ticket, not an intent alone", () => {
    const fal = makeFal({ submitDelayMs: 300 })
    return Effect.gen(function* () {
      const { jobs } = yield* FalAi.makeWithJobs({ downloadDir: path.join(root, "downloads"), pollSchedule: Schedule.spaced("5 millis") }).pipe(
        Effect.provide(clientLayer(fal)),
        Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
      )
      const store = yield* GenerationStore.GenerationStore
      const registry = yield* ProviderRegistry.ProviderRegistry
      const steps = Steps.make({
        store,
        registry,
        jobClient: () => Effect.succeed(Option.some(jobs)),
        outputDir: path.join(root, "outputs"),
        downloadDir: path.join(root, "downloads"),
        policy: "fail"
      })
      const request: Generation.GenerationRequest = { id: "owl", capability: "text-to-image", input: text("an owl"), provider: "falai", model: "fal-ai/flux/schnell" }
      yield* store.create({
        id: request.id,
        executionId: yield* Generation.Generation.executionId(request),
        capability: request.capability,
        request: JSON.stringify(Schema.encodeSync(Generation.GenerationRequest)(request))
      })

      const submitting = yield* Effect.fork(steps.submit(request, 0, { provider: "falai", model: "fal-ai/flux/schnell", queued: true }))
      yield* Effect.repeat(Effect.sync(() => fal.count("submit")), { schedule: Schedule.spaced("5 millis"), until: (n) => n === 1 })
      yield* Fiber.interrupt(submitting)

      const row = Option.getOrThrow(yield* store.get(request.id))
      expect(row).toMatchObject({ status: "running", ticket: expect.any(String), requestId: "req-1" })
      expect(row.intentAt).toBeDefined()
      expect(fal.count("submit")).toBe(1)
    }).pipe(
      Effect.provide(Durable.storeSqlite({ stateDir: path.join(root, "state") })),
      Effect.provide(ProviderRegistry.fromProviders([]))
    )
  }, 30_000)
})
