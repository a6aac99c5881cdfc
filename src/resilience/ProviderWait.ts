/**
 * How long a call waited on providers, so that what is left of its wall time is automarket's own
 * overhead (`Origin.overheadMs`). A call (`ProviderRegistry.generateDetailed`) opens one `Tally`
 * in a `FiberRef`; the HTTP stack, the job poller and downloads run their waits through `measure`
 * (or report a known wait with `add`). Waits are merged as a union of intervals: a wait inside a
 * wait (a poll's HTTP exchange inside a job wait) or beside another (parallel downloads) is
 * counted once, so the overhead is never made negative by double counting.
 *
 * Without an open tally every function here only reads the FiberRef: code run outside a registry
 * call pays nothing more.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import { globalValue } from "effect/GlobalValue"

/** The waits of one call: milliseconds waited so far, and the open waits. */
export interface Tally {
  /** Wall time spent waiting on providers, in milliseconds (closed waits only). */
  waitedMs: number
  /** Waits now running; while above 0 the union's current stretch started at `since`. */
  open: number
  since: number
}

/** The tally of the call the fiber is part of; undefined outside a call. */
export const currentTally: FiberRef.FiberRef<Tally | undefined> = globalValue(
  "automarket/resilience/ProviderWait/currentTally",
  () => FiberRef.unsafeMake<Tally | undefined>(undefined)
)

/** A fresh tally: nothing waited. */
export const makeTally = (): Tally => ({ waitedMs: 0, open: 0, since: 0 })

/** Run `self` with `tally` as the call's tally (a new call inside keeps its own). */
export const withTally =
  (tally: Tally) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.locally(self, currentTally, tally)

const open = (tally: Tally): void => {
  if (tally.open++ === 0) tally.since = performance.now()
}

const close = (tally: Tally): void => {
  if (--tally.open === 0) tally.waitedMs += performance.now() - tally.since
}

/** Count the wall time of `self` (success, failure or interruption) as time waited on the provider. */
export const measure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(currentTally), (tally) => {
    if (tally === undefined) return self
    // Opened and closed under one mask: an interruption between the two would leave the wait open.
    return Effect.uninterruptibleMask((restore) => {
      open(tally)
      return Effect.ensuring(restore(self), Effect.sync(() => close(tally)))
    })
  })

/** Count `millis` as waited (a retry's backoff, decided before it is slept). */
export const add = (millis: number): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentTally), (tally) => {
    if (tally !== undefined && tally.open === 0) tally.waitedMs += millis
    return Effect.void
  })

/** Milliseconds waited so far, open waits included up to now. */
export const waitedMs = (tally: Tally): number => tally.waitedMs + (tally.open > 0 ? performance.now() - tally.since : 0)
