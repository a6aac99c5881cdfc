/**
 * `automarket keys ...`: the gateway's API keys, in the same database as the durable generations
 * (the embedded SQLite file of the state folder, or Postgres with `--database`).
 *
 * `keys create --name NAME` prints the new key's secret once (only its SHA-256 is stored);
 * `keys list` shows the keys with their limits and what each spent in its current period, never a
 * secret or a hash; `keys revoke ID|PREFIX` stops a key at once for every gateway process.
 *
 * The key store (and the SQL client under it) is loaded only when one of these commands runs.
 *
 * @module
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { InvalidInput } from "../../domain/Errors.js"
import { type GatewayKey, KeyStore, periodOf, SpendPeriod } from "../../gateway/KeyState.js"
import { databaseOf, databaseOption, storeLayer } from "../DurableHost.js"
import { table } from "../Format.js"
import { output } from "../Output.js"

/** The key store over the database asked for (the generations' store migrates beside it). */
const keysLayer = (database: Option.Option<string>): Layer.Layer<KeyStore, unknown> =>
  Layer.unwrapEffect(
    Effect.gen(function* () {
      const url = yield* databaseOf(database)
      const Keys = yield* Effect.promise(() => import("../../gateway/Keys.js"))
      return Keys.layer.pipe(Layer.provide(storeLayer(url)))
    })
  )

const invalid = (name: string, detail: string) =>
  ValidationError.invalidValue(HelpDoc.p(`--${name}: ${detail}`))

const jsonOption = Options.boolean("json").pipe(Options.withDescription("Print JSON"))

const rateOption = Options.integer("rate-per-minute").pipe(
  Options.withDescription("Requests a minute the key may make (a burst of that many, then that rate); unlimited without it"),
  Options.mapEffect((rate) => (rate >= 1 ? Effect.succeed(rate) : Effect.fail(invalid("rate-per-minute", `${rate} is not a positive number of requests`)))),
  Options.optional
)

const spendOption = Options.text("spend-limit").pipe(
  Options.withDescription("US dollars the key may spend per period (e.g. 25 or 2.50); unlimited without it"),
  Options.mapEffect((text) => {
    const usd = Number(text.trim().replace(/^\$/, ""))
    return text.trim() !== "" && Number.isFinite(usd) && usd >= 0
      ? Effect.succeed(usd)
      : Effect.fail(invalid("spend-limit", `"${text}" is not an amount of US dollars (0 or more)`))
  }),
  Options.optional
)

const isSpendPeriod = Schema.is(SpendPeriod)

// Text rather than a choice: the parser's own refusal of a choice does not name the option.
const periodOption = Options.text("period").pipe(
  Options.withDescription("The period the spend limit counts over: day (the UTC day) or month (the UTC calendar month, the default)"),
  Options.mapEffect((text) =>
    isSpendPeriod(text) ? Effect.succeed(text) : Effect.fail(invalid("period", `"${text}" is not a period (day or month)`))
  ),
  Options.withDefault<SpendPeriod>("month")
)

const usd = (amount: number): string => `$${amount.toFixed(amount !== 0 && amount < 0.01 ? 6 : 2)}`

/** A key as JSON-ready data: no secret, no hash. */
const keyJson = (key: GatewayKey, spentUsd?: number) => ({
  id: key.id,
  name: key.name,
  prefix: key.prefix,
  status: key.revokedAt !== undefined ? "revoked" : "active",
  ratePerMinute: key.ratePerMinute ?? null,
  spendLimitUsd: key.spendLimitUsd ?? null,
  spendPeriod: key.spendPeriod,
  ...(spentUsd !== undefined ? { spentThisPeriodUsd: spentUsd } : {}),
  createdAt: new Date(key.createdAt).toISOString(),
  revokedAt: key.revokedAt !== undefined ? new Date(key.revokedAt).toISOString() : null
})

