/**
 * What a registry call reports about itself: the `automarket.generate` span around the call and
 * an `automarket.attempt` span around each provider's try, the call metrics (`Metrics`), and the
 * call's own overhead (wall time minus the time waited on providers, `ProviderWait`) stamped on
 * the output's origin and on the `Generation`. Kept apart from `ProviderRegistry` so that the
 * registry only wraps its call and its tries.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Cause from "effect/Cause"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { type Asset, withOrigin } from "../domain/Asset.js"
import type { MediaError } from "../domain/Errors.js"
import { Attribute, SpanName } from "../resilience/Attributes.js"
import * as Spans from "../resilience/Spans.js"
import * as Metrics from "../resilience/Metrics.js"
import * as ProviderWait from "../resilience/ProviderWait.js"

/** What a call returns that this module reads and stamps: the output and who made it. */
interface Served<O extends Asset> {
  readonly output: O
  readonly provider: string
  readonly model: string
  readonly attempts: ReadonlyArray<{ readonly provider: string; readonly error?: { readonly tag: string } | undefined }>
}

/**
 * Run one registry call of `capability` observed: inside an `automarket.generate` span (with the
 * chosen provider and model, the number of tries, the cost and, on failure, the error's tag),
 * with a fresh `ProviderWait` tally, its metrics recorded when it ends, and `overheadMs` on the
 * output's origin and on the result.
 */
export const observeCall = <O extends Asset, G extends Served<O>>(
  capability: string,
  call: Effect.Effect<G, MediaError>
): Effect.Effect<G & { readonly overheadMs: number }, MediaError> =>
  Effect.suspend(() => {
    const tally = ProviderWait.makeTally()
    const started = performance.now()
    return call.pipe(
      ProviderWait.withTally(tally),
      Effect.map((generation) => {
        const overheadMs = Math.max(0, performance.now() - started - ProviderWait.waitedMs(tally))
        const origin = { provider: generation.provider, model: generation.model, ...generation.output.origin, overheadMs }
        return { ...generation, output: withOrigin(generation.output, origin), overheadMs }
      }),
      Effect.onExit((exit) => {
        const seconds = (performance.now() - started) / 1000
        if (Exit.isSuccess(exit)) {
          const generation = exit.value
          const costUsd = generation.output.origin?.costUsd
          return Effect.zipRight(
            Spans.annotateCurrentSpan({
              [Attribute.provider]: generation.provider,
              [Attribute.model]: generation.model,
              [Attribute.attempts]: generation.attempts.length,
              [Attribute.overheadMs]: generation.overheadMs,
              ...(costUsd !== undefined ? { [Attribute.costUsd]: costUsd } : {})
            }),
            Metrics.recordCall({ capability, provider: generation.provider, outcome: "success", seconds, costUsd })
          )
        }
        const error = Exit.isFailure(exit) ? failureOf(exit) : undefined
        return Effect.zipRight(
          error !== undefined
            ? Spans.annotateCurrentSpan({ [Attribute.errorTag]: error._tag, [Attribute.provider]: error.provider })
            : Effect.void,
          Metrics.recordCall({ capability, provider: error?.provider ?? "none", outcome: "failure", seconds, costUsd: undefined })
        )
      }),
      Spans.withSpan(SpanName.generate, { captureStackTrace: false, attributes: { [Attribute.capability]: capability } })
    )
  })

const failureOf = (exit: Exit.Failure<unknown, MediaError>): MediaError | undefined => Option.getOrUndefined(Cause.failureOption(exit.cause))

/**
 * One provider's try inside a call: an `automarket.attempt` span (provider, fallback position
 * `index`, the error's tag on failure: the span's status is then an error), the failure counted
 * by tag, and a try after the first counted as a fallback to `provider`.
 */
export const observeAttempt =
  (capability: string, provider: string, index: number) =>
  <A>(self: Effect.Effect<A, MediaError>): Effect.Effect<A, MediaError> => {
    const tried = self.pipe(
      Effect.tapError((error) =>
        Effect.zipRight(
          Spans.annotateCurrentSpan(Attribute.errorTag, error._tag),
          Metrics.recordTry(capability, provider, index, error._tag)
        )
      ),
      Spans.withSpan(SpanName.attempt, { captureStackTrace: false, attributes: { [Attribute.provider]: provider, [Attribute.attemptIndex]: index } })
    )
    return index === 0 ? tried : Effect.zipRight(Metrics.recordTry(capability, provider, index, undefined), tried)
  }

/** Name the model a try resolved on its `automarket.attempt` span. */
export const annotateModel = (model: string): Effect.Effect<void> => Spans.annotateCurrentSpan(Attribute.model, model)

/** A streamed text generation in an `automarket.stream` span, with the error's tag when it fails. */
export const observeStream = <A>(stream: Stream.Stream<A, MediaError>): Stream.Stream<A, MediaError> =>
  stream.pipe(
    Stream.tapError((error) => Spans.annotateCurrentSpan(Attribute.errorTag, error._tag)),
    Stream.withSpan(SpanName.stream, { captureStackTrace: false, attributes: { [Attribute.capability]: "text-to-text" } })
  )

/** Name the provider a stream moved to (its position in the fallback order) on the `automarket.stream` span. */
export const annotateStreamStep = (provider: string, model: string | undefined, index: number): Effect.Effect<void> =>
  Spans.annotateCurrentSpan({ [Attribute.provider]: provider, [Attribute.attemptIndex]: index, ...(model !== undefined ? { [Attribute.model]: model } : {}) })
