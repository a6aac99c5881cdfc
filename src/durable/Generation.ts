/**
 * A generation as a durable workflow (`@effect/workflow`): every step that touches the world is
 * an activity whose result the engine journals, so a run that dies anywhere resumes where it
 * was, on this process or another, without paying for a job twice.
 *
 * The steps, in order:
 * 1. `route`: the registry's candidates (provider, model) are decided once and journaled; a
 *    resume never re-routes to another provider.
 * 2. for the candidate being tried, `submit/i` (a queued provider): the submit intent is written
 *    to the store, the job submitted, its ticket written. A resume that finds an intent but no
 *    ticket is in the one window where the provider may hold a job we never heard of
 *    (`SubmitPolicy`). A direct provider runs in `call/i` instead (no job to follow).
 *    A failure before the provider accepted a job may fall back to the next candidate
 *    (`isFailover`); after it, never (that job was paid for).
 * 3. `collect/i`: follow the job to its result and download it into the output store, while
 *    watching for a cancel request and the deadline: either cancels the remote job once (claimed
 *    in the store, so exactly one process sends it). A job submitted with a webhook is not
 *    polled on a schedule: it is read when its webhook was received (or after a long fallback).
 * 4. `deliver`: copy the result to where the caller asked (atomically), mark it succeeded.
 *
 * @module
 */
import * as Activity from "@effect/workflow/Activity"
import * as Workflow from "@effect/workflow/Workflow"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Asset } from "../domain/Asset.js"
import { JobCapability } from "../domain/Capability.js"
import { Cancelled, isFailover, MediaError, SubmitOutcomeUnknown, Timeout } from "../domain/Errors.js"
import { JobTicket } from "../jobs/Ticket.js"

/** Routing preferences a durable generation keeps with its request (see `RouteOptions`). */
export const RoutePreferences = Schema.Struct({
  maxCost: Schema.optionalWith(Schema.Number, { exact: true }),
  preferLocal: Schema.optionalWith(Schema.Boolean, { exact: true }),
  preferFree: Schema.optionalWith(Schema.Boolean, { exact: true }),
  exclude: Schema.optionalWith(Schema.Array(Schema.String), { exact: true }),
  providers: Schema.optionalWith(Schema.Array(Schema.String), { exact: true })
})

/** What a durable generation is asked to do. `id` is its idempotency key. */
export const GenerationRequest = Schema.Struct({
  /** The generation's id: the caller's idempotency key, or a fresh one. Same id, same generation. */
  id: Schema.String,
  capability: JobCapability,
  /** The input asset (text, or media in a file or at a URL: bytes are written to a file first). */
  input: Asset,
  /** The capability's options, as JSON. */
  options: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  /** Only this provider (and `model` on it). */
  provider: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  route: Schema.optional(RoutePreferences),
  /** When the whole generation must be done (epoch ms); the provider is told where it can be. */
  deadlineAt: Schema.optional(Schema.Number),
  /** Where to write the result file when done (an absolute path). */
  deliverTo: Schema.optional(Schema.String),
  /** Who spends it (`key:<id>`, `local:<user>`): its ledger entries and budgets. */
  who: Schema.optional(Schema.String)
})
/** What a durable generation is asked to do. */
export type GenerationRequest = typeof GenerationRequest.Type

/** One candidate of the journaled route: a provider, the model on it, and whether it runs queued jobs. */
export const RouteStep = Schema.Struct({ provider: Schema.String, model: Schema.String, queued: Schema.Boolean })
/** One candidate of the journaled route. */
export type RouteStep = typeof RouteStep.Type

/** A failed try on the way to the result. */
export const GenerationAttempt = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  error: Schema.Struct({ tag: Schema.String, message: Schema.String })
})

