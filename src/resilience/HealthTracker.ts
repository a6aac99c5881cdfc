/**
 * The health counters every provider keeps, in one place: jobs running, jobs waiting, the
 * last error and how long the provider has been up. `Provider.make` wraps every transform in
 * `track`, and services wrap their queues in `queued`.
 *
 * A remote job waits in the provider's queue before it runs: the job runner says which phase
 * the tracked call is in (`reportJobPhase`, read from the fiber, so the runner needs no handle
 * on the provider), and the call is counted as queued or active accordingly until it ends.
 * A provider serving a fallback model list (its discovery failed) stays degraded until
 * discovery succeeds again (`degrade`/`recover`), however long that takes.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Ref from "effect/Ref"
import type { HealthState, HealthStatus } from "../domain/Health.js"

/** Where a remote job is: accepted and waiting at the provider, or running there. */
export type JobPhase = "queued" | "running"

/**
 * How the current tracked call moves between phases; `undefined` outside `track` (a resumed
 * job, a test driving the runner directly), where reports are dropped.
 */
const currentJob: FiberRef.FiberRef<((phase: JobPhase) => Effect.Effect<void>) | undefined> = FiberRef.unsafeMake<
  ((phase: JobPhase) => Effect.Effect<void>) | undefined
>(undefined)

/** Tell the tracker of the call this fiber runs in which phase its remote job is in now. */
export const reportJobPhase = (phase: JobPhase): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(currentJob), (move) => (move === undefined ? Effect.void : move(phase)))

/** Counters of one provider or service. */
export interface HealthTracker {
  /**
   * Count `self` as an active job while it runs (as queued while the job runner reports its
   * remote job queued, see `reportJobPhase`); remember its error if it fails.
   */
  readonly track: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Count `self` as a queued job while it runs (wrap the wait for a slot, not the work). */
  readonly queued: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** Record an error seen outside `track` (discovery, health probes). */
  readonly recordError: (message: string) => Effect.Effect<void>
  /** Degraded until `recover`, whatever the time: the provider serves a fallback (a model list discovery could not renew). */
  readonly degrade: (message: string) => Effect.Effect<void>
  /** End a `degrade` (discovery answered again). */
  readonly recover: Effect.Effect<void>
  /** Whether a snapshot would say degraded (a recent error or a `degrade`): a read of the counters, for routing. */
  readonly degraded: (recentMillis?: number) => Effect.Effect<boolean>
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
  /** Set by `degrade`, cleared by `recover`. */
  readonly fallback: string | undefined
}

const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/** Make a tracker; its uptime counts from now. */
export const make: Effect.Effect<HealthTracker> = Effect.gen(function* () {
  const startedAt = yield* Clock.currentTimeMillis
  const counters = yield* Ref.make<Counters>({ active: 0, queued: 0, lastError: undefined, lastErrorAt: 0, lastErrorSeq: 0, lastSuccessSeq: 0, seq: 0, fallback: undefined })

  const recordError = (message: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Ref.update(counters, (c) => ({ ...c, lastError: message, lastErrorAt: now, seq: c.seq + 1, lastErrorSeq: c.seq + 1 })))

  const track = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      // This call's phase: it is counted in exactly one counter at a time, released from that one.
      let phase: "active" | "queued" = "active"
      const move = (to: JobPhase): Effect.Effect<void> =>
        Ref.update(counters, (c) => {
          const next = to === "queued" ? "queued" : "active"
          if (next === phase) return c
          phase = next
          return next === "queued" ? { ...c, queued: c.queued + 1, active: c.active - 1 } : { ...c, queued: c.queued - 1, active: c.active + 1 }
        })
      return Effect.acquireUseRelease(
        Ref.update(counters, (c) => ({ ...c, active: c.active + 1 })),
        () =>
          self.pipe(
            Effect.tapError((error) => recordError(describe(error))),
            Effect.tap(() => Ref.update(counters, (c) => ({ ...c, seq: c.seq + 1, lastSuccessSeq: c.seq + 1 }))),
            Effect.locally(currentJob, move)
          ),
        () => Ref.update(counters, (c) => (phase === "queued" ? { ...c, queued: c.queued - 1 } : { ...c, active: c.active - 1 }))
      )
    })

  const degrade = (message: string) => Effect.zipRight(recordError(message), Ref.update(counters, (c) => ({ ...c, fallback: message })))
  const recover = Ref.update(counters, (c) => (c.fallback === undefined ? c : { ...c, fallback: undefined, seq: c.seq + 1, lastSuccessSeq: c.seq + 1 }))

  const isDegraded = (c: Counters, now: number, recentMillis: number): boolean =>
    c.fallback !== undefined || (c.lastError !== undefined && now - c.lastErrorAt < recentMillis && c.lastErrorSeq > c.lastSuccessSeq)

  const degraded = (recentMillis = 60_000) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.map(Ref.get(counters), (c) => isDegraded(c, now, recentMillis)))

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
      const status: HealthState = !available ? "unhealthy" : isDegraded(c, now, recentMillis) ? "degraded" : "healthy"
      return {
        status,
        uptime: now - startedAt,
        activeJobs: c.active,
        queuedJobs: c.queued,
        // While degraded by a fallback, its cause is the error to name.
        ...(c.fallback !== undefined ? { lastError: c.fallback } : c.lastError !== undefined ? { lastError: c.lastError } : {})
      }
    })

  return { track, queued, recordError, degrade, recover, degraded, snapshot }
})
