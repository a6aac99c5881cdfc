/**
 * The key pool on the TestClock: keys taken round robin, each paced by its own limiter per lane
 * (N keys, N times the pace), the provider's limit over all keys, a 429's Retry-After setting its
 * key aside until then, a key out of quota resting for its `retryAfter`, and an allowance used up
 * on every key failing at once without running the call.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { type MediaError, QuotaExceeded, RateLimited } from "../../src/domain/Errors.js"
import * as KeyRing from "../../src/http/KeyRing.js"
import type { RateLimitConfig } from "../../src/resilience/RateLimit.js"

const ring = (count: number, limits?: RateLimitConfig) =>
  KeyRing.make(
    "p",
    Array.from({ length: count }, (_, i) => Redacted.make(`k${i + 1}`)),
    { setting: "P_KEY", ...(limits !== undefined ? { limits } : {}) }
  )

// The key a call ran with, and when (TestClock).
const used = (keys: KeyRing.KeyRing, lane?: string) =>
  keys.withKey((key) => Effect.map(Clock.currentTimeMillis, (at) => ({ key: Redacted.value(key), at })), lane)

// `count` calls at once; the clock moved on by `minutes` whole minutes; what each got, in order of the calls.
const burst = (keys: KeyRing.KeyRing, count: number, minutes: number, lane?: string) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(Effect.all(Array.from({ length: count }, () => used(keys, lane)), { concurrency: "unbounded" }))
    yield* Effect.yieldNow()
    for (let m = 0; m < minutes; m++) yield* TestClock.adjust("1 minute")
    return yield* Fiber.join(fiber)
  })

const perMinute = (times: ReadonlyArray<number>) => {
  const counts = new Map<number, number>()
  for (const at of times) counts.set(at, (counts.get(at) ?? 0) + 1)
  return [...counts.entries()].sort(([a], [b]) => a - b)
}

describe("KeyRing", () => {
  it.effect("hands out the keys round robin", () =>
    Effect.gen(function* () {
      const keys = yield* ring(3)
      const calls = []
      for (let i = 0; i < 6; i++) calls.push((yield* used(keys)).key)
      expect(calls).toEqual(["k1", "k2", "k3", "k1", "k2", "k3"])
    }))

  it.effect("each key has its own pace: two keys go twice as fast as one, alternating", () =>
    Effect.gen(function* () {
      const limits = { perKey: { default: { perMinute: 2 } } }
      const one = yield* burst(yield* ring(1, limits), 8, 4)
      expect(perMinute(one.map((c) => c.at))).toEqual([[0, 2], [60_000, 2], [120_000, 2], [180_000, 2]])
      const two = yield* burst(yield* ring(2, limits), 8, 4)
      expect(perMinute(two.map((c) => c.at))).toEqual([[240_000, 4], [300_000, 4]])
      expect(two.map((c) => c.key)).toEqual(["k1", "k2", "k1", "k2", "k1", "k2", "k1", "k2"])
    }))

  it.effect("lanes are paced apart: a lane without limits does not wait", () =>
    Effect.gen(function* () {
      const keys = yield* ring(1, { perKey: { free: { perMinute: 1 } } })
      yield* used(keys, "free")
      const waiting = yield* Effect.fork(used(keys, "free"))
      expect((yield* used(keys, "paid")).at).toBe(0)
      expect((yield* used(keys)).at).toBe(0)
      yield* TestClock.adjust("1 minute")
      expect((yield* Fiber.join(waiting)).at).toBe(60_000)
    }))

  it.effect("the provider's limit holds over all keys together", () =>
    Effect.gen(function* () {
      const keys = yield* ring(2, { perProvider: { default: { perMinute: 3 } } })
      const calls = yield* burst(keys, 4, 1)
      expect(calls.map((c) => c.at)).toEqual([0, 0, 0, 60_000])
    }))

  it.effect("a 429 with Retry-After sets its key aside until then: the other keys take the calls", () =>
    Effect.gen(function* () {
      const keys = yield* ring(2)
      const refused = yield* Effect.flip(
        keys.withKey((key): Effect.Effect<never, MediaError> =>
          Effect.fail(new RateLimited({ provider: "p", detail: `HTTP 429 on ${Redacted.value(key) === "k1" ? "the first" : "another"} key`, retryAfter: Duration.seconds(30) }))
        )
      )
      expect(refused._tag).toBe("RateLimited")
      const meanwhile = []
      for (let i = 0; i < 3; i++) meanwhile.push((yield* used(keys)).key)
      expect(meanwhile).toEqual(["k2", "k2", "k2"])
      yield* TestClock.adjust("30 seconds")
      const after = []
      for (let i = 0; i < 2; i++) after.push((yield* used(keys)).key)
      expect(after).toEqual(["k1", "k2"])
    }))

  it.effect("a single key paused by a 429 makes the next call wait, not fail", () =>
    Effect.gen(function* () {
      const keys = yield* ring(1)
      yield* Effect.either(keys.withKey(() => Effect.fail(new RateLimited({ provider: "p", detail: "HTTP 429", retryAfter: Duration.seconds(7) }))))
      const next = yield* Effect.fork(used(keys))
      yield* TestClock.adjust("7 seconds")
      expect((yield* Fiber.join(next)).at).toBe(7000)
    }))

  it.effect("a key out of quota rests for its retryAfter, not the default hour", () =>
    Effect.gen(function* () {
      const keys = yield* ring(2)
      let calls = 0
      const once = keys.withKey((key) => {
        calls++
        return Redacted.value(key) === "k1" && calls === 1
          ? Effect.fail(new QuotaExceeded({ provider: "p", detail: "HTTP 402", retryAfter: Duration.minutes(5) }))
          : Effect.succeed(Redacted.value(key))
      })
      expect(yield* once).toBe("k2")
      expect(yield* keys.usable).toEqual([1])
      yield* TestClock.adjust("5 minutes")
      expect(yield* keys.usable).toEqual([0, 1])
    }))

  it.effect("every key's daily allowance used up: QuotaExceeded at once with retryAfter, the call not run", () =>
    Effect.gen(function* () {
      const keys = yield* ring(2, { perKey: { default: { perDay: 1 } } })
      yield* used(keys)
      yield* TestClock.adjust("1 hour")
      yield* used(keys)
      let ran = false
      const refused = yield* Effect.flip(keys.withKey(() => Effect.sync(() => (ran = true))))
      expect(ran).toBe(false)
      expect(refused).toMatchObject({ _tag: "QuotaExceeded", retryAfter: Duration.hours(23) })
      expect(refused.message).not.toMatch(/k1|k2/)
      yield* TestClock.adjust("23 hours")
      expect(yield* used(keys)).toEqual({ key: "k1", at: 86_400_000 })
    }))
})
