/**
 * The gateway's per-key rate limit: a token bucket per key whose capacity is the key's requests
 * per minute and which refills continuously (capacity / 60 s), so a key may burst up to its
 * minute's worth and then goes at its rate. Time is read from `effect/Clock` (tests use
 * `TestClock`).
 *
 * The buckets live in this process's memory. With several gateway processes each limits on its
 * own: a key's effective limit is its rate times the number of processes behind the balancer.
 * That is accepted for a limit whose purpose is to stop runaway clients; money is guarded by the
 * spend limit, which is shared through the database (`Keys.ts`).
 *
 * Memory is bounded: a bucket that has refilled to capacity is the same as no bucket, so such
 * buckets are dropped when the map grows; if it is still over `maxBuckets`, the least recently
 * used ones go (their keys get a full bucket back, the one way this limiter is lenient).
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/** The answer of the limiter: go ahead, or wait `retryAfterSeconds` (whole seconds, at least 1). */
export type RateDecision =
  | { readonly _tag: "Allowed"; readonly remaining: number }
  | { readonly _tag: "Limited"; readonly retryAfterSeconds: number }

/** The per-key rate limiter of this process. */
export interface RateLimiterService {
  /** Take one request's token from the key's bucket of `ratePerMinute` (a positive number). */
  readonly take: (keyId: string, ratePerMinute: number) => Effect.Effect<RateDecision>
  /** How many buckets are held (for tests and metrics). */
  readonly size: Effect.Effect<number>
}

/** The per-key rate limiter of this process. */
export class RateLimiter extends Context.Tag("automarket/gateway/RateLimiter")<RateLimiter, RateLimiterService>() {}

interface Bucket {
  tokens: number
  at: number
}

const minuteMs = 60_000

/** Tokens in a bucket of `capacity` after `elapsedMs` of refill from `tokens`. */
export const refill = (tokens: number, capacity: number, elapsedMs: number): number =>
  Math.min(capacity, tokens + (Math.max(0, elapsedMs) * capacity) / minuteMs)

/** Whole seconds (at least 1) until a bucket of `capacity` holding `tokens` has one token. */
export const secondsUntilToken = (tokens: number, capacity: number): number =>
  // The nano-second slack drops floating-point noise (6.000000000000001 s is 6 s, not 7).
  Math.max(1, Math.ceil(((1 - tokens) * minuteMs) / capacity / 1000 - 1e-9))

/** A limiter; `maxBuckets` (default 100 000) bounds the keys it remembers. */
export const make = (options: { readonly maxBuckets?: number } = {}): Effect.Effect<RateLimiterService> =>
  Effect.sync(() => {
    const maxBuckets = options.maxBuckets ?? 100_000
    // Insertion order is recency: a bucket is moved to the end whenever it is used.
    const buckets = new Map<string, Bucket>()

    const sweep = (now: number, capacityOf: (keyId: string) => number | undefined) => {
      for (const [keyId, bucket] of buckets) {
        const capacity = capacityOf(keyId)
        // Only the rate of the key at hand is known here; any bucket idle a full minute is full at any rate.
        const full = capacity !== undefined ? refill(bucket.tokens, capacity, now - bucket.at) >= capacity : now - bucket.at >= minuteMs
        if (full) buckets.delete(keyId)
      }
      // Down to 90%: the next sweep is a tenth of the capacity of new keys away (amortised).
      const target = Math.floor(maxBuckets * 0.9)
      for (const keyId of buckets.keys()) {
        if (buckets.size <= target) break
        buckets.delete(keyId)
      }
    }

    const take = (keyId: string, ratePerMinute: number) =>
      Effect.map(Clock.currentTimeMillis, (now): RateDecision => {
        // A rate of 0 lets nothing through; keys are created with positive rates.
        if (!(ratePerMinute > 0)) return { _tag: "Limited", retryAfterSeconds: 60 }
        const capacity = ratePerMinute
        const held = buckets.get(keyId)
        const tokens = held === undefined ? capacity : refill(held.tokens, capacity, now - held.at)
        const allowed = tokens >= 1
        buckets.delete(keyId)
        buckets.set(keyId, { tokens: allowed ? tokens - 1 : tokens, at: now })
        if (buckets.size > maxBuckets) sweep(now, (id) => (id === keyId ? capacity : undefined))
        return allowed
          ? { _tag: "Allowed", remaining: Math.floor(tokens - 1) }
          : { _tag: "Limited", retryAfterSeconds: secondsUntilToken(tokens, capacity) }
      })

    return RateLimiter.of({ take, size: Effect.sync(() => buckets.size) })
  })

/** A limiter for this process. */
export const layer = (options: { readonly maxBuckets?: number } = {}): Layer.Layer<RateLimiter> => Layer.effect(RateLimiter, make(options))
