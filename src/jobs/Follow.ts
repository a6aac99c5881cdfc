/**
 * Following a submitted job: poll its status on a schedule until it reaches a final state,
 * reporting what changed as progress events.
 *
 * The decision is a pure step (`advance`): from what the loop remembers (`FollowState`) and one
 * poll's answer, the events to report and either the next state or how the job ended. `follow`
 * only runs that step between the waits of its `Schedule`, so what is reported when can be tested
 * without a clock, and the loop itself holds no mutable state.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { Cancelled, GenerationFailed, type MediaError } from "../domain/Errors.js"
import * as Progress from "../domain/Progress.js"
import { Attribute, SpanName } from "../resilience/Attributes.js"
import { type JobPhase, reportJobPhase } from "../resilience/HealthTracker.js"
import * as Spans from "../resilience/Spans.js"
import * as ProviderWait from "../resilience/ProviderWait.js"
import { type JobStatus, percentFromLogs } from "./JobStatus.js"
import type { JobControl } from "./Run.js"
import { defaultPollSchedule } from "./Settings.js"
import type { JobTicket } from "./Ticket.js"

/** What the loop remembers between polls, so that it reports only what changed. */
export interface FollowState {
  /** The state the previous poll answered, none before the first. */
  readonly previous: "Queued" | "Running" | undefined
  /** How many log lines were already reported. */
  readonly seenLogs: number
  /** The queue position the last `Queued` answer gave. */
  readonly position: number | undefined
  /** The percent the last `Running` answer gave (or its logs told). */
  readonly percent: number | undefined
}

/** The state before the first poll. */
export const initialState: FollowState = { previous: undefined, seenLogs: 0, position: undefined, percent: undefined }

/** What one poll means: the events to report, and whether to poll again or how the job ended. */
export type FollowStep =
  | { readonly _tag: "Continue"; readonly events: ReadonlyArray<Progress.JobEvent>; readonly state: FollowState }
  | { readonly _tag: "Completed"; readonly events: ReadonlyArray<Progress.JobEvent> }
  | { readonly _tag: "Failed"; readonly error: GenerationFailed | Cancelled }

/**
 * One poll's answer, given what the loop remembers: `Queued` is reported when the job enters the
 * queue or its position changes, `Running` when it starts running, has new log lines or a new
 * percent, and a completed job reports its last unseen lines (at 100 %) and `Completed`. A failed
 * job ends with GenerationFailed carrying the provider's message, one cancelled elsewhere with
 * Cancelled.
 */
export const advance = (ticket: JobTicket, state: FollowState, status: JobStatus): FollowStep => {
  const { model, provider } = ticket
  switch (status._tag) {
    case "Queued": {
      const changed = state.previous !== "Queued" || status.position !== state.position
      return {
        _tag: "Continue",
        events: changed ? [Progress.JobEvent.Queued({ provider, model, position: status.position })] : [],
        state: { ...state, previous: "Queued", position: status.position }
      }
    }
    case "Running": {
      const fresh = unseen(status.logs, state.seenLogs)
      const percent = status.percent ?? percentFromLogs(status.logs)
      const changed = state.previous !== "Running" || fresh.length > 0 || percent !== state.percent
      return {
        _tag: "Continue",
        events: changed ? [Progress.JobEvent.Running({ provider, model, logs: fresh, percent })] : [],
        state: { ...state, previous: "Running", seenLogs: status.logs.length, percent }
      }
    }
    case "Completed": {
      const fresh = unseen(status.logs ?? [], state.seenLogs)
      return {
        _tag: "Completed",
        events: [
          ...(fresh.length > 0 ? [Progress.JobEvent.Running({ provider, model, logs: fresh, percent: 100 })] : []),
          Progress.JobEvent.Completed({ provider, model })
        ]
      }
    }
    case "Failed":
      return {
        _tag: "Failed",
        error: new GenerationFailed({
          provider,
          jobId: ticket.requestId,
          providerMessage: status.message,
          detail: `job ${ticket.requestId} (${model}) failed: ${status.message}`
        })
      }
    case "Cancelled":
      return {
        _tag: "Failed",
        error: new Cancelled({
          provider,
          jobId: ticket.requestId,
          detail: `job ${ticket.requestId} (${model}) was cancelled${status.message !== undefined ? `: ${status.message}` : ""}`
        })
      }
  }
}

