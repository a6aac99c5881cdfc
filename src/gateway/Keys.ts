/**
 * The gateway's API keys and spend limits in SQL: the `KeyStore` over the `SqlClient` of the
 * durable generations' database (the embedded SQLite file or Postgres), so that every gateway
 * process sharing that database shares the keys and one account of what each key spent.
 *
 * Amounts are stored as whole micro-dollars (BIGINT): sums are exact in both dialects, where
 * floating dollars would drift (ten reservations of $0.10 must make exactly $1.00). Amounts are
 * rounded up to the micro-dollar, so rounding never lets spend pass a limit.
 *
 * Reservations are serialised per key: inside one transaction the key's row is locked first
 * (Postgres: `SELECT ... FOR UPDATE`; SQLite: a write to the row as the transaction's first
 * statement, which takes the database's write lock at once as `BEGIN IMMEDIATE` would, so no
 * other connection can book between our sum and our insert), then the period's spend is summed
 * and the reservation inserted when it fits. Settling does not take the lock: it can only lower
 * a charge, unless a provider bills more than the worst case, and then a reservation running at
 * that moment may see the lower figure (the overrun shows in the next one).
 *
 * @module
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { type GatewayKey, KeyStore, type KeyStoreService, type NewKey, periodOf, Reservation, type SpendMeta, type SpendPeriod } from "./KeyState.js"

export {
  GatewayKey,
  type CreatedKey,
  KeyRateLimited,
  KeyStore,
  type KeyStoreService,
  type NewKey,
  periodOf,
  Reservation,
  type SpendMeta,
  SpendLimitExceeded,
  spendLimitExceeded,
  SpendPeriod
} from "./KeyState.js"

/** What every secret starts with, so that a leaked one is recognisable (secret scanners, logs). */
export const secretPrefix = "amk_"

// amk_ and 32 random bytes in base64url (43 characters).
const secretShape = /^amk_[A-Za-z0-9_-]{43}$/

/**
 * The stored form of a secret. A fast unsalted hash is right here: the secret is 256 random bits,
 * so there is nothing to guess and no dictionary to precompute, and a slow password hash (bcrypt,
 * scrypt) would only cost every request its CPU time. Unsalted, the hash is also the lookup key.
 */
export const hashSecret = (secret: Redacted.Redacted<string>): string =>
  createHash("sha256").update(Redacted.value(secret), "utf8").digest("hex")

/** A new secret: `amk_` and 32 bytes of the operating system's CSPRNG (not Effect's `Random`, which is not one). */
export const newSecret = (): Redacted.Redacted<string> => Redacted.make(`${secretPrefix}${randomBytes(32).toString("base64url")}`)

/** Dollars as whole micro-dollars, rounded up (after dropping floating-point noise below a nano-dollar). */
export const toMicros = (usd: number): number => Math.ceil(Math.round(usd * 1e9) / 1e3)

const fromMicros = (micros: number): number => micros / 1e6

const num = (value: unknown): number | undefined => (value === null || value === undefined ? undefined : Number(value))

const toKey = (r: Record<string, unknown>): GatewayKey => {
  const revokedAt = num(r.revoked_at)
  const ratePerMinute = num(r.rate_per_minute)
  const limit = num(r.spend_limit_microusd)
  return {
    id: String(r.id),
    name: String(r.name),
    prefix: String(r.prefix),
    createdAt: num(r.created_at) ?? 0,
    ...(revokedAt !== undefined ? { revokedAt } : {}),
    ...(ratePerMinute !== undefined ? { ratePerMinute } : {}),
    ...(limit !== undefined ? { spendLimitUsd: fromMicros(limit) } : {}),
    spendPeriod: r.spend_period === "day" ? "day" : "month"
  }
}

const keyColumns = "id, name, prefix, created_at, revoked_at, rate_per_minute, spend_limit_microusd, spend_period"

