/**
 * `automarket keys` as a user runs it, in a state folder of its own: `create` prints the secret
 * once (and the key store then knows it), `list` shows the keys and never a secret or a hash,
 * `revoke` stops a key by prefix or id and says so in one line when there is nothing to revoke;
 * bad limits and periods are refused in one line with exit code 1.
 *
 * Secrets are only ever compared as booleans, so a failing assertion prints none.
 */
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as Keys from "../../../src/gateway/Keys.js"
import { run } from "../../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-keys-cli-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const state = path.join(dir, "state")
const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, AUTOMARKET_STATE_DIR: state, NO_COLOR: "1" }

const cli = (args: ReadonlyArray<string>) => Effect.promise(() => run(process.execPath, [bin, ...args], { env, timeout: 120_000 }))

/** The key store over the state folder's file, as the gateway would open it. */
const store = Keys.layer.pipe(Layer.provide(Layer.suspend(() => SqliteClient.layer({ filename: path.join(state, "automarket.db") }))))

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

describe("automarket keys", () => {
  it.live("create prints the secret once; list never does; revoke by prefix and id", () =>
    Effect.gen(function* () {
      const created = yield* cli(["keys", "create", "--name", "ci runner", "--rate-per-minute", "60", "--spend-limit", "2.50", "--period", "day", "--json"])
      expect(created.status, created.stderr).toBe(0)
      const json = JSON.parse(created.stdout) as { id: string; prefix: string; secret: string }
      const { secret: first, ...shown } = json
      expect(shown).toMatchObject({ name: "ci runner", status: "active", ratePerMinute: 60, spendLimitUsd: 2.5, spendPeriod: "day", revokedAt: null })
      expect(/^amk_[A-Za-z0-9_-]{43}$/.test(first)).toBe(true)
      expect(first.startsWith(json.prefix)).toBe(true)

      const plain = yield* cli(["keys", "create", "--name", "dashboard"])
      expect(plain.status, plain.stderr).toBe(0)
      const lines = plain.stdout.split("\n")
      expect(lines[0]).toMatch(/^created key key_[0-9a-f]{16} \(amk_[A-Za-z0-9_-]{8}\) "dashboard": no rate limit, no spend limit$/)
      expect(/^secret: amk_[A-Za-z0-9_-]{43}$/.test(lines[1] ?? "")).toBe(true)
      expect(lines[2]).toBe("keep the secret now: it is not stored and cannot be shown again")
      const second = (lines[1] ?? "").slice("secret: ".length)
      const secondId = /key_[0-9a-f]{16}/.exec(lines[0] ?? "")?.[0]

      // The store knows the printed secrets (what the gateway will check).
      const found = yield* Effect.flatMap(Keys.KeyStore, (keys) =>
        Effect.all([keys.authenticate(Redacted.make(first)), keys.authenticate(Redacted.make(second))])
      ).pipe(Effect.provide(store))
      expect(found.map((key) => Option.map(key, (k) => k.id))).toEqual([Option.some(json.id), Option.some(secondId)])

      const listed = yield* cli(["keys", "list", "--json"])
      expect(listed.status, listed.stderr).toBe(0)
      const rows = JSON.parse(listed.stdout) as Array<Record<string, unknown>>
      expect(rows).toMatchObject([
        { id: json.id, prefix: json.prefix, name: "ci runner", status: "active", spendLimitUsd: 2.5, spentThisPeriodUsd: 0 },
        { id: secondId, name: "dashboard", status: "active", spendLimitUsd: null, ratePerMinute: null }
      ])
      const table = yield* cli(["keys", "list"])
      expect(table.stdout).toMatch(/^ID\s+PREFIX\s+NAME\s+STATUS\s+RATE\/MIN\s+SPENT\/LIMIT\s+CREATED\n/)
      expect(table.stdout).toContain("$0.00 / $2.50 per day")
      for (const out of [listed.stdout, listed.stderr, table.stdout, table.stderr]) {
        for (const secret of [first, second]) {
          expect(out.includes(secret)).toBe(false)
          expect(out.includes(sha256(secret))).toBe(false)
        }
      }

      const revoked = yield* cli(["keys", "revoke", json.prefix])
      expect(revoked.status, revoked.stderr).toBe(0)
      expect(revoked.stdout).toBe(`revoked ${json.prefix}\n`)
      const again = yield* cli(["keys", "revoke", json.id])
      expect(again.status).toBe(1)
      expect(again.stderr).toBe(`automarket: keys: no active key "${json.id}" (see \`automarket keys list\`)\n`)
      const after = JSON.parse((yield* cli(["keys", "list", "--json"])).stdout) as Array<{ id: string; status: string }>
      expect(after.map((row) => [row.id, row.status])).toEqual([
        [json.id, "revoked"],
        [secondId, "active"]
      ])
      const gone = yield* Effect.flatMap(Keys.KeyStore, (keys) => keys.authenticate(Redacted.make(first))).pipe(Effect.provide(store))
      expect(Option.isNone(gone)).toBe(true)
    }), 200_000)

  it.live("bad limits, periods and databases are refused in one line, exit code 1", () =>
    Effect.gen(function* () {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["--spend-limit=-1"], '--spend-limit: "-1" is not an amount of US dollars (0 or more)'],
        [["--spend-limit", "lots"], '--spend-limit: "lots" is not an amount of US dollars (0 or more)'],
        [["--rate-per-minute", "0"], "--rate-per-minute: 0 is not a positive number of requests"],
        [["--period", "week"], '--period: "week" is not a period (day or month)'],
        [["--database", "mysql://db"], "--database takes a postgres:// URL"]
      ]
      for (const [args, said] of cases) {
        const ran = yield* cli(["keys", "create", "--name", "bad", ...args])
        expect(ran.status, ran.stderr).toBe(1)
        expect(ran.stdout).toBe("")
        expect(ran.stderr.split("\n")).toHaveLength(2)
        expect(ran.stderr).toContain(said)
      }
      const listed = yield* cli(["keys", "list", "--json"])
      expect((JSON.parse(listed.stdout) as Array<{ name: string }>).some((key) => key.name === "bad")).toBe(false)
    }), 200_000)
})
