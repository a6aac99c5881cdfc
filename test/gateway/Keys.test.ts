/**
 * The gateway's key store on both dialects it runs on: the embedded SQLite file and Postgres
 * (a throwaway server, test/support/Postgres.ts). Keys are created, found by their secret and
 * revoked; the database holds the secret's hash, never the secret; reservations against a
 * spend limit are granted exactly as far as the limit goes under concurrency (one pool, two
 * pools, two processes); settling and releasing change what is left; a day or month limit
 * starts afresh at the UTC period's boundary.
 *
 * No secret is printed: assertions about secrets compare booleans.
 */
import { describe, expect, it } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import * as Keys from "../../src/gateway/Keys.js"
import { type RunningPostgres, startPostgres } from "../support/Postgres.js"
import { run } from "../support/Run.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-keys-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

let fileCount = 0
const freshFile = () => path.join(dir, `keys-${++fileCount}.db`)

const sqlite = (filename: string) => Keys.layer.pipe(Layer.provideMerge(SqliteClient.layer({ filename })))

let server: RunningPostgres | undefined
beforeAll(async () => {
  server = await startPostgres()
}, 120_000)
afterAll(() => server?.stop())

const pg = () => Keys.layer.pipe(Layer.provideMerge(PgClient.layer({ url: Redacted.make(server!.url), applicationName: "automarket-test" })))

const reserveMany = (store: Keys.KeyStoreService, keyId: string, count: number, usd: number) =>
  Effect.forEach(Array.from({ length: count }), () => store.reserve(keyId, usd), { concurrency: "unbounded" })

const granted = (results: ReadonlyArray<Keys.Reservation>) => results.filter((r) => r._tag === "Reserved").length

const reservationId = (result: Keys.Reservation): string => {
  if (result._tag !== "Reserved") throw new Error(`expected a reservation, got ${result._tag}`)
  return result.reservationId
}

