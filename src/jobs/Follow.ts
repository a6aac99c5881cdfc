/**
 * Following a submitted job: poll its status on a schedule until it reaches a final state,
 * reporting what changed as progress events.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { Cancelled, GenerationFailed, type MediaError } from "../domain/Errors.js"
import * as Progress from "../domain/Progress.js"
import { type JobStatus, percentFromLogs } from "./JobStatus.js"
import type { JobControl } from "./Run.js"
import { defaultPollSchedule } from "./Settings.js"
import type { JobTicket } from "./Ticket.js"

/** How to follow one job. */
export interface FollowOptions {
  readonly ticket: JobTicket
  /** One status poll (retried inside as the provider's client sees fit, see `pollRetryPolicy`). */
  readonly status: Effect.Effect<JobStatus, MediaError>
  /** Marked finished when the job reaches a final state. */
  readonly control: JobControl
  /** The wait between polls. Default `defaultPollSchedule`. */
  readonly schedule?: Schedule.Schedule<unknown>
}

/**
 * Poll a job until it reaches a final state, reporting `Queued` (when the position changes),
 * `Running` (with new log lines and percent when known) and `Completed` progress events.
 * Fails with GenerationFailed (with the provider's message) for a failed job, Cancelled for a job
 * cancelled elsewhere. Cancelling is `guarded`'s and `submitAndRun`'s job (`cancelUnlessFinished`).
 */
export const follow = (options: FollowOptions): Effect.Effect<void, MediaError> => {
  const { control, ticket } = options
  const provider = ticket.provider
  const model = ticket.model
  return Effect.gen(function* () {
    const driver = yield* Schedule.driver(options.schedule ?? defaultPollSchedule)
    let seenLogs = 0
    let lastTag: string | undefined
    let lastPosition: number | undefined
    let lastPercent: number | undefined
    for (;;) {
      const status = yield* options.status
      switch (status._tag) {
        case "Queued": {
          if (lastTag !== "Queued" || status.position !== lastPosition) {
            yield* Progress.report(Progress.JobEvent.Queued({ provider, model, position: status.position }))
          }
          lastPosition = status.position
          break
        }
        case "Running": {
          const fresh = status.logs.slice(Math.min(seenLogs, status.logs.length))
          seenLogs = status.logs.length
          const percent = status.percent ?? percentFromLogs(status.logs)
          if (lastTag !== "Running" || fresh.length > 0 || percent !== lastPercent) {
            yield* Progress.report(Progress.JobEvent.Running({ provider, model, logs: fresh, percent }))
          }
          lastPercent = percent
          break
        }
        case "Completed": {
          control.finished = true
          const fresh = (status.logs ?? []).slice(Math.min(seenLogs, status.logs?.length ?? 0))
          if (fresh.length > 0) yield* Progress.report(Progress.JobEvent.Running({ provider, model, logs: fresh, percent: 100 }))
          yield* Progress.report(Progress.JobEvent.Completed({ provider, model }))
          return
        }
        case "Failed": {
          control.finished = true
          return yield* Effect.fail(
            new GenerationFailed({
              provider,
              jobId: ticket.requestId,
              providerMessage: status.message,
              message: `${provider}: job ${ticket.requestId} (${model}) failed: ${status.message}`
            })
          )
        }
        case "Cancelled": {
          control.finished = true
          return yield* Effect.fail(
            new Cancelled({
              provider,
              jobId: ticket.requestId,
              message: `${provider}: job ${ticket.requestId} (${model}) was cancelled${status.message !== undefined ? `: ${status.message}` : ""}`
            })
          )
        }
      }
      lastTag = status._tag
      yield* Effect.orDie(driver.next(undefined))
    }
  })
}
