/**
 * A submit's deadline (`SubmitControls.deadline`) as the time a provider is told: the whole
 * seconds left until it, read from Effect's `Clock` (so a `TestClock` moves it), rounded up so that
 * the provider never stops a job before its deadline. A deadline that has passed is refused with
 * `Timeout` before anything is sent: a job nobody will wait for is not started.
 *
 * How many seconds a provider accepts, and in which header, is the provider client's business
 * (Replicate's `Cancel-After`, fal's `X-Fal-Request-Timeout`).
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import { Timeout } from "../domain/Errors.js"

/** The whole seconds from `now` (epoch milliseconds) until `deadline`, rounded up; undefined when it is not in the future. */
export const secondsLeft = (deadline: Date, now: number): number | undefined => {
  const millis = deadline.getTime() - now
  return Number.isFinite(millis) && millis > 0 ? Math.ceil(millis / 1000) : undefined
}

/**
 * The whole seconds left until `deadline` by the `Clock` (rounded up); undefined when there is no
 * deadline. Fails with `Timeout` naming `provider` when the deadline is not in the future (or is no
 * date at all).
 */
export const secondsUntil = (provider: string, deadline: Date | undefined): Effect.Effect<number | undefined, Timeout> =>
  deadline === undefined
    ? Effect.succeed(undefined)
    : Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const seconds = secondsLeft(deadline, now)
        return seconds !== undefined
          ? Effect.succeed(seconds)
          : Effect.fail(new Timeout({ provider, detail: `the job's deadline (${describe(deadline)}) passed before it was submitted; nothing was sent` }))
      })

const describe = (deadline: Date): string => (Number.isFinite(deadline.getTime()) ? deadline.toISOString() : "an invalid date")