/** A result in the output store: a file (media) or a text (a transcript). */
export const StoredOutput = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  requestId: Schema.optional(Schema.String),
  kind: Schema.Literal("image", "video", "audio", "text"),
  mimeType: Schema.String,
  /** The file in the output store. */
  path: Schema.optional(Schema.String),
  bytes: Schema.optional(Schema.Number),
  text: Schema.optional(Schema.String),
  costUsd: Schema.optional(Schema.Number)
})
/** A result in the output store. */
export type StoredOutput = typeof StoredOutput.Type

/** What a finished generation gives: its output, where it was delivered, who made it, what was tried first. */
export class GenerationResult extends Schema.Class<GenerationResult>("GenerationResult")({
  id: Schema.String,
  capability: JobCapability,
  output: StoredOutput,
  /** Where the result was written for the caller (`deliverTo`), when asked. */
  deliveredTo: Schema.optional(Schema.String),
  attempts: Schema.Array(GenerationAttempt)
}) {}

/** The workflow's failure: any `MediaError` (`SubmitOutcomeUnknown` included). */
export const GenerationError = MediaError

/** The durable generation workflow. Its execution id is a hash of its name and the request's `id`. */
export const Generation = Workflow.make({
  name: "automarket/Generation",
  payload: GenerationRequest,
  success: GenerationResult,
  error: GenerationError,
  idempotencyKey: (request) => request.id
})

/**
 * What to do on resume when a submit intent was journaled but no ticket (the process died
 * between sending a submit and keeping the provider's answer), for a provider that cannot be
 * asked whether it took the job: `fail` (the default) stops with `SubmitOutcomeUnknown` rather
 * than risk paying twice; `resubmit` sends the job again. Providers that list their jobs
 * (Replicate) are asked first, whatever the policy.
 */
export type SubmitPolicy = "fail" | "resubmit"

/** The step functions the workflow runs, supplied by the layer that hosts it (`Durable`). */
export interface GenerationStepsService {
  /** Decide the candidates (provider, model) for a request; journaled by `route`. */
  readonly route: (request: GenerationRequest) => Effect.Effect<ReadonlyArray<RouteStep>, MediaError>
  /** Submit on a queued provider, or find the job of an earlier try (`submit/i`). */
  readonly submit: (request: GenerationRequest, attempt: number, step: RouteStep) => Effect.Effect<JobTicket, MediaError>
  /** Follow a job to its result in the output store, cancelling it on request or at the deadline (`collect/i`). */
  readonly collect: (request: GenerationRequest, attempt: number, ticket: JobTicket) => Effect.Effect<StoredOutput, MediaError>
  /** Run a direct (not queued) provider to its result in the output store (`call/i`). */
  readonly call: (request: GenerationRequest, attempt: number, step: RouteStep) => Effect.Effect<StoredOutput, MediaError>
  /** Write the result where the caller asked and mark the generation succeeded (`deliver`). */
  readonly deliver: (request: GenerationRequest, output: StoredOutput, attempts: ReadonlyArray<typeof GenerationAttempt.Type>) => Effect.Effect<GenerationResult, MediaError>
  /** Record a failure (idempotent): `cancelled` for Cancelled, else `failed`. */
  readonly fail: (request: GenerationRequest, error: MediaError) => Effect.Effect<void>
  /** Record a defect that ended the run (the engine keeps the workflow finished with it): `failed`. */
  readonly crash: (request: GenerationRequest, defect: string) => Effect.Effect<void>
}

/** The step functions, as a service of the process that runs generations. */
export class GenerationSteps extends Context.Tag("automarket/GenerationSteps")<GenerationSteps, GenerationStepsService>() {}

// Failures after a provider accepted a job never fall back: that job is paid for.
type Outcome = Either.Either<StoredOutput, { readonly error: MediaError; readonly fallback: boolean }>

