/**
 * The rules of running a job, with a stand-in provider under TestClock: the cancel call goes out
 * once when the run ends any other way than success before the job finished (interrupted, timed
 * out, failed to follow), never after the job finished; an interruption during the submit waits
 * for its answer and then cancels the job it created; `Submitted` carries the ticket.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as TestClock from "effect/TestClock"
import { GenerationFailed, NetworkError } from "../../src/domain/Errors.js"
import * as Progress from "../../src/domain/Progress.js"
import { guarded, makeControl, submitAndRun } from "../../src/jobs/Run.js"
import { decodeTicket, JobTicket } from "../../src/jobs/Ticket.js"

const ticket = new JobTicket({
  provider: "emu",
  model: "emu/model",
  capability: "text-to-video",
  requestId: "r1",
  statusUrl: "https://emu.test/r1/status",
  resultUrl: "https://emu.test/r1",
  cancelUrl: "https://emu.test/r1/cancel",
  submittedAt: new Date(0)
})

/** A cancel call that counts how often it was sent. */
const counter = () => {
  let sent = 0
  return { cancel: Effect.sync(() => void sent++), sent: () => sent }
}

describe("JobControl", () => {
  it.effect("the cancel is claimed once, and never once the job finished", () =>
    Effect.gen(function* () {
      const control = yield* makeControl
      expect(yield* control.claimCancel).toBe(true)
      expect(yield* control.claimCancel).toBe(false)
      const finished = yield* makeControl
      yield* finished.finish
      expect(yield* finished.claimCancel).toBe(false)
    }))
})

describe("guarded (resume)", () => {
  it.effect("a run that succeeds sends no cancel", () =>
    Effect.gen(function* () {
      const { cancel, sent } = counter()
      expect(yield* guarded(ticket, cancel, () => Effect.succeed("done"))).toBe("done")
      expect(sent()).toBe(0)
    }))

  it.effect("an interrupted run cancels the job once", () =>
    Effect.gen(function* () {
      const { cancel, sent } = counter()
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(guarded(ticket, cancel, () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)))
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      expect(sent()).toBe(1)
    }))

  it.effect("a run that fails before the job finished cancels it; one that fails after does not", () =>
    Effect.gen(function* () {
      const lost = counter()
      const unfollowed = yield* Effect.flip(guarded(ticket, lost.cancel, () => Effect.fail(new NetworkError({ provider: "emu", detail: "gone" }))))
      expect(unfollowed._tag).toBe("NetworkError")
      expect(lost.sent()).toBe(1)

      const done = counter()
      const failed = new GenerationFailed({ provider: "emu", jobId: "r1", providerMessage: "boom", detail: "boom" })
      const error = yield* Effect.flip(guarded(ticket, done.cancel, (control) => Effect.zipRight(control.finish, Effect.fail(failed))))
      expect(error).toBe(failed)
      expect(done.sent()).toBe(0)
    }))

  it.effect("a run over its budget is cancelled and fails with Timeout naming the job", () =>
    Effect.gen(function* () {
      const { cancel, sent } = counter()
      const fiber = yield* Effect.fork(guarded(ticket, cancel, () => Effect.never, "20 seconds"))
      yield* TestClock.adjust("20 seconds")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "Timeout", provider: "emu" })
      expect(error.message).toBe("emu: job r1 (emu/model) did not finish within 20s; it was cancelled")
      expect(sent()).toBe(1)
    }))
})

describe("submitAndRun", () => {
  it.effect("reports Submitted with the ticket as JSON, then runs to the result", () =>
    Effect.gen(function* () {
      const { cancel, sent } = counter()
      const events: Array<Progress.JobEvent> = []
      const result = yield* Progress.listen(
        submitAndRun(Effect.succeed(ticket), (submitted) => submitted, () => cancel, () => Effect.succeed(42)),
        (event) => Effect.sync(() => void events.push(event))
      )
      expect(result).toBe(42)
      expect(sent()).toBe(0)
      expect(events).toHaveLength(1)
      const submitted = events[0]!
      expect(submitted).toMatchObject({ _tag: "Submitted", provider: "emu", model: "emu/model", jobId: "r1" })
      expect(submitted._tag === "Submitted" && (yield* decodeTicket(submitted.ticket ?? ""))).toEqual(ticket)
    }))

  it.effect("an interruption during the submit waits for its answer, then cancels the job it created once", () =>
    Effect.gen(function* () {
      const { cancel, sent } = counter()
      const submitting = yield* Deferred.make<void>()
      const answer = yield* Deferred.make<JobTicket>()
      const submit = Effect.zipRight(Deferred.succeed(submitting, undefined), Deferred.await(answer))
      let ran = false
      const fiber = yield* Effect.fork(submitAndRun(submit, (submitted) => submitted, () => cancel, () => Effect.sync(() => (ran = true))))
      yield* Deferred.await(submitting)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.yieldNow()
      expect(sent()).toBe(0)
      yield* Deferred.succeed(answer, ticket)
      yield* Fiber.join(interrupting)
      expect(sent()).toBe(1)
      expect(ran).toBe(false)
    }))

  it.effect("a submit that fails creates nothing to cancel", () =>
    Effect.gen(function* () {
      const { cancel, sent } = counter()
      const error = yield* Effect.flip(
        submitAndRun(Effect.fail(new NetworkError({ provider: "emu", detail: "refused" })), (submitted: JobTicket) => submitted, () => cancel, () => Effect.void)
      )
      expect(error._tag).toBe("NetworkError")
      expect(sent()).toBe(0)
    }))
})
