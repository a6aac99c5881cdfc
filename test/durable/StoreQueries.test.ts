/**
 * The generations store's listing by id prefix (a gateway key's generations) and its count by
 * status, on SQLite and on Postgres: a prefix holding `_` or `%` matches itself only (no LIKE
 * wildcards), and the count comes back as a number from both drivers.
 */
import { describe, expect, it } from "@effect/vitest"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as GenerationStore from "../../src/durable/GenerationStore.js"
import { postgres } from "../support/Postgres.js"

const exercise = Effect.gen(function* () {
  const store = yield* GenerationStore.GenerationStore
  for (const id of ["key_a.1", "key_a.2", "keyXa.3", "key%.4", "other.5"]) {
    yield* store.create({ id, executionId: `x-${id}`, capability: "text-to-image", request: "{}" })
  }
  yield* store.setStatus("key_a.2", "running")
  const ids = (prefix: string) => Effect.map(store.list({ idPrefix: prefix, limit: 100 }), (rows) => rows.map((row) => row.id).sort())
  expect(yield* ids("key_a.")).toEqual(["key_a.1", "key_a.2"])
  expect(yield* ids("key%.")).toEqual(["key%.4"])
  expect(yield* ids("nobody.")).toEqual([])
  expect((yield* store.list({ idPrefix: "key_a.", statuses: ["running"] })).map((row) => row.id)).toEqual(["key_a.2"])
  expect(yield* store.count(["pending"])).toBe(4)
  expect(yield* store.count(["pending", "running"])).toBe(5)
  expect(yield* store.count([])).toBe(0)
})

describe("GenerationStore: list by id prefix, count by status", () => {
  it.live("on SQLite", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-store-"))
    return exercise.pipe(
      Effect.provide(GenerationStore.layer.pipe(Layer.provide(SqliteClient.layer({ filename: path.join(dir, "state.db") })))),
      Effect.ensuring(Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
    )
  })

  it.live(
    "on Postgres",
    () =>
      Effect.scoped(
        Effect.flatMap(postgres, (server) =>
          exercise.pipe(Effect.provide(GenerationStore.layer.pipe(Layer.provide(PgClient.layer({ url: Redacted.make(server.url) })))))
        )
      ),
    120_000
  )
})
