/**
 * OpenRouter's free-model limits, paced on the client, against the emulator enforcing them per
 * key with 429s. The emulator counts by the test's TestClock (its `now` reads it), so the limiter
 * and the limit it keeps share one logical time: a burst of 100 calls at 20 a minute gets no 429
 * and is spread 20 a minute; without pacing the same burst does get 429s. The fifty-first free
 * call of a day fails at once, sending nothing, and goes through the next day; two keys alternate
 * and go twice as fast.
 *
 * The clock only moves once every call due by then has been answered (`settle` waits, in real
 * time, for the calls to finish: a real server answers in real time), so each request reaches the
 * emulator at the logical time its permit was for.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { text } from "../../../src/domain/Asset.js"
import type { ProviderConfig } from "../../../src/provider/ProviderConfig.js"
import * as OpenRouter from "../../../src/providers/openrouter/index.js"
import type { RateLimitConfig } from "../../../src/resilience/RateLimit.js"
import { openrouter, type OpenRouterState } from "../../emulators/openrouter.js"

const freeModel = "openai/gpt-oss-20b:free"
const minute = 60_000

const setup = (options: { readonly keys: ReadonlyArray<string>; readonly rateLimits?: RateLimitConfig; readonly freeLimits: OpenRouterState["freeLimits"] }) =>
  Effect.gen(function* () {
    const clock = yield* Effect.clock
    const emulator = yield* openrouter({ keys: options.keys, freeLimits: options.freeLimits, now: () => clock.unsafeCurrentTimeMillis() })
    const config: ProviderConfig = {
      apiKeys: options.keys.map((key) => Redacted.make(key)),
      baseUrl: emulator.baseUrl,
      // Longer than any step of the clock: an answer on its way is never timed out by a step.
      timeout: Duration.days(7),
      // A 429 is counted, not retried: the tests count them.
      retries: 0,
      ...(options.rateLimits !== undefined ? { rateLimits: options.rateLimits } : {})
    }
    const provider = yield* OpenRouter.make(config)
    const model = yield* provider.textToText(freeModel)
    return { emulator, model }
  })

/** `count` calls at once, each counted in `finished` when it ends; its results, in call order. */
const burst = (model: Effect.Effect.Success<ReturnType<typeof setup>>["model"], count: number, finished: { n: number }) =>
  Effect.fork(
    Effect.all(
      Array.from({ length: count }, (_, i) =>
        Effect.either(model.transform(text(`call ${i}`))).pipe(Effect.ensuring(Effect.sync(() => finished.n++)))
      ),
      { concurrency: "unbounded" }
    )
  )

/**
 * Wait (real time, at most `polls` x 5 ms) until `done` holds: the calls due at this logical time
 * have been answered. A short bound gives a request that should not be sent the time to arrive.
 */
