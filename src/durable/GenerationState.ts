/**
 * The generations store's data and tag (`GenerationStore`), apart from its SQL implementation
 * (`GenerationStore.ts`), so that reading code (the command line's `jobs` commands) does not
 * load the SQL client until it runs.
 *
 * @module
 */
import type { SqlError } from "@effect/sql/SqlError"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/** Where a generation is. Final: `succeeded`, `failed`, `cancelled`. */
export const GenerationStatus = Schema.Literal("pending", "submitting", "running", "delivering", "succeeded", "failed", "cancelled")
/** Where a generation is. */
export type GenerationStatus = typeof GenerationStatus.Type

/** The final statuses: nothing changes a generation any more. */
export const finalStatuses: ReadonlySet<GenerationStatus> = new Set(["succeeded", "failed", "cancelled"])

/** One generation as the store holds it. Times are epoch milliseconds. */
export interface GenerationRow {
  readonly id: string
  /** The workflow engine's execution id (its rows in `cluster_messages` carry it as `entity_id`). */
  readonly executionId: string
  readonly capability: string
  readonly status: GenerationStatus
  /** The request as JSON (input, options, route preferences, where to deliver). */
  readonly request: string
  readonly provider: string | undefined
  readonly model: string | undefined
  /** The index of the route candidate being tried. */
  readonly attempt: number
  /** When the submit intent was written (before the submit was sent). */
  readonly intentAt: number | undefined
  /** The URL the provider was told to call when the job is done (written with the intent); undefined: the job is polled. */
  readonly webhookUrl: string | undefined
  /** The provider's job ticket as JSON, once the submit answered. */
  readonly ticket: string | undefined
  readonly requestId: string | undefined
  /** When the ticket was written: `submittedAt - intentAt` is the width of the double-pay window. */
  readonly submittedAt: number | undefined
  readonly cancelRequestedAt: number | undefined
  /** When someone said the job changed (a provider's webhook): the run polls at once instead of waiting. */
  readonly notifiedAt: number | undefined
  /** When the provider's cancel call was claimed (sent at most once, by whoever claimed it). */
  readonly cancelSentAt: number | undefined
  /** The result as JSON (`GenerationResult`). */
  readonly result: string | undefined
  /** The failure as JSON (an encoded `MediaError`). */
  readonly error: string | undefined
  readonly createdAt: number
  readonly updatedAt: number
  readonly finishedAt: number | undefined
  readonly deadlineAt: number | undefined
}

/** A progress event of a generation, in order (`seq` from 1). */
export interface GenerationEventRow {
  readonly generationId: string
  readonly seq: number
  readonly at: number
  /** The event as JSON: a `JobEvent` or a status change (`{ _tag: "Status", status }`). */
  readonly event: string
}

/** Which generations `list` answers with. */
export interface ListOptions {
  readonly statuses?: ReadonlyArray<GenerationStatus>
  /** Only ids that start with this (a gateway key's generations). */
  readonly idPrefix?: string
  /** At most this many. Default 100. */
  readonly limit?: number
}

/** What a new row says. */
export interface NewGeneration {
  readonly id: string
  readonly executionId: string
  readonly capability: string
  readonly request: string
  readonly deadlineAt?: number | undefined
}

