/**
 * The kit's job queue, with jobs that wait on a `Deferred` instead of engines: with one slot a
 * second job waits and is counted as queued; a failing job gives its slot back; closing the
 * queue's scope interrupts the work it owns and answers its callers `shuttingDown`; a caller
 * that goes away takes its work with it; uptime counts from the start (TestClock).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Unavailable } from "../../../src/services/kit/Errors.js"
import * as JobQueue from "../../../src/services/kit/JobQueue.js"

const shuttingDown = new Unavailable({ message: "test: the service is shutting down" })

/** Wait (yielding to other fibers) until the queue's counts match. */
const countsReach = (queue: JobQueue.JobQueue, expected: { readonly activeJobs: number; readonly queuedJobs: number }) =>
  Effect.gen(function* () {
    for (let i = 0; i < 1000; i++) {
      const counts = yield* queue.counts
      if (counts.activeJobs === expected.activeJobs && counts.queuedJobs === expected.queuedJobs) return
      yield* Effect.yieldNow()
    }
    expect(yield* queue.counts).toMatchObject(expected)
  })

describe("JobQueue", () => {
  it.scoped("runs one job at a time with one slot; the other is counted as queued until the first is done", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.make({ concurrency: 1, shuttingDown })
      const gate = yield* Deferred.make<void>()
      const first = yield* Effect.fork(queue.run(Effect.as(Deferred.await(gate), "first")))
      const second = yield* Effect.fork(queue.run(Effect.succeed("second")))
      yield* countsReach(queue, { activeJobs: 1, queuedJobs: 1 })
      yield* Deferred.succeed(gate, undefined)
      expect(yield* Fiber.join(first)).toBe("first")
      expect(yield* Fiber.join(second)).toBe("second")
      expect(yield* queue.counts).toMatchObject({ activeJobs: 0, queuedJobs: 0 })
    })
  )

  it.scoped("a failing job gives its slot back and its error to its caller", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.make({ concurrency: 1, shuttingDown })
      expect(yield* Effect.flip(queue.run(Effect.fail("engine broke")))).toBe("engine broke")
      expect(yield* queue.slot(Effect.succeed(2))).toBe(2)
      expect(yield* queue.counts).toMatchObject({ activeJobs: 0, queuedJobs: 0 })
    })
  )

  it.effect("closing its scope interrupts the work it owns; the caller is answered shuttingDown", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const queue = yield* Scope.extend(JobQueue.make({ concurrency: 2, shuttingDown }), scope)
      const interrupted = yield* Ref.make(false)
      const started = yield* Deferred.make<void>()
      const caller = yield* Effect.fork(
        queue.run(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.onInterrupt(() => Ref.set(interrupted, true))))
      )
      yield* Deferred.await(started)
      yield* Scope.close(scope, Exit.void)
      expect(yield* Effect.flip(Fiber.join(caller))).toBe(shuttingDown)
      expect(yield* Ref.get(interrupted)).toBe(true)
    })
  )

  it.scoped("a caller that goes away interrupts its work, which frees the slot", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.make({ concurrency: 1, shuttingDown })
      const interrupted = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const caller = yield* Effect.fork(
        queue.run(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))))
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(caller)
      yield* Deferred.await(interrupted)
      expect(yield* queue.run(Effect.succeed("next"))).toBe("next")
      expect(yield* queue.counts).toMatchObject({ activeJobs: 0, queuedJobs: 0 })
    })
  )

  it.scoped("counts its uptime from its start", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.make({ concurrency: 1, shuttingDown })
      yield* TestClock.adjust("90 seconds")
      expect((yield* queue.counts).uptime).toBe(90_000)
    })
  )

  it.scoped("admits concurrency + maxQueued requests; the next is refused at once with QueueFull, and admitted once one ends", () =>
    Effect.gen(function* () {
      const queue = yield* JobQueue.make({ concurrency: 1, maxQueued: 1, shuttingDown })
      const gate = yield* Deferred.make<void>()
      const first = yield* Effect.fork(queue.admit(queue.run(Deferred.await(gate))))
      const second = yield* Effect.fork(queue.admit(queue.run(Deferred.await(gate))))
      yield* countsReach(queue, { activeJobs: 1, queuedJobs: 1 })
      const refused = yield* Effect.flip(queue.admit(Effect.succeed("third")))
      expect(refused).toBeInstanceOf(JobQueue.QueueFull)
      expect(refused.message).toContain("try again in 5 seconds")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(yield* queue.admit(Effect.succeed("fourth"))).toBe("fourth")
    })
  )
})
