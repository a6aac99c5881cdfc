/**
 * Test helpers for queued jobs under TestClock: run a job to its end by advancing the clock a
 * step at a time (letting real I/O, the file writes, happen in between), collect progress events,
 * and a config provider standing in for the environment.
 */
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import type { JobEvent } from "../../../src/domain/Progress.js"
import * as Progress from "../../../src/domain/Progress.js"

/** Yield real time (the test clock does not move it): lets sockets and file writes finish. */
export const realPause = (ms = 2) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/** Advance the clock by `step` until `fiber` ends (at most `maxSteps` times); its exit. */
export const drive = <A, E>(fiber: Fiber.RuntimeFiber<A, E>, step: Duration.DurationInput = "1 second", maxSteps = 400) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxSteps; i++) {
      const done = yield* Fiber.poll(fiber)
      if (Option.isSome(done)) return done.value
      yield* realPause()
      yield* TestClock.adjust(step)
    }
    return yield* Fiber.await(fiber)
  })

/** Advance the clock until `until()` holds (or `maxSteps` passed). */
export const driveUntil = (until: () => boolean, step: Duration.DurationInput = "1 second", maxSteps = 400) =>
  Effect.gen(function* () {
    for (let i = 0; i < maxSteps && !until(); i++) {
      yield* realPause()
      yield* TestClock.adjust(step)
    }
  })

/** Run `effect` forked with its progress events recorded, and drive it to its end. */
export const runWithEvents = <A, E>(effect: Effect.Effect<A, E>, step?: Duration.DurationInput) =>
  Effect.gen(function* () {
    const events: Array<JobEvent> = []
    const fiber = yield* Effect.fork(Progress.listen(effect, (event) => Effect.sync(() => void events.push(event))))
    const exit = yield* drive(fiber, step)
    return { exit, events }
  })

/** The value of a successful exit, or a thrown error describing the failure. */
export const valueOf = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (Exit.isSuccess(exit)) return exit.value
  throw new Error(`expected success, got ${JSON.stringify(exit.cause)}`)
}

/** The typed error of a failed exit, or undefined. */
export const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

/** A config provider with exactly these variables. */
export const env = (vars: Record<string, string>) => ConfigProvider.fromMap(new Map(Object.entries(vars)))
