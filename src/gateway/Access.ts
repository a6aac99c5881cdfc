/**
 * Who may call the gateway and how much: the `Access` service authenticates a bearer key,
 * applies its rate limit and reserves the worst-case cost of a request against its spend limit
 * before anything is paid (settled with the real cost afterwards). `layerKeys` is the real one
 * (the key store in the gateway's database, a token bucket per key); `layerOpen` lets every
 * request in as one anonymous caller with no limits (a gateway on loopback for one developer,
 * `--no-auth`).
 *
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import type { Caller } from "./Api.js"
import { hashSecret } from "./Keys.js"
import { type GatewayKey, KeyStore, periodOf, Reservation as StoreReservation } from "./KeyState.js"
import { RateLimiter } from "./RateLimiter.js"

/** A spend reservation: settle it with the real cost, or release it when nothing was billed. */
export interface Reservation {
  readonly id: string
}

/** Why a reservation was refused: the period's limit would be passed. */
export interface SpendRefusal {
  readonly limitUsd: number
  readonly spentUsd: number
  readonly requestedUsd: number
  /** When the period ends (epoch ms). */
  readonly periodEnd: number
}

/** What a request is, for the spend table. */
export interface SpendMeta {
  readonly capability: string
  readonly generationId?: string | undefined
}

/** Authentication, rate and spend limits of gateway callers. */
export interface AccessService {
  /** Whether keys are checked (false: every request is the anonymous caller). */
  readonly enforced: boolean
  /** The caller a bearer key belongs to; None for an unknown or revoked key. */
  readonly authenticate: (secret: Redacted.Redacted<string>) => Effect.Effect<Option.Option<Caller>>
  /** Take one request from the caller's rate; `retryAfterSeconds` when over it. */
  readonly admit: (caller: Caller) => Effect.Effect<{ readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number }>
  /**
   * Reserve `worstCaseUsd` (undefined: the price is unknown) against the caller's spend limit.
   * A caller without a limit always gets a reservation; with a limit and an unknown price, the
   * request is refused (it could pass any limit).
   */
  readonly reserve: (
    caller: Caller,
    worstCaseUsd: number | undefined,
    meta: SpendMeta
  ) => Effect.Effect<{ readonly ok: true; readonly reservation: Reservation } | { readonly ok: false; readonly refusal: SpendRefusal }>
  /** Charge the real cost (undefined: unknown, the worst case stays charged). */
  readonly settle: (reservation: Reservation, actualUsd: number | undefined) => Effect.Effect<void>
  /** Nothing was billed (the call failed before a provider took it). */
  readonly release: (reservation: Reservation) => Effect.Effect<void>
}

/** The access service's tag. */
export class Access extends Context.Tag("automarket/gateway/Access")<Access, AccessService>() {}

/** The caller of an open gateway. */
export const anonymous: Caller = { keyId: "open", name: "anonymous", ratePerMinute: undefined, spendLimitUsd: undefined, spendPeriod: "day" }

/** No keys, no limits: every request is `anonymous`. */
export const layerOpen: Layer.Layer<Access> = Layer.succeed(Access, {
  enforced: false,
  authenticate: () => Effect.succeed(Option.some(anonymous)),
  admit: () => Effect.succeed({ ok: true } as const),
  reserve: () => Effect.succeed({ ok: true, reservation: { id: "open" } } as const),
  settle: () => Effect.void,
  release: () => Effect.void
})

/** How long a key's lookup is reused before the store is asked again (a revoked key is refused within this). */
export const defaultKeyCacheTtlMs = 1_000

/**
 * Keys from the key store (`Keys.layer`, the gateway's database), each with its own token
 * bucket (`RateLimiter`, per process) and spend limit (reservations in the store, atomic
 * across processes). A store failure refuses the request (fail closed) rather than letting it in.
 */
