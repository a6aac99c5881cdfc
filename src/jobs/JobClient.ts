/**
 * The job API a queued provider offers besides its `MediaProvider`: submit without waiting (a
 * ticket to keep), resume a ticket (in this or another process: poll, fetch, download, no new
 * submit), cancel a ticket. The registry's manifests hand it to the command line's `jobs`
 * commands.
 *
 * A provider does not write it by hand: it says how its jobs are submitted, followed and
 * cancelled (`JobProtocol`); `makeJobClient` builds the job API from that and `jobTransform`
 * the provider's capability transforms, both under the rules of `Run` (submitted once,
 * cancelled once, within a budget).
 *
 * @module
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Asset } from "../domain/Asset.js"
import type { JobCapability } from "../domain/Capability.js"
import type { MediaError } from "../domain/Errors.js"
import type { InputOf, OptionsOf, OutputOf } from "../domain/MediaProvider.js"
import type { Transform } from "../provider/Provider.js"
import { guarded, type JobControl, makeControl, reportSubmitted, submitAndRun, tracedSubmit } from "./Run.js"
import type { JobTicket } from "./Ticket.js"

/**
 * What a submit tells the provider besides the job itself. `deadline`: the job's budget ends
 * then; providers that can stop a job on their side at a deadline are told (Replicate's
 * `Cancel-After`, fal's request timeout header), so a job nobody waits for any more is not
 * billed to the end. `webhook`: a URL the provider calls (a signed POST) when the job is done,
 * for providers that call back (fal's `fal_webhook`, Replicate's `webhook`); others ignore it.
 */
export interface SubmitControls {
  readonly deadline?: Date | undefined
  readonly webhook?: string | undefined
}

/**
 * How `JobClient.collect` follows a job. `pace`: waited for before every status read instead
 * of the provider's poll schedule (a job submitted with a webhook is read when the webhook came,
 * or after a long fallback wait).
 */
export interface CollectOptions {
  readonly pace?: Effect.Effect<void> | undefined
}

/** What `JobClient.find` looks for: a job submitted at or after `since` with this model and input. */
export interface JobSearch<C extends JobCapability = JobCapability> {
  readonly capability: C
  readonly model: string
  readonly input: InputOf<C>
  readonly options?: OptionsOf<C> | undefined
  readonly since: Date
}

/**
 * A queued provider's job API, besides its `MediaProvider`: submit without waiting (a ticket to
 * keep), resume a ticket (in this or another process: poll, fetch, download, no new submit),
 * cancel a ticket.
 */
export interface JobClient {
  /** The provider id. */
  readonly provider: string
  /** Submit a job; returns as soon as the provider accepted it. Never resubmits. */
  readonly submit: <C extends JobCapability>(
    capability: C,
    model: string,
    input: InputOf<C>,
    options?: OptionsOf<C>,
    controls?: SubmitControls
  ) => Effect.Effect<JobTicket, MediaError>
  /** Follow a submitted job to its result asset (downloaded to disk); interrupting cancels it. */
  readonly resume: (ticket: JobTicket) => Effect.Effect<Asset, MediaError>
  /**
   * Follow a submitted job to its result asset (downloaded to disk) without cancelling it when
   * interrupted and without a budget of its own: for a durable run, where an interruption is a
   * worker going away (the job goes on and is followed again elsewhere) and the run itself
   * decides when to cancel (`cancel`).
   */
  readonly collect: (ticket: JobTicket, options?: CollectOptions) => Effect.Effect<Asset, MediaError>
  /**
   * Find a job submitted earlier (at or after `search.since`, same model and input), for a run
   * that crashed after sending a submit and before keeping its ticket. Present only for
   * providers that list their jobs (Replicate); `None` when no such job exists.
   */
  readonly find?: (search: JobSearch) => Effect.Effect<Option.Option<JobTicket>, MediaError>
  /** Ask the provider to cancel a job. */
  readonly cancel: (ticket: JobTicket) => Effect.Effect<void, MediaError>
}