/** `automarket keys create --name NAME [--rate-per-minute N] [--spend-limit USD] [--period day|month] [--json]`. */
export const create = Command.make(
  "create",
  {
    name: Options.text("name").pipe(Options.withDescription("What the key is for (shown by `keys list`)")),
    ratePerMinute: rateOption,
    spendLimit: spendOption,
    period: periodOption,
    json: jsonOption,
    database: databaseOption
  },
  ({ database, json, name, period, ratePerMinute, spendLimit }) =>
    Effect.gen(function* () {
      const io = yield* output
      const store = yield* KeyStore
      if (name.trim() === "") {
        return yield* Effect.fail(new InvalidInput({ provider: "keys", detail: "--name must not be empty", issues: ["name"] }))
      }
      const { key, secret } = yield* Effect.orDie(
        store.create({
          name: name.trim(),
          ratePerMinute: ratePerMinute._tag === "Some" ? ratePerMinute.value : undefined,
          spendLimitUsd: spendLimit._tag === "Some" ? spendLimit.value : undefined,
          spendPeriod: period
        })
      )
      // The one place the secret is shown: it is not stored and cannot be shown again.
      if (json) return yield* io.stdout(`${JSON.stringify({ ...keyJson(key), secret: Redacted.value(secret) }, null, 2)}\n`)
      const limits = [
        key.ratePerMinute !== undefined ? `${key.ratePerMinute} requests/minute` : "no rate limit",
        key.spendLimitUsd !== undefined ? `${usd(key.spendLimitUsd)} per ${key.spendPeriod}` : "no spend limit"
      ].join(", ")
      yield* io.stdout(
        `created key ${key.id} (${key.prefix}) "${key.name}": ${limits}\n` +
          `secret: ${Redacted.value(secret)}\n` +
          "keep the secret now: it is not stored and cannot be shown again\n"
      )
    }).pipe(Effect.provide(keysLayer(database)))
).pipe(Command.withDescription("Create a gateway API key and print its secret (once)"))

/** `automarket keys list [--json]`: every key, its limits and what it spent this period; never a secret. */
export const list = Command.make("list", { json: jsonOption, database: databaseOption }, ({ database, json }) =>
  Effect.gen(function* () {
    const io = yield* output
    const store = yield* KeyStore
    const keys = yield* Effect.orDie(store.list)
    const now = Date.now()
    const spent = yield* Effect.forEach(keys, (key) => Effect.orDie(store.spent(key.id, periodOf(key.spendPeriod, now).start.getTime())))
    if (json) return yield* io.stdout(`${JSON.stringify(keys.map((key, i) => keyJson(key, spent[i])), null, 2)}\n`)
    if (keys.length === 0) return yield* io.stdout("no keys (create one with `automarket keys create --name NAME`)\n")
    yield* io.stdout(
      `${table(
        ["ID", "PREFIX", "NAME", "STATUS", "RATE/MIN", "SPENT/LIMIT", "CREATED"],
        keys.map((key, i) => [
          key.id,
          key.prefix,
          key.name,
          key.revokedAt !== undefined ? "revoked" : "active",
          key.ratePerMinute !== undefined ? String(key.ratePerMinute) : "-",
          `${usd(spent[i] ?? 0)}${key.spendLimitUsd !== undefined ? ` / ${usd(key.spendLimitUsd)} per ${key.spendPeriod}` : ` this ${key.spendPeriod}`}`,
          new Date(key.createdAt).toISOString().slice(0, 19).replace("T", " ")
        ])
      )}\n`
    )
  }).pipe(Effect.provide(keysLayer(database)))
).pipe(Command.withDescription("List the gateway's API keys (never their secrets)"))

/** `automarket keys revoke ID|PREFIX`: the key is refused from now on, by every gateway process. */
export const revoke = Command.make(
  "revoke",
  {
    key: Args.text({ name: "id|prefix" }).pipe(Args.withDescription("A key's id or prefix (see `keys list`)")),
    database: databaseOption
  },
  ({ database, key }) =>
    Effect.gen(function* () {
      const io = yield* output
      const store = yield* KeyStore
      const revoked = yield* Effect.orDie(store.revoke(key))
      if (!revoked) {
        return yield* Effect.fail(
          new InvalidInput({ provider: "keys", detail: `no active key "${key}" (see \`automarket keys list\`)`, issues: [`key: ${key}`] })
        )
      }
      yield* io.stdout(`revoked ${key}\n`)
    }).pipe(Effect.provide(keysLayer(database)))
).pipe(Command.withDescription("Revoke a gateway API key by id or prefix"))

/** `automarket keys <create|list|revoke>`. */
export const keys = Command.make("keys").pipe(
  Command.withDescription("The gateway's API keys: create (prints the secret once), list, revoke"),
  Command.withSubcommands([create, list, revoke])
)
