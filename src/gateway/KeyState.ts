/**
 * The gateway's API keys as data, and the `KeyStore` tag, apart from the SQL implementation
 * (`Keys.ts`), so that the command line's `keys` commands and the gateway's request handlers can
 * name them without loading the SQL client before they run.
 *
 * A key has a name, a prefix shown to humans (`amk_` and the first characters of the secret),
 * an optional rate limit (requests per minute) and an optional spend limit per UTC day or UTC
 * calendar month. Spend is booked per request: a reservation of the request's worst-case cost
 * before any provider is called, settled to the actual cost (or released to 0) afterwards.
 *
 * @module
 */
import type { SqlError } from "@effect/sql/SqlError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { periodBounds } from "../registry/Budget.js"

/** The period a spend limit counts over: the UTC day or the UTC calendar month. */
export const SpendPeriod = Schema.Literal("day", "month")
/** The period a spend limit counts over. */
export type SpendPeriod = typeof SpendPeriod.Type

/** A gateway API key as stored: never its secret, never its hash. Times are epoch milliseconds. */
export const GatewayKey = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  /** What humans see of the secret (`amk_` and its first 8 characters), unique among keys. */
  prefix: Schema.String,
  createdAt: Schema.Number,
  revokedAt: Schema.optional(Schema.Number),
  /** Requests per minute (a token bucket of that capacity); unlimited when absent. */
  ratePerMinute: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** US dollars per `spendPeriod`; unlimited when absent. */
  spendLimitUsd: Schema.optional(Schema.NonNegative),
  spendPeriod: SpendPeriod
})
/** A gateway API key as stored. */
export type GatewayKey = typeof GatewayKey.Type

/** What a new key is created with. */
export interface NewKey {
  readonly name: string
  /** A positive integer; unlimited when absent. */
  readonly ratePerMinute?: number | undefined
  /** Non-negative US dollars; unlimited when absent. */
  readonly spendLimitUsd?: number | undefined
  /** Default `month`. */
  readonly spendPeriod?: SpendPeriod | undefined
}

/** A key just created: its stored form and its secret, which exists only here (show it once). */
export interface CreatedKey {
  readonly key: GatewayKey
  readonly secret: Redacted.Redacted<string>
}

/** What a reservation is for (kept with its spend entry, for reports). */
export interface SpendMeta {
  /** The generation or request id. */
  readonly requestId?: string | undefined
  readonly capability?: string | undefined
  readonly provider?: string | undefined
  readonly model?: string | undefined
}

/**
 * The answer to a reservation: `Reserved` (call the provider, then settle or release it),
 * `Refused` (the worst case would pass the key's spend limit in the current period: what is
 * spent counts settled amounts and the worst case of reservations still open), or `Inactive`
 * (no such key, or it was revoked since it was authenticated).
 */
export type Reservation = Data.TaggedEnum<{
  Reserved: { readonly reservationId: string }
  Refused: { readonly limitUsd: number; readonly spentUsd: number; readonly periodStart: Date; readonly periodEnd: Date }
  Inactive: {}
}>

/** Constructors and matchers of `Reservation`. */
export const Reservation = Data.taggedEnum<Reservation>()

/** The bounds of the period holding `now` (epoch ms): its first millisecond and the first of the next one, UTC. */
export const periodOf = (period: SpendPeriod, now: number): { readonly start: Date; readonly end: Date } => {
  const bounds = periodBounds(period, now)
  return { start: new Date(bounds.start), end: new Date(bounds.end) }
}

const usd = (amount: number): string => `$${amount < 0.01 && amount > 0 ? amount.toPrecision(2) : amount.toFixed(2)}`

/** A request refused before any provider was called: its worst-case cost would pass the key's spend limit (HTTP 402). */
export class SpendLimitExceeded extends Schema.TaggedError<SpendLimitExceeded>()("SpendLimitExceeded", {
  keyId: Schema.String,
  limitUsd: Schema.Number,
  /** Spent in the current period: settled amounts plus the worst case of open reservations. */
  spentUsd: Schema.Number,
  /** The worst-case cost of the refused request. */
  requestedUsd: Schema.Number,
  /** When the period ends and the limit is available again. */
  periodEnd: Schema.Date
}) {
  override get message(): string {
    return `key ${this.keyId}: the spend limit of ${usd(this.limitUsd)} is reached (${usd(this.spentUsd)} spent, this request may cost up to ${usd(this.requestedUsd)}); it resets at ${this.periodEnd.toISOString()}`
  }
}

/** The refusal of a reservation as the gateway's error. */
export const spendLimitExceeded = (
  keyId: string,
  requestedUsd: number,
  refused: Data.TaggedEnum.Value<Reservation, "Refused">
): SpendLimitExceeded =>
  new SpendLimitExceeded({ keyId, limitUsd: refused.limitUsd, spentUsd: refused.spentUsd, requestedUsd, periodEnd: refused.periodEnd })

/** A request refused by the key's rate limit (HTTP 429 with `Retry-After: retryAfterSeconds`). */
export class KeyRateLimited extends Schema.TaggedError<KeyRateLimited>()("KeyRateLimited", {
  keyId: Schema.String,
  ratePerMinute: Schema.Int,
  /** Whole seconds until a request will be let through, at least 1. */
  retryAfterSeconds: Schema.Int
}) {
  override get message(): string {
    return `key ${this.keyId}: more than ${this.ratePerMinute} requests a minute; retry in ${this.retryAfterSeconds} s`
  }
}

/** The gateway's keys and their spend, in the durable generations' database. */
export interface KeyStoreService {
  /** Create the tables when missing (the layer does it once). */
  readonly migrate: Effect.Effect<void, SqlError>
  /** A new key; its secret is returned here only (the store keeps its SHA-256). */
  readonly create: (options: NewKey) => Effect.Effect<CreatedKey, SqlError>
  /** Every key, revoked ones included, oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<GatewayKey>, SqlError>
  /** Revoke the key with this id or prefix; false when there is none or it is revoked already. */
  readonly revoke: (idOrPrefix: string) => Effect.Effect<boolean, SqlError>
  /** The active key whose secret this is; None for anything else (unknown, malformed, revoked). */
  readonly authenticate: (secret: Redacted.Redacted<string>) => Effect.Effect<Option.Option<GatewayKey>, SqlError>
  /**
   * Book `worstCaseUsd` against the key's spend limit of the current period, atomically across
   * processes: of concurrent reservations that would together pass the limit, only those that
   * fit are `Reserved`. A key without a spend limit is always reserved (the entry still counts
   * in reports).
   */
  readonly reserve: (keyId: string, worstCaseUsd: number, meta?: SpendMeta) => Effect.Effect<Reservation, SqlError>
  /**
   * The call ran: charge `actualUsd`. With `undefined` (the provider did not say what it cost)
   * the reserved worst case stays the charge, so an unknown price never lets spend pass the
   * limit. False when the reservation is unknown or settled already.
   */
  readonly settle: (reservationId: string, actualUsd: number | undefined) => Effect.Effect<boolean, SqlError>
  /** The call failed and nothing was billed: the charge is 0. False when unknown or settled already. */
  readonly release: (reservationId: string) => Effect.Effect<boolean, SqlError>
  /** What the key spent since `since` (epoch ms): settled amounts plus the worst case of open reservations. */
  readonly spent: (keyId: string, since: number) => Effect.Effect<number, SqlError>
}

/** The gateway's key store. Its SQL implementation and layer are in `Keys.ts`. */
export class KeyStore extends Context.Tag("automarket/gateway/KeyStore")<KeyStore, KeyStoreService>() {}
