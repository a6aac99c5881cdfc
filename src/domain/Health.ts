/**
 * A provider's health, as reported by `MediaProvider.getHealth`.
 *
 * @module
 */
import * as Schema from "effect/Schema"

/** healthy: serving; degraded: serving with recent failures or stale data; unhealthy: not serving. */
export const HealthState = Schema.Literal("healthy", "degraded", "unhealthy")
/** healthy, degraded or unhealthy. */
export type HealthState = typeof HealthState.Type

/** A snapshot of a provider's health. */
export const HealthStatus = Schema.Struct({
  status: HealthState,
  /** Milliseconds since the provider was started in this process. */
  uptime: Schema.Number,
  activeJobs: Schema.Number,
  queuedJobs: Schema.Number,
  lastError: Schema.optional(Schema.String),
  /** The circuit breaker's state, for providers that have one: open rejects calls until its cooldown ends. */
  circuit: Schema.optional(Schema.Literal("closed", "open", "half-open"))
})
/** A snapshot of a provider's health. */
export type HealthStatus = typeof HealthStatus.Type
