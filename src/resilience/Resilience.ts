/**
 * Resilience as values: the retry `Schedule` (exponential backoff with jitter, capped,
 * honouring the provider's Retry-After), per-call timeouts, a per-provider circuit breaker,
 * and fallback across providers as an `ExecutionPlan` whose `while` reads the error's tag.
 *
 * The split of duties: a call is retried on the same provider only for retryable tags
 * (RateLimited, NetworkError, Timeout, ProviderUnavailable); the fallback plan moves to the
 * next provider for failover tags (those plus QuotaExceeded, missing or refused keys ...);
 * InvalidInput, ContentRejected, GenerationFailed and Cancelled stop both.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionPlan from "effect/ExecutionPlan"
import * as Exit from "effect/Exit"
import { pipe } from "effect/Function"
import type * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import { isFailover, isRetryable, type MediaError, ProviderUnavailable, Timeout } from "../domain/Errors.js"
import type { MediaProvider } from "../domain/MediaProvider.js"

/** How a call is retried on the same provider. */
export interface RetryPolicy {
  /** Retries after the first attempt. Default 3. */
  readonly retries: number
  /** First backoff delay. Default 500 ms. */
  readonly base: Duration.DurationInput
  /** Growth of the backoff per retry. Default 2. */
  readonly factor: number
  /** Largest backoff delay (before Retry-After is considered). Default 10 s. */
  readonly maxBackoff: Duration.DurationInput
  /** Largest wait of any kind, Retry-After included. Default 60 s. */
  readonly maxWait: Duration.DurationInput
  /** Randomise each backoff delay in [0.8, 1.2) of itself. Default true. */
  readonly jitter: boolean
}

/** The default retry policy: 3 retries, 500 ms doubling, jittered, backoff capped at 10 s, any wait at 60 s. */
export const defaultRetryPolicy: RetryPolicy = {
  retries: 3,
  base: "500 millis",
  factor: 2,
  maxBackoff: "10 seconds",
  maxWait: "60 seconds",
  jitter: true
}

/** The wait a provider asked for, when the error carries one. */
export const retryAfterOf = (error: MediaError): Duration.Duration | undefined =>
  error._tag === "RateLimited" ? error.retryAfter : undefined

/**
 * The retry schedule: continues only while the error is retryable and fewer than `retries`
 * retries were made; waits the exponential backoff, or the provider's Retry-After when that is
 * longer, never more than `maxWait`. Its output is the delay it chose.
 */
export const retrySchedule = (
  policy: Partial<RetryPolicy> = {}
): Schedule.Schedule<Duration.Duration, MediaError> => {
  const p = { ...defaultRetryPolicy, ...policy }
  const maxBackoff = Duration.decode(p.maxBackoff)
  const maxWait = Duration.decode(p.maxWait)
  const exponential = Schedule.exponential(p.base, p.factor)
  const backoff = pipe(
    p.jitter ? Schedule.jittered(exponential) : exponential,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, maxBackoff))
  )
  return pipe(
    Schedule.identity<MediaError>(),
    Schedule.intersect(backoff),
    Schedule.intersect(Schedule.recurs(p.retries)),
    Schedule.whileInput(isRetryable),
    Schedule.modifyDelay(([[error]], delay) => {
      const asked = retryAfterOf(error)
      const wanted = asked !== undefined ? Duration.max(delay, asked) : delay
      return Duration.min(wanted, maxWait)
    }),
    Schedule.delays
  )
}

/** Retry an effect on the same provider under a policy (see `retrySchedule`). */
export const withRetry =
  (policy: Partial<RetryPolicy> = {}) =>
  <A, R>(self: Effect.Effect<A, MediaError, R>): Effect.Effect<A, MediaError, R> =>
    Effect.retry(self, retrySchedule(policy))

/** The default budget of one request: 30 s. Long-running jobs set their own. */
export const defaultTimeout: Duration.Duration = Duration.seconds(30)

/** Fail with `Timeout` (naming the provider and the budget) when `self` takes longer than `duration`. */
export const withTimeout =
  (provider: string, duration: Duration.DurationInput = defaultTimeout) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | Timeout, R> => {
    const after = Duration.decode(duration)
    return Effect.timeoutFail(self, {
      duration: after,
      onTimeout: () => new Timeout({ provider, after, detail: `no answer within ${Duration.format(after)}` })
    })
  }

/** The state of a circuit breaker. */
export type CircuitState =
  | { readonly _tag: "Closed"; readonly failures: number }
  | { readonly _tag: "Open"; readonly until: number }
  | { readonly _tag: "HalfOpen" }

/** When a circuit opens and for how long. */
export interface CircuitBreakerOptions {
  /** Consecutive counted failures that open the circuit. Default 5. */
  readonly failureThreshold: number
  /** How long an open circuit rejects calls before letting one probe through. Default 30 s. */
  readonly cooldown: Duration.DurationInput
  /** Which failures count. Default: the retryable ones (the provider is struggling, not the request). */
  readonly isFailure: (error: MediaError) => boolean
}

