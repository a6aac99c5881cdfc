/**
 * What each part of the soak run writes (one JSON file a part) and the runner reads to write
 * RESULTS.md: the shapes only.
 *
 * @module
 */
import type { EmulatorStats } from "./Emulators.js"
import type { CellExpectation, CellObservation, Outcome } from "./Expectations.js"
import type { FaultKind, RemoteId } from "./FaultPlan.js"

/** How the matrix ran. */
export interface MatrixSettings {
  readonly requestTimeoutMs: number
  readonly jobTimeoutMs: number
  readonly slowMs: number
  readonly retryAfterSeconds: number
  readonly pollInterval: string
  readonly retries: number
  readonly concurrency: number
}

/** One cell of the matrix. */
export type MatrixCell =
  | { readonly provider: RemoteId; readonly kind: FaultKind; readonly applicable: false; readonly note: string }
  | {
      readonly provider: RemoteId
      readonly kind: FaultKind
      readonly applicable: true
      /** What was called: a capability, or `streamText`. */
      readonly call: string
      readonly expected: CellExpectation
      /** Undefined when the cell could not be run (`error` says why). */
      readonly observed: CellObservation | undefined
      readonly differences: ReadonlyArray<string>
      readonly seconds: number
      /** The message of the error the call ended with, when it failed. */
      readonly message?: string
      /** Why the cell could not be run. */
      readonly error?: string
    }

/** Part 1. */
export interface MatrixResult {
  readonly settings: MatrixSettings
  readonly cells: ReadonlyArray<MatrixCell>
  readonly seconds: number
}

/** The calls of one kind of fault (or none) in the load part. */
export interface LoadKindResult {
  /** `none` for the calls without a fault. */
  readonly kind: FaultKind | "none"
  readonly calls: number
  readonly expected: Outcome
  /** Outcomes seen, with how many calls each. */
  readonly outcomes: Readonly<Partial<Record<Outcome | "hung", number>>>
  /** Calls that ended as expected (circuit-open refusals included). */
  readonly asExpected: number
  /** Calls refused at once because both providers' circuits were open, or left with no fallback because the second's was. */
  readonly circuitOpen: number
  /** Calls served by the second provider. */
  readonly fellBack: number
  /** A few unexpected endings, for the report. */
  readonly examples: ReadonlyArray<string>
}

/** Part 2. */
export interface LoadResult {
  /** Calls planned. */
  readonly calls: number
  /** Planned calls not started within the run's budget (a crowded machine). */
  readonly notRun: number
  readonly budgetSeconds: number
  readonly concurrency: number
  readonly faultRate: number
  readonly seconds: number
  readonly callsPerSecond: number
  readonly byKind: ReadonlyArray<LoadKindResult>
  readonly byProvider: Readonly<Partial<Record<RemoteId, number>>>
  /** Every emulator's counts after the run. */
  readonly emulators: Readonly<Partial<Record<RemoteId, EmulatorStats>>>
  readonly fds: { readonly before: number; readonly after: number; readonly leaked: ReadonlyArray<string> }
  readonly rssMb: { readonly before: number; readonly peak: number; readonly after: number }
  readonly tempFiles: { readonly downloadDir: ReadonlyArray<string>; readonly tmpDir: ReadonlyArray<string> }
  readonly childProcesses: ReadonlyArray<string>
  readonly containers: { readonly checked: boolean; readonly note: string; readonly ours: ReadonlyArray<string> }
  readonly settings: { readonly requestTimeoutMs: number; readonly jobTimeoutMs: number; readonly pollInterval: string; readonly keysPerProvider: number; readonly seed: number; readonly queuedShare: number }
}

/** One request of the attack part. */
export interface AttackCase {
  readonly service: "ffmpeg" | "tts" | "stt"
  readonly name: string
  readonly hostile: boolean
  /** The finding the case belongs to (1-9), or 0 for a case the probe found held. */
  readonly finding: number
  /** What the request does, in a few words. */
  readonly what: string
}

/** What one request of the attack part got. */
export interface AttackOutcome extends AttackCase {
  /** The HTTP status, or undefined when none came (`failure` says what happened). */
  readonly status: number | undefined
  readonly failure?: string
  /** Hostile: a 4xx. Valid: served (2xx, its result fetched). */
  readonly held: boolean
  /** Why it did not hold, when it did not. */
  readonly why?: string
  readonly ms: number
  /** Bytes of the answer's body (a refusal should not echo the input). */
  readonly answerBytes: number
}

/** One service of the attack part. */
export interface AttackService {
  readonly service: "ffmpeg" | "tts" | "stt"
  readonly started: boolean
  readonly startError?: string
  readonly aliveAfter: boolean
  /** Files left in its work directory after the requests (relative paths). */
  readonly leftInWorkDir: ReadonlyArray<string>
  /** How it stopped: `exited` within the grace period, or `killed` after it. */
  readonly stopped: "exited" | "killed" | "not started"
  readonly stopMs: number
}

/** Part 3. */
export interface AttackResult {
  readonly requests: number
  readonly concurrency: number
  readonly requestTimeoutMs: number
  readonly seconds: number
  readonly services: ReadonlyArray<AttackService>
  readonly outcomes: ReadonlyArray<AttackOutcome>
  /** Processes left behind by the services after they stopped. */
  readonly strayProcesses: ReadonlyArray<string>
}
