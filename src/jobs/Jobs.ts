/**
 * Queued jobs, shared by the remote providers that run long generations (fal.ai, Replicate):
 * the serializable `JobTicket`, the polling loop, and the rules that keep a careless client from
 * losing money.
 *
 * The rules:
 * 1. **A submit is never repeated by a retry** unless the provider certainly did not take it:
 *    submits are sent with `retry: false` (runtime/Http.ts), which retries only a `429` (the
 *    provider refused the request, nothing was created) and a refused connection (nothing was
 *    sent). A 5xx, a reset or a timeout after the request was sent may have created the job, so
 *    the submit fails instead of creating a second, paid job.
 * 2. **Status polls are idempotent GETs**: retried on 429 (honouring Retry-After), 5xx and
 *    transport failures with backoff (`pollRetryPolicy`), without ever touching the submit.
 * 3. **Interruption cancels the remote job once**: from the moment the submit answered until the
 *    job reached a final state, interrupting the fiber (Ctrl-C, a timeout, a lost race) sends the
 *    provider's cancel call exactly once and stops polling. The submit itself is not interruptible
 *    (at most one request timeout), so a job is never created without the means to cancel it.
 *    The same holds when following fails for good (a status poll out of retries, a bad answer):
 *    a job nobody follows any more is cancelled rather than left to run and be billed.
 * 4. **Jobs are values**: a `JobTicket` (JSON with `encodeTicket`/`decodeTicket`) lets another
 *    process `resume` a job: poll, fetch and download it without submitting again.
 *
 * @module
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Config from "effect/Config"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { type Asset, type AssetSource, Audio, FileSource, Image, type Origin, Text, Video } from "../domain/Asset.js"
import { Cancelled, GenerationFailed, InvalidInput, MalformedResponse, type MediaError, Timeout } from "../domain/Errors.js"
import type { InputOf, OptionsOf, OutputOf } from "../domain/MediaProvider.js"
import * as Progress from "../domain/Progress.js"
import * as Download from "../http/Download.js"
import type { RetryPolicy } from "../resilience/Resilience.js"

/** The capabilities whose jobs the queued providers run. */
export const JobCapability = Schema.Literal(
  "text-to-image",
  "image-to-image",
  "text-to-video",
  "image-to-video",
  "text-to-audio",
  "text-to-speech",
  "speech-to-text"
)
/** The capabilities whose jobs the queued providers run. */
export type JobCapability = typeof JobCapability.Type

/**
 * A submitted job: enough to follow, fetch, cancel or resume it from any process. The URLs are
 * the provider's own (fal's `status_url`/`response_url`/`cancel_url`, Replicate's
 * `urls.get`/`urls.get`/`urls.cancel`). `capability` says what kind of asset the result becomes.
 */
export class JobTicket extends Schema.Class<JobTicket>("JobTicket")({
  /** The provider id, e.g. `"falai"`. */
  provider: Schema.String,
  /** The model the job runs, e.g. `"fal-ai/flux-pro"`. */
  model: Schema.String,
  /** What the job makes: decides the asset type of the result. */
  capability: JobCapability,
  /** The provider's request (prediction) id. */
  requestId: Schema.String,
  /** Where the job's status is read. */
  statusUrl: Schema.String,
  /** Where the job's result is read. */
  resultUrl: Schema.String,
  /** Where the job is cancelled. */
  cancelUrl: Schema.String,
  /** When the provider accepted the job (ISO 8601 in JSON). */
  submittedAt: Schema.Date
}) {}

const TicketJson = Schema.parseJson(JobTicket)

/** A ticket as a JSON string (dates as ISO 8601). */
export const encodeTicket = (ticket: JobTicket): string => Schema.encodeSync(TicketJson)(ticket)

/** A ticket from its JSON string; InvalidInput naming what is wrong when it is not one. */
export const decodeTicket = (json: string): Effect.Effect<JobTicket, InvalidInput> =>
  Effect.mapError(
    Schema.decodeUnknown(TicketJson)(json),
    (error) => new InvalidInput({ provider: "jobs", message: `jobs: not a job ticket: ${error.message}`, issues: [error.message] })
  )

/** What one status poll says about a job. `logs` are all the log lines so far. */
export type JobStatus =
  | { readonly _tag: "Queued"; readonly position?: number | undefined }
  | { readonly _tag: "Running"; readonly logs: ReadonlyArray<string>; readonly percent?: number | undefined }
  | { readonly _tag: "Completed"; readonly logs?: ReadonlyArray<string> }
  | { readonly _tag: "Failed"; readonly message: string }
  | { readonly _tag: "Cancelled"; readonly message?: string | undefined }

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

