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