const settle = (done: () => boolean, polls = 2000) =>
  Effect.promise(async () => {
    for (let i = 0; i < polls && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
  })

const freeCalls = (state: OpenRouterState) => state.freeCalls
const countsByTime = (calls: OpenRouterState["freeCalls"]) => {
  const counts = new Map<number, number>()
  for (const call of calls) counts.set(call.at, (counts.get(call.at) ?? 0) + 1)
  return [...counts.entries()].sort(([a], [b]) => a - b)
}

describe("OpenRouter free-model pacing against the emulator's enforced limits", () => {
  it.scoped("a burst of 100 free calls at 20 a minute: no 429, 20 calls each minute", () =>
    Effect.gen(function* () {
      const { emulator, model } = yield* setup({
        keys: ["sk-or-test-a"],
        freeLimits: { perMinute: 20 },
        rateLimits: { perKey: { free: { perMinute: 20, perDay: 1000 } } }
      })
      const finished = { n: 0 }
      const fiber = yield* burst(model, 100, finished)
      for (let step = 1; step <= 5; step++) {
        yield* settle(() => finished.n >= 20 * step)
        expect(finished.n).toBe(20 * step)
        if (step < 5) yield* TestClock.adjust("1 minute")
      }
      const results = yield* Fiber.join(fiber)
      expect(results.filter(Either.isLeft)).toEqual([])
      const calls = freeCalls(emulator.state)
      expect(calls.filter((call) => call.status === 429)).toEqual([])
      expect(countsByTime(calls)).toEqual([[0, 20], [minute, 20], [2 * minute, 20], [3 * minute, 20], [4 * minute, 20]])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("the same burst without pacing does get 429s from the emulator (the limit it keeps is real)", () =>
    Effect.gen(function* () {
      const { emulator, model } = yield* setup({ keys: ["sk-or-test-a"], freeLimits: { perMinute: 20 }, rateLimits: {} })
      const finished = { n: 0 }
      const fiber = yield* burst(model, 100, finished)
      yield* settle(() => finished.n >= 100)
      const results = yield* Fiber.join(fiber)
      const limited = freeCalls(emulator.state).filter((call) => call.status === 429)
      expect(limited.length).toBeGreaterThan(0)
      expect(freeCalls(emulator.state).filter((call) => call.status === 200)).toHaveLength(20)
      expect(results.filter(Either.isLeft).map((result) => result.left._tag)).toContain("RateLimited")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("by default, the 51st free call of a day fails at once with QuotaExceeded, sending nothing, and goes through the next day", () =>
    Effect.gen(function* () {
      // No `rateLimits`: OpenRouter's published defaults (20 a minute, 50 a day).
      const { emulator, model } = yield* setup({ keys: ["sk-or-test-a"], freeLimits: { perMinute: 20, perDay: 50 } })
      const finished = { n: 0 }
      const fiber = yield* burst(model, 50, finished)
      for (let step = 1; step <= 3; step++) {
        yield* settle(() => finished.n >= Math.min(50, 20 * step))
        if (step < 3) yield* TestClock.adjust("1 minute")
      }
      expect((yield* Fiber.join(fiber)).filter(Either.isLeft)).toEqual([])
      const sent = emulator.count()
      const refused = yield* Effect.flip(model.transform(text("the 51st")))
      expect(refused._tag).toBe("QuotaExceeded")
      expect(refused._tag === "QuotaExceeded" && refused.retryAfter).toEqual(Duration.millis(24 * 60 * minute - 2 * minute))
      expect(refused.message).toMatch(/50 per 1d/)
      expect(refused.message).not.toContain("sk-or-test-a")
      expect(emulator.count()).toBe(sent)
      yield* TestClock.adjust("1 day")
      const nextDay = yield* model.transform(text("the next day"))
      expect(nextDay.text).toBe("Echo: the next day")
      expect(freeCalls(emulator.state).filter((call) => call.status === 429)).toEqual([])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("two keys: calls alternate between them, and 40 go out a minute instead of 20", () =>
    Effect.gen(function* () {
      const keys = ["sk-or-test-a", "sk-or-test-b"]
      const { emulator, model } = yield* setup({ keys, freeLimits: { perMinute: 20 }, rateLimits: { perKey: { free: { perMinute: 20, perDay: 1000 } } } })
      for (let i = 0; i < 4; i++) yield* model.transform(text(`one by one ${i}`))
      expect(freeCalls(emulator.state).map((call) => call.key)).toEqual([keys[0], keys[1], keys[0], keys[1]])
      const finished = { n: 0 }
      const fiber = yield* burst(model, 76, finished)
      yield* settle(() => finished.n >= 36)
      expect(finished.n).toBe(36)
      yield* TestClock.adjust("1 minute")
      yield* settle(() => finished.n >= 76)
      expect((yield* Fiber.join(fiber)).filter(Either.isLeft)).toEqual([])
      const calls = freeCalls(emulator.state)
      expect(calls.filter((call) => call.status === 429)).toEqual([])
      expect(countsByTime(calls)).toEqual([[0, 40], [minute, 40]])
      for (const key of keys) expect(calls.filter((call) => call.key === key)).toHaveLength(40)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})

describe("OpenRouter's own 429s set the key aside for their Retry-After", () => {
  it.scoped("a per-minute 429 pauses the key: the next call waits for the Retry-After instead of earning another 429", () =>
    Effect.gen(function* () {
      // Pacing off: the emulator's limit (2 a minute) is met unprepared.
      const { emulator, model } = yield* setup({ keys: ["sk-or-test-a"], freeLimits: { perMinute: 2 }, rateLimits: {} })
      yield* model.transform(text("1"))
      yield* model.transform(text("2"))
      const limited = yield* Effect.flip(model.transform(text("3")))
      expect(limited).toMatchObject({ _tag: "RateLimited", retryAfter: Duration.seconds(60) })
      const finished = { n: 0 }
      const fiber = yield* Effect.fork(model.transform(text("4")).pipe(Effect.ensuring(Effect.sync(() => finished.n++))))
      yield* settle(() => finished.n > 0 || freeCalls(emulator.state).length > 3, 40)
      expect(freeCalls(emulator.state)).toHaveLength(3)
      yield* TestClock.adjust("1 minute")
      expect((yield* Fiber.join(fiber)).text).toBe("Echo: 4")
      expect(freeCalls(emulator.state).map((call) => call.status)).toEqual([200, 200, 429, 200])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))

  it.scoped("a daily 429 (it speaks of credits) is QuotaExceeded: the key rests until its Retry-After, sending nothing meanwhile", () =>
    Effect.gen(function* () {
      const { emulator, model } = yield* setup({ keys: ["sk-or-test-a"], freeLimits: { perDay: 2 }, rateLimits: {} })
      yield* model.transform(text("1"))
      yield* model.transform(text("2"))
      const spent = yield* Effect.flip(model.transform(text("3")))
      expect(spent).toMatchObject({ _tag: "QuotaExceeded", retryAfter: Duration.days(1) })
      const sent = emulator.count()
      expect((yield* Effect.flip(model.transform(text("4"))))._tag).toBe("QuotaExceeded")
      expect(emulator.count()).toBe(sent)
      yield* TestClock.adjust("1 day")
      expect((yield* model.transform(text("5"))).text).toBe("Echo: 5")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)))
})