/** A circuit breaker for one provider. */
export interface CircuitBreaker {
  readonly provider: string
  /**
   * Run `self` through the breaker. While the circuit is open, and while a half-open probe is
   * in flight, other calls fail at once with ProviderUnavailable without running.
   */
  readonly protect: <A, R>(self: Effect.Effect<A, MediaError, R>) => Effect.Effect<A, MediaError, R>
  /** The current state (an open circuit whose cooldown is over reads as HalfOpen-ready: Open with `until` in the past). */
  readonly state: Effect.Effect<CircuitState>
  /** Whether a call now would be let through. */
  readonly isClosedOrProbing: Effect.Effect<boolean>
}

type Admission = { readonly run: true; readonly probe: boolean } | { readonly run: false; readonly reason: string }

/** Make a circuit breaker for a provider. */
export const makeCircuitBreaker = (
  provider: string,
  options: Partial<CircuitBreakerOptions> = {}
): Effect.Effect<CircuitBreaker> =>
  Effect.gen(function* () {
    const threshold = options.failureThreshold ?? 5
    const cooldown = Duration.toMillis(Duration.decode(options.cooldown ?? "30 seconds"))
    const counts = options.isFailure ?? isRetryable
    const state = yield* Ref.make<CircuitState>({ _tag: "Closed", failures: 0 })

    const reject = (reason: string) =>
      new ProviderUnavailable({ provider, detail: `circuit open (${reason}), not calling the provider` })

    // Decide, atomically, whether this call may run and whether it is the half-open probe.
    const admit = (now: number) =>
      Ref.modify(state, (current): [Admission, CircuitState] => {
        switch (current._tag) {
          case "Closed":
            return [{ run: true, probe: false }, current]
          case "HalfOpen":
            return [{ run: false, reason: "probe in flight" }, current]
          case "Open":
            return now >= current.until
              ? [{ run: true, probe: true }, { _tag: "HalfOpen" }]
              : [{ run: false, reason: "cooling down" }, current]
        }
      })

    const record = (probe: boolean, exit: Exit.Exit<unknown, MediaError>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Ref.update(state, (current): CircuitState => {
          if (Exit.isSuccess(exit)) return { _tag: "Closed", failures: 0 }
          const failure = Exit.isFailure(exit) ? exit.cause : undefined
          const error = failure !== undefined && failure._tag === "Fail" ? failure.error : undefined
          if (error === undefined) {
            // Interrupted or died: a probe that did not finish lets the next call probe again.
            return probe ? { _tag: "Open", until: now } : current
          }
          if (!counts(error)) return probe || current._tag === "Closed" ? { _tag: "Closed", failures: 0 } : current
          if (probe) return { _tag: "Open", until: now + cooldown }
          if (current._tag !== "Closed") return current
          const failures = current.failures + 1
          return failures >= threshold ? { _tag: "Open", until: now + cooldown } : { _tag: "Closed", failures }
        })
      )

    const protect = <A, R>(self: Effect.Effect<A, MediaError, R>): Effect.Effect<A, MediaError, R> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.flatMap(admit(now), (admission) =>
          admission.run
            ? Effect.onExit(self, (exit) => record(admission.probe, exit))
            : Effect.fail(reject(admission.reason))
        )
      )

    const isClosedOrProbing = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.map(Ref.get(state), (current) =>
        current._tag === "Closed" || (current._tag === "Open" && now >= current.until)
      )
    )

    return { provider, protect, state: Ref.get(state), isClosedOrProbing }
  })

/** What one step of a fallback plan provides: a provider as a context or a layer. */
export type FallbackStep<E> = Context.Context<MediaProvider> | Layer.Layer<MediaProvider, E>

/** The plan `fallbackPlan` makes: it provides `MediaProvider` and reads `MediaError`s. */
export type FallbackPlan<E> = ExecutionPlan.ExecutionPlan<{
  provides: MediaProvider
  input: MediaError
  error: E
  requirements: never
}>

const failoverWhile = (error: MediaError): boolean => isFailover(error)

/**
 * A fallback plan across providers, in order: each step provides the `MediaProvider` to the
 * effect; the next step runs only when the previous failure is a failover one (`isFailover`),
 * and at once (no delay between providers: retries belong to the call, see `withRetry`).
 * Apply it with `Effect.withExecutionPlan`. Layers with requirements: provide those first.
 */
export const fallbackPlan = <E = never>(
  first: FallbackStep<E>,
  ...rest: ReadonlyArray<FallbackStep<E>>
): FallbackPlan<E> =>
  ExecutionPlan.make(
    { provide: first, while: failoverWhile },
    ...rest.map((provide) => ({ provide, while: failoverWhile }))
  )
