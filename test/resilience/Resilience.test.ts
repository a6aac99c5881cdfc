import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { InvalidInput, type MediaError, NetworkError, ProviderUnavailable, RateLimited } from "../../src/domain/Errors.js"
import * as Http from "../../src/http/Http.js"
import { makeCircuitBreaker, withRetry } from "../../src/resilience/Resilience.js"
import { scripted } from "../support/ScriptedHttp.js"

/** An effect that records the clock at each attempt and fails with `error(n)` for attempt n. */
const failing = (error: (attempt: number) => MediaError) => {
  const times: Array<number> = []
  const effect = Effect.flatMap(Clock.currentTimeMillis, (now) => {
    times.push(now)
    return Effect.fail(error(times.length))
  })
  return { effect, times }
}

describe("retry schedule", () => {
  it.effect("a 429 with Retry-After: 7 waits 7 s, not the backoff", () =>
    Effect.gen(function* () {
      const script = scripted((_, i) =>
        i === 0 ? { status: 429, headers: { "retry-after": "7" }, body: { error: { message: "slow down" } } } : { status: 200, body: { ok: true } }
      )
      const http = yield* Http.make({ provider: "p", baseUrl: "https://api.example.test", retry: { jitter: false } }).pipe(
        Effect.provide(script.layer)
      )
      const fiber = yield* Effect.fork(http.json({ path: "/x", schema: Schema.Struct({ ok: Schema.Boolean }) }))
      yield* TestClock.adjust("6999 millis")
      expect(script.requests.length).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toEqual({ ok: true })
      expect(script.requests.length).toBe(2)
    }))

  it.effect("an HTTP-date Retry-After is honoured relative to now", () =>
    Effect.gen(function* () {
      const script = scripted((_, i) =>
        i === 0
          ? { status: 429, headers: { "retry-after": new Date(Date.UTC(1970, 0, 1, 0, 0, 20)).toUTCString() } }
          : { status: 200, body: { ok: true } }
      )
      const http = yield* Http.make({ provider: "p", baseUrl: "https://api.example.test", retry: { jitter: false } }).pipe(
        Effect.provide(script.layer)
      )
      const fiber = yield* Effect.fork(http.json({ path: "/x", schema: Schema.Struct({ ok: Schema.Boolean }) }))
      yield* TestClock.adjust("19 seconds")
      expect(script.requests.length).toBe(1)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(script.requests.length).toBe(2)
    }))

  it.effect("backs off exponentially and caps each wait", () =>
    Effect.gen(function* () {
      const { effect, times } = failing(() => new NetworkError({ provider: "p", detail: "reset" }))
      const fiber = yield* Effect.fork(
        withRetry({ retries: 6, base: "1 second", factor: 2, maxBackoff: "5 seconds", jitter: false })(effect)
      )
      yield* TestClock.adjust("1 minute")
      yield* Fiber.await(fiber)
      expect(times).toEqual([0, 1000, 3000, 7000, 12000, 17000, 22000])
    }))

  it.effect("jitter keeps each wait within 0.8x-1.2x of the backoff", () =>
    Effect.gen(function* () {
      const { effect, times } = failing(() => new NetworkError({ provider: "p", detail: "reset" }))
      const fiber = yield* Effect.fork(withRetry({ retries: 4, base: "1 second", factor: 2, maxBackoff: "1 minute" })(effect))
      yield* TestClock.adjust("1 minute")
      yield* Fiber.await(fiber)
      const waits = times.slice(1).map((t, i) => t - times[i]!)
      expect(waits).toHaveLength(4)
      waits.forEach((wait, i) => {
        const nominal = 1000 * 2 ** i
        expect(wait).toBeGreaterThanOrEqual(nominal * 0.8)
        expect(wait).toBeLessThan(nominal * 1.2)
      })
      expect(new Set(waits.map((w, i) => w / 2 ** i)).size).toBeGreaterThan(1)
    }).pipe(Effect.withRandom(Random.make("jitter-seed"))))

  it.effect("a Retry-After longer than 60 s is capped at 60 s", () =>
    Effect.gen(function* () {
      const { effect, times } = failing(
        (n) => new RateLimited({ provider: "p", detail: `429 #${n}`, retryAfter: Duration.minutes(10) })
      )
      const fiber = yield* Effect.fork(withRetry({ retries: 1, jitter: false })(effect))
      yield* TestClock.adjust("2 minutes")
      yield* Fiber.await(fiber)
      expect(times).toEqual([0, 60_000])
    }))

  it.effect("stops at the retry limit with the last typed error", () =>
    Effect.gen(function* () {
      const { effect, times } = failing((n) => new ProviderUnavailable({ provider: "p", detail: `503 #${n}`, status: 503 }))
      const fiber = yield* Effect.fork(Effect.either(withRetry({ jitter: false })(effect)))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      expect(times).toHaveLength(4)
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "ProviderUnavailable", message: "p: 503 #4" })
    }))

  it.effect("does not retry a non-retryable error", () =>
    Effect.gen(function* () {
      const { effect, times } = failing(() => new InvalidInput({ provider: "p", detail: "bad prompt", issues: ["prompt"] }))
      const result = yield* Effect.either(withRetry()(effect))
      expect(times).toHaveLength(1)
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidInput")
    }))
})

