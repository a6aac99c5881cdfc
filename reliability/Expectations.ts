/**
 * What the library promises for each fault, read from the README's "Behaviour you can rely on",
 * as expected outcomes the soak suite compares with what it observed: one per cell of the fault
 * matrix (a fault played on every request of the call to the first provider, a second provider
 * configured), one per kind of the load part (a fault played once, several keys configured).
 * Pure: no clock, no I/O.
 *
 * @module
 */
import type { MediaErrorTag } from "../src/domain/Errors.js"
import { familyOf, type FaultKind, notApplicable, type RemoteId, type Times } from "./FaultPlan.js"

/** How a call or a provider's part of it ended: served, or the tag of its typed error. */
export type Outcome = "ok" | MediaErrorTag

/** The policy rules of the README the expectations follow, quoted in the report. */
export const rules = {
  retries: "Retries happen only for RateLimited, NetworkError, Timeout, ProviderUnavailable: 3 retries by default; a provider's Retry-After is waited for.",
  paidJobs: "Requests that create paid jobs are not repeated after an answer that may mean the job was taken; only 429s and refused connections are retried for them.",
  fallback:
    "Fallback moves to the next provider on QuotaExceeded, RateLimited, ProviderUnavailable, Timeout, NetworkError, missing or refused keys, unknown models; it stops on InvalidInput, ContentRejected, GenerationFailed, Cancelled and DownloadFailed.",
  keys: "Key rotation: a refused key is dropped, a key out of quota rests for an hour, and the same request goes out at once with the next key.",
  streams: "A stream cut before [DONE] fails with NetworkError; the deltas already received stay delivered (fallback only before the first delta).",
  jobs: "Queued jobs: a job that fails is GenerationFailed; status polls are retried; interrupting or timing out a job cancels it exactly once."
} as const

/** The rule a cell's expectation follows. */
export type Rule = keyof typeof rules

/** What one cell of the matrix should show. */
export interface CellExpectation {
  /** The faulted provider's outcome. */
  readonly primary: Outcome
  /** Requests the faulted provider's emulator counts (to the operation, or to the result file for a result fault). */
  readonly attempts: number
  /** Whether the second provider is called. */
  readonly fallback: boolean
  /** How the call ends. */
  readonly final: Outcome
  /** Queued: jobs created at the faulted provider (at most one: never submitted twice). */
  readonly jobs?: number
  /** Queued: cancel calls to the faulted provider. */
  readonly cancels?: number
  readonly rule: Rule
}

const defaultRetries = 3

const failover = (primary: Outcome, attempts: number, rule: Rule, queued?: { readonly jobs: number; readonly cancels?: number }): CellExpectation => ({
  primary,
  attempts,
  fallback: true,
  final: "ok",
  ...(queued !== undefined ? { jobs: queued.jobs, cancels: queued.cancels ?? 0 } : {}),
  rule
})

const stop = (primary: Outcome, attempts: number, rule: Rule, queued?: { readonly jobs: number; readonly cancels?: number }): CellExpectation => ({
  primary,
  attempts,
  fallback: false,
  final: primary,
  ...(queued !== undefined ? { jobs: queued.jobs, cancels: queued.cancels ?? 0 } : {}),
  rule
})

/**
 * The expected outcome of a matrix cell: `kind` played on every request of the call to
 * `provider` (configured with one key, the default 3 retries), its sibling configured second.
 * Undefined when the kind cannot apply to the provider (see `notApplicable`).
 */
export const expectedCell = (provider: RemoteId, kind: FaultKind): CellExpectation | undefined => {
  const family = familyOf(provider)
  if (notApplicable(family, kind) !== undefined) return undefined
  const all = 1 + defaultRetries
  if (family === "chat") {
    switch (kind) {
      case "401":
        return failover("InvalidApiKey", 1, "keys")
      case "402":
        return failover("QuotaExceeded", 1, "keys")
      case "429":
        return failover("RateLimited", all, "retries")
      case "500":
      case "503":
        return failover("ProviderUnavailable", all, "retries")
      case "reset":
        return failover("NetworkError", all, "retries")
      case "slowHeaders":
      case "slowBody":
        return failover("Timeout", all, "retries")
      case "malformedJson":
        return failover("MalformedResponse", 1, "fallback")
      case "truncatedSse":
        return stop("NetworkError", 1, "streams")
      case "resultNotFound":
        return stop("DownloadFailed", 1, "fallback")
      case "killed":
        // The emulator counts the request it held; the retries find the port closed.
        return failover("NetworkError", 1, "retries")
      default:
        return undefined
    }
  }
  switch (kind) {
    case "401":
      return failover("InvalidApiKey", 1, "keys", { jobs: 0 })
    case "402":
      return failover("QuotaExceeded", 1, "keys", { jobs: 0 })
    case "429":
      return failover("RateLimited", all, "paidJobs", { jobs: 0 })
    case "503":
      return failover("ProviderUnavailable", 1, "paidJobs", { jobs: 0 })
    case "500":
      return failover("ProviderUnavailable", 1, "paidJobs", { jobs: 1 })
    case "reset":
      return failover("NetworkError", 1, "paidJobs", { jobs: 1 })
    case "slowHeaders":
    case "slowBody":
      return failover("Timeout", 1, "paidJobs", { jobs: 1 })
    case "malformedJson":
      return failover("MalformedResponse", 1, "paidJobs", { jobs: 1 })
    case "jobFailed":
      return stop("GenerationFailed", 1, "jobs", { jobs: 1 })
    case "pollFault":
      return { primary: "ok", attempts: 1, fallback: false, final: "ok", jobs: 1, cancels: 0, rule: "jobs" }
    case "waitCap":
      return failover("Timeout", 1, "jobs", { jobs: 1, cancels: 1 })
    case "resultNotFound":
      return stop("DownloadFailed", 1, "fallback", { jobs: 1 })
    case "killed":
      return failover("NetworkError", 1, "paidJobs", { jobs: 0 })
    default:
      return undefined
  }
}