/**
 * How a queued provider runs its jobs. `S` is what its submit answers: at least the ticket
 * (`ticketOf`), possibly more (Replicate's first status, when the submit waited for the job).
 */
export interface JobProtocol<S> {
  /** The provider id. */
  readonly provider: string
  /** When set (no key configured), every call fails with it before anything is sent. */
  readonly missing: MediaError | undefined
  /** Submit a job once (see `Run`: never repeated after the request may have been taken). */
  readonly submit: <C extends JobCapability>(
    capability: C,
    model: string,
    input: InputOf<C>,
    options: OptionsOf<C> | undefined,
    controls?: SubmitControls
  ) => Effect.Effect<S, MediaError>
  /** The ticket in a submit's answer. */
  readonly ticketOf: (submitted: S) => JobTicket
  /**
   * Follow a job to its output and read it as the capability's asset, marking `control` finished
   * when the job is. `submitted` is the submit's answer when the job was submitted in this call,
   * undefined when a ticket is resumed. `pace`, when given, is waited for before every status
   * read instead of the poll schedule (`Follow.FollowOptions.pace`).
   */
  readonly run: <C extends JobCapability>(
    capability: C,
    ticket: JobTicket,
    control: JobControl,
    submitted: S | undefined,
    pace?: Effect.Effect<void> | undefined
  ) => Effect.Effect<OutputOf<C>, MediaError>
  /** Ask the provider to cancel a job. */
  readonly cancel: (ticket: JobTicket) => Effect.Effect<void, MediaError>
  /** Find a job submitted earlier with this model and input (see `JobClient.find`); absent when the provider cannot list jobs. */
  readonly find?: (search: JobSearch) => Effect.Effect<Option.Option<JobTicket>, MediaError>
  /** The budget of a whole job. Default `Settings.defaultJobTimeout`. */
  readonly timeout?: Duration.DurationInput | undefined
}

const configured = <S, A>(protocol: JobProtocol<S>, self: Effect.Effect<A, MediaError>): Effect.Effect<A, MediaError> =>
  protocol.missing !== undefined ? Effect.fail(protocol.missing) : self

/** The job API of a queued provider: `submit` reports `Submitted`, `resume` and `cancel` take a ticket. */
export const makeJobClient = <S>(protocol: JobProtocol<S>): JobClient => ({
  provider: protocol.provider,
  submit: (capability, model, input, options, controls) =>
    configured(
      protocol,
      tracedSubmit(protocol.submit(capability, model, input, options, controls), protocol.ticketOf).pipe(Effect.map(protocol.ticketOf), Effect.tap(reportSubmitted))
    ),
  resume: (ticket) =>
    configured(
      protocol,
      guarded(ticket, protocol.cancel(ticket), (control) => protocol.run(ticket.capability, ticket, control, undefined), protocol.timeout)
    ),
  collect: (ticket, options) =>
    configured(
      protocol,
      Effect.flatMap(makeControl, (control) => protocol.run(ticket.capability, ticket, control, undefined, options?.pace))
    ),
  cancel: (ticket) => configured(protocol, protocol.cancel(ticket)),
  ...(protocol.find !== undefined ? { find: (search: JobSearch) => configured(protocol, protocol.find!(search)) } : {})
})

/**
 * A queued provider's transform of `capability`: submit the job, then run it to its asset,
 * cancelled once if the call ends any other way before the job finished (`Run.submitAndRun`).
 */
export const jobTransform =
  <S>(protocol: JobProtocol<S>) =>
  <C extends JobCapability>(capability: C): Transform<C> =>
  (model, input, options) =>
    configured(
      protocol,
      submitAndRun(
        protocol.submit(capability, model, input, options),
        protocol.ticketOf,
        (submitted) => protocol.cancel(protocol.ticketOf(submitted)),
        (submitted, control) => protocol.run(capability, protocol.ticketOf(submitted), control, submitted),
        protocol.timeout
      )
    )
