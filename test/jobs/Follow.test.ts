/**
 * The poll loop: `advance` decides what one poll means (which events, the next state, how the
 * job ended) without a clock; `follow` polls on its schedule under TestClock, reports those
 * events in order, stops at a final state and marks the job finished before anything else.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import { NetworkError } from "../../src/domain/Errors.js"
import * as Progress from "../../src/domain/Progress.js"
import { advance, follow, type FollowState, initialState } from "../../src/jobs/Follow.js"
import type { JobStatus } from "../../src/jobs/JobStatus.js"
import { makeControl } from "../../src/jobs/Run.js"
import { JobTicket } from "../../src/jobs/Ticket.js"

const ticket = new JobTicket({
  provider: "emu",
  model: "emu/model",
  capability: "text-to-image",
  requestId: "r1",
  statusUrl: "https://emu.test/r1/status",
  resultUrl: "https://emu.test/r1",
  cancelUrl: "https://emu.test/r1/cancel",
  submittedAt: new Date(0)
})

/** Run `advance` over answers, collecting the events and the last step. */
const walk = (answers: ReadonlyArray<JobStatus>) => {
  let state: FollowState = initialState
  const events: Array<Progress.JobEvent> = []
  for (const answer of answers) {
    const step = advance(ticket, state, answer)
    if (step._tag === "Failed") return { events, end: step }
    events.push(...step.events)
    if (step._tag === "Completed") return { events, end: step }
    state = step.state
  }
  return { events, end: undefined }
}

describe("advance", () => {
  it("Queued is reported when the job enters the queue and when its position changes", () => {
    const { events } = walk([{ _tag: "Queued", position: 2 }, { _tag: "Queued", position: 2 }, { _tag: "Queued", position: 1 }, { _tag: "Queued" }])
    expect(events).toEqual([
      Progress.JobEvent.Queued({ provider: "emu", model: "emu/model", position: 2 }),
      Progress.JobEvent.Queued({ provider: "emu", model: "emu/model", position: 1 }),
      Progress.JobEvent.Queued({ provider: "emu", model: "emu/model", position: undefined })
    ])
  })

  it("Running is reported when the job starts, with new log lines only, and when the percent changes", () => {
    const { events } = walk([
      { _tag: "Queued", position: 0 },
      { _tag: "Running", logs: ["loading"] },
      { _tag: "Running", logs: ["loading"] },
      { _tag: "Running", logs: ["loading", " 40%|####"] },
      { _tag: "Running", logs: ["loading", " 40%|####"], percent: 55 }
    ])
    expect(events.map((event) => event._tag)).toEqual(["Queued", "Running", "Running", "Running"])
    expect(events[1]).toMatchObject({ logs: ["loading"], percent: undefined })
    expect(events[2]).toMatchObject({ logs: [" 40%|####"], percent: 40 })
    expect(events[3]).toMatchObject({ logs: [], percent: 55 })
  })

  it("a job back in the queue after running is reported queued again, and running again after that", () => {
    const { events } = walk([
      { _tag: "Running", logs: ["a"] },
      { _tag: "Queued", position: 1 },
      { _tag: "Running", logs: ["a"] }
    ])
    expect(events.map((event) => event._tag)).toEqual(["Running", "Queued", "Running"])
    expect(events[2]).toMatchObject({ logs: [] })
  })

  it("completion reports the lines not yet seen at 100 %, then Completed", () => {
    const { end, events } = walk([{ _tag: "Running", logs: ["a"] }, { _tag: "Completed", logs: ["a", "b"] }])
    expect(end?._tag).toBe("Completed")
    expect(events).toEqual([
      Progress.JobEvent.Running({ provider: "emu", model: "emu/model", logs: ["a"], percent: undefined }),
      Progress.JobEvent.Running({ provider: "emu", model: "emu/model", logs: ["b"], percent: 100 }),
      Progress.JobEvent.Completed({ provider: "emu", model: "emu/model" })
    ])
    expect(walk([{ _tag: "Completed" }]).events).toEqual([Progress.JobEvent.Completed({ provider: "emu", model: "emu/model" })])
  })

  it("a failed job is GenerationFailed with the provider's message; one cancelled elsewhere is Cancelled", () => {
    const failed = advance(ticket, initialState, { _tag: "Failed", message: "CUDA out of memory" })
    expect(failed).toMatchObject({
      _tag: "Failed",
      error: { _tag: "GenerationFailed", provider: "emu", jobId: "r1", providerMessage: "CUDA out of memory", message: "emu: job r1 (emu/model) failed: CUDA out of memory" }
    })
    expect(advance(ticket, initialState, { _tag: "Cancelled", message: "by the owner" })).toMatchObject({
      error: { _tag: "Cancelled", message: "emu: job r1 (emu/model) was cancelled: by the owner" }
    })
    expect(advance(ticket, initialState, { _tag: "Cancelled" })).toMatchObject({ error: { message: "emu: job r1 (emu/model) was cancelled" } })
  })
})

