/**
 * How queued jobs are paced, and where their results go: the defaults (poll schedule, retry
 * policy of status polls, the budget of a whole job) and the environment variables that change
 * them (`AUTOMARKET_POLL_INTERVAL`, `AUTOMARKET_DOWNLOAD_DIR`).
 *
 * @module
 */
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as PrivateDir from "../local/PrivateDir.js"
import type { RetryPolicy } from "../resilience/Resilience.js"

/**
 * The retry policy of status polls (idempotent GETs): 8 retries, 1 s doubling, backoff capped at
 * 30 s, any wait (Retry-After included) at 2 minutes.
 */
export const pollRetryPolicy: Partial<RetryPolicy> = { retries: 8, base: "1 second", maxBackoff: "30 seconds", maxWait: "2 minutes" }

/** The default wait between polls: 500 ms growing by 1.5 per poll, at most 5 s. */
export const defaultPollSchedule: Schedule.Schedule<unknown> = Schedule.exponential("500 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("5 seconds"))
)

/** The default budget of a whole job (queue, run and result): 30 minutes. */
export const defaultJobTimeout: Duration.Duration = Duration.minutes(30)

/** The environment variable setting a fixed wait between status polls (a duration, e.g. `200 millis`). */
export const pollIntervalVar = "AUTOMARKET_POLL_INTERVAL"

/** The poll schedule: every `AUTOMARKET_POLL_INTERVAL` when set, else `defaultPollSchedule`. */
export const pollScheduleFromEnv: Effect.Effect<Schedule.Schedule<unknown>> = Config.option(Config.duration(pollIntervalVar)).pipe(
  Effect.map((interval): Schedule.Schedule<unknown> => (interval._tag === "Some" ? Schedule.spaced(interval.value) : defaultPollSchedule)),
  Effect.orElseSucceed((): Schedule.Schedule<unknown> => defaultPollSchedule)
)

/** The environment variable naming where results are downloaded. */
export const downloadDirVar = "AUTOMARKET_DOWNLOAD_DIR"

/**
 * Where results are downloaded: `AUTOMARKET_DOWNLOAD_DIR`, else the user's private `downloads`
 * folder (`PrivateDir`: `$XDG_RUNTIME_DIR/automarket/downloads`, else
 * `~/.cache/automarket/tmp/downloads`), checked when the first result is written
 * (`Results.downloadResult`). Not a fixed folder of the shared temp dir: another user could own
 * it or make it a link to a folder of theirs.
 */
export const downloadDir: Effect.Effect<string> = Config.string(downloadDirVar).pipe(
  Effect.orElse(() => Effect.sync(() => PrivateDir.pathOf("downloads")))
)

/** A queued provider's job settings; each overrides the environment or the default. */
export interface JobSettings {
  /** The wait between status polls. Default: `AUTOMARKET_POLL_INTERVAL`, else `defaultPollSchedule`. */
  readonly pollSchedule?: Schedule.Schedule<unknown>
  /** Where results are downloaded. Default: `AUTOMARKET_DOWNLOAD_DIR`, else the user's private `downloads` folder. */
  readonly downloadDir?: string
  /** Budget of a whole job. Default 30 minutes (`defaultJobTimeout`). */
  readonly jobTimeout?: Duration.DurationInput
  /** Largest result file. Default: Download's 2 GiB. */
  readonly maxDownloadBytes?: number
}

/** The poll schedule and download directory of `settings`, from the environment where they are unset. */
export const resolve = (settings: JobSettings): Effect.Effect<{ readonly schedule: Schedule.Schedule<unknown>; readonly dir: string }> =>
  Effect.all({
    schedule: settings.pollSchedule !== undefined ? Effect.succeed(settings.pollSchedule) : pollScheduleFromEnv,
    dir: settings.downloadDir !== undefined ? Effect.succeed(settings.downloadDir) : downloadDir
  })