/** The generations store. Every method fails only with the database's own `SqlError`. */
export interface GenerationStoreService {
  /** Create the tables when missing (idempotent; safe from several processes at once). */
  readonly migrate: Effect.Effect<void, SqlError>
  /** Insert a generation unless one with its id exists; whether it was inserted. */
  readonly create: (row: NewGeneration) => Effect.Effect<boolean, SqlError>
  readonly get: (id: string) => Effect.Effect<Option.Option<GenerationRow>, SqlError>
  /** The generation whose job is `requestId` on `provider` (a provider id, e.g. `falai`): what a webhook names. */
  readonly findByRequest: (provider: string, requestId: string) => Effect.Effect<Option.Option<GenerationRow>, SqlError>
  /** Generations, newest first, optionally of some statuses and with ids starting with `idPrefix`, at most `limit` (default 100). */
  readonly list: (options?: ListOptions) => Effect.Effect<ReadonlyArray<GenerationRow>, SqlError>
  /** How many generations have one of `statuses`. */
  readonly count: (statuses: ReadonlyArray<GenerationStatus>) => Effect.Effect<number, SqlError>
  readonly setStatus: (id: string, status: GenerationStatus) => Effect.Effect<void, SqlError>
  /** The route candidate being tried and its model. Clears an earlier candidate's intent and ticket. */
  readonly setAttempt: (id: string, attempt: number, provider: string, model: string | undefined) => Effect.Effect<void, SqlError>
  /** Journal the submit intent (before the submit is sent), with the webhook URL the submit carries, if any. */
  readonly recordIntent: (id: string, attempt: number, at: number, webhookUrl?: string | undefined) => Effect.Effect<void, SqlError>
  /** Journal the ticket (right after the provider accepted the job). */
  readonly recordTicket: (id: string, attempt: number, ticket: string, requestId: string) => Effect.Effect<void, SqlError>
  readonly recordResult: (id: string, result: string) => Effect.Effect<void, SqlError>
  readonly recordFailure: (id: string, status: "failed" | "cancelled", error: string) => Effect.Effect<void, SqlError>
  /** Ask for a generation to be cancelled; false when it is unknown or already final. */
  readonly requestCancel: (id: string) => Effect.Effect<boolean, SqlError>
  /** Say the job changed (a verified webhook): the process running it polls at once. False for an unknown or final generation. */
  readonly notify: (id: string) => Effect.Effect<boolean, SqlError>
  /** Claim the right to send the provider's cancel call: true for exactly one caller, ever. */
  readonly claimCancel: (id: string) => Effect.Effect<boolean, SqlError>
  /** Append a progress event. */
  readonly appendEvent: (id: string, event: string) => Effect.Effect<void, SqlError>
  /** Events after `afterSeq`, in order. */
  readonly events: (id: string, afterSeq: number) => Effect.Effect<ReadonlyArray<GenerationEventRow>, SqlError>
  /** Delete final generations (and their events) finished before `before`; their ids. */
  readonly prune: (before: number) => Effect.Effect<ReadonlyArray<string>, SqlError>
}

/** The generations store's tag. */
export class GenerationStore extends Context.Tag("automarket/GenerationStore")<GenerationStore, GenerationStoreService>() {}


/** One progress event of a generation, as recorded. */
export interface GenerationEvent {
  readonly seq: number
  readonly at: Date
  /** A job event (`Submitted`, `Queued`, `Running`, `Downloading`, `Completed`) or `{ _tag: "Status", status, ... }`. */
  readonly event: { readonly _tag: string } & Record<string, unknown>
}

/**
 * A generation's recorded events after `afterSeq` (default 0), read every `every` (default
 * 250 ms) while there are none, until it is final and a read after that found nothing new (the
 * final status event is written before the final row, so it is never lost). From any process:
 * it reads the store only.
 */
export const eventsOf = (
  store: GenerationStoreService,
  id: string,
  options: { readonly afterSeq?: number; readonly every?: Duration.DurationInput } = {}
): Stream.Stream<GenerationEvent> =>
  Stream.paginateChunkEffect({ seq: options.afterSeq ?? 0, done: false }, (state) =>
    Effect.gen(function* () {
      if (state.done) return [Chunk.empty<GenerationEvent>(), Option.none()] as const
      // The row before the events: a final event is written before the final row, so once the row
      // is seen final, this read of the events holds every event there will be.
      const row = yield* Effect.orDie(store.get(id))
      const rows = yield* Effect.orDie(store.events(id, state.seq))
      const final = Option.match(row, { onNone: () => true, onSome: (r) => finalStatuses.has(r.status) })
      if (rows.length === 0 && !final) yield* Effect.sleep(options.every ?? "250 millis")
      const last = rows.length > 0 ? rows[rows.length - 1]!.seq : state.seq
      const chunk = Chunk.fromIterable(rows.map((r): GenerationEvent => ({ seq: r.seq, at: new Date(r.at), event: JSON.parse(r.event) })))
      return [chunk, Option.some({ seq: last, done: final })] as const
    })
  )
