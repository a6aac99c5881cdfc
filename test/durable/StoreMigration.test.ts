/**
 * A state file made before webhooks (its generations table without `webhook_url`) is migrated
 * when the store starts: the column is added once (a second start changes nothing), rows already
 * there read as polled jobs, and new intents keep their webhook URL; a job is found by its
 * provider's request id.
 */
import { describe, expect, it } from "@effect/vitest"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as GenerationStore from "../../src/durable/GenerationStore.js"

const root = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-store-migration-"))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

describe("the generations store on a state file made before webhooks", () => {
  it.effect("adds webhook_url once; old rows read without it, new intents keep it; findByRequest finds a job by provider and request id", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE automarket_generations (
        id TEXT PRIMARY KEY, execution_id TEXT NOT NULL, capability TEXT NOT NULL, status TEXT NOT NULL, request TEXT NOT NULL,
        provider TEXT, model TEXT, attempt BIGINT NOT NULL DEFAULT 0, intent_at BIGINT, ticket TEXT, request_id TEXT,
        submitted_at BIGINT, cancel_requested_at BIGINT, notified_at BIGINT, cancel_sent_at BIGINT, result TEXT, error TEXT,
        created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, finished_at BIGINT, deadline_at BIGINT)`
      yield* sql`INSERT INTO automarket_generations (id, execution_id, capability, status, request, provider, request_id, created_at, updated_at)
        VALUES ('old', 'x', 'text-to-image', 'running', '{}', 'falai', 'req-old', 1, 1)`
      const store = yield* GenerationStore.make
      yield* store.migrate
      yield* store.migrate
      const columns = yield* sql`SELECT name FROM pragma_table_info('automarket_generations') WHERE name = 'webhook_url'`
      expect(columns).toHaveLength(1)
      expect(Option.getOrThrow(yield* store.get("old")).webhookUrl).toBeUndefined()

      yield* store.create({ id: "new", executionId: "y", capability: "text-to-image", request: "{}" })
      yield* store.setAttempt("new", 0, "replicate", "owner/model")
      yield* store.recordIntent("new", 0, 5, "https://gw.example.test/webhooks/replicate")
      yield* store.recordTicket("new", 0, "{}", "pred-1")
      expect(Option.getOrThrow(yield* store.get("new")).webhookUrl).toBe("https://gw.example.test/webhooks/replicate")

      expect(Option.map(yield* store.findByRequest("replicate", "pred-1"), (row) => row.id)).toEqual(Option.some("new"))
      expect(Option.map(yield* store.findByRequest("falai", "req-old"), (row) => row.id)).toEqual(Option.some("old"))
      expect(yield* store.findByRequest("falai", "pred-1")).toEqual(Option.none())
    }).pipe(Effect.provide(SqliteClient.layer({ filename: path.join(root, "old.db") }))))
})
