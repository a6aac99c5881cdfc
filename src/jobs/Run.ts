/**
 * Running a submitted job without losing money: the rules a careless caller cannot break.
 *
 * 1. **A submit is never repeated by a retry** unless the provider certainly did not take it:
 *    submits are sent with `retry: false` (http/Http.ts), which retries only a `429` (the
 *    provider refused the request, nothing was created) and a refused connection (nothing was
 *    sent). A 5xx, a reset or a timeout after the request was sent may have created the job, so
 *    the submit fails instead of creating a second, paid job.
 * 2. **Status polls are idempotent GETs**: retried on 429 (honouring Retry-After), 5xx and
 *    transport failures with backoff (`Settings.pollRetryPolicy`), without ever touching the submit.
 * 3. **Interruption cancels the remote job once**: from the moment the submit answered until the
 *    job reached a final state, interrupting the fiber (Ctrl-C, a timeout, a lost race) sends the
 *    provider's cancel call exactly once and stops polling. The submit itself is not interruptible
 *    (at most one request timeout), so a job is never created without the means to cancel it.
 *    The same holds when following fails for good (a status poll out of retries, a bad answer):
 *    a job nobody follows any more is cancelled rather than left to run and be billed.
 * 4. **A whole job has a budget** (`defaultJobTimeout`): over it, the job is cancelled and the
 *    call fails with Timeout.
 *
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Ref from "effect/Ref"
import { type MediaError, Timeout } from "../domain/Errors.js"
import * as Progress from "../domain/Progress.js"
import { Attribute, SpanName } from "../resilience/Attributes.js"
import * as Spans from "../resilience/Spans.js"
import * as Metrics from "../resilience/Metrics.js"
import { reportJobPhase } from "../resilience/HealthTracker.js"
import { defaultJobTimeout } from "./Settings.js"
import { encodeTicket, type JobTicket } from "./Ticket.js"

/**
 * The shared state of one job run, between the loop that follows the job and the guard that
 * cancels it: whether the job reached a final state (then there is nothing left to cancel) and
 * whether the cancel call was sent (it is sent at most once).
 */
export interface JobControl {
  /** Mark the job as having reached a final state: from now on nothing cancels it. */
  readonly finish: Effect.Effect<void>
  /** Whether to send the cancel call now: true once, and only while the job is not finished. */
  readonly claimCancel: Effect.Effect<boolean>
}

/** A fresh `JobControl`: not finished, no cancel sent. */
export const makeControl: Effect.Effect<JobControl> = Effect.map(
  Ref.make({ finished: false, cancelSent: false }),
  (state): JobControl => ({
    finish: Ref.update(state, (now) => ({ ...now, finished: true })),
    claimCancel: Ref.modify(state, (now) => (now.finished || now.cancelSent ? [false, now] : [true, { ...now, cancelSent: true }]))
  })
)

/**
 * When `self` ends without success (interrupted, timed out, or unable to follow the job any
 * more) before the job finished, send `cancel`: a job nobody follows would still run and be
 * billed. Sent once per `control`; its own failure is logged and ignored, bounded by 15 s.
 */
export const cancelUnlessFinished =
  (ticket: JobTicket, control: JobControl, cancel: Effect.Effect<void, MediaError>) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.onExit(self, (exit) =>
      Exit.isSuccess(exit)
        ? Effect.void
        : Effect.flatMap(control.claimCancel, (claimed) =>
            claimed
              ? cancel.pipe(
                  Effect.timeout("15 seconds"),
                  Effect.tapErrorCause((cause) => Effect.logWarning(`${ticket.provider}: cancelling job ${ticket.requestId} failed`, cause)),
                  Effect.ignore
                )
              : Effect.void
          )
    )

/**
 * Run a submitted job (`run`: follow it, fetch and download its result) bounded by `timeout`
 * (default 30 minutes), cancelling it once if it ends in any other way than success (interrupted,
 * timed out, polling failed) before the job finished.
 * This is `resume`: no submit.
 */
