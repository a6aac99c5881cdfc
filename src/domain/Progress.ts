/**
 * Progress of long jobs (queued generations, downloads). A provider reports what happens to a
 * job with `report`; whoever runs the job decides whether to listen: the plain `transform`
 * ignores the events, `stream(effect)` turns them into an Effect `Stream` that ends with the
 * result, and the CLI draws a progress bar from them.
 *
 * Reporting goes through an optional `ProgressReporter` service in the context, so a provider
 * needs no extra parameter and costs nothing when nobody listens.
 *
 * @module
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

/** What happened to a job. Every event names the provider and model it concerns. */
export type JobEvent = Data.TaggedEnum<{
  /**
   * The provider accepted the job; `jobId` is its request id. `ticket`, for jobs that can be
   * resumed, is the job's ticket as JSON (`Jobs.encodeTicket`): keep it, and another process
   * can follow the job without submitting it again.
   */
  Submitted: { readonly provider: string; readonly model: string; readonly jobId: string; readonly ticket?: string | undefined }
  /** Waiting in the provider's queue; `position` when the provider says. */
  Queued: { readonly provider: string; readonly model: string; readonly position?: number | undefined }
  /** Running; new log lines since the last event, and percent done (0..100) when known. */
  Running: {
    readonly provider: string
    readonly model: string
    readonly percent?: number | undefined
    readonly logs: ReadonlyArray<string>
  }
  /** A result file is arriving: bytes so far, of `total` when known. */
  Downloading: { readonly provider: string; readonly model: string; readonly received: number; readonly total?: number | undefined }
  /** The job finished on the provider's side (its result may still be downloading). */
  Completed: { readonly provider: string; readonly model: string }
}>

/** Constructors and matchers of `JobEvent`. */
export const JobEvent = Data.taggedEnum<JobEvent>()

/** Where progress events go. Absent from the context: nobody listens. */
export class ProgressReporter extends Context.Tag("automarket/ProgressReporter")<
  ProgressReporter,
  { readonly report: (event: JobEvent) => Effect.Effect<void> }
>() {}

/** Report an event to the listener in the context, if any. Never fails. */
export const report = (event: JobEvent): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(ProgressReporter), (reporter) =>
    Option.isSome(reporter) ? reporter.value.report(event) : Effect.void
  )

/** Run `effect` with `onEvent` listening to its progress. */
export const listen = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  onEvent: (event: JobEvent) => Effect.Effect<void>
): Effect.Effect<A, E, Exclude<R, ProgressReporter>> => Effect.provideService(effect, ProgressReporter, { report: onEvent })

/** One element of a progress stream: an event, or the job's result (always the last element). */
export type Update<A> =
  | { readonly _tag: "Event"; readonly event: JobEvent }
  | { readonly _tag: "Done"; readonly value: A }

/**
 * The progress of `effect` as a `Stream`: its events in order, then `Done` with its result.
 * The stream fails with the effect's error. Ending the stream early (take, interrupt) interrupts
 * the effect, which cancels a remote job.
 */
export const stream = <A, E, R>(effect: Effect.Effect<A, E, R>): Stream.Stream<Update<A>, E, Exclude<R, ProgressReporter>> =>
  Stream.asyncScoped<Update<A>, E, Exclude<R, ProgressReporter>>((emit) =>
    listen(effect, (event) => Effect.sync(() => void emit.single({ _tag: "Event", event }))).pipe(
      Effect.matchCauseEffect({
        onFailure: (cause) => Effect.sync(() => void emit.halt(cause)),
        onSuccess: (value) =>
          Effect.sync(() => {
            void emit.single({ _tag: "Done", value })
            void emit.end()
          })
      }),
      Effect.forkScoped
    )
  )
