/**
 * The four remote providers' emulators (test/emulators) as the soak suite runs them: each plays
 * the fault a request's marker asks of it (FaultPlan), counts what it was asked (requests to the
 * operation, status polls, result files, cancels, jobs created per input), and stops with its
 * scope. The same code runs in the matrix's own process and in `host.ts`, the child process
 * the load part talks to and the "container killed" cells kill.
 *
 * @module
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as Faults from "../test/emulators/Faults.js"
import { type JobPlan, jsonReply, makeFal, malformedJsonReply, type Reply, serve as serveQueued, slowBody } from "../test/emulators/falai.js"
import { openrouter } from "../test/emulators/openrouter.js"
import { makeReplicate } from "../test/emulators/replicate.js"
import { together } from "../test/emulators/together.js"
import { type FaultBudget, type FaultKind, makeBudget, type Marker, parseMarker, queuedPlay, type RemoteId, type Timing } from "./FaultPlan.js"

/** What an emulator was asked. */
export interface EmulatorStats {
  /** Every request it received. */
  readonly requests: number
  /** Requests to the operation: chat completions and image generations; job submits. */
  readonly operations: number
  /** Status polls (queued). */
  readonly polls: number
  /** Result files fetched. */
  readonly files: number
  /** Cancel calls (queued). */
  readonly cancels: number
  /** Jobs created (queued). */
  readonly jobs: number
  /** Inputs for which more than one job was created: double submits. */
  readonly doubleSubmits: number
}

/** A running emulator. */
export interface RunningEmulator {
  readonly id: RemoteId
  /** The base URL to configure the provider with. */
  readonly baseUrl: string
  readonly stats: () => EmulatorStats
}

/** How the suite runs an emulator. */
export interface EmulatorOptions {
  readonly timing: Timing
  /** The keys a queued provider's emulator accepts (the chat emulators accept any). */
  readonly keys: ReadonlyArray<string>
  /** Told when a request is held for a `killed` fault (the host prints it; its parent kills it). */
  readonly onHold?: (id: RemoteId, path: string) => void
}

/** The fault a chat emulator plays for a kind (undefined when the kind does not apply). */
export const chatFault = (kind: FaultKind, timing: Timing): Faults.Fault | undefined => {
  switch (kind) {
    case "401":
      return Faults.unauthorized()
    case "402":
      return Faults.quota(402)
    case "429":
      return Faults.rateLimited(timing.retryAfterSeconds)
    case "500":
      return Faults.serverError(500)
    case "503":
      return Faults.serverError(503)
    case "reset":
      return Faults.reset
    case "slowHeaders":
      return Faults.slowHeaders(timing.slowMs)
    case "slowBody":
      return Faults.slowBody(timing.slowMs)
    case "malformedJson":
      return Faults.malformedJson
    case "truncatedSse":
      return Faults.truncatedStream(1, "reset")
    case "killed":
      return Faults.hang
    case "resultNotFound":
    case "jobFailed":
    case "pollFault":
    case "waitCap":
      return undefined
  }
}

/** A queued emulator's answer to a submit it refuses (nothing was created). */
const refusal = (kind: FaultKind, timing: Timing): Reply | undefined => {
  switch (kind) {
    case "401":
      return jsonReply(401, { detail: "Invalid key" })
    case "402":
      return jsonReply(402, { detail: "Insufficient credit: add funds to continue" })
    case "429":
      return jsonReply(429, { detail: "Too many requests" }, { "retry-after": String(timing.retryAfterSeconds) })
    case "503":
      return jsonReply(503, { detail: "Service temporarily unavailable" })
    default:
      return undefined
  }
}

/** What a queued emulator answers to a submit whose job it created nevertheless. */
const takenAnswer = (kind: FaultKind, accepted: Reply, timing: Timing): Reply => {
  switch (kind) {
    case "500":
      return jsonReply(500, { detail: "Internal server error" })
    case "reset":
      return { _tag: "Reset" }
    case "slowHeaders":
      return accepted._tag === "Reply" ? { ...accepted, delayMs: timing.slowMs } : accepted
    case "slowBody":
      return slowBody(accepted, timing.slowMs)
    case "malformedJson":
      return malformedJsonReply
    default:
      return accepted
  }
}

/** A job's own behaviour for a kind played on the job. */
const jobPlanOf = (kind: FaultKind): JobPlan | undefined => {
  switch (kind) {
    case "jobFailed":
      return { failWith: "the model crashed (soak)" }
    case "pollFault":
      return { pollReplies: [jsonReply(500, { detail: "Internal server error" })] }
    case "waitCap":
      return { stuck: true }
    case "resultNotFound":
      return { fileReply: jsonReply(404, { detail: "Not found: the file has expired" }) }
    default:
      return undefined
  }
}

const markerFor = (id: RemoteId, text: string): Marker | undefined => {
  const marker = parseMarker(text)
  return marker !== undefined && marker.at === id ? marker : undefined
}

