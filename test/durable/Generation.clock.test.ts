/**
 * The generation workflow's waits, deadline and cancel under TestClock, on the workflow engine's
 * in-memory layer (the store in an in-memory SQLite database), against the fal emulator in
 * memory: polls happen on the schedule and nowhere else, a deadline cancels the remote job at
 * its exact time, a cancel request is seen at the next watch tick; each sends one cancel.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as WorkflowEngine from "@effect/workflow/WorkflowEngine"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { text } from "../../src/domain/Asset.js"
import { Durable, GenerationStore } from "../../src/durable/index.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { clientLayer, makeFal } from "../emulators/falai.js"
import { env } from "../providers/falai/drive.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-durable-clock-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

let n = 0
const setup = (fal: ReturnType<typeof makeFal>) => {
  const dir = path.join(root, `s${++n}`)
  const made = FalAi.makeWithJobs({ downloadDir: path.join(dir, "downloads"), pollSchedule: Schedule.spaced("1 second") }).pipe(
    Effect.provide(clientLayer(fal)),
    Effect.withConfigProvider(env({ FALAI_API_KEY: fal.settings.key, FALAI_BASE_URL: fal.baseUrl }))
  )
  return Layer.unwrapEffect(
    Effect.map(made, ({ jobs, provider }) =>
      Durable.hostLayer({ stateDir: dir, jobClients: { falai: jobs }, watchEvery: "2 seconds" }).pipe(
        Layer.provideMerge(WorkflowEngine.layerMemory),
        Layer.provideMerge(GenerationStore.layer),
        Layer.provide(SqliteClient.layer({ filename: ":memory:" })),
        Layer.provide(ProviderRegistry.fromProviders([provider])),
        Layer.provide(clientLayer(fal))
      )
    )
  )
}

const request = (key: string, extra: Partial<Durable.StartRequest> = {}): Durable.StartRequest => ({
  capability: "text-to-image",
  input: text("a moth"),
  provider: "falai",
  model: "fal-ai/flux/schnell",
  key,
  ...extra
})

// Let the fibers run up to their next sleep: a few real milliseconds for what completes off the
// test clock (the engine's and SQLite's own asynchronous steps).
const settle = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 60)))

describe("Generation workflow under TestClock (in-memory engine)", () => {
  it.effect("polls on the schedule only: one status poll a second while queued, the result after the last", () => {
    const fal = makeFal({ queueSteps: 3, runSteps: 2 })
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const fiber = yield* Effect.fork(generations.run(request("moth")))
      yield* settle
      // The first poll follows the submit at once; the next ones wait a second each.
      expect(fal.count("submit")).toBe(1)
      expect(fal.count("status")).toBe(1)
      for (let second = 1; second <= 3; second++) {
        yield* TestClock.adjust("999 millis")
        yield* settle
        expect(fal.count("status")).toBe(second)
        yield* TestClock.adjust("1 millis")
        yield* settle
        expect(fal.count("status")).toBe(second + 1)
      }
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(fal.count("status")).toBe(5)
      // The sixth poll a second later answers completed; the result is then fetched and downloaded.
      for (let i = 0; i < 20 && fiber.unsafePoll() === null; i++) {
        yield* TestClock.adjust("1 second")
        yield* settle
      }
      const result = yield* Fiber.join(fiber)
      expect(result.output).toMatchObject({ provider: "falai", requestId: "req-1", bytes: 4096 })
      // 3 answers queued, 2 running, 1 completed: no poll beyond the schedule's.
      expect(fal.count("status")).toBe(6)
      expect(fal.count("cancel")).toBe(0)
    }).pipe(Effect.provide(setup(fal)), Effect.scoped)
  })

  it.effect("a deadline cancels the remote job at its time, not before: Timeout, one cancel", () => {
    const fal = makeFal({ queueSteps: 100_000 })
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const fiber = yield* Effect.fork(Effect.exit(generations.run(request("late", { timeout: "10 seconds" }))))
      yield* settle
      yield* TestClock.adjust("9999 millis")
      yield* settle
      expect(fal.count("cancel")).toBe(0)
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 millis")
      yield* settle
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("Timeout")
      expect(fal.count("cancel")).toBe(1)
      expect(fal.count("submit")).toBe(1)
    }).pipe(Effect.provide(setup(fal)), Effect.scoped)
  })

  it.effect("a cancel request is seen at the next watch tick: Cancelled, one cancel, and none from the canceller's side twice", () => {
    const fal = makeFal({ queueSteps: 100_000 })
    return Effect.gen(function* () {
      const generations = yield* Durable.Generations
      const store = yield* GenerationStore.GenerationStore
      const fiber = yield* Effect.fork(Effect.exit(generations.run(request("moth-2"))))
      yield* settle
      // Only the request (as another process would record it), not the cancel call.
      expect(yield* store.requestCancel("moth-2")).toBe(true)
      yield* TestClock.adjust("1999 millis")
      yield* settle
      expect(fal.count("cancel")).toBe(0)
      yield* TestClock.adjust("1 millis")
      yield* settle
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("Cancelled")
      expect(fal.count("cancel")).toBe(1)
      // The canceller's own call now finds the generation finished: nothing more is sent.
      expect(yield* generations.cancel("moth-2")).toBe(false)
      expect(fal.count("cancel")).toBe(1)
    }).pipe(Effect.provide(setup(fal)), Effect.scoped)
  })
})
