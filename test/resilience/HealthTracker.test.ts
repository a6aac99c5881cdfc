import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import * as HealthTracker from "../../src/resilience/HealthTracker.js"

describe("HealthTracker", () => {
  it.effect("counts active and queued jobs while they run", () =>
    Effect.gen(function* () {
      const tracker = yield* HealthTracker.make
      const gate = yield* Deferred.make<void>()
      const active = yield* Effect.fork(tracker.track(Deferred.await(gate)))
      const waiting = yield* Effect.fork(tracker.queued(Deferred.await(gate)))
      yield* Effect.yieldNow()
      expect(yield* tracker.snapshot(true)).toMatchObject({ status: "healthy", activeJobs: 1, queuedJobs: 1 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(active)
      yield* Fiber.join(waiting)
      expect(yield* tracker.snapshot(true)).toMatchObject({ activeJobs: 0, queuedJobs: 0 })
    }))

  it.effect("a recent failure degrades health until a success or a minute passes; unavailable is unhealthy", () =>
    Effect.gen(function* () {
      const tracker = yield* HealthTracker.make
      yield* TestClock.adjust("5 seconds")
      yield* Effect.either(tracker.track(Effect.fail({ message: "HTTP 503: overloaded" })))
      expect(yield* tracker.snapshot(true)).toEqual({ status: "degraded", uptime: 5000, activeJobs: 0, queuedJobs: 0, lastError: "HTTP 503: overloaded" })
      yield* TestClock.adjust("61 seconds")
      expect((yield* tracker.snapshot(true)).status).toBe("healthy")
      yield* Effect.either(tracker.track(Effect.fail({ message: "again" })))
      yield* tracker.track(Effect.void)
      expect(yield* tracker.snapshot(true)).toMatchObject({ status: "healthy", lastError: "again" })
      expect((yield* tracker.snapshot(false)).status).toBe("unhealthy")
    }))
})