/** The tests every dialect must pass; `layer` gives a fresh store (and its SQL client). */
const common = (dialect: string, fresh: () => Layer.Layer<Keys.KeyStore | SqlClient.SqlClient, unknown>) => {
  // Built when the test runs (the server is started by then).
  const layer = () => Layer.suspend(fresh)
  it.live(`${dialect}: create, authenticate, list and revoke`, () =>
    Effect.gen(function* () {
      const store = yield* Keys.KeyStore
      const { key, secret } = yield* store.create({ name: "ci", ratePerMinute: 60, spendLimitUsd: 2.5, spendPeriod: "day" })
      expect(key).toMatchObject({ name: "ci", ratePerMinute: 60, spendLimitUsd: 2.5, spendPeriod: "day" })
      expect(key.id).toMatch(/^key_[0-9a-f]{16}$/)
      expect(key.prefix).toMatch(/^amk_[A-Za-z0-9_-]{8}$/)
      expect(/^amk_[A-Za-z0-9_-]{43}$/.test(Redacted.value(secret))).toBe(true)
      expect(Redacted.value(secret).startsWith(key.prefix)).toBe(true)
      expect(String(secret)).not.toContain("amk_")

      const found = yield* store.authenticate(secret)
      expect(Option.map(found, (k) => k.id)).toEqual(Option.some(key.id))
      // One character changed: another well-formed secret, unknown.
      const last = Redacted.value(secret).at(-1) === "A" ? "B" : "A"
      expect(yield* store.authenticate(Redacted.make(Redacted.value(secret).slice(0, -1) + last))).toEqual(Option.none())
      expect(yield* store.authenticate(Redacted.make("amk_short"))).toEqual(Option.none())
      expect(yield* store.authenticate(Redacted.make(key.prefix))).toEqual(Option.none())

      const other = yield* store.create({ name: "other" })
      expect(other.key).toEqual({ id: other.key.id, name: "other", prefix: other.key.prefix, createdAt: other.key.createdAt, spendPeriod: "month" })
      const listed = yield* store.list
      expect(listed.map((k) => k.id)).toEqual(expect.arrayContaining([key.id, other.key.id]))

      expect(yield* store.revoke(key.prefix)).toBe(true)
      expect(yield* store.authenticate(secret)).toEqual(Option.none())
      expect(yield* store.revoke(key.prefix)).toBe(false)
      expect(yield* store.revoke(key.id)).toBe(false)
      expect(yield* store.revoke("key_unknown")).toBe(false)
      expect(Option.isSome(yield* store.authenticate(other.secret))).toBe(true)
      expect(yield* store.revoke(other.key.id)).toBe(true)
      const after = yield* store.list
      expect(after.find((k) => k.id === key.id)?.revokedAt).toBeTypeOf("number")
      expect(after.find((k) => k.id === other.key.id)?.revokedAt).toBeTypeOf("number")
      // A revoked key books nothing.
      expect((yield* store.reserve(key.id, 0.01))._tag).toBe("Inactive")
      expect((yield* store.reserve("key_unknown", 0.01))._tag).toBe("Inactive")
    }).pipe(Effect.provide(layer())), 60_000)

  it.live(`${dialect}: the stored rows hold the secret's SHA-256, not the secret`, () =>
    Effect.gen(function* () {
      const store = yield* Keys.KeyStore
      const sql = yield* SqlClient.SqlClient
      const { key, secret } = yield* store.create({ name: "scan", spendLimitUsd: 1 })
      yield* store.reserve(key.id, 0.1, { requestId: "req-1", capability: "text-to-image", provider: "falai", model: "flux" })
      const hash = createHash("sha256").update(Redacted.value(secret)).digest("hex")
      const keys = yield* sql`SELECT * FROM automarket_gateway_keys WHERE id = ${key.id}`
      const spend = yield* sql`SELECT * FROM automarket_gateway_spend WHERE key_id = ${key.id}`
      expect(keys[0]?.hash).toBe(hash)
      expect(spend).toHaveLength(1)
      const stored = JSON.stringify([keys, spend])
      expect(stored.includes(Redacted.value(secret))).toBe(false)
      expect(stored.includes(Redacted.value(secret).slice(key.prefix.length))).toBe(false)
    }).pipe(Effect.provide(layer())), 60_000)

  it.live(`${dialect}: 20 concurrent reservations of $0.10 against $1.00: exactly 10 granted`, () =>
    Effect.gen(function* () {
      const store = yield* Keys.KeyStore
      const { key } = yield* store.create({ name: "burst", spendLimitUsd: 1 })
      const results = yield* reserveMany(store, key.id, 20, 0.1)
      expect(granted(results)).toBe(10)
      const refused = results.find((r) => r._tag === "Refused")
      expect(refused).toMatchObject({ _tag: "Refused", limitUsd: 1, spentUsd: 1 })
      expect(yield* store.spent(key.id, 0)).toBe(1)
    }).pipe(Effect.provide(layer())), 60_000)

  it.live(`${dialect}: settle and release change what is left; an unknown price keeps the worst case`, () =>
    Effect.gen(function* () {
      const store = yield* Keys.KeyStore
      const { key } = yield* store.create({ name: "settle", spendLimitUsd: 1, spendPeriod: "month" })
      const first = reservationId(yield* store.reserve(key.id, 0.5))
      const refused = yield* store.reserve(key.id, 0.6)
      expect(refused).toMatchObject({ _tag: "Refused", limitUsd: 1, spentUsd: 0.5 })
      expect(yield* store.settle(first, 0.2)).toBe(true)
      expect(yield* store.settle(first, 0.3)).toBe(false)
      expect(yield* store.spent(key.id, 0)).toBeCloseTo(0.2, 9)
      const second = reservationId(yield* store.reserve(key.id, 0.6))
      expect((yield* store.reserve(key.id, 0.3))._tag).toBe("Refused")
      expect(yield* store.release(second)).toBe(true)
      expect(yield* store.release(second)).toBe(false)
      expect(yield* store.spent(key.id, 0)).toBeCloseTo(0.2, 9)
      const third = reservationId(yield* store.reserve(key.id, 0.7))
      expect(yield* store.settle(third, undefined)).toBe(true)
      expect(yield* store.spent(key.id, 0)).toBeCloseTo(0.9, 9)
      expect((yield* store.reserve(key.id, 0.11))._tag).toBe("Refused")
      expect((yield* store.reserve(key.id, 0.1))._tag).toBe("Reserved")
      expect(yield* store.settle("rsv_unknown", 1)).toBe(false)
    }).pipe(Effect.provide(layer())), 60_000)

  it.live(`${dialect}: a key without a spend limit is always granted, and its spend is still counted`, () =>
    Effect.gen(function* () {
      const store = yield* Keys.KeyStore
      const { key } = yield* store.create({ name: "open" })
      const results = yield* reserveMany(store, key.id, 5, 100)
      expect(granted(results)).toBe(5)
      expect(yield* store.spent(key.id, 0)).toBe(500)
    }).pipe(Effect.provide(layer())), 60_000)
}