/** The key store over the `SqlClient` in context. */
export const make: Effect.Effect<KeyStoreService, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const columns = sql.literal(keyColumns)

  const createTables = Effect.all(
    [
      sql`CREATE TABLE IF NOT EXISTS automarket_gateway_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT,
        rate_per_minute BIGINT,
        spend_limit_microusd BIGINT,
        spend_period TEXT NOT NULL CHECK (spend_period IN ('day', 'month'))
      )`,
      sql`CREATE TABLE IF NOT EXISTS automarket_gateway_spend (
        id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL REFERENCES automarket_gateway_keys (id),
        at BIGINT NOT NULL,
        reserved_microusd BIGINT NOT NULL,
        settled_microusd BIGINT,
        settled_at BIGINT,
        request_id TEXT,
        capability TEXT,
        provider TEXT,
        model TEXT
      )`,
      sql`CREATE INDEX IF NOT EXISTS automarket_gateway_spend_key_at ON automarket_gateway_spend (key_id, at)`
    ],
    { discard: true }
  )
  // Several processes creating the tables at once can collide in Postgres' catalog: once more after a pause.
  const migrate = Effect.retry(createTables, Schedule.intersect(Schedule.spaced("200 millis"), Schedule.recurs(3)))

  const create = (options: NewKey) =>
    Effect.gen(function* () {
      const secret = newSecret()
      const id = `key_${randomBytes(8).toString("hex")}`
      const prefix = Redacted.value(secret).slice(0, secretPrefix.length + 8)
      const at = yield* Clock.currentTimeMillis
      const period: SpendPeriod = options.spendPeriod ?? "month"
      const limit = options.spendLimitUsd !== undefined ? toMicros(options.spendLimitUsd) : null
      yield* sql`INSERT INTO automarket_gateway_keys (id, name, prefix, hash, created_at, rate_per_minute, spend_limit_microusd, spend_period)
        VALUES (${id}, ${options.name}, ${prefix}, ${hashSecret(secret)}, ${at}, ${options.ratePerMinute ?? null}, ${limit}, ${period})`
      const key: GatewayKey = {
        id,
        name: options.name,
        prefix,
        createdAt: at,
        ...(options.ratePerMinute !== undefined ? { ratePerMinute: options.ratePerMinute } : {}),
        ...(limit !== null ? { spendLimitUsd: fromMicros(limit) } : {}),
        spendPeriod: period
      }
      return { key, secret }
    })

  const list = Effect.map(sql`SELECT ${columns} FROM automarket_gateway_keys ORDER BY created_at, id`, (rows) => rows.map(toKey))

  const revoke = (idOrPrefix: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      sql`UPDATE automarket_gateway_keys SET revoked_at = ${at}
        WHERE (id = ${idOrPrefix} OR prefix = ${idOrPrefix}) AND revoked_at IS NULL RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))
    )

  const authenticate = (secret: Redacted.Redacted<string>) =>
    // Malformed secrets are refused without a query; a well-formed one is found by its hash (no
    // comparison of secrets, so nothing to time).
    secretShape.test(Redacted.value(secret))
      ? Effect.map(
          sql`SELECT ${columns} FROM automarket_gateway_keys WHERE hash = ${hashSecret(secret)} AND revoked_at IS NULL`,
          (rows) => Option.map(Option.fromNullable(rows[0]), toKey)
        )
      : Effect.succeed(Option.none<GatewayKey>())

  // Settled amounts, and the worst case of reservations still open.
  const spentMicros = (keyId: string, since: number) =>
    Effect.map(
      sql`SELECT COALESCE(SUM(COALESCE(settled_microusd, reserved_microusd)), 0) AS spent
        FROM automarket_gateway_spend WHERE key_id = ${keyId} AND at >= ${since}`,
      (rows) => num(rows[0]?.spent) ?? 0
    )

  // The key's row locked until the transaction ends: reservations of one key go one at a time.
  const lockKey = (keyId: string) =>
    sql.onDialectOrElse({
      pg: () => sql`SELECT id FROM automarket_gateway_keys WHERE id = ${keyId} FOR UPDATE`,
      // A write as the first statement takes SQLite's write lock before anything is read.
      orElse: () => sql`UPDATE automarket_gateway_keys SET revoked_at = revoked_at WHERE id = ${keyId}`
    })

  const reserve = (keyId: string, worstCaseUsd: number, meta: SpendMeta = {}): Effect.Effect<Reservation, SqlError> =>
    sql.withTransaction(
      Effect.gen(function* () {
        yield* lockKey(keyId)
        const rows = yield* sql`SELECT ${columns} FROM automarket_gateway_keys WHERE id = ${keyId} AND revoked_at IS NULL`
        if (rows[0] === undefined) return Reservation.Inactive()
        const key = toKey(rows[0])
        const now = yield* Clock.currentTimeMillis
        const requested = toMicros(Math.max(0, worstCaseUsd))
        if (key.spendLimitUsd !== undefined) {
          const period = periodOf(key.spendPeriod, now)
          const spent = yield* spentMicros(keyId, period.start.getTime())
          if (spent + requested > toMicros(key.spendLimitUsd)) {
            return Reservation.Refused({
              limitUsd: key.spendLimitUsd,
              spentUsd: fromMicros(spent),
              periodStart: period.start,
              periodEnd: period.end
            })
          }
        }
        const reservationId = `rsv_${randomUUID()}`
        yield* sql`INSERT INTO automarket_gateway_spend (id, key_id, at, reserved_microusd, request_id, capability, provider, model)
          VALUES (${reservationId}, ${keyId}, ${now}, ${requested}, ${meta.requestId ?? null}, ${meta.capability ?? null},
                  ${meta.provider ?? null}, ${meta.model ?? null})`
        return Reservation.Reserved({ reservationId })
      })
    )

  const close = (reservationId: string, micros: Fragment | number) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      sql`UPDATE automarket_gateway_spend SET settled_microusd = ${micros}, settled_at = ${at}
        WHERE id = ${reservationId} AND settled_microusd IS NULL RETURNING id`.pipe(Effect.map((rows) => rows.length > 0))
    )

  const settle = (reservationId: string, actualUsd: number | undefined) =>
    close(reservationId, actualUsd === undefined ? sql.literal("reserved_microusd") : toMicros(Math.max(0, actualUsd)))

  const release = (reservationId: string) => close(reservationId, 0)

  const spent = (keyId: string, since: number) => Effect.map(spentMicros(keyId, since), fromMicros)

  return KeyStore.of({ migrate, create, list, revoke, authenticate, reserve, settle, release, spent })
})

/** The key store over the `SqlClient` in context, its tables created when missing. */
export const layer: Layer.Layer<KeyStore, SqlError, SqlClient.SqlClient> = Layer.effect(
  KeyStore,
  Effect.tap(make, (store) => store.migrate)
)
