/**
 * The cost ledger in the state database (the embedded SQLite file or Postgres, beside the
 * generations): table `automarket_ledger`, one row per paid call or job, keyed by the entry's
 * id so that writing the same entry twice (a resumed job) keeps one. Dialect-neutral SQL; an
 * unknown cost is NULL. A write that fails is logged, not raised: the call it records already
 * happened and was paid for.
 *
 * @module
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import { CostLedger, type CostLedgerService, type LedgerEntry, type LedgerQuery, totalsOf } from "../registry/Ledger.js"

interface LedgerRow {
  readonly id: string
  readonly at: number | string
  readonly provider: string
  readonly model: string
  readonly capability: string
  readonly units: number | null
  readonly unit: string | null
  readonly unit_price_usd: number | null
  readonly cost_usd: number | string | null
  readonly cost_source: LedgerEntry["costSource"]
  readonly status: LedgerEntry["status"]
  readonly who: string
  readonly generation_id: string | null
  readonly job_id: string | null
}

// Postgres answers BIGINT and DOUBLE PRECISION sums as strings or numbers depending on the driver: both read as numbers.
const num = (value: number | string | null): number | null => (value === null ? null : Number(value))

const entryOf = (row: LedgerRow): LedgerEntry => ({
  id: row.id,
  at: Number(row.at),
  provider: row.provider,
  model: row.model,
  capability: row.capability,
  ...(row.units !== null ? { units: Number(row.units) } : {}),
  ...(row.unit !== null ? { unit: row.unit } : {}),
  ...(row.unit_price_usd !== null ? { unitPriceUsd: Number(row.unit_price_usd) } : {}),
  costUsd: num(row.cost_usd),
  costSource: row.cost_source,
  status: row.status,
  who: row.who,
  ...(row.generation_id !== null ? { generationId: row.generation_id } : {}),
  ...(row.job_id !== null ? { jobId: row.job_id } : {})
})

/** The SQL ledger over the `SqlClient` in context (call `migrate` once, or use `layer`). */
export const make: Effect.Effect<CostLedgerService & { readonly migrate: Effect.Effect<void, SqlError> }, never, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient

    const createTable = Effect.all(
      [
        sql`CREATE TABLE IF NOT EXISTS automarket_ledger (
          id TEXT PRIMARY KEY,
          at BIGINT NOT NULL,
          provider TEXT NOT NULL,
          model TEXT NOT NULL,
          capability TEXT NOT NULL,
          units DOUBLE PRECISION,
          unit TEXT,
          unit_price_usd DOUBLE PRECISION,
          cost_usd DOUBLE PRECISION,
          cost_source TEXT NOT NULL,
          status TEXT NOT NULL,
          who TEXT NOT NULL,
          generation_id TEXT,
          job_id TEXT
        )`,
        sql`CREATE INDEX IF NOT EXISTS automarket_ledger_at ON automarket_ledger (at)`
      ],
      { discard: true }
    )
    // Several processes creating the table at once can collide in Postgres' catalog: once more after a pause.
    const migrate = Effect.retry(createTable, Schedule.intersect(Schedule.spaced("200 millis"), Schedule.recurs(3)))

    const where = (query: LedgerQuery = {}) =>
      sql.and([
        ...(query.since !== undefined ? [sql`at >= ${query.since}`] : []),
        ...(query.until !== undefined ? [sql`at < ${query.until}`] : []),
        ...(query.provider !== undefined ? [sql`provider = ${query.provider}`] : []),
        ...(query.who !== undefined ? [sql`who = ${query.who}`] : [])
      ])

    const record = (entry: LedgerEntry) =>
      sql`INSERT INTO automarket_ledger
          (id, at, provider, model, capability, units, unit, unit_price_usd, cost_usd, cost_source, status, who, generation_id, job_id)
          VALUES (${entry.id}, ${entry.at}, ${entry.provider}, ${entry.model}, ${entry.capability}, ${entry.units ?? null},
            ${entry.unit ?? null}, ${entry.unitPriceUsd ?? null}, ${entry.costUsd}, ${entry.costSource}, ${entry.status},
            ${entry.who}, ${entry.generationId ?? null}, ${entry.jobId ?? null})
          ON CONFLICT (id) DO NOTHING`.pipe(
        Effect.retry(Schedule.intersect(Schedule.exponential("50 millis"), Schedule.recurs(4))),
        Effect.asVoid,
        Effect.catchAllCause((cause) => Effect.logWarning(`ledger: entry ${entry.id} (${entry.provider}/${entry.model}) not written`, cause))
      )

    const entries = (query?: LedgerQuery) =>
      sql<LedgerRow>`SELECT * FROM automarket_ledger WHERE ${where(query)} ORDER BY at, id`.pipe(
        Effect.map((rows) => rows.map(entryOf)),
        Effect.orDie
      )

    const spent = (query?: LedgerQuery) =>
      sql<{ readonly total: number | string | null }>`SELECT SUM(cost_usd) AS total FROM automarket_ledger WHERE ${where(query)}`.pipe(
        Effect.map((rows) => num(rows[0]?.total ?? null) ?? 0),
        Effect.orDie
      )

    return {
      migrate,
      record,
      entries,
      totals: (by, query) => Effect.map(entries(query), (found) => totalsOf(found, by)),
      spent
    }
  }
)

/** The SQL ledger over the `SqlClient` in context, its table created when missing. */
export const layer: Layer.Layer<CostLedger, SqlError, SqlClient.SqlClient> = Layer.effect(
  CostLedger,
  Effect.tap(make, (ledger) => ledger.migrate)
)
