/**
 * A job as a value: the `JobTicket` a queued provider hands out when it accepts a job, with
 * enough in it to follow, fetch, cancel or resume the job from any process, and its JSON form
 * (`encodeTicket`/`decodeTicket`), which is what a user keeps in a file.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { JobCapability } from "../domain/Capability.js"
import { InvalidInput } from "../domain/Errors.js"

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
  submittedAt: Schema.Date,
  /**
   * Which key of the provider's pool submitted the job: its fingerprint (`KeyRing.fingerprint`),
   * never the key. The job's status, result and cancel calls go out with that key while it is
   * usable, since a job of one account is not visible to another account's key.
   */
  key: Schema.optional(Schema.String)
}) {}

const TicketJson = Schema.parseJson(JobTicket)

/** A ticket as a JSON string (dates as ISO 8601). */
export const encodeTicket = (ticket: JobTicket): string => Schema.encodeSync(TicketJson)(ticket)

/** A ticket from its JSON string; InvalidInput naming what is wrong when it is not one. */
export const decodeTicket = (json: string): Effect.Effect<JobTicket, InvalidInput> =>
  Effect.mapError(
    Schema.decodeUnknown(TicketJson)(json),
    (error) => new InvalidInput({ provider: "jobs", detail: `not a job ticket: ${error.message}`, issues: [error.message] })
  )
