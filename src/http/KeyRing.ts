/**
 * The key pool of a provider. A provider may be configured with several keys (a comma-separated
 * list in its environment variable); calls are spread over them round robin, each call taking the
 * next usable key. When a key is refused (InvalidApiKey) it is dropped for good, when it is out of
 * quota (QuotaExceeded) it rests for its `retryAfter` or a cooldown, and the same call is made
 * again at once with the next usable key. When no key is left, the call fails with the reason the
 * last key was retired (QuotaExceeded or InvalidApiKey), without sending anything; MissingConfig
 * when no key was configured.
 *
 * Pacing (`resilience/RateLimit.ts`): with `limits`, each key has a limiter per lane (a class of
 * requests the provider counts apart, such as OpenRouter's free models), and the provider one
 * over all keys together; a call takes a permit before its request goes out, so N keys go N
 * times as fast as one. Of the usable keys the call takes, in round-robin order, the first that
 * has a permit now, else the one whose permit comes soonest, and sleeps until then. A 429 with a
 * Retry-After pauses that key's lane until then, so calls meanwhile go to the other keys. When
 * every usable key's allowance is used up (a daily limit), the call fails at once with
 * QuotaExceeded and its `retryAfter`, sending nothing.
 *
 * The pool's state is plain memory touched only inside synchronous steps: choosing a key and
 * reserving its permit happen in one step, so fibers calling at once never take the same permit.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { createHash } from "node:crypto"
import { InvalidApiKey, type MediaError, MissingConfig, QuotaExceeded } from "../domain/Errors.js"
import * as ProviderWait from "../resilience/ProviderWait.js"
import * as RateLimit from "../resilience/RateLimit.js"

/** A set of keys for one provider, with the state of each. */
export interface KeyRing {
  readonly provider: string
  /** How many keys were configured. */
  readonly size: number
  /**
   * Run `use` with the next usable key (round robin), after taking a permit of that key's pace in
   * `lane` (default `RateLimit.defaultLane`); on InvalidApiKey or QuotaExceeded, retire that key
   * and run it again with the next one. With `prefer` (a key's `fingerprint`), that key is used
   * while it is usable and has a permit (a queued job's follow-up calls go out with the key that
   * submitted it), round robin otherwise. Fails with MissingConfig when no key is configured or
   * usable, with QuotaExceeded when every usable key's allowance is used up.
   */
  readonly withKey: <A, R>(
    use: (key: Redacted.Redacted<string>) => Effect.Effect<A, MediaError, R>,
    lane?: string,
    prefer?: string
  ) => Effect.Effect<A, MediaError, R>
  /** The keys that can be used now, as positions in the configured list (for status displays). */
  readonly usable: Effect.Effect<ReadonlyArray<number>>
}

/** Options of a key ring. */
export interface KeyRingOptions {
  /** The setting the keys come from, named in MissingConfig. */
  readonly setting: string
  /** How long a key that hit its quota rests before it is tried again, when the error says not. Default 1 hour. */
  readonly quotaCooldown?: Duration.DurationInput
  /** The pace of each key and of the provider, by lane. Default: none (no waiting). */
  readonly limits?: RateLimit.RateLimitConfig
}

type KeyState = { readonly _tag: "Ready" } | { readonly _tag: "Refused" } | { readonly _tag: "Resting"; readonly until: number }

/**
 * A key's fingerprint: the first 16 hex digits of its SHA-256. Not the key and not a way back to
 * it (an API key has far more entropy than 64 bits to search), so it may be kept with a job's
 * ticket to say which key of a pool submitted the job.
 */
export const fingerprint = (key: Redacted.Redacted<string>): string =>
  createHash("sha256").update(Redacted.value(key)).digest("hex").slice(0, 16)

/** Split a comma-separated key list, dropping blanks. */
export const splitKeys = (value: Redacted.Redacted<string>): ReadonlyArray<Redacted.Redacted<string>> =>
  Redacted.value(value)
    .split(",")
    .map((key) => key.trim())
    .filter((key) => key.length > 0)
    .map((key) => Redacted.make(key))

