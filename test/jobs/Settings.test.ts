/**
 * Job settings: a fixed poll interval from `AUTOMARKET_POLL_INTERVAL` (an unreadable one falls
 * back to the default schedule), the download directory from `AUTOMARKET_DOWNLOAD_DIR` (else the user's private folder), and
 * programmatic settings over both.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as Settings from "../../src/jobs/Settings.js"
import * as PrivateDir from "../../src/local/PrivateDir.js"

const withEnv = (vars: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(vars))))

/** The first waits of a schedule, in milliseconds, measured under TestClock. */
const waitsOf = (schedule: Schedule.Schedule<unknown>, count: number) =>
  Effect.gen(function* () {
    const at: Array<number> = []
    const fiber = yield* Effect.fork(Effect.repeat(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void at.push(now))), schedule))
    yield* TestClock.adjust("1 minute")
    yield* Fiber.interrupt(fiber)
    return at.slice(1, count + 1).map((time, i) => time - at[i]!)
  })

describe("Settings", () => {
  it.effect("AUTOMARKET_POLL_INTERVAL sets a fixed wait; unset or unreadable, the default schedule", () =>
    Effect.gen(function* () {
      const fixed = yield* Settings.pollScheduleFromEnv.pipe(withEnv({ AUTOMARKET_POLL_INTERVAL: "200 millis" }))
      expect(yield* waitsOf(fixed, 3)).toEqual([200, 200, 200])
      expect(yield* Settings.pollScheduleFromEnv.pipe(withEnv({}))).toBe(Settings.defaultPollSchedule)
      expect(yield* Settings.pollScheduleFromEnv.pipe(withEnv({ AUTOMARKET_POLL_INTERVAL: "soon" }))).toBe(Settings.defaultPollSchedule)
    }))

  it.effect("results go to AUTOMARKET_DOWNLOAD_DIR, else the user's private downloads folder", () =>
    Effect.gen(function* () {
      expect(yield* Settings.downloadDir.pipe(withEnv({ AUTOMARKET_DOWNLOAD_DIR: "/data/results" }))).toBe("/data/results")
      expect(yield* Settings.downloadDir.pipe(withEnv({}))).toBe(PrivateDir.pathOf("downloads"))
    }))

  it.effect("programmatic settings win over the environment", () =>
    Effect.gen(function* () {
      const vars = withEnv({ AUTOMARKET_POLL_INTERVAL: "200 millis", AUTOMARKET_DOWNLOAD_DIR: "/data/results" })
      const fromEnv = yield* Settings.resolve({}).pipe(vars)
      expect(fromEnv.dir).toBe("/data/results")
      const given = yield* Settings.resolve({ downloadDir: "/elsewhere", pollSchedule: Settings.defaultPollSchedule }).pipe(vars)
      expect(given).toEqual({ dir: "/elsewhere", schedule: Settings.defaultPollSchedule })
    }))
})
