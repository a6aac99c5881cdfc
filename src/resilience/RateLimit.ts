/**
 * Client-side pacing: a provider's published request limits as data (`{ perMinute: 20,
 * perDay: 50 }`, or a list of `{ limit, window }`), and a limiter that hands out permits under
 * them, so that a burst waits its turn instead of earning 429s.
 *
 * Each limit is kept as a sliding window log: at most `limit` permits in any span of `window`.
 * That is the strictest reading of "N per window": a client that keeps it also keeps a fixed
 * window or a token bucket of the same N and window, whichever the provider really counts by.
 * The log is a ring of the last `limit` permit times (8 bytes each: a limit of a million a day
 * holds 8 MB), so an acquire is O(1) per limit: the next permit is due one window after the
 * oldest of them.
 *
 * Acquiring reserves the earliest permit at once (a plain write, no fiber, no queue) and then
 * sleeps until it on the Effect `Clock` (`TestClock` drives it in tests); reservations are
 * handed out in order, so waiters are served first come, first served. A waiter interrupted
 * while it sleeps keeps its reservation: the limiter is then slower than it could be, never
 * faster than allowed. A limit that is not waited for (by default those of an hour or more: a
 * day's allowance would otherwise hold a call for hours) fails the acquire at once with
 * `QuotaExceeded`, whose `retryAfter` says when the next permit is due.
 *
 * Why not Effect's `RateLimiter` (or `@effect/experimental`'s): the first is a scoped token
 * bucket or fixed window that can only wait, the second counts in a store for many processes.
 * Pacing a key pool needs more and less: to fail fast on a daily allowance, to be paused by a
 * 429's Retry-After, and to reserve one permit on several limiters at once (the key's and the
 * provider's) after comparing keys to pick the one free soonest. The `unsafe` functions below
 * are those steps, synchronous so that a compare-and-reserve is atomic between fibers.
 *
 * @module
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { QuotaExceeded } from "../domain/Errors.js"

/** One limit: at most `limit` permits in any span of `window`. */
export interface Limit {
  /** Permits allowed in any one window; a positive integer. */
  readonly limit: number
  readonly window: Duration.DurationInput
  /**
   * Whether an acquire waits for a permit of this limit (true), or fails at once with
   * `QuotaExceeded` and a `retryAfter` (false). Default: waits for windows under an hour.
   */
  readonly wait?: boolean
}

/** Limits in the usual units; each one given is a `Limit` over that window. */
export interface Rates {
  readonly perSecond?: number
  readonly perMinute?: number
  readonly perHour?: number
  readonly perDay?: number
}

/** Limits as rates, or as a list of windows. */
export type RateLimits = Rates | ReadonlyArray<Limit>

/**
 * Where limits apply. Each is by lane: a lane is a class of requests a provider counts apart
 * (OpenRouter's `free` and `paid` models); requests of no particular class are in `default`.
 */
export interface RateLimitConfig {
  /** Each key's own limits (what providers count): N keys go N times as fast. */
  readonly perKey?: Readonly<Record<string, RateLimits>>
  /** The provider's limits over all its keys together. */
  readonly perProvider?: Readonly<Record<string, RateLimits>>
}

/** The lane of requests of no particular class. */
export const defaultLane = "default"

/** Windows this long or longer are not waited for unless a limit says so. */
export const longWindow: Duration.Duration = Duration.hours(1)

const rateWindows: ReadonlyArray<readonly [keyof Rates, Duration.Duration]> = [
  ["perSecond", Duration.seconds(1)],
  ["perMinute", Duration.minutes(1)],
  ["perHour", Duration.hours(1)],
  ["perDay", Duration.days(1)]
]

const isLimitList = (limits: RateLimits): limits is ReadonlyArray<Limit> => Array.isArray(limits)

/** The limits as a list of windows. */
export const limitsOf = (limits: RateLimits): ReadonlyArray<Limit> => {
  if (isLimitList(limits)) return limits
  const rates: Rates = limits
  return rateWindows.flatMap(([name, window]) => {
    const limit = rates[name]
    return limit === undefined ? [] : [{ limit, window }]
  })
}

// --- config as JSON -----------------------------------------------------------------------

const Count = Schema.Int.pipe(Schema.positive())