/** What the matrix observed of a cell. */
export interface CellObservation {
  readonly primary: Outcome
  readonly attempts: number
  readonly fallback: boolean
  readonly final: Outcome
  readonly jobs: number
  readonly cancels: number
  /** Inputs the faulted provider created more than one job for. */
  readonly doubleSubmits: number
}

/** How an observation differs from its expectation, in words; empty when the cell holds. */
export const judgeCell = (expected: CellExpectation, observed: CellObservation): ReadonlyArray<string> => {
  const differences: Array<string> = []
  if (observed.primary !== expected.primary) differences.push(`first provider ${observed.primary}, expected ${expected.primary}`)
  if (observed.attempts !== expected.attempts) differences.push(`${observed.attempts} requests, expected ${expected.attempts}`)
  if (observed.fallback !== expected.fallback) differences.push(expected.fallback ? "did not fall back, expected to" : "fell back, expected not to")
  if (observed.final !== expected.final) differences.push(`ended ${observed.final}, expected ${expected.final}`)
  if (expected.jobs !== undefined && observed.jobs !== expected.jobs) differences.push(`${observed.jobs} jobs created, expected ${expected.jobs}`)
  if (expected.cancels !== undefined && observed.cancels !== expected.cancels) differences.push(`${observed.cancels} cancels, expected ${expected.cancels}`)
  if (observed.doubleSubmits > 0) differences.push(`${observed.doubleSubmits} double submits`)
  return differences
}

/** The kinds the load part injects for a family (a killed process would take every call in flight with it). */
export const loadKinds = (provider: RemoteId): ReadonlyArray<FaultKind> =>
  familyOf(provider) === "chat"
    ? ["401", "402", "429", "500", "503", "reset", "slowHeaders", "slowBody", "malformedJson", "truncatedSse", "resultNotFound"]
    : ["401", "402", "429", "500", "503", "reset", "slowHeaders", "slowBody", "malformedJson", "jobFailed", "pollFault", "waitCap", "resultNotFound"]

/**
 * How often the load plays a kind to one call: once. (Playing 503 on every request of a call, a
 * provider that stays down, opened both queued providers' circuits for most of a run: 1,435 of
 * 10,000 calls were refused by open circuits and the queued jobs were hardly exercised. The
 * matrix plays every fault on every request instead.)
 */
export const loadTimes = (_kind: FaultKind): Times => 1

/**
 * How a load call whose first provider gets `kind` (per `loadTimes`) ends, with several keys
 * configured and a second provider: served (after a retry, another key, or the fallback), or the
 * error that stops a call (the result of a paid job that could not be fetched, a failed job, a
 * stream cut after its first delta).
 */
export const expectedLoadOutcome = (kind: FaultKind): Outcome => {
  switch (kind) {
    case "truncatedSse":
      return "NetworkError"
    case "jobFailed":
      return "GenerationFailed"
    case "resultNotFound":
      return "DownloadFailed"
    default:
      return "ok"
  }
}

/**
 * Every ending a load call with `kind` may have. A stream cut after its first event is one of
 * two things: the event carried a delta (NetworkError, no fallback), or it carried none (an
 * OpenRouter processing comment, a role-only chunk): then nothing was delivered and the
 * registry retries, which the fault played once lets through.
 */
export const acceptedLoadOutcomes = (kind: FaultKind | "none"): ReadonlyArray<Outcome> =>
  kind === "none" ? ["ok"] : kind === "truncatedSse" ? ["NetworkError", "ok"] : [expectedLoadOutcome(kind)]
