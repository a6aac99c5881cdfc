/**
 * The client-side rate limiter on the TestClock: permits up to a window's limit at once, the next
 * exactly one window after the oldest (a sliding window, not a fixed one), several limits
 * together, a long window failing fast with QuotaExceeded and its retryAfter, a pause, and 64
 * fibers acquiring at once never passing the limit in any window.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as RateLimit from "../../src/resilience/RateLimit.js"

// Acquire, then say when (on the TestClock) the permit came.
const timed = (limiter: RateLimit.RateLimiter) => Effect.zipRight(limiter.acquire, Clock.currentTimeMillis)

// Whether a forked acquire has its permit yet.
const isDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) => Effect.map(Fiber.poll(fiber), (exit) => exit._tag === "Some")

describe("RateLimit", () => {
  it.effect("grants the limit at once, then the next permit exactly one window after the oldest", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", [{ limit: 3, window: "1 second" }])
      expect(yield* Effect.all([timed(limiter), timed(limiter), timed(limiter)])).toEqual([0, 0, 0])
      const fourth = yield* Effect.fork(timed(limiter))
      yield* TestClock.adjust("999 millis")
      expect(yield* isDone(fourth)).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fourth)).toBe(1000)
    }))

  it.effect("the window slides: a permit frees one window after it was given, not at a fixed boundary", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", [{ limit: 2, window: "1 second" }])
      yield* timed(limiter)
      yield* TestClock.adjust("600 millis")
      yield* timed(limiter)
      // At 1000 the first permit (at 0) has left the window, the second (at 600) has not until 1600.
      yield* TestClock.adjust("400 millis")
      expect(yield* timed(limiter)).toBe(1000)
      const next = yield* Effect.fork(timed(limiter))
      yield* TestClock.adjust("599 millis")
      expect(yield* isDone(next)).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(next)).toBe(1600)
    }))

  it.effect("several limits hold together: the stricter one decides each permit", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", { perSecond: 2, perMinute: 3 })
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => timed(limiter))))
      yield* TestClock.adjust("2 minutes")
      // Two in the first second, the third a second later (per second), the fourth and fifth a minute after the first ones.
      expect(yield* Fiber.join(fiber)).toEqual([0, 0, 1000, 60_000, 60_000])
    }))

  it.effect("a daily limit fails fast with QuotaExceeded and when it refills, and grants again after the window", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", { perDay: 2 })
      yield* limiter.acquire
      yield* TestClock.adjust("1 hour")
      yield* limiter.acquire
      const refused = yield* Effect.flip(limiter.acquire)
      expect(refused._tag).toBe("QuotaExceeded")
      expect(refused.retryAfter).toEqual(Duration.hours(23))
      expect(refused.message).toMatch(/2 per 1d is used up/)
      yield* TestClock.adjust("23 hours")
      expect(yield* timed(limiter)).toBe(24 * 3_600_000)
      // Refused permits were not counted: the next refusal is about the permit given at 1 h.
      expect((yield* Effect.flip(limiter.acquire)).retryAfter).toEqual(Duration.hours(1))
    }))

  it.effect("a daily limit that frees before the minute's wait ends does not refuse", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", { perMinute: 1, perDay: 2 })
      yield* limiter.acquire
      yield* TestClock.adjust(Duration.subtract(Duration.days(1), Duration.seconds(30)))
      yield* limiter.acquire
      // The day's first permit frees in 30 s, before the minute's next one (in 60 s): that one is waited for.
      const fiber = yield* Effect.fork(timed(limiter))
      yield* TestClock.adjust("1 minute")
      expect(yield* Fiber.join(fiber)).toBe(86_400_000 + 30_000)
    }))

  it.effect("a long window told to wait waits instead", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", [{ limit: 1, window: "1 day", wait: true }])
      yield* limiter.acquire
      const fiber = yield* Effect.fork(timed(limiter))
      yield* TestClock.adjust("1 day")
      expect(yield* Fiber.join(fiber)).toBe(86_400_000)
    }))

  it.effect("a pause (a 429's Retry-After) holds every permit until it ends; a long one fails fast", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", { perMinute: 100 })
      yield* limiter.pause("5 seconds")
      const fiber = yield* Effect.fork(timed(limiter))
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(fiber)).toBe(5000)
      // No limits at all: only the pause holds.
      const free = yield* RateLimit.make("p", [])
      yield* free.pause("2 hours")
      expect((yield* Effect.flip(free.acquire)).retryAfter).toEqual(Duration.hours(2))
    }))

  it.effect("64 fibers acquiring at once never pass the limit in any window, and are served in turn", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimit.make("p", { perMinute: 10 })
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 64 }, () => timed(limiter)), { concurrency: "unbounded" }))
      yield* Effect.yieldNow()
      for (let minute = 0; minute < 7; minute++) yield* TestClock.adjust("1 minute")
      const times = [...(yield* Fiber.join(fiber))].sort((a, b) => a - b)
      expect(times).toHaveLength(64)
      // Any ten permits apart are a full minute apart: no window of a minute holds eleven.
      for (let i = 10; i < times.length; i++) expect(times[i]! - times[i - 10]!).toBeGreaterThanOrEqual(60_000)
      // And none waited longer than it had to: ten each minute, four in the last.
      const perMinute = Array.from({ length: 7 }, (_, m) => times.filter((t) => t === m * 60_000).length)
      expect(perMinute).toEqual([10, 10, 10, 10, 10, 10, 4])
    }))

  it("several limiters reserve one permit together, at the latest of their times; a refusal wins", () => {
    const key = RateLimit.unsafeMake("p", [{ limit: 1, window: "1 second" }])
    const shared = RateLimit.unsafeMake("p", [{ limit: 1, window: "3 seconds" }])
    key.unsafeCommit(0)
    shared.unsafeCommit(0)
    expect(RateLimit.unsafeCheckAll([key, shared], 10)).toEqual({ _tag: "Ready", at: 3000 })
    const daily = RateLimit.unsafeMake("p", { perDay: 1 })
    daily.unsafeCommit(0)
    expect(RateLimit.unsafeCheckAll([key, daily], 10)).toMatchObject({ _tag: "Refused", until: 86_400_000 })
  })

  it("limits as rates or windows; a config from JSON, a wrong one refused", () => {
    expect(RateLimit.limitsOf({ perMinute: 20, perDay: 50 })).toEqual([
      { limit: 20, window: Duration.minutes(1) },
      { limit: 50, window: Duration.days(1) }
    ])
    const decode = Schema.decodeUnknownEither(RateLimit.RateLimitConfigJson)
    const config = decode('{"perKey":{"free":{"perMinute":20,"perDay":1000}},"perProvider":{"default":[{"limit":5,"window":"10 seconds"},{"limit":7,"window":2000}]}}')
    expect(Either.getOrThrow(config)).toEqual({
      perKey: { free: { perMinute: 20, perDay: 1000 } },
      perProvider: { default: [{ limit: 5, window: Duration.seconds(10) }, { limit: 7, window: Duration.millis(2000) }] }
    })
    for (const wrong of ['{"perKey":{"free":{"perMinute":0}}}', '{"perKey":{"free":{"perMinute":1.5}}}', '{"perKey":{"x":[{"limit":1,"window":"soon"}]}}', "not json"]) {
      expect(Either.isLeft(decode(wrong))).toBe(true)
    }
  })
})