// The lines after the `seen` first ones: none when the provider answered fewer than were seen.
const unseen = (logs: ReadonlyArray<string>, seen: number): ReadonlyArray<string> => logs.slice(Math.min(seen, logs.length))

/** How to follow one job, whose status answers are `A` (the provider's own shape). */
export interface FollowOptions<A> {
  readonly ticket: JobTicket
  /** One status poll (retried inside as the provider's client sees fit, see `pollRetryPolicy`). */
  readonly poll: Effect.Effect<A, MediaError>
  /** What an answer says about the job. */
  readonly statusOf: (answer: A) => JobStatus
  /** An answer already in hand (a submit that waited for the job): it stands for the first poll. */
  readonly initial?: A | undefined
  /** Marked finished when the job reaches a final state. */
  readonly control: JobControl
  /** The wait between polls. Default `defaultPollSchedule`. */
  readonly schedule?: Schedule.Schedule<unknown>
  /**
   * Waited for before every poll, the first included, instead of `schedule` (an answer in hand,
   * `initial`, stands for the first poll and is not waited for): for a job whose provider calls
   * back when it is done, where a poll is worth sending only on that call or after a long wait.
   */
  readonly pace?: Effect.Effect<void> | undefined
}

/**
 * Poll a job until it reaches a final state, reporting the events `advance` decides, waiting
 * between polls as `schedule` says (or for `pace` before each poll); the answer that said the job completed. The job is marked
 * finished in `control` as soon as an answer is final, before anything is reported. Fails with
 * GenerationFailed (with the provider's message) for a failed job, Cancelled for a job
 * cancelled elsewhere. Cancelling is `guarded`'s and `submitAndRun`'s job (`cancelUnlessFinished`).
 */
export const follow = <A>(options: FollowOptions<A>): Effect.Effect<A, MediaError> =>
  Effect.flatMap(Schedule.driver(options.schedule ?? defaultPollSchedule), (driver) => {
    const pace = options.pace
    // The waits between polls are waits on the provider; the polls' own exchanges are counted by the HTTP stack.
    let polls = 0
    const counted = Effect.suspend(() => {
      polls++
      return options.poll
    })
    const poll = pace === undefined ? counted : Effect.zipRight(ProviderWait.measure(pace), counted)
    const wait = (answered: A): Effect.Effect<void> => (pace === undefined ? ProviderWait.measure(Effect.orDie(driver.next(answered))) : Effect.void)
    const loop = (state: FollowState, answer: Effect.Effect<A, MediaError>): Effect.Effect<A, MediaError> =>
      Effect.flatMap(answer, (answered) => {
        const status = options.statusOf(answered)
        const step = advance(options.ticket, state, status)
        // The provider's health counts the job as it is at the provider: waiting, or running.
        const phase = phaseOf(status)
        const phased = phase === undefined ? Effect.void : reportJobPhase(phase)
        switch (step._tag) {
          case "Continue":
            // A schedule that ends before the job does would leave a paid job unfollowed: a defect, not a failure to handle.
            return Effect.zipRight(phased, reportAll(step.events)).pipe(
              Effect.zipRight(wait(answered)),
              Effect.zipRight(Effect.suspend(() => loop(step.state, poll)))
            )
          case "Completed":
            return options.control.finish.pipe(Effect.zipRight(phased), Effect.zipRight(reportAll(step.events)), Effect.as(answered))
          case "Failed":
            return Effect.zipRight(options.control.finish, Effect.fail(step.error))
        }
      })
    const { ticket } = options
    return loop(initialState, options.initial !== undefined ? Effect.succeed(options.initial) : poll).pipe(
      Effect.onExit(() => Spans.annotateCurrentSpan(Attribute.polls, polls)),
      Effect.tapError((error) => Spans.annotateCurrentSpan(Attribute.errorTag, error._tag)),
      Spans.withSpan(SpanName.jobPoll, { captureStackTrace: false,
        attributes: { [Attribute.provider]: ticket.provider, [Attribute.model]: ticket.model, [Attribute.jobId]: ticket.requestId }
      })
    )
  })

// A completed job is still ours to fetch and download: it counts as running until the call ends.
const phaseOf = (status: JobStatus): JobPhase | undefined =>
  status._tag === "Queued" ? "queued" : status._tag === "Running" || status._tag === "Completed" ? "running" : undefined

const reportAll = (events: ReadonlyArray<Progress.JobEvent>): Effect.Effect<void> => Effect.forEach(events, Progress.report, { discard: true })