/** The workflow's body over the given steps. */
export const run = (steps: GenerationStepsService) => (request: GenerationRequest) =>
  Effect.gen(function* () {
    const route = yield* Activity.make({
      name: "route",
      success: Schema.Array(RouteStep),
      error: MediaError,
      execute: steps.route(request)
    })
    const attempts: Array<typeof GenerationAttempt.Type> = []
    for (let i = 0; i < route.length; i++) {
      const step = route[i]!
      const outcome: Outcome = yield* (step.queued ? queued(steps, request, i, step) : direct(steps, request, i, step))
      if (Either.isRight(outcome)) {
        return yield* Activity.make({
          name: "deliver",
          success: GenerationResult,
          error: MediaError,
          execute: steps.deliver(request, outcome.right, attempts)
        })
      }
      const { error, fallback } = outcome.left
      attempts.push({ provider: step.provider, model: step.model, error: { tag: error._tag, message: error.message } })
      if (!fallback || i === route.length - 1) return yield* Effect.fail(error)
    }
    // `route` fails rather than answer no candidate.
    return yield* Effect.dieMessage(`durable: generation ${request.id} was routed to no provider`)
  }).pipe(
    Effect.tapError((error) => steps.fail(request, error)),
    // A defect ends the workflow for good: the store says so (an interruption, a worker going away, is not one).
    Effect.tapDefect((defect) => steps.crash(request, Cause.pretty(Cause.die(defect)).split("\n")[0] ?? String(defect)))
  )

const queued = (steps: GenerationStepsService, request: GenerationRequest, i: number, step: RouteStep) =>
  Effect.gen(function* () {
    const submitted = yield* Effect.either(
      Activity.make({ name: `submit/${i}`, success: JobTicket, error: MediaError, execute: steps.submit(request, i, step) })
    )
    if (Either.isLeft(submitted)) {
      const error = submitted.left
      return Either.left({ error, fallback: isFailover(error) })
    }
    const collected = yield* Effect.either(
      Activity.make({ name: `collect/${i}`, success: StoredOutput, error: MediaError, execute: steps.collect(request, i, submitted.right) })
    )
    return Either.mapLeft(collected, (error) => ({ error, fallback: false }))
  })

const direct = (steps: GenerationStepsService, request: GenerationRequest, i: number, step: RouteStep) =>
  Effect.map(
    Effect.either(Activity.make({ name: `call/${i}`, success: StoredOutput, error: MediaError, execute: steps.call(request, i, step) })),
    (called): Outcome => Either.mapLeft(called, (error) => ({ error, fallback: isFailover(error) }))
  )

/** Timeout, for a generation that passed its deadline. */
export const deadlineError = (request: GenerationRequest, provider: string): Timeout =>
  new Timeout({
    provider,
    after: Duration.millis(0),
    detail: `generation ${request.id} passed its deadline (${new Date(request.deadlineAt ?? 0).toISOString()})`
  })

/** Cancelled, for a generation whose cancel was asked for. */
export const cancelledError = (request: GenerationRequest, provider: string, jobId?: string): Cancelled =>
  new Cancelled({ provider, detail: `generation ${request.id} was cancelled`, ...(jobId !== undefined ? { jobId } : {}) })

/** SubmitOutcomeUnknown for a generation resumed in the submit window of `step`. */
export const outcomeUnknown = (request: GenerationRequest, step: RouteStep, intentAt: number): SubmitOutcomeUnknown =>
  new SubmitOutcomeUnknown({
    provider: step.provider,
    generationId: request.id,
    model: step.model,
    detail: `generation ${request.id} stopped after a submit to ${step.model} whose answer was never kept (sent at ${new Date(intentAt).toISOString()}); ${step.provider} cannot be asked whether it took the job, so it was not sent again (policy "fail"; "resubmit" would send it again)`
  })

/** Whether `request`'s deadline has passed. */
export const pastDeadline = (request: GenerationRequest): Effect.Effect<boolean> =>
  request.deadlineAt === undefined ? Effect.succeed(false) : Effect.map(Clock.currentTimeMillis, (now) => now >= request.deadlineAt!)


/** The workflow registered with the engine in context, its steps from `GenerationSteps`. */
export const layer = Generation.toLayer((request) => Effect.flatMap(GenerationSteps, (steps) => run(steps)(request)))