const startChat = (id: "together" | "openrouter", options: EmulatorOptions): Effect.Effect<RunningEmulator, never, Scope.Scope> =>
  Effect.gen(function* () {
    const budget: FaultBudget = makeBudget()
    // Image files handed out to marked calls: a result-URL fault is played on the file.
    const files = new Map<string, Marker>()
    const onImageUrl = (request: Faults.RecordedRequest, url: string) => {
      const marker = markerFor(id, request.text)
      if (marker?.fault === "resultNotFound") files.set(new URL(url).pathname, marker)
    }
    const choose = (request: Faults.RecordedRequest): Faults.Fault | undefined => {
      const path = request.path.split("?")[0] ?? ""
      if (path.startsWith("/files/")) {
        const marker = files.get(path)
        return marker !== undefined && budget.consume(marker) ? Faults.status(404, { error: { message: "The file has expired" } }) : undefined
      }
      const marker = markerFor(id, request.text)
      if (marker === undefined) return undefined
      const fault = chatFault(marker.fault, options.timing)
      if (fault === undefined || !budget.consume(marker)) return undefined
      if (marker.fault === "killed") options.onHold?.(id, path)
      return fault
    }
    const server =
      id === "together"
        ? yield* together({ onImageUrl }, { choose })
        : yield* openrouter({ imageAs: "url", onImageUrl }, { choose })
    const isOperation = (request: Faults.RecordedRequest) =>
      request.method === "POST" && /\/(chat\/completions|images\/generations|audio\/speech|audio\/transcriptions)$/.test(request.path.split("?")[0] ?? "")
    return {
      id,
      baseUrl: server.baseUrl,
      stats: () => ({
        requests: server.requests.length,
        operations: server.requests.filter(isOperation).length,
        polls: 0,
        files: server.count("/files/"),
        cancels: 0,
        jobs: 0,
        doubleSubmits: 0
      })
    }
  })

const startQueued = (id: "falai" | "replicate", options: EmulatorOptions): Effect.Effect<RunningEmulator, never, Scope.Scope> =>
  Effect.gen(function* () {
    const budget = makeBudget()
    const intercept = (request: { readonly body: string; readonly url: string }, submit: boolean): Reply | undefined => {
      if (!submit) return undefined
      const marker = markerFor(id, request.body)
      if (marker === undefined) return undefined
      const play = queuedPlay(marker.fault)
      if (play === "refuse" && budget.consume(marker)) return refusal(marker.fault, options.timing)
      if (play === "hang" && budget.consume(marker)) {
        options.onHold?.(id, request.url)
        return { _tag: "Hang" }
      }
      return undefined
    }
    const planJob = (input: Record<string, unknown>): JobPlan | undefined => {
      const marker = markerFor(id, JSON.stringify(input))
      if (marker === undefined) return undefined
      const play = queuedPlay(marker.fault)
      if (play === "taken") return { answer: (accepted) => takenAnswer(marker.fault, accepted, options.timing) }
      return play === "job" ? jobPlanOf(marker.fault) : undefined
    }
    const [key = "soak-key", ...otherKeys] = options.keys
    const doubles = (counts: ReadonlyMap<string, number>) => [...counts.values()].filter((n) => n > 1).length
    const total = (counts: ReadonlyMap<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0)
    if (id === "falai") {
      const fal = yield* serveQueued(makeFal({ key, otherKeys, intercept: (request, kind) => intercept(request, kind === "submit"), planJob }))
      return {
        id,
        baseUrl: fal.baseUrl,
        stats: () => {
          const jobs = fal.jobsByInput()
          return {
            requests: fal.requests.length,
            operations: fal.count("submit"),
            polls: fal.count("status"),
            files: fal.count("file"),
            cancels: fal.count("cancel"),
            jobs: total(jobs),
            doubleSubmits: doubles(jobs)
          }
        }
      }
    }
    const replicate = yield* serveQueued(
      makeReplicate({ token: key, otherTokens: otherKeys, intercept: (request, kind) => intercept(request, kind === "create"), planJob })
    )
    return {
      id,
      baseUrl: replicate.baseUrl,
      stats: () => {
        const jobs = replicate.predictionsByInput()
        return {
          requests: replicate.requests.length,
          operations: replicate.count("create"),
          polls: replicate.count("get"),
          files: replicate.count("file"),
          cancels: replicate.count("cancel"),
          jobs: total(jobs),
          doubleSubmits: doubles(jobs)
        }
      }
    }
  })

/** Start the emulator of `id`, playing the faults its requests' markers ask of it; stopped with the scope. */
export const start = (id: RemoteId, options: EmulatorOptions): Effect.Effect<RunningEmulator, never, Scope.Scope> =>
  id === "together" || id === "openrouter" ? startChat(id, options) : startQueued(id, options)
