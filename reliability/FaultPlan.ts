/**
 * The faults of the soak suite, as data: the remote providers it drives, the kinds of fault it
 * injects, how a call names the fault it wants (a marker in its prompt, so that 128 calls in
 * flight each get their own), and what an emulator plays for each kind.
 *
 * A marker reads `[soak call=17 at=falai fault=500 times=all]`: the emulator of `at` plays
 * `fault` to requests carrying it (the first `times` of them, or every one), and any other
 * emulator ignores it, so that the provider a call falls back to answers normally. Faults on
 * what carries no prompt (a queued job's status polls and result file, a chat provider's image
 * file) follow the job or the file the marked request created.
 *
 * @module
 */

/** The remote providers the suite drives, by registry id. */
export const remoteIds = ["together", "openrouter", "falai", "replicate"] as const
/** A remote provider's registry id. */
export type RemoteId = (typeof remoteIds)[number]

/** The provider's name as the README writes it. */
export const displayName: { readonly [P in RemoteId]: string } = {
  together: "Together",
  openrouter: "OpenRouter",
  falai: "fal.ai",
  replicate: "Replicate"
}

/** Chat providers answer at once (OpenAI-style); queued providers run jobs (submit, poll, download). */
export type Family = "chat" | "queued"

/** A provider's family. */
export const familyOf = (id: RemoteId): Family => (id === "together" || id === "openrouter" ? "chat" : "queued")

/** The provider a call falls back to in the suite: the other one of the same family. */
export const siblingOf = (id: RemoteId): RemoteId => {
  switch (id) {
    case "together":
      return "openrouter"
    case "openrouter":
      return "together"
    case "falai":
      return "replicate"
    case "replicate":
      return "falai"
  }
}

/** Every kind of fault the suite injects (the list, plus a fault on a status poll). */
export const faultKinds = [
  "401",
  "402",
  "429",
  "500",
  "503",
  "reset",
  "slowHeaders",
  "slowBody",
  "malformedJson",
  "truncatedSse",
  "jobFailed",
  "pollFault",
  "waitCap",
  "resultNotFound",
  "killed"
] as const
/** A kind of fault. */
export type FaultKind = (typeof faultKinds)[number]

/** What each kind is, for the tables. */
export const faultTitle: { readonly [K in FaultKind]: string } = {
  "401": "401 (key refused)",
  "402": "402 (out of credit)",
  "429": "429 + Retry-After: 1",
  "500": "500",
  "503": "503",
  reset: "connection reset",
  slowHeaders: "slow headers",
  slowBody: "slow body",
  malformedJson: "malformed JSON",
  truncatedSse: "truncated SSE",
  jobFailed: "job FAILED",
  pollFault: "500 on a status poll",
  waitCap: "wait cap (job budget)",
  resultNotFound: "result URL 404 (expired)",
  killed: "container killed"
}

/**
 * Why a kind cannot apply to a family (`undefined`: it applies). Said in the matrix's notes.
 */
export const notApplicable = (family: Family, kind: FaultKind): string | undefined => {
  if (family === "chat") {
    switch (kind) {
      case "jobFailed":
        return "a chat completion has no job whose state could say FAILED: a failed generation is an error status (the 5xx rows)"
      case "pollFault":
        return "nothing is polled: the answer comes with the request"
      case "waitCap":
        return "no job to wait for: a chat answer's only budget is the request timeout (the slow headers and slow body rows)"
      default:
        return undefined
    }
  }
  return kind === "truncatedSse" ? "no streamed answers: a job's result is polled and downloaded" : undefined
}

/** How many marked requests get the fault: the first `n`, or every one. */
export type Times = number | "all"

/** A call's fault, as carried in its prompt. */
export interface Marker {
  readonly call: number
  readonly at: RemoteId
  readonly fault: FaultKind
  readonly times: Times
}

/** The marker text of a call. */
export const markerText = (marker: Marker): string =>
  `[soak call=${marker.call} at=${marker.at} fault=${marker.fault} times=${marker.times}]`

const markerPattern = /\[soak call=(\d+) at=(\w+) fault=(\w+) times=(\d+|all)\]/

const isRemoteId = (text: string): text is RemoteId => remoteIds.some((id) => id === text)
const isFaultKind = (text: string): text is FaultKind => faultKinds.some((kind) => kind === text)

/** The marker in a request body or prompt, when there is one. */
export const parseMarker = (text: string): Marker | undefined => {
  const found = markerPattern.exec(text)
  if (found === null) return undefined
  const [, call, at, fault, times] = found
  if (call === undefined || at === undefined || fault === undefined || times === undefined) return undefined
  if (!isRemoteId(at) || !isFaultKind(fault)) return undefined
  return { call: Number(call), at, fault, times: times === "all" ? "all" : Number(times) }
}

/** The times a fault was played, per call: `consume` says whether this request gets it. */
export interface FaultBudget {
  readonly consume: (marker: Marker) => boolean
}

/** A fresh budget: every call's fault is played `times` times, counted per call. */
export const makeBudget = (): FaultBudget => {
  const played = new Map<number, number>()
  return {
    consume: (marker) => {
      if (marker.times === "all") return true
      const used = played.get(marker.call) ?? 0
      if (used >= marker.times) return false
      played.set(marker.call, used + 1)
      return true
    }
  }
}

/** The timings faults are played with, derived from the providers' per-request timeout. */
export interface Timing {
  /** The providers' per-request timeout (`<PROVIDER>_TIMEOUT`), in ms. */
  readonly requestTimeoutMs: number
  /** How long a slow answer stalls: well over the timeout. */
  readonly slowMs: number
  /** The Retry-After of a 429, in seconds. */
  readonly retryAfterSeconds: number
  /** The queued providers' whole-job budget (`jobTimeout`), in ms: the wait cap. */
  readonly jobTimeoutMs: number
}

/** Timings from a request timeout and a job budget. */
export const timing = (requestTimeoutMs: number, jobTimeoutMs: number): Timing => ({
  requestTimeoutMs,
  slowMs: Math.round(requestTimeoutMs * 2.5),
  retryAfterSeconds: 1,
  jobTimeoutMs
})

/**
 * How a queued provider's emulator plays a kind at the submit: `refuse` answers instead of
 * creating the job (the provider certainly did not take it), `taken` creates the job and then
 * breaks the answer (the provider took it, the caller cannot know), `job` gives the job its own
 * behaviour, `hang` holds the request until the process is killed.
 */
export type QueuedPlay = "refuse" | "taken" | "job" | "hang"

/** Where a queued provider's emulator plays each kind (`undefined`: not applicable). */
export const queuedPlay = (kind: FaultKind): QueuedPlay | undefined => {
  switch (kind) {
    case "401":
    case "402":
    case "429":
    case "503":
      return "refuse"
    case "500":
    case "reset":
    case "slowHeaders":
    case "slowBody":
    case "malformedJson":
      return "taken"
    case "jobFailed":
    case "pollFault":
    case "waitCap":
    case "resultNotFound":
      return "job"
    case "killed":
      return "hang"
    case "truncatedSse":
      return undefined
  }
}
