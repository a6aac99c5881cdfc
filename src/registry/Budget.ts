/**
 * Spending budgets, checked before a call is made: limits per UTC day and calendar month,
 * globally, per provider and per spender (a gateway key). A call is admitted only when, for
 * every budget that applies to it, what the ledger holds for the period plus what admitted
 * calls in flight may still cost plus this call's worst-case cost stays within the limit; the
 * admission holds the worst case until the call's ledger entry is written. A call whose price
 * is unknown is refused wherever a limit applies (it could pass any limit); free calls always
 * pass. The registry asks before each provider it tries, so a refused provider gives way to a
 * cheaper model or a local provider, and only when none fits does the call fail with
 * `BudgetExceeded`, nothing sent.
 *
 * Calls in flight are held in this process: several processes sharing one ledger each see the
 * others' spending once it is written, not while it runs.
 *
 * @module
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { BudgetExceeded } from "../domain/Errors.js"
import type { CostLedgerService, LedgerQuery } from "./Ledger.js"

/** A period of a budget. */
export type BudgetPeriod = "day" | "month"

/** Limits in US dollars per period; an absent period has no limit. */
export const PeriodLimits = Schema.Struct({
  day: Schema.optional(Schema.NonNegative),
  month: Schema.optional(Schema.NonNegative)
})
/** Limits in US dollars per period. */
export type PeriodLimits = typeof PeriodLimits.Type

/** Every budget: global, per provider id, per spender (`key:<id>`, `local:<user>`). */
export const BudgetLimits = Schema.Struct({
  global: Schema.optional(PeriodLimits),
  providers: Schema.optional(Schema.Record({ key: Schema.String, value: PeriodLimits })),
  spenders: Schema.optional(Schema.Record({ key: Schema.String, value: PeriodLimits }))
})
/** Every budget. */
export type BudgetLimits = typeof BudgetLimits.Type

/** The start and end (epoch ms) of the UTC day or calendar month holding `now`. */
export const periodBounds = (period: BudgetPeriod, now: number): { readonly start: number; readonly end: number } => {
  const date = new Date(now)
  const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()]
  return period === "day"
    ? { start: Date.UTC(year, month, day), end: Date.UTC(year, month, day + 1) }
    : { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) }
}

/** When the period holding `now` ends (epoch ms). */
export const periodEnd = (period: BudgetPeriod, now: number): number => periodBounds(period, now).end

/** A call asking to be admitted. */
export interface BudgetRequest {
  readonly provider: string
  readonly model: string
  readonly capability: string
  readonly who: string
  /** The call's worst-case cost; undefined when its price is unknown. */
  readonly worstCaseUsd: number | undefined
}

/** An admitted call's hold on its budgets: release it once the call's ledger entry is written (or nothing was billed). */
export interface BudgetHold {
  readonly release: Effect.Effect<void>
}

/** The budgets. */
export interface BudgetsService {
  readonly limits: BudgetLimits
  /**
   * Admit a call, holding its worst case, or refuse it with the first budget it would pass. What
   * was spent is read from `ledger` (without one, only the calls in flight count).
   */
  readonly admit: (request: BudgetRequest, ledger: CostLedgerService | undefined) => Effect.Effect<BudgetHold, BudgetExceeded>
}

/** The budgets' tag. */
export class Budgets extends Context.Tag("automarket/Budgets")<Budgets, BudgetsService>() {}

interface Scope {
  readonly name: string
  readonly limits: PeriodLimits
  readonly query: LedgerQuery
}

const usd = (amount: number): string => `$${amount < 0.01 && amount > 0 ? amount.toPrecision(2) : amount.toFixed(2)}`