describe("circuit breaker", () => {
  it.effect("opens after N failures, rejects fast while cooling down, half-opens, closes", () =>
    Effect.gen(function* () {
      const breaker = yield* makeCircuitBreaker("p", { failureThreshold: 3, cooldown: "30 seconds" })
      let calls = 0
      let healthy = false
      const call = Effect.suspend(() => {
        calls++
        return healthy ? Effect.succeed("ok") : Effect.fail(new ProviderUnavailable({ provider: "p", detail: "503", status: 503 }))
      })
      for (let i = 0; i < 3; i++) yield* Effect.either(breaker.protect(call))
      expect(calls).toBe(3)
      expect((yield* breaker.state)._tag).toBe("Open")

      const rejected = yield* Effect.either(breaker.protect(call))
      expect(calls).toBe(3)
      expect(Either.isLeft(rejected) && rejected.left.message).toMatch(/circuit open/)
      expect(yield* breaker.isClosedOrProbing).toBe(false)

      // After the cooldown, one probe goes through; a failing probe opens the circuit again.
      yield* TestClock.adjust("30 seconds")
      expect(yield* breaker.isClosedOrProbing).toBe(true)
      yield* Effect.either(breaker.protect(call))
      expect(calls).toBe(4)
      expect((yield* breaker.state)._tag).toBe("Open")

      // A successful probe closes it; calls flow again.
      yield* TestClock.adjust("30 seconds")
      healthy = true
      expect(yield* breaker.protect(call)).toBe("ok")
      expect(yield* breaker.state).toEqual({ _tag: "Closed", failures: 0 })
      expect(yield* breaker.protect(call)).toBe("ok")
      expect(calls).toBe(6)
    }))

  it.effect("lets one probe through at a time while half-open", () =>
    Effect.gen(function* () {
      const breaker = yield* makeCircuitBreaker("p", { failureThreshold: 1, cooldown: "10 seconds" })
      yield* Effect.either(breaker.protect(Effect.fail(new NetworkError({ provider: "p", detail: "reset" }))))
      yield* TestClock.adjust("10 seconds")
      const probe = yield* Effect.fork(breaker.protect(Effect.as(Effect.sleep("5 seconds"), "probed")))
      yield* Effect.yieldNow()
      expect((yield* breaker.state)._tag).toBe("HalfOpen")
      const second = yield* Effect.either(breaker.protect(Effect.succeed("second")))
      expect(Either.isLeft(second) && second.left.message).toMatch(/probe in flight/)
      yield* TestClock.adjust("5 seconds")
      expect(yield* Fiber.join(probe)).toBe("probed")
      expect((yield* breaker.state)._tag).toBe("Closed")
    }))

  it.effect("does not count failures that blame the request", () =>
    Effect.gen(function* () {
      const breaker = yield* makeCircuitBreaker("p", { failureThreshold: 2 })
      for (let i = 0; i < 5; i++) {
        yield* Effect.either(breaker.protect(Effect.fail(new InvalidInput({ provider: "p", detail: "bad", issues: [] }))))
      }
      expect(yield* breaker.state).toEqual({ _tag: "Closed", failures: 0 })
    }))
})
