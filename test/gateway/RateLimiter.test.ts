/**
 * The per-key token bucket on the TestClock: a key bursts up to its rate per minute, is then
 * refused with the whole seconds until its next token, refills continuously, and is limited
 * apart from other keys; idle buckets are dropped so memory stays bounded.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { make, refill, secondsUntilToken } from "../../src/gateway/RateLimiter.js"

const takeMany = (limiter: Effect.Effect.Success<ReturnType<typeof make>>, keyId: string, rate: number, count: number) =>
  Effect.forEach(Array.from({ length: count }), () => limiter.take(keyId, rate))

describe("RateLimiter", () => {
  it.effect("bursts to capacity, then refuses with the right Retry-After, then refills", () =>
    Effect.gen(function* () {
      const limiter = yield* make()
      const burst = yield* takeMany(limiter, "key_a", 6, 6)
      expect(burst.map((d) => d._tag)).toEqual(Array(6).fill("Allowed"))
      expect(burst.at(-1)).toEqual({ _tag: "Allowed", remaining: 0 })
      // 6 a minute: one token every 10 s.
      expect(yield* limiter.take("key_a", 6)).toEqual({ _tag: "Limited", retryAfterSeconds: 10 })
      yield* TestClock.adjust("4 seconds")
      expect(yield* limiter.take("key_a", 6)).toEqual({ _tag: "Limited", retryAfterSeconds: 6 })
      yield* TestClock.adjust("5500 millis")
      // 9.5 s: 0.95 of a token; half a second left is still one whole second to wait.
      expect(yield* limiter.take("key_a", 6)).toEqual({ _tag: "Limited", retryAfterSeconds: 1 })
      yield* TestClock.adjust("500 millis")
      expect((yield* limiter.take("key_a", 6))._tag).toBe("Allowed")
      expect((yield* limiter.take("key_a", 6))._tag).toBe("Limited")
      // A full minute refills the whole bucket, never more than its capacity.
      yield* TestClock.adjust("10 minutes")
      const again = yield* takeMany(limiter, "key_a", 6, 7)
      expect(again.filter((d) => d._tag === "Allowed")).toHaveLength(6)
      expect(again.at(-1)?._tag).toBe("Limited")
    }))

  it.effect("keys are limited apart", () =>
    Effect.gen(function* () {
      const limiter = yield* make()
      yield* takeMany(limiter, "key_a", 2, 2)
      expect((yield* limiter.take("key_a", 2))._tag).toBe("Limited")
      expect((yield* limiter.take("key_b", 2))._tag).toBe("Allowed")
    }))

  it.effect("a high rate refills within the second: Retry-After is at least 1", () =>
    Effect.gen(function* () {
      const limiter = yield* make()
      yield* takeMany(limiter, "key_fast", 600, 600)
      expect(yield* limiter.take("key_fast", 600)).toEqual({ _tag: "Limited", retryAfterSeconds: 1 })
      yield* TestClock.adjust("100 millis")
      expect((yield* limiter.take("key_fast", 600))._tag).toBe("Allowed")
    }))

  it.effect("a rate of 0 lets nothing through", () =>
    Effect.gen(function* () {
      const limiter = yield* make()
      expect(yield* limiter.take("key_zero", 0)).toEqual({ _tag: "Limited", retryAfterSeconds: 60 })
    }))

  it.effect("memory is bounded: full (idle) buckets go first, then the least recently used", () =>
    Effect.gen(function* () {
      const limiter = yield* make({ maxBuckets: 10 })
      for (let i = 0; i < 10; i++) yield* limiter.take(`idle-${i}`, 60)
      expect(yield* limiter.size).toBe(10)
      yield* TestClock.adjust("1 minute")
      // The 11th key finds ten full buckets: they are dropped.
      yield* limiter.take("busy-0", 60)
      expect(yield* limiter.size).toBe(1)
      // Busy buckets (not full) past the bound: the least recently used go, down to 90%.
      for (let i = 1; i <= 10; i++) yield* limiter.take(`busy-${i}`, 60)
      expect(yield* limiter.size).toBe(9)
      // busy-10, the newest, is still limited by what it took.
      yield* takeMany(limiter, "busy-10", 60, 59)
      expect((yield* limiter.take("busy-10", 60))._tag).toBe("Limited")
    }))

  it("refill and the wait for a token, as pure figures", () => {
    expect(refill(0, 60, 500)).toBeCloseTo(0.5, 12)
    expect(refill(59.5, 60, 60_000)).toBe(60)
    expect(refill(3, 60, -1000)).toBe(3)
    expect(secondsUntilToken(0, 60)).toBe(1)
    expect(secondsUntilToken(0, 1)).toBe(60)
    expect(secondsUntilToken(0.5, 1)).toBe(30)
    expect(secondsUntilToken(0.999, 1)).toBe(1)
  })
})