// A window in JSON: milliseconds, or a duration Effect reads ("1 minute", "24 hours").
const WindowJson = Schema.Union(
  Schema.DurationFromMillis,
  Schema.transformOrFail(Schema.String, Schema.DurationFromSelf, {
    strict: true,
    decode: (text, _, ast) =>
      Option.match(Duration.decodeUnknown(text), {
        onNone: () => ParseResult.fail(new ParseResult.Type(ast, text, `not a duration such as "1 minute": ${text}`)),
        onSome: ParseResult.succeed
      }),
    encode: (duration) => ParseResult.succeed(Duration.format(duration))
  })
).pipe(Schema.filter((window) => Duration.greaterThan(window, Duration.zero), { message: () => "a window must be longer than 0" }))

const LimitJson = Schema.Struct({ limit: Count, window: WindowJson, wait: Schema.optionalWith(Schema.Boolean, { exact: true }) })

const RatesJson = Schema.Struct({
  perSecond: Schema.optionalWith(Count, { exact: true }),
  perMinute: Schema.optionalWith(Count, { exact: true }),
  perHour: Schema.optionalWith(Count, { exact: true }),
  perDay: Schema.optionalWith(Count, { exact: true })
})

const LanesJson = Schema.Record({ key: Schema.String, value: Schema.Union(RatesJson, Schema.Array(LimitJson)) })

/** A `RateLimitConfig` as JSON: `{"perKey": {"free": {"perMinute": 20, "perDay": 50}}}`. */
export const RateLimitConfigJson = Schema.parseJson(Schema.Struct({ perKey: Schema.optionalWith(LanesJson, { exact: true }), perProvider: Schema.optionalWith(LanesJson, { exact: true }) }))

// --- the limiter --------------------------------------------------------------------------

/** What a limiter would do if asked now: grant a permit `at` (now or later), or refuse until `until`. */
export type Verdict =
  | { readonly _tag: "Ready"; readonly at: number }
  | { readonly _tag: "Refused"; readonly until: number; readonly reason: string }

/** A limiter over one set of limits (one key's lane, or one provider's). */
export interface RateLimiter {
  /** The provider named in errors. */
  readonly provider: string
  readonly limits: ReadonlyArray<Limit>
  /**
   * Take a permit: at once when one is free, else after sleeping until it is (the Effect clock);
   * `QuotaExceeded` at once, sending nothing, when a limit that is not waited for is used up.
   */
  readonly acquire: Effect.Effect<void, QuotaExceeded>
  /**
   * Grant nothing before `duration` from now (a 429's Retry-After); a pause of an hour or more is
   * not waited for: acquires fail with `QuotaExceeded` until it ends.
   */
  readonly pause: (duration: Duration.DurationInput) => Effect.Effect<void>
  /** What `acquire` would do at `now` (epoch milliseconds), changing nothing. */
  readonly unsafeCheck: (now: number) => Verdict
  /** Take the permit at `at`, a time a `Ready` verdict gave (or later). */
  readonly unsafeCommit: (at: number) => void
  /** Grant nothing before `until` (epoch milliseconds); an earlier pause than the current one changes nothing. */
  readonly unsafePauseUntil: (until: number) => void
}

/** One window's log: the times of the last `limit` permits, oldest at `head`. */
interface Log {
  readonly limit: number
  readonly millis: number
  readonly wait: boolean
  readonly label: string
  readonly times: Float64Array
  head: number
}

const describeLimit = (limit: number, window: Duration.Duration): string => `${limit} per ${Duration.format(window)}`

/**
 * A limiter over `limits` (an empty list grants every permit at once). A limit's `limit` is
 * rounded down to a whole number, at least 1.
 */
export const make = (provider: string, limits: RateLimits): Effect.Effect<RateLimiter> => Effect.sync(() => unsafeMake(provider, limits))

