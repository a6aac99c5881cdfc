/**
 * automarket's spans, made only where someone can see them. Effect's built-in tracer, the one
 * every program has until a tracer layer replaces it (`automarket/telemetry`, `@effect/opentelemetry`'s
 * `NodeSdk`, Effect's DevTools), keeps its spans in memory and exports nothing: making one
 * there costs a call a few microseconds and shows nobody anything. So `withSpan` makes the span
 * only under another tracer; under the built-in one it runs `self` as it is (and
 * `Effect.annotateCurrentSpan` inside then annotates the caller's span, if any, as without us).
 *
 * @module
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Tracer from "effect/Tracer"

// The tracer of a program that installed none (read once, from Effect's default services).
const builtIn: Tracer.Tracer = Effect.runSync(Effect.tracer)

/**
 * `Effect.withSpan(self, name, options)` when the current tracer is not Effect's built-in one;
 * `self` unchanged otherwise. Data-first and data-last.
 */
export const withSpan: {
  (name: string, options?: Tracer.SpanOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, options?: Tracer.SpanOptions): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, name: string, options?: Tracer.SpanOptions): Effect.Effect<A, E, R> =>
    Effect.tracerWith((tracer) => (tracer === builtIn ? self : Effect.withSpan(self, name, options)))
)

/**
 * `Effect.annotateCurrentSpan`, as nothing under Effect's built-in tracer: there our spans are
 * not made (see `withSpan`), and asking for the current span where there is none costs an
 * exception object (with its stack trace) on every call.
 */
export const annotateCurrentSpan: {
  (key: string, value: unknown): Effect.Effect<void>
  (values: Record<string, unknown>): Effect.Effect<void>
} = (...args: [string, unknown] | [Record<string, unknown>]): Effect.Effect<void> =>
  Effect.tracerWith((tracer) =>
    tracer === builtIn ? Effect.void : args.length === 2 ? Effect.annotateCurrentSpan(args[0], args[1]) : Effect.annotateCurrentSpan(args[0])
  )
