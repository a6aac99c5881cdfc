/**
 * The job queue of a local service: engine work runs at most `concurrency` jobs at a time, the
 * others wait; `/health` reports how many run and how many wait. Work a request starts belongs to
 * the service, not only to the request: when the service's scope closes, running work is
 * interrupted (its engine processes killed) and its request is answered 503; when a request goes
 * away, its work is interrupted with it.
 *
 * The queue counts its own jobs (a few counters), so the services need nothing of the library's
 * provider health tracking.
 *
 * @module
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import type { Unavailable } from "./Errors.js"

/** How busy a service is, for `/health`. */
export interface JobCounts {
  /** Milliseconds since the queue (the service) started. */
  readonly uptime: number
  readonly activeJobs: number
  readonly queuedJobs: number
}

/** Runs engine jobs at most `concurrency` at a time, counting waiting and running ones. */
export interface JobQueue {
  /**
   * Run `work` as a fiber the service owns: closing the service interrupts it and its request is
   * answered `shuttingDown`; interrupting the caller (the client went away) interrupts it too.
   */
  readonly owned: <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Unavailable, R>
  /** Wait for a free slot (counted as queued), then run `work` in it (counted as active). */
  readonly slot: <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** `slot` inside `owned`: a job that waits its turn and is stopped with the service. */
  readonly run: <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Unavailable, R>
  /** The counts `/health` reports. */
  readonly counts: Effect.Effect<JobCounts>
}

/**
 * A job queue of `concurrency` slots (at least one), closed with its scope. `shuttingDown` is what
 * the requests whose work the closing interrupts are answered (in the service's words).
 */
export const make = (options: {
  readonly concurrency: number
  readonly shuttingDown: Unavailable
}): Effect.Effect<JobQueue, never, Scope.Scope> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const active = yield* Ref.make(0)
    const queued = yield* Ref.make(0)
    const semaphore = yield* Effect.makeSemaphore(Math.max(1, Math.floor(options.concurrency)))
    const fibers = yield* FiberSet.make<unknown, unknown>()

    const counted = <A, E, R>(counter: Ref.Ref<number>, self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.acquireUseRelease(
        Ref.update(counter, (n) => n + 1),
        () => self,
        () => Ref.update(counter, (n) => n - 1)
      )

    const slot = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(counted(queued, semaphore.take(1))),
          restore(counted(active, work)).pipe(Effect.ensuring(semaphore.release(1)))
        )
      )

    const owned = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E | Unavailable, R> =>
      Effect.acquireUseRelease(
        // Forked inside the (uninterruptible) acquire: the work must be made interruptible again.
        FiberSet.run(fibers, Effect.interruptible(work)),
        (fiber) =>
          Effect.flatMap(Fiber.await(fiber), (exit): Effect.Effect<A, E | Unavailable> => {
            if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
            return Cause.isInterruptedOnly(exit.cause) ? Effect.fail(options.shuttingDown) : Effect.failCause(exit.cause)
          }),
        (fiber) => Fiber.interrupt(fiber)
      )

    const counts = Effect.map(
      Effect.all([Clock.currentTimeMillis, Ref.get(active), Ref.get(queued)]),
      ([now, activeJobs, queuedJobs]): JobCounts => ({ uptime: now - startedAt, activeJobs, queuedJobs })
    )

    return { owned, slot, run: (work) => owned(slot(work)), counts }
  })