/**
 * The percent done that log lines tell, from the last line that has one: tqdm bars (`45%|###`),
 * or `progress: 45%`, `45.5 %`. Undefined when none does.
 */
export const percentFromLogs = (lines: ReadonlyArray<string>): number | undefined => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!
    const bar = /(\d{1,3}(?:\.\d+)?)\s?%\|/.exec(line) ?? /(\d{1,3}(?:\.\d+)?)\s?%/.exec(line)
    if (bar !== null) {
      const value = Number(bar[1])
      if (value >= 0 && value <= 100) return value
    }
  }
  return undefined
}

/** Log text (one string, possibly with `\r` progress redraws) as lines. */
export const logLines = (text: string | null | undefined): ReadonlyArray<string> =>
  (text ?? "")
    .split(/\r?\n/)
    .map((line) => {
      const redraws = line.split("\r")
      return (redraws[redraws.length - 1] ?? "").trimEnd()
    })
    .filter((line) => line !== "")

/**
 * The shared state of one job run: whether the job reached a final state (then there is nothing
 * left to cancel) and whether the cancel call was sent (it is sent at most once).
 */
export interface JobControl {
  finished: boolean
  cancelSent: boolean
}

/** A fresh `JobControl`. */
export const makeControl = (): JobControl => ({ finished: false, cancelSent: false })

/**
 * When `self` ends without success (interrupted, timed out, or unable to follow the job any
 * more) before the job finished, send `cancel`: a job nobody follows would still run and be
 * billed. Sent once per `control`; its own failure is logged and ignored, bounded by 15 s.
 */
export const cancelUnlessFinished =
  (ticket: JobTicket, control: JobControl, cancel: Effect.Effect<void, MediaError>) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.onExit(self, (exit) =>
      Effect.suspend(() => {
        if (Exit.isSuccess(exit) || control.finished || control.cancelSent) return Effect.void
        control.cancelSent = true
        return cancel.pipe(
          Effect.timeout("15 seconds"),
          Effect.tapErrorCause((cause) => Effect.logWarning(`${ticket.provider}: cancelling job ${ticket.requestId} failed`, cause)),
          Effect.ignore
        )
      })
    )

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
  Effect.suspend(() => {
    const control = makeControl()
    return cancelUnlessFinished(ticket, control, cancel)(withJobTimeout(ticket, timeout)(run(control)))
  })

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
    Effect.flatMap(submit, (submitted) => {
      const ticket = ticketOf(submitted)
      const control = makeControl()
      return cancelUnlessFinished(ticket, control, cancel(submitted))(
        restore(Effect.zipRight(reportSubmitted(ticket), withJobTimeout(ticket, timeout)(run(submitted, control))))
      )
    })
  )

/** Report that the provider accepted a job (the `Submitted` progress event, carrying the ticket as JSON). */
export const reportSubmitted = (ticket: JobTicket): Effect.Effect<void> =>
  Progress.report(
    Progress.JobEvent.Submitted({ provider: ticket.provider, model: ticket.model, jobId: ticket.requestId, ticket: encodeTicket(ticket) })
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
          message: `${ticket.provider}: job ${ticket.requestId} (${ticket.model}) did not finish within ${Duration.format(after)}; it was cancelled`
        })
    })
  }


/**
 * A queued provider's job API, besides its `MediaProvider`: submit without waiting (a ticket to
 * keep), resume a ticket (in this or another process: poll, fetch, download, no new submit),
 * cancel a ticket.
 */
export interface JobClient {
  /** The provider id. */
  readonly provider: string
  /** Submit a job; returns as soon as the provider accepted it. Never resubmits (rule 1). */
  readonly submit: <C extends JobCapability>(
    capability: C,
    model: string,
    input: InputOf<C>,
    options?: OptionsOf<C>
  ) => Effect.Effect<JobTicket, MediaError>
  /** Follow a submitted job to its result asset (downloaded to disk); interrupting cancels it. */
  readonly resume: (ticket: JobTicket) => Effect.Effect<Asset, MediaError>
  /** Ask the provider to cancel a job. */
  readonly cancel: (ticket: JobTicket) => Effect.Effect<void, MediaError>
}

/** The environment variable setting a fixed wait between status polls (a duration, e.g. `200 millis`). */
export const pollIntervalVar = "AUTOMARKET_POLL_INTERVAL"