const statusOf = (answer: JobStatus): JobStatus => answer

/** A status poll answering `answers` in turn (the last one for ever), counting its calls. */
const scripted = (answers: ReadonlyArray<JobStatus>) => {
  let polls = 0
  const status = Effect.sync(() => answers[Math.min(polls++, answers.length - 1)]!)
  return { status, polls: () => polls }
}

describe("follow", () => {
  it.effect("polls on its schedule, reports the events in order, and stops at completion", () =>
    Effect.gen(function* () {
      const script = scripted([
        { _tag: "Queued", position: 1 },
        { _tag: "Queued", position: 1 },
        { _tag: "Running", logs: ["50%|#"] },
        { _tag: "Completed", logs: ["50%|#"] }
      ])
      const control = yield* makeControl
      const events: Array<Progress.JobEvent> = []
      const fiber = yield* Effect.fork(
        Progress.listen(follow({ ticket, control, poll: script.status, statusOf, schedule: Schedule.spaced("1 second") }), (event) =>
          Effect.sync(() => void events.push(event))
        )
      )
      yield* TestClock.adjust("999 millis")
      expect(script.polls()).toBe(1)
      yield* TestClock.adjust("1 millis")
      expect(script.polls()).toBe(2)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(fiber)
      expect(script.polls()).toBe(4)
      expect(events.map((event) => event._tag)).toEqual(["Queued", "Running", "Completed"])
      // Finished: nothing is left to cancel.
      expect(yield* control.claimCancel).toBe(false)
      yield* TestClock.adjust("1 minute")
      expect(script.polls()).toBe(4)
    }))

  it.effect("an answer in hand stands for the first poll, and the answer that completed the job is returned", () =>
    Effect.gen(function* () {
      const script = scripted([{ _tag: "Completed", logs: ["done"] }])
      const control = yield* makeControl
      const running: JobStatus = { _tag: "Running", logs: [] }
      const fiber = yield* Effect.fork(follow({ ticket, control, poll: script.status, statusOf, initial: running, schedule: Schedule.spaced("1 second") }))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toEqual({ _tag: "Completed", logs: ["done"] })
      expect(script.polls()).toBe(1)

      const finished = yield* follow({ ticket, control: yield* makeControl, poll: script.status, statusOf, initial: { _tag: "Completed" } })
      expect(finished).toEqual({ _tag: "Completed" })
      expect(script.polls()).toBe(1)
    }))

  it.effect("a failed job fails the loop and is marked finished", () =>
    Effect.gen(function* () {
      const script = scripted([{ _tag: "Running", logs: [] }, { _tag: "Failed", message: "boom" }])
      const control = yield* makeControl
      const fiber = yield* Effect.fork(follow({ ticket, control, poll: script.status, statusOf, schedule: Schedule.spaced("1 second") }))
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "GenerationFailed", providerMessage: "boom" })
      expect(yield* control.claimCancel).toBe(false)
    }))

  it.effect("a poll that fails fails the loop, and the job is not marked finished (it may still run)", () =>
    Effect.gen(function* () {
      const control = yield* makeControl
      const status = Effect.fail(new NetworkError({ provider: "emu", detail: "connection reset" }))
      const error = yield* Effect.flip(follow({ ticket, control, poll: status, statusOf }))
      expect(error._tag).toBe("NetworkError")
      expect(yield* control.claimCancel).toBe(true)
    }))

  it.effect("the default schedule waits 500 ms, then 750 ms, growing by half to at most 5 s", () =>
    Effect.gen(function* () {
      const at: Array<number> = []
      const status = Effect.as(Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => void at.push(now))), { _tag: "Queued" } as const)
      const control = yield* makeControl
      const fiber = yield* Effect.fork(follow({ ticket, control, poll: status, statusOf }))
      yield* TestClock.adjust("2 minutes")
      yield* Fiber.interrupt(fiber)
      const waits = at.slice(1).map((time, i) => time - at[i]!)
      expect(waits.slice(0, 3)).toEqual([500, 750, 1125])
      expect(waits.every((wait) => wait <= 5000)).toBe(true)
      expect(waits.slice(-3)).toEqual([5000, 5000, 5000])
    }))
})