export const layerKeys = (options: { readonly keyCacheTtlMs?: number } = {}): Layer.Layer<Access, never, KeyStore | RateLimiter> =>
  Layer.effect(
    Access,
    Effect.gen(function* () {
      const store = yield* KeyStore
      const limiter = yield* RateLimiter
      const ttl = options.keyCacheTtlMs ?? defaultKeyCacheTtlMs
      const cache = new Map<string, { readonly caller: Option.Option<Caller>; readonly at: number }>()
      const callerOf = (key: GatewayKey): Caller => ({
        keyId: key.id,
        name: key.name,
        ratePerMinute: key.ratePerMinute,
        spendLimitUsd: key.spendLimitUsd,
        spendPeriod: key.spendPeriod
      })
      const authenticate = (secret: Redacted.Redacted<string>) =>
        Effect.suspend(() => {
          const hash = hashSecret(secret)
          const now = Date.now()
          const hit = cache.get(hash)
          if (hit !== undefined && now - hit.at < ttl) return Effect.succeed(hit.caller)
          return store.authenticate(secret).pipe(
            Effect.map(Option.map(callerOf)),
            Effect.tap((caller) =>
              Effect.sync(() => {
                if (cache.size > 10_000) cache.clear()
                cache.set(hash, { caller, at: now })
              })
            ),
            Effect.catchAll((error) => Effect.as(Effect.logWarning(`gateway: the key store failed (${error.message}); request refused`), Option.none<Caller>()))
          )
        })
      return Access.of({
        enforced: true,
        authenticate,
        admit: (caller) =>
          caller.ratePerMinute === undefined
            ? Effect.succeed({ ok: true } as const)
            : Effect.map(limiter.take(caller.keyId, caller.ratePerMinute), (decision) =>
                decision._tag === "Allowed" ? ({ ok: true } as const) : ({ ok: false, retryAfterSeconds: decision.retryAfterSeconds } as const)
              ),
        reserve: (caller, worstCaseUsd, meta) =>
          Effect.gen(function* () {
            if (caller.spendLimitUsd === undefined) return { ok: true, reservation: { id: "" } } as const
            if (worstCaseUsd === undefined) {
              // An unpriced call could pass any limit: refused, with what is known.
              const period = periodOf(caller.spendPeriod, Date.now())
              const spent = yield* Effect.orElseSucceed(store.spent(caller.keyId, period.start.getTime()), () => 0)
              return {
                ok: false,
                refusal: { limitUsd: caller.spendLimitUsd, spentUsd: spent, requestedUsd: Number.POSITIVE_INFINITY, periodEnd: period.end.getTime() }
              } as const
            }
            const reserved = yield* store.reserve(caller.keyId, worstCaseUsd, {
              capability: meta.capability,
              ...(meta.generationId !== undefined ? { requestId: meta.generationId } : {})
            })
            return StoreReservation.$match(reserved, {
              Reserved: ({ reservationId }) => ({ ok: true, reservation: { id: reservationId } }) as const,
              Refused: (refused) =>
                ({
                  ok: false,
                  refusal: { limitUsd: refused.limitUsd, spentUsd: refused.spentUsd, requestedUsd: worstCaseUsd, periodEnd: refused.periodEnd.getTime() }
                }) as const,
              Inactive: () =>
                ({ ok: false, refusal: { limitUsd: 0, spentUsd: 0, requestedUsd: worstCaseUsd, periodEnd: Date.now() } }) as const
            })
          }).pipe(
            Effect.catchAll(() =>
              Effect.succeed({
                ok: false,
                refusal: { limitUsd: caller.spendLimitUsd ?? 0, spentUsd: 0, requestedUsd: worstCaseUsd ?? Number.POSITIVE_INFINITY, periodEnd: Date.now() }
              } as const)
            )
          ),
        settle: (reservation, actualUsd) => (reservation.id === "" ? Effect.void : Effect.ignoreLogged(store.settle(reservation.id, actualUsd))),
        release: (reservation) => (reservation.id === "" ? Effect.void : Effect.ignoreLogged(store.release(reservation.id)))
      })
    })
  )