/** Budgets with these limits (what was spent is read from the ledger each call is admitted with). */
export const make = (limits: BudgetLimits): Effect.Effect<BudgetsService> =>
  Effect.gen(function* () {
    // Admissions run one at a time so that two calls cannot both take the last of a budget.
    const lock = yield* Effect.makeSemaphore(1)
    const inFlight = new Map<number, { readonly request: BudgetRequest; readonly usd: number }>()
    let nextHold = 0

    const scopesOf = (request: BudgetRequest): ReadonlyArray<Scope> => {
      const scopes: Array<Scope> = []
      if (limits.global !== undefined) scopes.push({ name: "global", limits: limits.global, query: {} })
      const provider = limits.providers?.[request.provider]
      if (provider !== undefined) scopes.push({ name: `provider:${request.provider}`, limits: provider, query: { provider: request.provider } })
      const spender = limits.spenders?.[request.who]
      if (spender !== undefined) scopes.push({ name: `spender:${request.who}`, limits: spender, query: { who: request.who } })
      return scopes
    }

    const heldFor = (query: LedgerQuery): number => {
      let sum = 0
      for (const { request, usd } of inFlight.values()) {
        if ((query.provider === undefined || request.provider === query.provider) && (query.who === undefined || request.who === query.who)) sum += usd
      }
      return sum
    }

    const check = (request: BudgetRequest, ledger: CostLedgerService | undefined, now: number): Effect.Effect<void, BudgetExceeded> =>
      Effect.forEach(
        scopesOf(request).flatMap((scope) =>
          (["day", "month"] as const).flatMap((period) => {
            const limit = scope.limits[period]
            return limit === undefined ? [] : [{ scope, period, limit }]
          })
        ),
        ({ scope, period, limit }) =>
          Effect.flatMap(ledger === undefined ? Effect.succeed(0) : ledger.spent({ ...scope.query, since: periodBounds(period, now).start }), (recorded) => {
            const spent = recorded + heldFor(scope.query)
            const requested = request.worstCaseUsd
            if (requested === 0) return Effect.void
            if (requested !== undefined && spent + requested <= limit + 1e-9) return Effect.void
            return Effect.fail(
              new BudgetExceeded({
                provider: request.provider,
                budget: scope.name,
                period,
                limitUsd: limit,
                spentUsd: spent,
                ...(requested !== undefined ? { requestedUsd: requested } : {}),
                detail:
                  requested === undefined
                    ? `${request.model} has no known price, and the ${period}'s budget of ${scope.name} (${usd(limit)}) could be passed`
                    : `the ${period}'s budget of ${scope.name} (${usd(limit)}) would be passed: ${usd(spent)} spent, ${request.model} may cost ${usd(requested)}`
              })
            )
          }),
        { discard: true }
      )

    const admit = (request: BudgetRequest, ledger: CostLedgerService | undefined): Effect.Effect<BudgetHold, BudgetExceeded> =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          yield* check(request, ledger, Date.now())
          const id = nextHold++
          inFlight.set(id, { request, usd: request.worstCaseUsd ?? 0 })
          return { release: Effect.sync(() => void inFlight.delete(id)) }
        })
      )

    return { limits, admit }
  })

/** Budgets with these limits. */
export const layer = (limits: BudgetLimits): Layer.Layer<Budgets> => Layer.effect(Budgets, make(limits))

/**
 * Budgets from `AUTOMARKET_BUDGETS`, JSON of `BudgetLimits`, e.g.
 * `{"global":{"day":5},"providers":{"falai":{"month":20}},"spenders":{"key:ab12":{"day":1}}}`.
 * Unset: no budgets.
 */
export const limitsFromEnv: Config.Config<BudgetLimits | undefined> = Config.option(Config.string("AUTOMARKET_BUDGETS")).pipe(
  Config.mapOrFail((text) =>
    Option.match(text, {
      onNone: () => Either.right(undefined),
      onSome: (json) =>
        Either.mapLeft(decodeLimits(json), (error) =>
          ConfigError.InvalidData(
            ["AUTOMARKET_BUDGETS"],
            `AUTOMARKET_BUDGETS is not JSON of budgets (e.g. {"global":{"day":5}}): ${ParseResult.ArrayFormatter.formatErrorSync(error)
              .map((issue) => (issue.path.length > 0 ? `${issue.path.join(".")}: ${issue.message}` : issue.message))
              .join("; ")}`
          )
        )
    })
  )
)

const decodeLimits = Schema.decodeUnknownEither(Schema.parseJson(BudgetLimits))
