/**
 * The SQL ledger written in the background, on a SQLite file: a recorded entry counts in every
 * read at once (written or not yet), an id recorded twice is one entry, and closing the ledger
 * writes everything first: a second client on the same file reads them all.
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as LedgerSql from "../../src/durable/LedgerSql.js"
import { CostLedger, type LedgerEntry } from "../../src/registry/Ledger.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-ledger-sql-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const ledgerOn = (file: string) => LedgerSql.layer.pipe(Layer.provide(SqliteClient.layer({ filename: file })))

const entry = (i: number): LedgerEntry => ({
  id: `e-${i}`,
  at: Date.UTC(2026, 10, 30, 12, 0, 0) + i,
  provider: i % 2 === 0 ? "falai" : "replicate",
  model: "m",
  capability: "text-to-image",
  costUsd: i % 10 === 0 ? null : 0.01,
  costSource: i % 10 === 0 ? "unknown" : "catalog",
  status: "succeeded",
  who: "local:test"
})

describe("LedgerSql", () => {
  it.live("counts entries at once, keeps one per id, and writes them all before it closes", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "ledger.db")
      const entries = Array.from({ length: 1000 }, (_, i) => entry(i))
      yield* Effect.scoped(
        Effect.gen(function* () {
          const ledger = yield* CostLedger
          yield* Effect.forEach(entries, (e) => ledger.record(e), { concurrency: 16, discard: true })
          yield* ledger.record(entries[1]!)
          // Read at once: written or waiting, every entry is there, once.
          expect((yield* ledger.entries()).length).toBe(1000)
          expect(yield* ledger.spent()).toBeCloseTo(900 * 0.01, 9)
          // falai has the even entries, the unpriced ones among them (every tenth).
          expect(yield* ledger.spent({ provider: "falai" })).toBeCloseTo(400 * 0.01, 9)
          const totals = yield* ledger.totals("provider")
          expect(totals.map((t) => [t.key, t.calls, t.unknownCalls])).toEqual([
            ["replicate", 500, 0],
            ["falai", 500, 100]
          ])
        }).pipe(Effect.provide(Layer.fresh(ledgerOn(file))))
      )
      // Another client on the same file: everything was written.
      const reread = yield* Effect.scoped(Effect.flatMap(CostLedger, (ledger) => ledger.entries()).pipe(Effect.provide(Layer.fresh(ledgerOn(file)))))
      expect(reread.length).toBe(1000)
      expect(reread[0]).toEqual(entries[0])
      expect(reread.filter((e) => e.costUsd === null)).toHaveLength(100)
    }))

  it.live("opened from an uninterruptible region (a call's exit handler), it still closes", () =>
    Effect.gen(function* () {
      const file = path.join(dir, "uninterruptible.db")
      const closed = yield* Effect.scoped(
        Effect.uninterruptible(
          Effect.flatMap(Layer.build(ledgerOn(file)), (context) => Context.get(context, CostLedger).record(entry(1)))
        )
      ).pipe(Effect.timeout("10 seconds"), Effect.either)
      expect(closed._tag).toBe("Right")
      const reread = yield* Effect.scoped(Effect.flatMap(CostLedger, (ledger) => ledger.entries()).pipe(Effect.provide(Layer.fresh(ledgerOn(file)))))
      expect(reread.map((e) => e.id)).toEqual(["e-1"])
    }))
})