/** The poll schedule: every `AUTOMARKET_POLL_INTERVAL` when set, else `defaultPollSchedule`. */
export const pollScheduleFromEnv: Effect.Effect<Schedule.Schedule<unknown>> = Config.option(Config.duration(pollIntervalVar)).pipe(
  Effect.map((interval): Schedule.Schedule<unknown> => (interval._tag === "Some" ? Schedule.spaced(interval.value) : defaultPollSchedule)),
  Effect.orElseSucceed((): Schedule.Schedule<unknown> => defaultPollSchedule)
)

/** The environment variable naming where results are downloaded. */
export const downloadDirVar = "AUTOMARKET_DOWNLOAD_DIR"

/** Where results are downloaded: `AUTOMARKET_DOWNLOAD_DIR`, else `<tmp>/automarket`. */
export const downloadDir: Effect.Effect<string> = Config.string(downloadDirVar).pipe(
  Config.withDefault(path.join(os.tmpdir(), "automarket")),
  Effect.orElseSucceed(() => path.join(os.tmpdir(), "automarket"))
)

/** A safe file name for a job's `index`-th result: `<provider>-<request id>-<index>.<ext>`. */
export const resultFileName = (ticket: JobTicket, index: number, extension: string): string =>
  `${ticket.provider}-${ticket.requestId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 80)}-${index}.${extension}`

/** The kind of asset a job capability makes. */
export const outputKindOf = (capability: JobCapability): "image" | "video" | "audio" | "text" => {
  switch (capability) {
    case "text-to-image":
    case "image-to-image":
      return "image"
    case "text-to-video":
    case "image-to-video":
      return "video"
    case "text-to-audio":
    case "text-to-speech":
      return "audio"
    case "speech-to-text":
      return "text"
  }
}

/** Largest local file sent inline (as a data URI) to a remote model: 20 MiB. */
export const maxInlineBytes = 20 * 1024 * 1024

/**
 * An asset's content as a URL a remote model can fetch: a URL source as is, bytes or a file as a
 * `data:` URI (at most `maxInlineBytes`; larger files need hosting: InvalidInput says so).
 */
export const inputUrlOf = (
  provider: string,
  source: AssetSource,
  mimeType: string
): Effect.Effect<string, MediaError> => {
  const tooLarge = (size: number) =>
    new InvalidInput({
      provider,
      message: `${provider}: input of ${size} bytes is too large to send inline (max ${maxInlineBytes}); give a URL source instead`,
      issues: ["input too large to inline"]
    })
  switch (source._tag) {
    case "Url":
      return Effect.succeed(source.url)
    case "Bytes":
      return source.bytes.length > maxInlineBytes
        ? Effect.fail(tooLarge(source.bytes.length))
        : Effect.succeed(`data:${mimeType};base64,${Buffer.from(source.bytes).toString("base64")}`)
    case "File":
      return Effect.tryPromise({
        try: () => fs.stat(source.path),
        catch: () => new InvalidInput({ provider, message: `${provider}: cannot read ${source.path}`, issues: ["input file unreadable"] })
      }).pipe(
        Effect.flatMap((stat) =>
          stat.size > maxInlineBytes
            ? Effect.fail(tooLarge(stat.size))
            : Effect.tryPromise({
                try: () => fs.readFile(source.path),
                catch: () => new InvalidInput({ provider, message: `${provider}: cannot read ${source.path}`, issues: ["input file unreadable"] })
              })
        ),
        Effect.map((bytes) => `data:${mimeType};base64,${bytes.toString("base64")}`)
      )
  }
}

/** A result file a provider named: its URL and what the provider said about it. */
export interface ResultMedia {
  readonly url: string
  readonly contentType?: string | undefined
  readonly width?: number | undefined
  readonly height?: number | undefined
  readonly duration?: number | undefined
}

const defaultExtension = { image: "png", video: "mp4", audio: "wav" } as const
const expected = { image: ["image/*"], video: ["video/*"], audio: ["audio/*"] } as const

/** A downloaded result: the file as a source, its media type and the job's origin. */
export interface DownloadedResult {
  readonly source: FileSource
  readonly mimeType: string
  readonly origin: Origin
  /** What the provider said about the file (size, duration). */
  readonly media: ResultMedia
}

/**
 * Download a job's result file into `dir` (named by `resultFileName`), its content type checked
 * against `kind`; the asset parts (File source, media type, origin with the job id) for it.
 */
