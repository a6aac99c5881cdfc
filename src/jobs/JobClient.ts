/**
 * The job API a queued provider offers besides its `MediaProvider`: submit without waiting (a
 * ticket to keep), resume a ticket (in this or another process: poll, fetch, download, no new
 * submit), cancel a ticket. The registry's manifests hand it to the command line's `jobs`
 * commands.
 *
 * @module
 */
import type * as Effect from "effect/Effect"
import type { Asset } from "../domain/Asset.js"
import type { JobCapability } from "../domain/Capability.js"
import type { MediaError } from "../domain/Errors.js"
import type { InputOf, OptionsOf } from "../domain/MediaProvider.js"
import type { JobTicket } from "./Ticket.js"

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
    options?: OptionsOf<C>
  ) => Effect.Effect<JobTicket, MediaError>
  /** Follow a submitted job to its result asset (downloaded to disk); interrupting cancels it. */
  readonly resume: (ticket: JobTicket) => Effect.Effect<Asset, MediaError>
  /** Ask the provider to cancel a job. */
  readonly cancel: (ticket: JobTicket) => Effect.Effect<void, MediaError>
}