describe("KeyStore on SQLite", () => {
  common("sqlite", () => sqlite(freshFile()))

  it.live("the database file (and its write-ahead log) holds the hash, never the secret", () =>
    Effect.gen(function* () {
      const file = freshFile()
      const { key, secret } = yield* Effect.scoped(
        Effect.gen(function* () {
          const store = yield* Keys.KeyStore
          return yield* store.create({ name: "file-scan" })
        }).pipe(Effect.provide(sqlite(file)))
      )
      const bytes = Buffer.concat([file, `${file}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)))
      const hash = createHash("sha256").update(Redacted.value(secret)).digest("hex")
      expect(bytes.includes(hash)).toBe(true)
      expect(bytes.includes(key.prefix)).toBe(true)
      expect(bytes.includes(Redacted.value(secret))).toBe(false)
      expect(bytes.includes(Redacted.value(secret).slice(key.prefix.length))).toBe(false)
    }), 60_000)

  it.live("two processes reserving on one file: exactly 10 of 20 granted", () =>
    Effect.gen(function* () {
      const file = freshFile()
      const keyId = yield* Effect.scoped(
        Effect.flatMap(Keys.KeyStore, (store) => Effect.map(store.create({ name: "two-processes", spendLimitUsd: 1 }), (created) => created.key.id)).pipe(
          Effect.provide(sqlite(file))
        )
      )
      const barrier = fs.mkdtempSync(path.join(dir, "barrier-"))
      const child = path.join(import.meta.dirname, "reserveChild.ts")
      const children = ["a", "b"].map((name) =>
        run(process.execPath, ["--import", "tsx", child, file, keyId, "10", "0.1", barrier, name], { timeout: 60_000 })
      )
      for (let i = 0; i < 600 && !(fs.existsSync(path.join(barrier, "a.ready")) && fs.existsSync(path.join(barrier, "b.ready"))); i++) {
        yield* Effect.sleep("50 millis")
      }
      fs.writeFileSync(path.join(barrier, "go"), "")
      const ran = yield* Effect.promise(() => Promise.all(children))
      for (const r of ran) expect(r.status, r.stderr).toBe(0)
      const results = ran.map((r) => JSON.parse(r.stdout) as { granted: number; refused: number })
      expect(results.reduce((sum, r) => sum + r.granted, 0)).toBe(10)
      expect(results.reduce((sum, r) => sum + r.refused, 0)).toBe(10)
      const spent = yield* Effect.scoped(Effect.flatMap(Keys.KeyStore, (store) => store.spent(keyId, 0)).pipe(Effect.provide(sqlite(file))))
      expect(spent).toBe(1)
    }), 90_000)

  it.effect("a day limit starts afresh at UTC midnight: yesterday's spend does not count", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2025-03-10T23:59:00Z"))
      const store = yield* Keys.KeyStore
      const { key } = yield* store.create({ name: "daily", spendLimitUsd: 1, spendPeriod: "day" })
      reservationId(yield* store.reserve(key.id, 0.8))
      const refused = yield* store.reserve(key.id, 0.3)
      expect(refused).toEqual(
        Keys.Reservation.Refused({
          limitUsd: 1,
          spentUsd: 0.8,
          periodStart: new Date("2025-03-10T00:00:00Z"),
          periodEnd: new Date("2025-03-11T00:00:00Z")
        })
      )
      yield* TestClock.setTime(Date.parse("2025-03-11T00:00:00Z"))
      reservationId(yield* store.reserve(key.id, 0.8))
      expect((yield* store.reserve(key.id, 0.3))._tag).toBe("Refused")
      expect(yield* store.spent(key.id, Date.parse("2025-03-10T00:00:00Z"))).toBeCloseTo(1.6, 9)
    }).pipe(Effect.provide(sqlite(freshFile()))))

  it.effect("a month limit counts the UTC calendar month", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.parse("2024-02-01T00:00:00Z"))
      const store = yield* Keys.KeyStore
      const { key } = yield* store.create({ name: "monthly", spendLimitUsd: 10 })
      reservationId(yield* store.reserve(key.id, 9))
      yield* TestClock.setTime(Date.parse("2024-02-29T23:59:59.999Z"))
      expect(yield* store.reserve(key.id, 2)).toMatchObject({ _tag: "Refused", spentUsd: 9, periodEnd: new Date("2024-03-01T00:00:00Z") })
      yield* TestClock.setTime(Date.parse("2024-03-01T00:00:00Z"))
      reservationId(yield* store.reserve(key.id, 9.5))
    }).pipe(Effect.provide(sqlite(freshFile()))))
})

describe("KeyStore on Postgres", () => {
  common("postgres", pg)

  it.live("two pools (as two gateway processes) reserving at once: exactly 10 of 20 granted", () =>
    Effect.gen(function* () {
      const a = yield* Layer.build(pg())
      const b = yield* Layer.build(pg())
      const storeA = yield* Effect.provide(Keys.KeyStore, a)
      const storeB = yield* Effect.provide(Keys.KeyStore, b)
      const { key } = yield* storeA.create({ name: "two-pools", spendLimitUsd: 1 })
      const [left, right] = yield* Effect.all([reserveMany(storeA, key.id, 10, 0.1), reserveMany(storeB, key.id, 10, 0.1)], {
        concurrency: "unbounded"
      })
      expect(granted(left) + granted(right)).toBe(10)
      expect(yield* storeB.spent(key.id, 0)).toBe(1)
    }).pipe(Effect.scoped), 60_000)
})

describe("periodOf", () => {
  it("gives the UTC day and the UTC calendar month", () => {
    const now = Date.parse("2024-12-31T23:30:00-05:00") // 2025-01-01T04:30Z
    expect(Keys.periodOf("day", now)).toEqual({ start: new Date("2025-01-01T00:00:00Z"), end: new Date("2025-01-02T00:00:00Z") })
    expect(Keys.periodOf("month", now)).toEqual({ start: new Date("2025-01-01T00:00:00Z"), end: new Date("2025-02-01T00:00:00Z") })
    expect(Keys.periodOf("month", Date.parse("2025-12-15T00:00:00Z")).end).toEqual(new Date("2026-01-01T00:00:00Z"))
  })

  it("SpendLimitExceeded says what was spent and when it resets, and names the key by id only", () => {
    const error = Keys.spendLimitExceeded(
      "key_1",
      0.25,
      Keys.Reservation.Refused({ limitUsd: 1, spentUsd: 0.9, periodStart: new Date("2025-01-01T00:00:00Z"), periodEnd: new Date("2025-02-01T00:00:00Z") })
    )
    expect(error._tag).toBe("SpendLimitExceeded")
    expect(error.message).toBe(
      "key key_1: the spend limit of $1.00 is reached ($0.90 spent, this request may cost up to $0.25); it resets at 2025-02-01T00:00:00.000Z"
    )
  })

  it("amounts round up to the micro-dollar, without floating-point noise", () => {
    expect(Keys.toMicros(0.07)).toBe(70_000)
    expect(Keys.toMicros(0.1)).toBe(100_000)
    expect(Keys.toMicros(0.0000001)).toBe(1)
    expect(Keys.toMicros(0)).toBe(0)
  })
})
