/**
 * Where the command line's durable generations live: the embedded SQLite file of the state
 * folder (`AUTOMARKET_STATE_DIR`), or a Postgres database shared by many workers
 * (`--database postgres://...`, or `AUTOMARKET_DATABASE_URL`). The durable module is loaded only
 * by the commands that use it (start-up time of every other command).
 *
 * @module
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as net from "node:net"
import { InvalidInput } from "../domain/Errors.js"
import type { Generations } from "../durable/Durable.js"
import type { GenerationStore } from "../durable/GenerationStore.js"
import * as Budget from "../registry/Budget.js"
import { CostLedger, type CostLedgerService } from "../registry/Ledger.js"
import type { ProviderRegistry } from "../registry/ProviderRegistry.js"

/** The environment variable naming the database of durable generations. */
export const databaseVar = "AUTOMARKET_DATABASE_URL"

/** `--database URL`: the Postgres database shared by workers (default: `AUTOMARKET_DATABASE_URL`, else the embedded SQLite file). */
export const databaseOption = Options.text("database").pipe(
  Options.withDescription(
    "The Postgres database of a team's workers (postgres://user@host:port/db; default $AUTOMARKET_DATABASE_URL, else the embedded SQLite file of $AUTOMARKET_STATE_DIR)"
  ),
  Options.optional
)

/** Whether a URL names a Postgres database. */
export const isPostgres = (url: string): boolean => /^postgres(ql)?:\/\//.test(url)

/**
 * The database URL asked for: the option, else the environment variable; None for the embedded
 * file. InvalidInput for anything but a `postgres://` URL (the embedded file needs none).
 */
export const databaseOf = (option: Option.Option<string>): Effect.Effect<Option.Option<string>, InvalidInput> => {
  const url = Option.orElse(option, () => Option.fromNullable(process.env[databaseVar]).pipe(Option.filter((value) => value !== "")))
  return Option.isSome(url) && !isPostgres(url.value)
    ? Effect.fail(
        new InvalidInput({
          provider: "durable",
          detail: "--database takes a postgres:// URL (without it, the embedded SQLite file of $AUTOMARKET_STATE_DIR is used)",
          issues: ["database"]
        })
      )
    : Effect.succeed(url)
}

const durationUnits = { ms: Duration.millis, s: Duration.seconds, m: Duration.minutes, h: Duration.hours, d: Duration.days } as const

/** A duration as written on the command line: `90s`, `5m`, `2h`, `7d` (or a bare number of seconds). */
export const parseDuration = (text: string): Duration.Duration | undefined => {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim())
  return match === null ? undefined : durationUnits[(match[2] ?? "s") as keyof typeof durationUnits](Number(match[1]))
}

/** A duration option (`--name 90s|5m|2h|7d`), refused in one line when unreadable. */
export const durationOption = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withDescription(description),
    Options.mapEffect((text) => {
      const parsed = parseDuration(text)
      return parsed === undefined
        ? Effect.fail(HelpDoc.p(`--${name}: "${text}" is not a duration (e.g. 90s, 5m, 2h, 7d)`)).pipe(Effect.mapError(ValidationError.invalidValue))
        : Effect.succeed(parsed)
    })
  )

const durable = Effect.promise(() => import("../durable/Durable.js"))

/**
 * The logger of the commands that host durable generations: on stderr (stdout is the commands'
 * answer), without the engine's own chatter below Error (a runner it does not see yet while the
 * process starts or stops is not the user's business).
 */
const toStderr = Logger.withConsoleError(Logger.logfmtLogger)
const quietEngine = Logger.replace(
  Logger.defaultLogger,
  Logger.make<unknown, void>((options) => {
    const pkg = HashMap.get(options.annotations, "package")
    if (Option.isSome(pkg) && String(pkg.value).startsWith("@effect/") && LogLevel.lessThan(options.logLevel, LogLevel.Error)) return
    toStderr.log(options)
  })
)

const quietly = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> => Layer.merge(Layer.provide(layer, quietEngine), quietEngine)

/**
 * The generations service for a command that starts or awaits generations: on the embedded file
 * a runner in this process (it also resumes what other processes left unfinished); on Postgres a
 * client (the workers run them) unless `runner` is given (the `worker` command).
 */
export const hostLayer = (
  database: Option.Option<string>,
  runner?: { readonly host: string; readonly port: number }
): Layer.Layer<Generations | GenerationStore | CostLedger | SqlClient.SqlClient, unknown, ProviderRegistry | HttpClient.HttpClient> =>
  quietly(
    Layer.unwrapEffect(
      Effect.map(durable, (Durable) =>
        Option.match(database, {
          onNone: () => Durable.layerSqlite(),
          onSome: (url) =>
            Durable.layerPg({ url, role: runner !== undefined ? { _tag: "runner", ...runner } : { _tag: "client" } })
        })
      )
    )
  )

/** The generations store alone (no runner): for listing, showing, watching and cancelling. */
export const storeLayer = (database: Option.Option<string>): Layer.Layer<GenerationStore | CostLedger | SqlClient.SqlClient, unknown> =>
  quietly(
    Layer.unwrapEffect(
      Effect.map(durable, (Durable) => Option.match(database, { onNone: () => Durable.storeSqlite(), onSome: (url) => Durable.storePg(url) }))
    )
  )

/** A free TCP port on `host` (the kernel's choice, released before a cluster runner binds it). */
export const freePort = (host: string): Effect.Effect<number> =>
  Effect.async<number>((resume) => {
    const server = net.createServer()
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resume(Effect.succeed(port)))
    })
  })

/**
 * The ledger of the command line's calls: in the state database (Postgres with
 * `AUTOMARKET_DATABASE_URL`, else the embedded SQLite file), opened on its first use, so that a
 * command that pays for nothing never loads a SQL client. A database that cannot be opened is
 * logged by a write, and fails a read (`costs`).
 */
export const ledgerLayer: Layer.Layer<CostLedger> = Layer.scoped(
  CostLedger,
  Effect.gen(function* () {
    const scope = yield* Effect.scope
    const opened = yield* Effect.cached(
      Effect.flatMap(durable, (Durable) => {
        const url = process.env[databaseVar]
        const store = url !== undefined && url !== "" ? Durable.storePg(url) : Durable.storeSqlite()
        return Effect.map(Layer.buildWithScope(quietly(store), scope), (context) => Context.get(context, CostLedger))
      })
    )
    const read = <A>(use: (ledger: CostLedgerService) => Effect.Effect<A>): Effect.Effect<A> => Effect.flatMap(Effect.orDie(opened), use)
    return {
      record: (entry) =>
        opened.pipe(
          Effect.flatMap((ledger) => ledger.record(entry)),
          Effect.catchAllCause((cause) => Effect.logWarning(`ledger: the state database could not be opened; entry ${entry.id} not written`, cause))
        ),
      entries: (query) => read((ledger) => ledger.entries(query)),
      totals: (by, query) => read((ledger) => ledger.totals(by, query)),
      spent: (query) => read((ledger) => ledger.spent(query))
    }
  })
)

/** The budgets of `AUTOMARKET_BUDGETS` (see `Budget.limitsFromEnv`); none when it is unset. */
export const budgetsLayer: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(Budget.limitsFromEnv, (limits) => (limits === undefined ? Layer.empty : (Budget.layer(limits) as Layer.Layer<never>)))
)

/** What every command that may pay runs with: the ledger, and the budgets when set. */
export const spendingLayer: Layer.Layer<CostLedger, ConfigError.ConfigError> = Layer.merge(budgetsLayer, ledgerLayer)
