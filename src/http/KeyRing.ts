/**
 * API key rotation. A provider may be configured with several keys (a comma-separated list
 * in its environment variable). Calls use the current key; when a key is refused
 * (InvalidApiKey) it is dropped for good, when it is out of quota (QuotaExceeded) it rests for
 * a cooldown, and the same call is made again at once with the next usable key. When no key
 * is left, the call fails with the reason the last key was retired (QuotaExceeded or
 * InvalidApiKey), without sending anything; MissingConfig when no key was configured.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import { InvalidApiKey, type MediaError, MissingConfig, QuotaExceeded } from "../domain/Errors.js"

/** A set of keys for one provider, with the state of each. */
export interface KeyRing {
  readonly provider: string
  /** How many keys were configured. */
  readonly size: number
  /**
   * Run `use` with the current key; on InvalidApiKey or QuotaExceeded, retire that key and run
   * it again with the next one. Fails with MissingConfig when no key is configured or usable.
   */
  readonly withKey: <A, R>(use: (key: Redacted.Redacted<string>) => Effect.Effect<A, MediaError, R>) => Effect.Effect<A, MediaError, R>
  /** The keys that can be used now, as positions in the configured list (for status displays). */
  readonly usable: Effect.Effect<ReadonlyArray<number>>
}

/** Options of a key ring. */
export interface KeyRingOptions {
  /** The setting the keys come from, named in MissingConfig. */
  readonly setting: string
  /** How long a key that hit its quota rests before it is tried again. Default 1 hour. */
  readonly quotaCooldown?: Duration.DurationInput
}

type KeyState = { readonly _tag: "Ready" } | { readonly _tag: "Refused" } | { readonly _tag: "Resting"; readonly until: number }

/** Split a comma-separated key list, dropping blanks. */
export const splitKeys = (value: Redacted.Redacted<string>): ReadonlyArray<Redacted.Redacted<string>> =>
  Redacted.value(value)
    .split(",")
    .map((key) => key.trim())
    .filter((key) => key.length > 0)
    .map((key) => Redacted.make(key))

/** Make a key ring over the given keys (possibly none). */
export const make = (
  provider: string,
  keys: ReadonlyArray<Redacted.Redacted<string>>,
  options: KeyRingOptions
): Effect.Effect<KeyRing> =>
  Effect.gen(function* () {
    const cooldown = Duration.toMillis(Duration.decode(options.quotaCooldown ?? "1 hour"))
    const states = yield* Ref.make<ReadonlyArray<KeyState>>(keys.map(() => ({ _tag: "Ready" })))
    // Why the last key was retired: when none is left, the call fails with that reason's tag.
    const lastRetirement = yield* Ref.make<MediaError | undefined>(undefined)
    const current = yield* Ref.make(0)

    const isUsable = (state: KeyState, now: number) =>
      state._tag === "Ready" || (state._tag === "Resting" && now >= state.until)

    const usable = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(Ref.get(states), (all) => all.flatMap((state, i) => (isUsable(state, now) ? [i] : [])))
    )

    // The first usable key at or after the current position, wrapping around.
    const pick = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const all = yield* Ref.get(states)
      const start = yield* Ref.get(current)
      for (let step = 0; step < all.length; step++) {
        const i = (start + step) % all.length
        if (isUsable(all[i]!, now)) return i
      }
      return undefined
    })

    const retire = (index: number, error: MediaError) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(states, (all) =>
          all.map((state, i): KeyState =>
            i !== index ? state : error._tag === "InvalidApiKey" ? { _tag: "Refused" } : { _tag: "Resting", until: now + cooldown }
          )
        ).pipe(
          Effect.zipRight(Ref.set(current, (index + 1) % Math.max(1, keys.length))),
          Effect.zipRight(Ref.set(lastRetirement, error))
        )
      )

    const missing = new MissingConfig({
      provider,
      setting: options.setting,
      detail:
        keys.length === 0
          ? `no API key configured (set ${options.setting})`
          : `none of the ${keys.length} configured keys is usable now (refused or out of quota)`
    })

    // No usable key: say why in the tag of the reason (quota, refused), or MissingConfig when none is configured.
    const exhausted = (reason: MediaError | undefined): MediaError => {
      if (keys.length === 0 || reason === undefined) return missing
      const detail = `no usable key left (${keys.length} configured): the last one ${reason._tag === "QuotaExceeded" ? "is out of quota (resting)" : "was refused"}: ${reason.detail}`
      return reason._tag === "QuotaExceeded"
        ? new QuotaExceeded({ provider, detail })
        : reason._tag === "InvalidApiKey"
          ? new InvalidApiKey({ provider, detail })
          : missing
    }

    const withKey = <A, R>(use: (key: Redacted.Redacted<string>) => Effect.Effect<A, MediaError, R>): Effect.Effect<A, MediaError, R> => {
      const attempt = (tried: number, last: MediaError | undefined): Effect.Effect<A, MediaError, R> =>
        Effect.flatMap(pick, (index) => {
          if (index === undefined || tried >= keys.length) {
            return last !== undefined ? Effect.fail(last) : Effect.flatMap(Ref.get(lastRetirement), (reason) => Effect.fail(exhausted(reason)))
          }
          return Effect.catchIf(
            use(keys[index]!),
            (error): error is MediaError => error._tag === "InvalidApiKey" || error._tag === "QuotaExceeded",
            (error) => Effect.zipRight(retire(index, error), attempt(tried + 1, error))
          )
        })
      return attempt(0, undefined)
    }

    return { provider, size: keys.length, withKey, usable }
  })
