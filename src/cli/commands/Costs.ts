/**
 * `automarket costs [--since WHEN] [--until WHEN] [--by provider|model|key|day|capability] [--json]`:
 * what the ledger of the state database says was spent (the embedded SQLite file, or Postgres with
 * `--database`): one line a group, largest first, with the calls counted and those of unknown
 * price named (they are not in the sum, and not counted as free either), then the total.
 *
 * @module
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { CostLedger, ledgerGroupings, type LedgerGrouping, type LedgerTotal } from "../../registry/Ledger.js"
import { databaseOf, databaseOption, parseDuration, storeLayer } from "../DurableHost.js"
import { table } from "../Format.js"
import { output } from "../Output.js"

const invalid = (name: string, detail: string) => ValidationError.invalidValue(HelpDoc.p(`--${name}: ${detail}`))

/**
 * A point in time from the command line: an ISO date or time (`2026-11-01`, `2026-11-30T12:00Z`),
 * or an age back from `now` (`24h`, `7d`, `30 minutes`). Undefined when it is neither.
 */
export const parseWhen = (text: string, now: number): number | undefined => {
  const trimmed = text.trim()
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const at = Date.parse(trimmed)
    return Number.isNaN(at) ? undefined : at
  }
  const age = parseDuration(trimmed)
  return age === undefined ? undefined : now - Duration.toMillis(age)
}

const whenOption = (name: string, description: string) =>
  Options.text(name).pipe(
    Options.withDescription(description),
    Options.mapEffect((text) => {
      const at = parseWhen(text, Date.now())
      return at !== undefined ? Effect.succeed(at) : Effect.fail(invalid(name, `"${text}" is neither a date (2026-11-01, ISO) nor an age (24h, 7d)`))
    }),
    Options.optional
  )

const isGrouping = (text: string): text is LedgerGrouping => (ledgerGroupings as ReadonlyArray<string>).includes(text)

// Text rather than a choice: the parser's own refusal of a choice does not name the option.
const byOption = Options.text("by").pipe(
  Options.withDescription(`Group by ${ledgerGroupings.join(", ")} (default provider)`),
  Options.mapEffect((text) => (isGrouping(text) ? Effect.succeed(text) : Effect.fail(invalid("by", `"${text}" is not one of ${ledgerGroupings.join(", ")}`)))),
  Options.withDefault<LedgerGrouping>("provider")
)

const usd = (amount: number): string => `$${amount.toFixed(amount !== 0 && Math.abs(amount) < 0.01 ? 6 : 2)}`

/** The ledger of the database asked for (the generations' store migrates beside it). */
const ledgerOf = (database: Option.Option<string>): Layer.Layer<CostLedger, unknown> =>
  Layer.unwrapEffect(Effect.map(databaseOf(database), storeLayer))

/** A report as JSON-ready data. */
const reportJson = (by: LedgerGrouping, since: number | undefined, until: number | undefined, totals: ReadonlyArray<LedgerTotal>) => ({
  by,
  since: since !== undefined ? new Date(since).toISOString() : null,
  until: until !== undefined ? new Date(until).toISOString() : null,
  groups: totals,
  totalUsd: totals.reduce((sum, group) => sum + group.costUsd, 0),
  calls: totals.reduce((sum, group) => sum + group.calls, 0),
  unknownCalls: totals.reduce((sum, group) => sum + group.unknownCalls, 0)
})

/** `automarket costs`. */
export const costs = Command.make(
  "costs",
  {
    since: whenOption("since", "From when: a date (2026-11-01) or an age (24h, 7d); default: everything"),
    until: whenOption("until", "Until when (not included): a date or an age"),
    by: byOption,
    json: Options.boolean("json").pipe(Options.withDescription("Print JSON")),
    database: databaseOption
  },
  ({ by, database, json, since, until }) =>
    Effect.gen(function* () {
      const io = yield* output
      const ledger = yield* CostLedger
      const query = { since: Option.getOrUndefined(since), until: Option.getOrUndefined(until) }
      const totals = yield* ledger.totals(by, query)
      const report = reportJson(by, query.since, query.until, totals)
      if (json) return yield* io.stdout(`${JSON.stringify(report, null, 2)}\n`)
      if (totals.length === 0) return yield* io.stdout("nothing spent in that time (the ledger has no entry)\n")
      const unknown = (n: number) => (n > 0 ? `${n} unpriced` : "")
      yield* io.stdout(
        `${table(
          [by.toUpperCase(), "COST", "CALLS", "UNKNOWN PRICE"],
          [
            ...totals.map((group) => [group.key, usd(group.costUsd), String(group.calls), unknown(group.unknownCalls)]),
            ["total", usd(report.totalUsd), String(report.calls), unknown(report.unknownCalls)]
          ]
        )}\n`
      )
    }).pipe(Effect.provide(ledgerOf(database)))
).pipe(Command.withDescription("What was spent, from the cost ledger: by provider, model, key, day or capability"))
