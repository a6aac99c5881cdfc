/**
 * A submit's deadline as the seconds a provider is told: whole seconds rounded up, read from the
 * Effect Clock (TestClock here), none without a deadline, and a deadline that has passed (or is no
 * date) refused with Timeout.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as TestClock from "effect/TestClock"
import { secondsLeft, secondsUntil } from "../../src/jobs/Deadline.js"

describe("Deadline", () => {
  it("secondsLeft rounds up to whole seconds and is undefined once the deadline is reached", () => {
    expect(secondsLeft(new Date(90_000), 0)).toBe(90)
    expect(secondsLeft(new Date(90_001), 0)).toBe(91)
    expect(secondsLeft(new Date(1), 0)).toBe(1)
    expect(secondsLeft(new Date(1000), 1000)).toBeUndefined()
    expect(secondsLeft(new Date(999), 1000)).toBeUndefined()
    expect(secondsLeft(new Date(Number.NaN), 0)).toBeUndefined()
  })

  it.effect("secondsUntil reads the Clock: 90 s ahead is 90, after 30.5 s of clock it is 60", () =>
    Effect.gen(function* () {
      const start = yield* TestClock.currentTimeMillis
      const deadline = new Date(start + 90_000)
      expect(yield* secondsUntil("emu", deadline)).toBe(90)
      yield* TestClock.adjust("30500 millis")
      expect(yield* secondsUntil("emu", deadline)).toBe(60)
      expect(yield* secondsUntil("emu", undefined)).toBeUndefined()
    }))

  it.effect("a deadline that has passed, or is no date, fails with Timeout naming the provider", () =>
    Effect.gen(function* () {
      yield* TestClock.adjust("1 hour")
      const now = yield* TestClock.currentTimeMillis
      const passed = yield* Effect.flip(secondsUntil("emu", new Date(now - 1)))
      expect(passed).toMatchObject({ _tag: "Timeout", provider: "emu" })
      expect(passed.message).toContain("nothing was sent")
      expect(yield* Effect.flip(secondsUntil("emu", new Date(now)))).toMatchObject({ _tag: "Timeout" })
      expect(yield* Effect.flip(secondsUntil("emu", new Date(Number.NaN)))).toMatchObject({ _tag: "Timeout" })
    }))
})
