/**
 * The health counters every provider keeps, in one place: jobs running, jobs waiting, the
 * last error and how long the provider has been up. `Provider.make` wraps every transform in
 * `track`, and services wrap their queues in `queued`.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import type { HealthState, HealthStatus } from "../domain/Health.js"

/** Counters of one provider or service. */
export interface HealthTracker {
  /** Count `self` as an active job while it runs; remember its error if it fails. */
  readonly track: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Count `self` as a queued job while it runs (wrap the wait for a slot, not the work). */
  readonly queued: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Record an error seen outside `track` (discovery, health probes). */
  readonly recordError: (message: string) => Effect.Effect<void>
  /**
   * A snapshot. `available` false makes it unhealthy; an error in the last `recentMillis`
   * (default 60 s) makes it degraded.
   */
  readonly snapshot: (available: boolean, recentMillis?: number) => Effect.Effect<HealthStatus>
}

interface Counters {
  readonly active: number
  readonly queued: number
  readonly lastError: string | undefined
  readonly lastErrorAt: number
  /** Event order: which came last, the error or a success (timestamps can tie). */
  readonly lastErrorSeq: number
  readonly lastSuccessSeq: number
  readonly seq: number
}

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/** Make a tracker; its uptime counts from now. */
export const make: Effect.Effect<HealthTracker> = Effect.gen(function* () {
  const startedAt = yield* Clock.currentTimeMillis
  const counters = yield* Ref.make<Counters>({ active: 0, queued: 0, lastError: undefined, lastErrorAt: 0, lastErrorSeq: 0, lastSuccessSeq: 0, seq: 0 })

  const recordError = (message: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(counters, (c) => ({ ...c, lastError: message, lastErrorAt: now, seq: c.seq + 1, lastErrorSeq: c.seq + 1 })))

  const track = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Ref.update(counters, (c) => ({ ...c, active: c.active + 1 })),
      () =>
        self.pipe(
          Effect.tapError((error) => recordError(describe(error))),
          Effect.tap(() => Ref.update(counters, (c) => ({ ...c, seq: c.seq + 1, lastSuccessSeq: c.seq + 1 })))
        ),
      () => Ref.update(counters, (c) => ({ ...c, active: c.active - 1 }))
    )

  const queued = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Ref.update(counters, (c) => ({ ...c, queued: c.queued + 1 })),
      () => self,
      () => Ref.update(counters, (c) => ({ ...c, queued: c.queued - 1 }))
    )

  const snapshot = (available: boolean, recentMillis = 60_000) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const c = yield* Ref.get(counters)
      const recentError = c.lastError !== undefined && now - c.lastErrorAt < recentMillis && c.lastErrorSeq > c.lastSuccessSeq
      const status: HealthState = !available ? "unhealthy" : recentError ? "degraded" : "healthy"
      return {
        status,
        uptime: now - startedAt,
        activeJobs: c.active,
        queuedJobs: c.queued,
        ...(c.lastError !== undefined ? { lastError: c.lastError } : {})
      }
    })

  return { track, queued, recordError, snapshot }
})