export const guarded = <A>(
  ticket: JobTicket,
  cancel: Effect.Effect<void, MediaError>,
  run: (control: JobControl) => Effect.Effect<A, MediaError>,
  timeout: Duration.DurationInput = defaultJobTimeout
): Effect.Effect<A, MediaError> =>
  // The guard is in place before the run can be interrupted.
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(makeControl, (control) =>
      cancelUnlessFinished(ticket, control, cancel)(restore(Metrics.jobInFlight(ticket.provider)(withJobTimeout(ticket, timeout)(run(control)))))
    )
  )

/**
 * Submit a job and run it to its result: `submit` (whose answer holds the ticket, see
 * `ticketOf`) runs uninterruptibly, so an interruption waits for its answer; the cancel guard is
 * installed before anything can be interrupted, so an interruption that arrived during the
 * submit cancels the job as soon as it exists. Then `Submitted` is reported and `run` (follow,
 * fetch, download) runs interruptibly, bounded by `timeout` (default 30 minutes; exceeded: the job
 * is cancelled and the call fails with Timeout).
 */
export const submitAndRun = <S, A>(
  submit: Effect.Effect<S, MediaError>,
  ticketOf: (submitted: S) => JobTicket,
  cancel: (submitted: S) => Effect.Effect<void, MediaError>,
  run: (submitted: S, control: JobControl) => Effect.Effect<A, MediaError>,
  timeout: Duration.DurationInput = defaultJobTimeout
): Effect.Effect<A, MediaError> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.zip(tracedSubmit(submit, ticketOf), makeControl), ([submitted, control]) => {
      const ticket = ticketOf(submitted)
      return cancelUnlessFinished(ticket, control, cancel(submitted))(
        restore(Metrics.jobInFlight(ticket.provider)(Effect.zipRight(reportSubmitted(ticket), withJobTimeout(ticket, timeout)(run(submitted, control)))))
      )
    })
  )

/** A submit in an `automarket.job.submit` span, named after the job it created (provider, model, job id). */
export const tracedSubmit = <S>(submit: Effect.Effect<S, MediaError>, ticketOf: (submitted: S) => JobTicket): Effect.Effect<S, MediaError> =>
  submit.pipe(
    Effect.tap((submitted) => {
      const ticket = ticketOf(submitted)
      return Spans.annotateCurrentSpan({ [Attribute.provider]: ticket.provider, [Attribute.model]: ticket.model, [Attribute.jobId]: ticket.requestId })
    }),
    Effect.tapError((error) => Spans.annotateCurrentSpan({ [Attribute.provider]: error.provider, [Attribute.errorTag]: error._tag })),
    Spans.withSpan(SpanName.jobSubmit, { captureStackTrace: false })
  )

/**
 * Report that the provider accepted a job (the `Submitted` progress event, carrying the ticket
 * as JSON); the provider's health counts it as queued from now until a status says otherwise.
 */
export const reportSubmitted = (ticket: JobTicket): Effect.Effect<void> =>
  Effect.zipRight(
    reportJobPhase("queued"),
    Progress.report(
      Progress.JobEvent.Submitted({ provider: ticket.provider, model: ticket.model, jobId: ticket.requestId, ticket: encodeTicket(ticket) })
    )
  )

/** Bound a job's run by `timeout`: when exceeded the run is interrupted (cancelling the job) and fails with Timeout. */
export const withJobTimeout =
  (ticket: JobTicket, timeout: Duration.DurationInput = defaultJobTimeout) =>
  <A>(self: Effect.Effect<A, MediaError>): Effect.Effect<A, MediaError> => {
    const after = Duration.decode(timeout)
    return Effect.timeoutFail(self, {
      duration: after,
      onTimeout: () =>
        new Timeout({
          provider: ticket.provider,
          after,
          detail: `job ${ticket.requestId} (${ticket.model}) did not finish within ${Duration.format(after)}; it was cancelled`
        })
    })
  }