type Choice =
  | { readonly _tag: "Key"; readonly index: number; readonly at: number; readonly now: number }
  | { readonly _tag: "NoKey" }
  | { readonly _tag: "Spent"; readonly error: QuotaExceeded }

const isUsable = (state: KeyState, now: number) => state._tag === "Ready" || (state._tag === "Resting" && now >= state.until)

/** Make a key ring over the given keys (possibly none). */
export const make = (
  provider: string,
  keys: ReadonlyArray<Redacted.Redacted<string>>,
  options: KeyRingOptions
): Effect.Effect<KeyRing> =>
  Effect.sync(() => {
    const cooldown = Duration.toMillis(Duration.decode(options.quotaCooldown ?? "1 hour"))
    const count = keys.length
    const states: Array<KeyState> = keys.map(() => ({ _tag: "Ready" }))
    // Why the last key was retired: when none is left, the call fails with that reason's tag.
    let lastRetirement: MediaError | undefined
    // The key the next call starts looking at.
    let cursor = 0
    const perKey = options.limits?.perKey ?? {}
    const perProvider = options.limits?.perProvider ?? {}
    // Limiters are made on first use of a lane (or on a key's first 429 in it, to hold the pause).
    const keyPaces: Array<Map<string, RateLimit.RateLimiter>> = keys.map(() => new Map())
    const providerPaces = new Map<string, RateLimit.RateLimiter | undefined>()

    const keyPace = (index: number, lane: string, forPause: boolean): RateLimit.RateLimiter | undefined => {
      const paces = keyPaces[index]!
      let pace = paces.get(lane)
      if (pace === undefined && (forPause || Object.hasOwn(perKey, lane))) {
        pace = RateLimit.unsafeMake(provider, Object.hasOwn(perKey, lane) ? perKey[lane]! : [])
        paces.set(lane, pace)
      }
      return pace
    }

    const providerPace = (lane: string): RateLimit.RateLimiter | undefined => {
      if (!providerPaces.has(lane)) {
        providerPaces.set(lane, Object.hasOwn(perProvider, lane) ? RateLimit.unsafeMake(provider, perProvider[lane]!) : undefined)
      }
      return providerPaces.get(lane)
    }

    const ready = (now: number): RateLimit.Verdict => ({ _tag: "Ready", at: now })

    const check = (index: number, lane: string, shared: RateLimit.RateLimiter | undefined, now: number): RateLimit.Verdict => {
      const own = keyPace(index, lane, false)
      if (own === undefined) return shared === undefined ? ready(now) : shared.unsafeCheck(now)
      return shared === undefined ? own.unsafeCheck(now) : RateLimit.unsafeCheckAll([own, shared], now)
    }

    // One synchronous step: the usable key whose permit comes first (ties: round-robin order), its permit reserved.
    // The keys' fingerprints, made on the first call that prefers one.
    let prints: ReadonlyArray<string> | undefined
    const choose = (lane: string, now: number, prefer: string | undefined): Choice => {
      const shared = providerPace(lane)
      if (prefer !== undefined && count > 1) {
        prints ??= keys.map(fingerprint)
        const index = prints.indexOf(prefer)
        if (index >= 0 && isUsable(states[index]!, now)) {
          const verdict = check(index, lane, shared, now)
          if (verdict._tag === "Ready") {
            keyPace(index, lane, false)?.unsafeCommit(verdict.at)
            shared?.unsafeCommit(verdict.at)
            return { _tag: "Key", index, at: verdict.at, now }
          }
        }
      }
      let best = -1
      let bestAt = Number.POSITIVE_INFINITY
      let spent: Extract<RateLimit.Verdict, { _tag: "Refused" }> | undefined
      for (let step = 0; step < count; step++) {
        const index = (cursor + step) % count
        if (!isUsable(states[index]!, now)) continue
        const verdict = check(index, lane, shared, now)
        if (verdict._tag === "Refused") {
          if (spent === undefined || verdict.until < spent.until) spent = verdict
          continue
        }
        if (verdict.at < bestAt) {
          best = index
          bestAt = verdict.at
          // Nothing comes sooner than now.
          if (bestAt <= now) break
        }
      }
      if (best < 0) {
        return spent === undefined
          ? { _tag: "NoKey" }
          : { _tag: "Spent", error: RateLimit.refusal(provider, spent, now, count === 1 ? "the key" : "every usable key") }
      }
      keyPace(best, lane, false)?.unsafeCommit(bestAt)
      shared?.unsafeCommit(bestAt)
      cursor = (best + 1) % count
      return { _tag: "Key", index: best, at: bestAt, now }
    }

    const usable = Effect.map(Clock.currentTimeMillis, (now) => states.flatMap((state, i) => (isUsable(state, now) ? [i] : [])))

    const retire = (index: number, error: MediaError) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const rest = error._tag === "QuotaExceeded" && error.retryAfter !== undefined ? Duration.toMillis(error.retryAfter) : cooldown
          states[index] = error._tag === "InvalidApiKey" ? { _tag: "Refused" } : { _tag: "Resting", until: now + rest }
          lastRetirement = error
        })
      )

    // A 429 that says how long to wait: that key's lane grants nothing before then.
    const pause = (index: number, lane: string, error: MediaError) =>
      error._tag === "RateLimited" && error.retryAfter !== undefined
        ? Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.sync(() => keyPace(index, lane, true)!.unsafePauseUntil(now + Duration.toMillis(error.retryAfter!)))
          )
        : Effect.void

    const missing = new MissingConfig({
      provider,
      setting: options.setting,
      detail:
        count === 0
          ? `no API key configured (set ${options.setting})`
          : `none of the ${count} configured keys is usable now (refused or out of quota)`
    })

    // No usable key: say why in the tag of the reason (quota, refused), or MissingConfig when none is configured.
    const exhausted = (reason: MediaError | undefined): MediaError => {
      if (count === 0 || reason === undefined) return missing
      const detail = `no usable key left (${count} configured): the last one ${reason._tag === "QuotaExceeded" ? "is out of quota (resting)" : "was refused"}: ${reason.detail}`
      return reason._tag === "QuotaExceeded"
        ? new QuotaExceeded({ provider, detail })
        : reason._tag === "InvalidApiKey"
          ? new InvalidApiKey({ provider, detail })
          : missing
    }

    const withKey = <A, R>(
      use: (key: Redacted.Redacted<string>) => Effect.Effect<A, MediaError, R>,
      lane: string = RateLimit.defaultLane,
      prefer?: string
    ): Effect.Effect<A, MediaError, R> => {
      const attempt = (tried: number, last: MediaError | undefined): Effect.Effect<A, MediaError, R> =>
        Effect.clockWith((clock) =>
          Effect.suspend(() => {
            const choice: Choice = tried >= count ? { _tag: "NoKey" } : choose(lane, clock.unsafeCurrentTimeMillis(), tried === 0 ? prefer : undefined)
            if (choice._tag === "Spent") return Effect.fail(choice.error)
            if (choice._tag === "NoKey") return Effect.fail(last ?? exhausted(lastRetirement))
            const index = choice.index
            // A wait for the provider's pace is time spent on the provider, not automarket's overhead.
            return Effect.zipRight(
              choice.at > choice.now ? ProviderWait.measure(RateLimit.sleepUntil(choice.at, choice.now)) : Effect.void,
              Effect.catchIf(
                use(keys[index]!),
                (error): error is MediaError => error._tag === "InvalidApiKey" || error._tag === "QuotaExceeded" || error._tag === "RateLimited",
                (error) =>
                  error._tag === "RateLimited"
                    ? Effect.zipRight(pause(index, lane, error), Effect.fail(error))
                    : Effect.zipRight(retire(index, error), attempt(tried + 1, error))
              )
            )
          })
        )
      return attempt(0, undefined)
    }

    return { provider, size: count, withKey, usable }
  })
