/**
 * The cost ledger in the state database (the embedded SQLite file or Postgres, beside the
 * generations): table `automarket_ledger`, one row per paid call or job, keyed by the entry's
 * id so that writing the same entry twice (a resumed job) keeps one. Dialect-neutral SQL; an
 * unknown cost is NULL. A write that fails is logged, not raised: the call it records already
 * happened and was paid for.
 *
 * `layer` writes in the background: `record` hands the entry to a writer fiber that writes what
 * has come in as one transaction, so a call does not wait for the database (a commit is a disk
 * flush: milliseconds). Reads see the entries not yet written, so budgets count them; closing
 * the layer writes what is left first.
 *
 * @module
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import { CostLedger, type CostLedgerService, type LedgerEntry, type LedgerQuery, matches, totalsOf } from "../registry/Ledger.js"

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
export const make: Effect.Effect<
  CostLedgerService & {
    readonly migrate: Effect.Effect<void, SqlError>
    readonly writeMany: (batch: ReadonlyArray<LedgerEntry>) => Effect.Effect<void>
    readonly written: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>>
  },
  never,
  SqlClient.SqlClient
> = Effect.gen(
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

    const insert = (entry: LedgerEntry) =>
      sql`INSERT INTO automarket_ledger
          (id, at, provider, model, capability, units, unit, unit_price_usd, cost_usd, cost_source, status, who, generation_id, job_id)
          VALUES (${entry.id}, ${entry.at}, ${entry.provider}, ${entry.model}, ${entry.capability}, ${entry.units ?? null},
            ${entry.unit ?? null}, ${entry.unitPriceUsd ?? null}, ${entry.costUsd}, ${entry.costSource}, ${entry.status},
            ${entry.who}, ${entry.generationId ?? null}, ${entry.jobId ?? null})
          ON CONFLICT (id) DO NOTHING`

    /** Write entries in one transaction (tried again on a busy database); a batch that cannot be written is logged. */
    const writeMany = (batch: ReadonlyArray<LedgerEntry>): Effect.Effect<void> =>
      sql.withTransaction(Effect.forEach(batch, insert, { discard: true })).pipe(
        Effect.retry(Schedule.intersect(Schedule.exponential("50 millis"), Schedule.recurs(4))),
        Effect.catchAllCause((cause) =>
          Effect.logWarning(`ledger: ${batch.length} entries (${batch.map((entry) => entry.id).join(", ").slice(0, 200)}) not written`, cause)
        )
      )

    const record = (entry: LedgerEntry) => writeMany([entry])

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

    /** Which of these ids are written already. */
    const written = (ids: ReadonlyArray<string>): Effect.Effect<ReadonlySet<string>> =>
      ids.length === 0
        ? Effect.succeed(new Set())
        : sql<{ readonly id: string }>`SELECT id FROM automarket_ledger WHERE ${sql.in("id", ids)}`.pipe(
            Effect.map((rows) => new Set(rows.map((row) => row.id))),
            Effect.orDie
          )

    return {
      migrate,
      writeMany,
      written,
      record,
      entries,
      totals: (by, query) => Effect.map(entries(query), (found) => totalsOf(found, by)),
      spent
    }
  }
)

/**
 * A ledger that writes through `writeMany` in the background (see the module comment): entries
 * wait in memory, at most `batch` to a transaction, and count in every read until written.
 */
export const background = (
  direct: CostLedgerService & {
    readonly writeMany: (batch: ReadonlyArray<LedgerEntry>) => Effect.Effect<void>
    readonly written: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlySet<string>>
  },
  options: { readonly batch?: number } = {}
): Effect.Effect<CostLedgerService, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pending = new Map<string, LedgerEntry>()
    const queue = yield* Queue.unbounded<LedgerEntry>()
    const writer = Effect.forever(
      Effect.flatMap(Queue.takeBetween(queue, 1, options.batch ?? 256), (taken) => {
        const batch = Chunk.toReadonlyArray(taken)
        return Effect.ensuring(direct.writeMany(batch), Effect.sync(() => batch.forEach((entry) => pending.delete(entry.id))))
      })
    )
    // Interruptible whatever region first opened the ledger (a call's exit handler records from an
    // uninterruptible one, and a fiber forked there would inherit it: closing would then wait forever).
    yield* Effect.forkScoped(Effect.interruptible(writer))
    // Runs before the writer is stopped (finalizers run last first): what was recorded is written.
    yield* Effect.addFinalizer(() =>
      Effect.repeat(Effect.sync(() => pending.size), { until: (left) => left === 0, schedule: Schedule.spaced("5 millis") }).pipe(
        Effect.timeout("10 seconds"),
        Effect.catchAll(() => Effect.logWarning(`ledger: ${pending.size} entries not written when the ledger closed`))
      )
    )

    const waiting = (query?: LedgerQuery): ReadonlyArray<LedgerEntry> => [...pending.values()].filter((entry) => matches(entry, query))
    // What waits is read before the table: an entry written in between is then in both (and kept once), never in neither.
    const entries = (query?: LedgerQuery) =>
      Effect.suspend(() => {
        const before = waiting(query)
        return Effect.map(direct.entries(query), (written) => {
          const seen = new Set(written.map((entry) => entry.id))
          return { written, more: before.filter((entry) => !seen.has(entry.id)) }
        })
      }).pipe(
        Effect.map(({ more, written }) => {
          return more.length === 0 ? written : [...written, ...more].sort((a, b) => a.at - b.at || a.id.localeCompare(b.id))
        })
      )
    return {
      record: (entry) =>
        Effect.suspend(() => {
          if (pending.has(entry.id)) return Effect.void
          pending.set(entry.id, entry)
          return Queue.offer(queue, entry)
        }),
      entries,
      totals: (by, query) => Effect.map(entries(query), (found) => totalsOf(found, by)),
      // What waits counts too, unless it is written already (an entry recorded again, or written a moment ago).
      spent: (query) =>
        Effect.gen(function* () {
          const more = waiting(query)
          const sum = yield* direct.spent(query)
          if (more.length === 0) return sum
          const known = yield* direct.written(more.map((entry) => entry.id))
          return more.reduce((total, entry) => (known.has(entry.id) ? total : total + (entry.costUsd ?? 0)), sum)
        })
    }
  })

/** The SQL ledger over the `SqlClient` in context, its table created when missing, written in the background. */
export const layer: Layer.Layer<CostLedger, SqlError, SqlClient.SqlClient> = Layer.scoped(
  CostLedger,
  Effect.flatMap(
    Effect.tap(make, (ledger) => ledger.migrate),
    (direct) => background(direct)
  )
)
