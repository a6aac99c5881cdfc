/**
 * The state of durable generations as rows anyone can read: one row per generation (what was
 * asked, the route taken, the submit intent and the ticket, the result or the failure, a cancel
 * request) and its progress events. It lives in the same SQL database as the workflow engine's
 * own journal (SQLite or Postgres), so `jobs list`, `jobs show` and `jobs watch` read it without
 * starting a runner, and it is where the double-pay window is closed: the submit intent is
 * written before the provider is asked, the ticket right after it answers.
 *
 * The SQL is written for both dialects (text, bigint, `ON CONFLICT`); Postgres answers bigints
 * as strings, so every number is read through `num`.
 *
 * @module
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"

export {
  eventsOf,
  finalStatuses,
  type GenerationEvent,
  type GenerationEventRow,
  type GenerationRow,
  GenerationStatus,
  GenerationStore,
  type GenerationStoreService,
  type ListOptions,
  type NewGeneration
} from "./GenerationState.js"
import {
  type GenerationEventRow,
  type GenerationRow,
  type GenerationStatus,
  GenerationStore,
  type GenerationStoreService,
  type ListOptions,
  type NewGeneration,
  finalStatuses
} from "./GenerationState.js"

const num = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value))
const str = (value: unknown): string | undefined => (value === null || value === undefined ? undefined : String(value))

const toRow = (r: Record<string, unknown>): GenerationRow => ({
  id: String(r.id),
  executionId: String(r.execution_id),
  capability: String(r.capability),
  status: r.status as GenerationStatus,
  request: String(r.request),
  provider: str(r.provider),
  model: str(r.model),
  attempt: num(r.attempt) ?? 0,
  intentAt: num(r.intent_at),
  webhookUrl: str(r.webhook_url),
  ticket: str(r.ticket),
  requestId: str(r.request_id),
  submittedAt: num(r.submitted_at),
  cancelRequestedAt: num(r.cancel_requested_at),
  notifiedAt: num(r.notified_at),
  cancelSentAt: num(r.cancel_sent_at),
  result: str(r.result),
  error: str(r.error),
  createdAt: num(r.created_at) ?? 0,
  updatedAt: num(r.updated_at) ?? 0,
  finishedAt: num(r.finished_at),
  deadlineAt: num(r.deadline_at)
})

/** The store over the `SqlClient` in context. */
export const make: Effect.Effect<GenerationStoreService, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const now = Clock.currentTimeMillis

  // Tables made before webhooks lack `webhook_url`. It is looked up first: Postgres' ALTER TABLE
  // locks the table whether or not it changes anything (a worker joining would stall the others),
  // and SQLite has no ADD COLUMN IF NOT EXISTS (two processes adding it at once: the loser fails
  // and `migrate` tries again).
  const hasWebhookColumn = sql.onDialectOrElse({
    pg: () =>
      sql`SELECT COUNT(*) AS n FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'automarket_generations' AND column_name = 'webhook_url'`,
    orElse: () => sql`SELECT COUNT(*) AS n FROM pragma_table_info('automarket_generations') WHERE name = 'webhook_url'`
  }).pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0) > 0))
  const addWebhookColumn = Effect.flatMap(hasWebhookColumn, (has) =>
    has
      ? Effect.void
      : sql.onDialectOrElse({
          pg: () => sql`ALTER TABLE automarket_generations ADD COLUMN IF NOT EXISTS webhook_url TEXT`,
          orElse: () => sql`ALTER TABLE automarket_generations ADD COLUMN webhook_url TEXT`
        })
  )

  // A webhook names its job by the provider's request id. Looked up first too: Postgres' CREATE
  // INDEX IF NOT EXISTS waits for the table's writers before it finds the index is there.
  const hasRequestIndex = sql.onDialectOrElse({
    pg: () => sql`SELECT COUNT(*) AS n FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'automarket_generations_request'`,
    orElse: () => sql`SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND name = 'automarket_generations_request'`
  }).pipe(Effect.map((rows) => Number(rows[0]?.n ?? 0) > 0))
  const addRequestIndex = Effect.flatMap(hasRequestIndex, (has) =>
    has ? Effect.void : sql`CREATE INDEX IF NOT EXISTS automarket_generations_request ON automarket_generations (request_id, provider)`
  )

  const createTables = Effect.all(
    [
      sql`CREATE TABLE IF NOT EXISTS automarket_generations (
        id TEXT PRIMARY KEY,
        execution_id TEXT NOT NULL,
        capability TEXT NOT NULL,
        status TEXT NOT NULL,
        request TEXT NOT NULL,
        provider TEXT,
        model TEXT,
        attempt BIGINT NOT NULL DEFAULT 0,
        intent_at BIGINT,
        webhook_url TEXT,
        ticket TEXT,
        request_id TEXT,
        submitted_at BIGINT,
        cancel_requested_at BIGINT,
        notified_at BIGINT,
        cancel_sent_at BIGINT,
        result TEXT,
        error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL,
        finished_at BIGINT,
        deadline_at BIGINT
      )`,
      sql`CREATE INDEX IF NOT EXISTS automarket_generations_status ON automarket_generations (status, created_at)`,
      addWebhookColumn,
      addRequestIndex,
      sql`CREATE TABLE IF NOT EXISTS automarket_generation_events (
        generation_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        at BIGINT NOT NULL,
        event TEXT NOT NULL,
        PRIMARY KEY (generation_id, seq)
      )`
    ],
    { discard: true }
  )
  // Several processes creating the tables at once can collide in Postgres' catalog: once more after a pause.
  const migrate = Effect.retry(createTables, Schedule.intersect(Schedule.spaced("200 millis"), Schedule.recurs(3)))

  const create = (row: NewGeneration) =>
    Effect.flatMap(now, (at) =>
      sql`INSERT INTO automarket_generations (id, execution_id, capability, status, request, attempt, created_at, updated_at, deadline_at)
          VALUES (${row.id}, ${row.executionId}, ${row.capability}, 'pending', ${row.request}, 0, ${at}, ${at}, ${row.deadlineAt ?? null})
          ON CONFLICT (id) DO NOTHING RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))
    )

  const get = (id: string) =>
    Effect.map(sql`SELECT * FROM automarket_generations WHERE id = ${id}`, (rows) => Option.map(Option.fromNullable(rows[0]), toRow))

  const findByRequest = (provider: string, requestId: string) =>
    Effect.map(
      sql`SELECT * FROM automarket_generations WHERE request_id = ${requestId} AND provider = ${provider} ORDER BY created_at DESC LIMIT 1`,
      (rows) => Option.map(Option.fromNullable(rows[0]), toRow)
    )

  const list = (options: ListOptions = {}) => {
    const conditions = [
      ...(options.statuses !== undefined && options.statuses.length > 0 ? [sql.in("status", options.statuses)] : []),
      // substr, not LIKE: a prefix may hold `_` or `%`.
      ...(options.idPrefix !== undefined ? [sql`substr(id, 1, ${options.idPrefix.length}) = ${options.idPrefix}`] : [])
    ]
    const query = sql`SELECT * FROM automarket_generations ${conditions.length > 0 ? sql`WHERE ${sql.and(conditions)}` : sql``} ORDER BY created_at DESC, id LIMIT ${options.limit ?? 100}`
    return Effect.map(query, (rows) => rows.map(toRow))
  }

  const count = (statuses: ReadonlyArray<GenerationStatus>) =>
    statuses.length === 0
      ? Effect.succeed(0)
      : Effect.map(sql<{ readonly n: number | string }>`SELECT COUNT(*) AS n FROM automarket_generations WHERE ${sql.in("status", statuses)}`, (rows) => Number(rows[0]?.n ?? 0))

  const setStatus = (id: string, status: GenerationStatus) =>
    Effect.flatMap(now, (at) => sql`UPDATE automarket_generations SET status = ${status}, updated_at = ${at} WHERE id = ${id}`).pipe(Effect.asVoid)

  const setAttempt = (id: string, attempt: number, provider: string, model: string | undefined) =>
    Effect.flatMap(
      now,
      (at) => sql`UPDATE automarket_generations
        SET attempt = ${attempt}, provider = ${provider}, model = ${model ?? null}, intent_at = NULL, webhook_url = NULL, ticket = NULL,
            request_id = NULL, submitted_at = NULL, notified_at = NULL, updated_at = ${at}
        WHERE id = ${id} AND (attempt <> ${attempt} OR provider IS NULL)`
    ).pipe(Effect.asVoid)

  const recordIntent = (id: string, attempt: number, at: number, webhookUrl?: string | undefined) =>
    sql`UPDATE automarket_generations SET intent_at = ${at}, webhook_url = ${webhookUrl ?? null}, status = 'submitting', updated_at = ${at}
        WHERE id = ${id} AND attempt = ${attempt}`.pipe(Effect.asVoid)

  const recordTicket = (id: string, attempt: number, ticket: string, requestId: string) =>
    Effect.flatMap(
      now,
      (at) => sql`UPDATE automarket_generations
        SET ticket = ${ticket}, request_id = ${requestId}, submitted_at = ${at}, status = 'running', updated_at = ${at}
        WHERE id = ${id} AND attempt = ${attempt}`
    ).pipe(Effect.asVoid)

  const recordResult = (id: string, result: string) =>
    Effect.flatMap(
      now,
      (at) => sql`UPDATE automarket_generations SET result = ${result}, status = 'succeeded', updated_at = ${at}, finished_at = ${at} WHERE id = ${id}`
    ).pipe(Effect.asVoid)

  const recordFailure = (id: string, status: "failed" | "cancelled", error: string) =>
    Effect.flatMap(
      now,
      (at) => sql`UPDATE automarket_generations SET error = ${error}, status = ${status}, updated_at = ${at}, finished_at = ${at} WHERE id = ${id}`
    ).pipe(Effect.asVoid)

  const requestCancel = (id: string) =>
    Effect.flatMap(
      now,
      (at) => sql`UPDATE automarket_generations SET cancel_requested_at = ${at}, updated_at = ${at}
        WHERE id = ${id} AND cancel_requested_at IS NULL AND status NOT IN ('succeeded', 'failed', 'cancelled') RETURNING id`
    ).pipe(
      Effect.flatMap((rows) =>
        rows.length > 0
          ? Effect.succeed(true)
          : // Asked before: still true while the generation is not final.
            Effect.map(get(id), (row) => Option.exists(row, (r) => r.cancelRequestedAt !== undefined && !finalStatuses.has(r.status)))
      )
    )

  const notify = (id: string) =>
    Effect.flatMap(
      now,
      (at) => sql`UPDATE automarket_generations SET notified_at = ${at}, updated_at = ${at}
        WHERE id = ${id} AND status NOT IN ('succeeded', 'failed', 'cancelled') RETURNING id`
    ).pipe(Effect.map((rows) => rows.length > 0))

  const claimCancel = (id: string) =>
    Effect.flatMap(
      now,
      (at) => sql`UPDATE automarket_generations SET cancel_sent_at = ${at}, updated_at = ${at}
        WHERE id = ${id} AND cancel_sent_at IS NULL RETURNING id`
    ).pipe(Effect.map((rows) => rows.length > 0))

  const appendEvent = (id: string, event: string) =>
    Effect.flatMap(now, (at) =>
      sql`INSERT INTO automarket_generation_events (generation_id, seq, at, event)
          SELECT ${id}, COALESCE(MAX(seq), 0) + 1, ${at}, ${event} FROM automarket_generation_events WHERE generation_id = ${id}`
    ).pipe(Effect.asVoid)

  const events = (id: string, afterSeq: number) =>
    Effect.map(
      sql`SELECT * FROM automarket_generation_events WHERE generation_id = ${id} AND seq > ${afterSeq} ORDER BY seq`,
      (rows): ReadonlyArray<GenerationEventRow> =>
        rows.map((r) => ({ generationId: String(r.generation_id), seq: num(r.seq) ?? 0, at: num(r.at) ?? 0, event: String(r.event) }))
    )

  // Whether the engine's journal is in this database (absent when the store is used alone).
  const engineTables = sql`SELECT COUNT(*) AS n FROM cluster_messages WHERE 1 = 0`.pipe(Effect.as(true), Effect.orElseSucceed(() => false))

  const prune = (before: number) =>
    Effect.flatMap(engineTables, (withEngine) =>
      sql.withTransaction(
        Effect.gen(function* () {
          const rows = yield* sql`SELECT id, execution_id FROM automarket_generations
            WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at IS NOT NULL AND finished_at < ${before}`
          const ids = rows.map((r) => String(r.id))
          if (ids.length === 0) return ids
          if (withEngine) {
            // The engine never deletes its journal: the finished workflows' messages and replies go with them.
            const executions = rows.map((r) => String(r.execution_id))
            yield* sql`DELETE FROM cluster_replies WHERE request_id IN (SELECT id FROM cluster_messages WHERE ${sql.in("entity_id", executions)})`
            yield* sql`DELETE FROM cluster_messages WHERE ${sql.in("entity_id", executions)}`
          }
          yield* sql`DELETE FROM automarket_generation_events WHERE ${sql.in("generation_id", ids)}`
          yield* sql`DELETE FROM automarket_generations WHERE ${sql.in("id", ids)}`
          return ids
        })
      )
    )

  return {
    migrate,
    create,
    get,
    findByRequest,
    list,
    count,
    setStatus,
    setAttempt,
    recordIntent,
    recordTicket,
    recordResult,
    recordFailure,
    requestCancel,
    notify,
    claimCancel,
    appendEvent,
    events,
    prune
  }
})

/** The store over the `SqlClient` in context, its tables created when missing. */
export const layer: Layer.Layer<GenerationStore, SqlError, SqlClient.SqlClient> = Layer.effect(
  GenerationStore,
  Effect.tap(make, (store) => store.migrate)
)