export const downloadResult = (
  ticket: JobTicket,
  kind: "image" | "video" | "audio",
  media: ResultMedia,
  options: { readonly dir: string; readonly costUsd?: number | undefined; readonly maxBytes?: number | undefined; readonly index?: number }
): Effect.Effect<DownloadedResult, MediaError, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const hinted = Download.mediaTypeOf(media.contentType)
    const urlPath = media.url.startsWith("data:") ? "" : safePathname(media.url)
    const urlExtension = path.extname(urlPath)
    const extension =
      Download.extensionOf(hinted) ?? (/^\.[a-z0-9]{2,4}$/i.test(urlExtension) ? urlExtension.slice(1).toLowerCase() : defaultExtension[kind])
    const file = yield* Download.download({
      url: media.url,
      to: path.join(options.dir, resultFileName(ticket, options.index ?? 0, extension)),
      expect: expected[kind],
      provider: ticket.provider,
      model: ticket.model,
      ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {})
    })
    const specific = file.contentType !== undefined && !/octet-stream|binary/.test(file.contentType) ? file.contentType : undefined
    return {
      source: new FileSource({ path: file.path }),
      mimeType: specific ?? hinted ?? Download.mediaTypeOfExtension(file.path) ?? `${kind}/${extension}`,
      origin: {
        provider: ticket.provider,
        model: ticket.model,
        jobId: ticket.requestId,
        ...(options.costUsd !== undefined ? { costUsd: options.costUsd } : {})
      },
      media
    }
  })

const sizeOf = (media: ResultMedia) => ({
  ...(media.width !== undefined ? { width: media.width } : {}),
  ...(media.height !== undefined ? { height: media.height } : {})
})
const durationOf = (media: ResultMedia) => (media.duration !== undefined ? { duration: media.duration } : {})

/** A downloaded result as an `Image`. */
export const toImage = (result: DownloadedResult): Image =>
  new Image({ source: result.source, mimeType: result.mimeType, origin: result.origin, ...sizeOf(result.media) })

/** A downloaded result as a `Video`. */
export const toVideo = (result: DownloadedResult): Video =>
  new Video({ source: result.source, mimeType: result.mimeType, origin: result.origin, ...sizeOf(result.media), ...durationOf(result.media) })

/** A downloaded result as an `Audio`. */
export const toAudio = (result: DownloadedResult): Audio =>
  new Audio({ source: result.source, mimeType: result.mimeType, origin: result.origin, ...durationOf(result.media) })

/** A transcript read from a speech-to-text output. */
export interface TranscriptResult {
  readonly text: string
  readonly segments: ReadonlyArray<{ readonly start: number; readonly end: number; readonly text: string }>
  readonly language?: string
}

/** How a finished job's output becomes the asset of each capability. */
export type ResultReaders = {
  readonly [C in JobCapability]: (ticket: JobTicket, output: unknown) => Effect.Effect<OutputOf<C>, MediaError>
}

/**
 * The result readers of a queued provider, from its two output rules: where a file is (then
 * downloaded with `downloadResult` by `fetchFile`) and where a transcript is. An output without
 * either fails with MalformedResponse.
 */
export const resultReaders = (
  fetchFile: (ticket: JobTicket, kind: "image" | "video" | "audio", output: unknown) => Effect.Effect<DownloadedResult, MediaError>,
  transcriptOf: (output: unknown) => TranscriptResult | undefined
): ResultReaders => ({
  "text-to-image": (ticket, output) => Effect.map(fetchFile(ticket, "image", output), toImage),
  "image-to-image": (ticket, output) => Effect.map(fetchFile(ticket, "image", output), toImage),
  "text-to-video": (ticket, output) => Effect.map(fetchFile(ticket, "video", output), toVideo),
  "image-to-video": (ticket, output) => Effect.map(fetchFile(ticket, "video", output), toVideo),
  "text-to-audio": (ticket, output) => Effect.map(fetchFile(ticket, "audio", output), toAudio),
  "text-to-speech": (ticket, output) => Effect.map(fetchFile(ticket, "audio", output), toAudio),
  "speech-to-text": (ticket, output) => {
    const transcript = transcriptOf(output)
    if (transcript === undefined) return Effect.fail(malformedResult(ticket, "the output has no transcript"))
    return Effect.succeed(
      new Text({
        text: transcript.text,
        segments: transcript.segments,
        ...(transcript.language !== undefined ? { language: transcript.language } : {}),
        origin: { provider: ticket.provider, model: ticket.model, jobId: ticket.requestId }
      })
    )
  }
})

/** MalformedResponse about a job's output. */
export const malformedResult = (ticket: JobTicket, what: string): MalformedResponse =>
  new MalformedResponse({ provider: ticket.provider, message: `${ticket.provider}: job ${ticket.requestId} (${ticket.model}): ${what}` })

const safePathname = (url: string): string => {
  try {
    return new URL(url).pathname
  } catch {
    return ""
  }
}
