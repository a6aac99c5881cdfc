/**
 * The job queue of a local service: engine work runs at most `concurrency` jobs at a time, the
 * others wait; `/health` reports how many run and how many wait. Work a request starts belongs to
 * the service, not only to the request: when the service's scope closes, running work is
 * interrupted (its engine processes killed) and its request is answered 503; when a request goes
 * away, its work is interrupted with it.
 *
 * The queue is bounded: a request is admitted (`admit`) before its body is read, and counted
 * from then until it is answered, receiving, waiting or running; once `concurrency + maxQueued`
 * are in, the next one is refused at once (`QueueFull`, answered 503 with `Retry-After` by
 * `fullAnswer`) and its upload is never stored. Without the bound every request waited, its
 * upload stored on disk while it did.
 *
 * The queue counts its own jobs (a few counters), so the services need nothing of the library's
 * provider health tracking.
 *
 * @module
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import { Unavailable } from "./Errors.js"

/** Requests that may wait beyond the running ones unless a service is told otherwise. */
export const defaultMaxQueued = 16

/** What a refused request is told to wait before trying again, in seconds. */
export const retryAfterSeconds = 5

/** A request the queue did not admit: `concurrency + maxQueued` requests are in already. */
export class QueueFull extends Data.TaggedError("QueueFull")<{ readonly admitted: number }> {
  override get message(): string {
    return `the service is busy (${this.admitted} requests in progress or waiting): try again in ${retryAfterSeconds} seconds`
  }
}

/**
 * The answer to a request the queue did not admit: 503 (`Unavailable` in the service's encoding,
 * `respond`) with `Retry-After`, the same in every service.
 */
export const fullAnswer = (
  respond: (error: Unavailable) => HttpServerResponse.HttpServerResponse,
  full: QueueFull
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.setHeader(respond(new Unavailable({ message: full.message })), "retry-after", String(retryAfterSeconds))

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
   * Count a request in from before its body is read until it is answered, or refuse it at once
   * with `QueueFull` when `concurrency + maxQueued` are in already.
   */
  readonly admit: <A, E, R>(request: Effect.Effect<A, E, R>) => Effect.Effect<A, E | QueueFull, R>
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
 * A job queue of `concurrency` slots (at least one) admitting `maxQueued` requests more
 * (default `defaultMaxQueued`), closed with its scope. `shuttingDown` is what the requests whose
 * work the closing interrupts are answered (in the service's words).
 */
export const make = (options: {
  readonly concurrency: number
  readonly maxQueued?: number | undefined
  readonly shuttingDown: Unavailable
}): Effect.Effect<JobQueue, never, Scope.Scope> =>
  Effect.gen(function* () {
    const startedAt = yield* Clock.currentTimeMillis
    const active = yield* Ref.make(0)
    const queued = yield* Ref.make(0)
    const slots = Math.max(1, Math.floor(options.concurrency))
    const semaphore = yield* Effect.makeSemaphore(slots)
    const admitted = yield* Ref.make(0)
    const maxAdmitted = slots + Math.max(0, Math.floor(options.maxQueued ?? defaultMaxQueued))
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

    const admit = <A, E, R>(request: Effect.Effect<A, E, R>): Effect.Effect<A, E | QueueFull, R> =>
      Effect.acquireUseRelease(
        // Checked and counted in one step: two requests cannot both take the last place.
        Ref.modify(admitted, (n) => (n >= maxAdmitted ? [false, n] : [true, n + 1])),
        (isIn): Effect.Effect<A, E | QueueFull, R> => (isIn ? request : Effect.fail(new QueueFull({ admitted: maxAdmitted }))),
        (isIn) => (isIn ? Ref.update(admitted, (n) => n - 1) : Effect.void)
      )

    const counts = Effect.map(
      Effect.all([Clock.currentTimeMillis, Ref.get(active), Ref.get(queued)]),
      ([now, activeJobs, queuedJobs]): JobCounts => ({ uptime: now - startedAt, activeJobs, queuedJobs })
    )

    return { admit, owned, slot, run: (work) => owned(slot(work)), counts }
  })