/** `make`, outside an effect: for a limiter made on first use, inside another's synchronous step. */
export const unsafeMake = (provider: string, limits: RateLimits): RateLimiter => {
  const list = limitsOf(limits)
  const logs: ReadonlyArray<Log> = list.map((limit) => {
    const window = Duration.decode(limit.window)
    const count = Math.max(1, Math.floor(limit.limit))
    return {
      limit: count,
      millis: Duration.toMillis(window),
      wait: limit.wait ?? Duration.lessThan(window, longWindow),
      label: describeLimit(count, window),
      times: new Float64Array(count).fill(Number.NEGATIVE_INFINITY),
      head: 0
    }
  })
  const longPause = Duration.toMillis(longWindow)
  // The latest permit given: permits are handed out in time order, so each log's head stays its oldest.
  let last = Number.NEGATIVE_INFINITY
  let pausedUntil = Number.NEGATIVE_INFINITY

  const unsafeCheck = (now: number): Verdict => {
    let at = Math.max(now, last)
    let refusedUntil = Number.NEGATIVE_INFINITY
    let reason = ""
    if (pausedUntil > now) {
      // A pause as long as a long window (a daily allowance spent, as the provider says) is not waited for either.
      if (pausedUntil - now >= longPause) {
        refusedUntil = pausedUntil
        reason = "the provider asked to wait"
      } else at = Math.max(at, pausedUntil)
    }
    for (const log of logs) {
      if (log.wait) at = Math.max(at, log.times[log.head]! + log.millis)
    }
    // A limit not waited for refuses only when it is not free by the time the others grant a permit.
    for (const log of logs) {
      const free = log.times[log.head]! + log.millis
      if (!log.wait && free > at && free > refusedUntil) {
        refusedUntil = free
        reason = `the limit of ${log.label} is used up`
      }
    }
    return refusedUntil > now ? { _tag: "Refused", until: refusedUntil, reason } : { _tag: "Ready", at }
  }

  const unsafeCommit = (at: number): void => {
    last = Math.max(last, at)
    for (const log of logs) {
      log.times[log.head] = last
      log.head = (log.head + 1) % log.limit
    }
  }

  const unsafePauseUntil = (until: number): void => {
    pausedUntil = Math.max(pausedUntil, until)
  }

  const limiter: RateLimiter = {
    provider,
    limits: list,
    acquire: Effect.suspend(() => acquireAll([limiter])),
    pause: (duration) => Effect.clockWith((clock) => Effect.sync(() => unsafePauseUntil(clock.unsafeCurrentTimeMillis() + Duration.toMillis(duration)))),
    unsafeCheck,
    unsafeCommit,
    unsafePauseUntil
  }
  return limiter
}

/**
 * The verdict of several limiters together: refused when any refuses (until the latest of
 * their refusals), else ready when all are (at the latest of their times).
 */
export const unsafeCheckAll = (limiters: ReadonlyArray<RateLimiter>, now: number): Verdict => {
  let at = now
  let refused: Extract<Verdict, { _tag: "Refused" }> | undefined
  for (const limiter of limiters) {
    const verdict = limiter.unsafeCheck(now)
    if (verdict._tag === "Refused") {
      if (refused === undefined || verdict.until > refused.until) refused = verdict
    } else at = Math.max(at, verdict.at)
  }
  return refused ?? { _tag: "Ready", at }
}

/** The error of a refused permit: `QuotaExceeded`, its `retryAfter` the time until the next one. */
export const refusal = (provider: string, verdict: Extract<Verdict, { _tag: "Refused" }>, now: number, whose?: string): QuotaExceeded => {
  const retryAfter = Duration.millis(Math.max(0, verdict.until - now))
  return new QuotaExceeded({
    provider,
    detail: `client-side rate limit${whose !== undefined ? ` of ${whose}` : ""}: ${verdict.reason}; next permit in ${Duration.format(retryAfter)} (nothing was sent)`,
    retryAfter
  })
}

/** Sleep until `at` on the Effect clock (nothing when it is not in the future). */
export const sleepUntil = (at: number, now: number): Effect.Effect<void> => (at > now ? Effect.sleep(Duration.millis(at - now)) : Effect.void)

/** Take one permit from each of `limiters` at the same time (see `RateLimiter.acquire`). */
export const acquireAll = (limiters: ReadonlyArray<RateLimiter>): Effect.Effect<void, QuotaExceeded> =>
  Effect.clockWith((clock) =>
    Effect.suspend(() => {
      const now = clock.unsafeCurrentTimeMillis()
      const verdict = unsafeCheckAll(limiters, now)
      if (verdict._tag === "Refused") return Effect.fail(refusal(limiters[0]?.provider ?? "unknown", verdict, now))
      for (const limiter of limiters) limiter.unsafeCommit(verdict.at)
      return sleepUntil(verdict.at, now)
    })
  )
