/**
 * automarket's metrics, as Effect `Metric`s: what a dashboard needs to see that calls succeed,
 * where they fail, how often they fall back, how long they take, what they cost, and how many
 * queued jobs are running. They live in Effect's metric registry; `automarket/telemetry` exports
 * them over OpenTelemetry when it is switched on.
 *
 * Tags are the attribute words of `Attributes` without their prefix: `capability`, `provider`,
 * `outcome` (`success` or `failure`), `error_tag`.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import * as MetricLabel from "effect/MetricLabel"

/** Registry calls, by `capability`, `provider` (the one that served, or the last tried) and `outcome`. */
export const calls = Metric.counter("automarket.calls", { description: "registry calls", incremental: true })

/** Failed provider tries, by `provider` and `error_tag` (every try of a fallback chain counts). */
export const failures = Metric.counter("automarket.failures", { description: "failed provider tries", incremental: true })

/** Moves to the next provider inside a call, by `capability` and `provider` (the one moved to). */
export const fallbacks = Metric.counter("automarket.fallbacks", { description: "fallbacks to the next provider", incremental: true })

/** Wall time of registry calls in seconds, by `capability` and `outcome`: 5 ms to about 20 min. */
export const callDuration = Metric.histogram(
  "automarket.call.duration",
  MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 18 }),
  "registry call wall time, seconds"
)

/** Money spent, in US dollars, by `provider`: the `origin.costUsd` of every result that has one. */
export const spendUsd = Metric.counter("automarket.spend", { description: "spend in US dollars", incremental: true })

/** Queued jobs submitted and not yet finished, by `provider`. */
export const jobsInFlight = Metric.gauge("automarket.jobs.in_flight", { description: "queued jobs in flight" })

// `metric` with these tags (data-first: the piped form loses the metric's input type), made once
// per metric and tag values: Effect finds a tagged metric's state by the identity of its label
// list, so a metric tagged anew on every call would be looked up by hash in the registry instead.
// The values are few (capabilities, providers, outcomes, error tags); a bound keeps a misuse finite.
const tagged = new WeakMap<object, Map<string, unknown>>()
const tag = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, tags: Readonly<Record<string, string>>): Metric.Metric<Type, In, Out> => {
  let known = tagged.get(metric)
  if (known === undefined) tagged.set(metric, (known = new Map()))
  let key = ""
  for (const name in tags) key += `${name}\u0000${tags[name]}\u0000`
  const found = known.get(key) as Metric.Metric<Type, In, Out> | undefined
  if (found !== undefined) return found
  const made = Metric.taggedWithLabels(metric, Object.keys(tags).map((name) => MetricLabel.make(name, tags[name]!)))
  if (known.size >= 4096) known.clear()
  known.set(key, made)
  return made
}

/** What one registry call did, for `recordCall`. */
export interface CallRecord {
  readonly capability: string
  readonly provider: string
  readonly outcome: "success" | "failure"
  readonly seconds: number
  readonly costUsd: number | undefined
}

/** Record one registry call: its count, its duration and what it cost (its tries are counted as they fail: `recordTry`). */
export const recordCall = (record: CallRecord): Effect.Effect<void> =>
  Effect.suspend(() => {
    const updates: Array<Effect.Effect<void>> = [
      Metric.increment(tag(calls, { capability: record.capability, provider: record.provider, outcome: record.outcome })),
      Metric.update(tag(callDuration, { capability: record.capability, outcome: record.outcome }), record.seconds)
    ]
    if (record.costUsd !== undefined && record.costUsd > 0) {
      updates.push(Metric.incrementBy(tag(spendUsd, { provider: record.provider }), record.costUsd))
    }
    return Effect.all(updates, { discard: true })
  })

/** Count a provider's failed try (by its error's tag), and a try after the first as a fallback to `provider`. */
export const recordTry = (capability: string, provider: string, index: number, errorTag: string | undefined): Effect.Effect<void> =>
  errorTag !== undefined
    ? Metric.increment(tag(failures, { provider, error_tag: errorTag }))
    : index > 0
      ? Metric.increment(tag(fallbacks, { capability, provider }))
      : Effect.void

/** Count a queued job of `provider` in flight while `self` runs (from its submit's answer to its end). */
export const jobInFlight =
  (provider: string) =>
  <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
    const gauge = tag(jobsInFlight, { provider })
    return Effect.acquireUseRelease(Metric.modify(gauge, 1), () => self, () => Metric.modify(gauge, -1))
  }
