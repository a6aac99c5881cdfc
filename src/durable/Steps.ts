/**
 * The steps of a durable generation (`Generation`), over a registry, the queued providers' job
 * clients and the generations store: what each journaled activity does when it runs (and what it
 * does when it runs a second time, after a crash).
 *
 * @module
 */
import * as Effect from "effect/Effect"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import type { Asset } from "../domain/Asset.js"
import { CapabilityNotSupported, GenerationFailed, InvalidInput, type MediaError, MediaError as MediaErrorSchema } from "../domain/Errors.js"
import * as Progress from "../domain/Progress.js"
import type { JobClient } from "../jobs/JobClient.js"
import { outputKindOf } from "../jobs/Results.js"
import { decodeTicket, encodeTicket, type JobTicket } from "../jobs/Ticket.js"
import * as MediaTypes from "../media/MediaTypes.js"
import type { BudgetHold, BudgetsService } from "../registry/Budget.js"
import { worstCase } from "../registry/CostEstimate.js"
import { CurrentSpender, type CostLedgerService, type LedgerEntry } from "../registry/Ledger.js"
import { Attribute, SpanName } from "../resilience/Attributes.js"
import * as Spans from "../resilience/Spans.js"
import type { ProviderRegistryService } from "../registry/ProviderRegistry.js"
import {
  cancelledError,
  deadlineError,
  type GenerationRequest,
  GenerationResult,
  type GenerationStepsService,
  outcomeUnknown,
  pastDeadline,
  type RouteStep,
  type StoredOutput,
  type SubmitPolicy
} from "./Generation.js"
import type { GenerationStoreService } from "./GenerationStore.js"

/** What the steps run on. */
export interface StepsEnvironment {
  readonly store: GenerationStoreService
  readonly registry: ProviderRegistryService
  /** The job client of a queued provider; None for a provider that runs no queued jobs. */
  readonly jobClient: (provider: string) => Effect.Effect<Option.Option<JobClient>>
  /** Where results are kept (`<id>.<ext>`). */
  readonly outputDir: string
  /** Where the job clients download to (their leftover `.part` files of a job are removed once it is delivered). */
  readonly downloadDir: string
  readonly policy: SubmitPolicy
  /** How often a running job's row is read for a cancel request or a notification. Default 1 s. */
  readonly watchEvery?: Duration.DurationInput
  /**
   * The URL a provider's job calls when it is done (the gateway's webhook route for it), or
   * undefined: its jobs are polled. Default: none.
   */
  readonly webhookUrl?: (provider: string) => string | undefined
  /**
   * For a job submitted with a webhook: how long to wait for it before one status read anyway (a
   * webhook lost or refused still ends the job). Default 5 minutes.
   */
  readonly webhookFallbackPoll?: Duration.DurationInput
  /** Where each job's cost is written (succeeded, failed or cancelled once the provider took it). Default: none. */
  readonly ledger?: CostLedgerService
  /** The budgets a submit must fit (its worst case), before anything is sent. Default: none. */
  readonly budgets?: BudgetsService
}

/**
 * A store call: a failure of the database (busy, a connection lost or not had in time) is tried
 * again, 6 times over about 6 s, before it becomes a defect of the step.
 */
const storeRetry = Schedule.intersect(Schedule.exponential("100 millis", 2), Schedule.recurs(6))

const orDie = <A, E>(self: Effect.Effect<A, E>): Effect.Effect<A> => Effect.orDie(Effect.retry(self, storeRetry))

/** The event log of a generation as a progress reporter: each event appended as JSON (downloads at most 4 a second, and the last). */
const reportingTo = (env: StepsEnvironment, id: string) => {
  let lastDownload = 0
  return (event: Progress.JobEvent): Effect.Effect<void> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (event._tag === "Downloading" && event.received !== event.total) {
        if (now - lastDownload < 250) return Effect.void
        lastDownload = now
      }
      return Effect.ignore(env.store.appendEvent(id, JSON.stringify(event)))
    })
}

/**
 * The environment variable that holds a run at a boundary, for crash tests: `submitted` (the
 * ticket kept, the submit step not yet journaled) or `delivering` (the result in the output store,
 * not yet delivered). The run records a `held` event there and waits until the process is killed.
 */
export const holdVar = "AUTOMARKET_DURABLE_HOLD"

const hold = (store: GenerationStoreService, id: string, point: "submitted" | "delivering"): Effect.Effect<void> =>
  process.env[holdVar] === point ? Effect.zipRight(appendStatus(store, id, "held", { point }), Effect.never) : Effect.void

/** Append a status change to a generation's events. */
export const appendStatus = (store: GenerationStoreService, id: string, status: string, extra: Record<string, unknown> = {}) =>
  Effect.ignore(store.appendEvent(id, JSON.stringify({ _tag: "Status", status, ...extra })))


/** The temp file beside `to` a generation writes through: named after it, so a rerun overwrites what a crash left. */
const tempFor = (to: string, id: string): string =>
  path.join(path.dirname(to), `.${path.basename(to)}.${id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40)}.part`)

/** Copy a file to `to` through a temp file in its folder named after the generation (a rerun overwrites it), then rename. */
const placeFile = (from: string, to: string, id: string, move: boolean): Effect.Effect<number, MediaError> =>
  Effect.tryPromise({
    try: async () => {
      await fs.mkdir(path.dirname(to), { recursive: true })
      const temp = tempFor(to, id)
      if (move) {
        try {
          await fs.rename(from, to)
          return (await fs.stat(to)).size
        } catch {
          // Another file system: copy below.
        }
      }
      await fs.copyFile(from, temp)
      await fs.rename(temp, to)
      if (move) await fs.rm(from, { force: true })
      return (await fs.stat(to)).size
    },
    catch: (error) => new InvalidInput({ provider: "durable", detail: `cannot write ${to}: ${String(error)}`, issues: [to] })
  })

/** An asset made by a provider, kept in the output store as `<outputDir>/<id>.<ext>`. */
const keep = (env: StepsEnvironment, request: GenerationRequest, asset: Asset, step: { provider: string; model: string; requestId?: string | undefined }): Effect.Effect<StoredOutput, MediaError> =>
  Effect.gen(function* () {
    const kind = outputKindOf(request.capability)
    const base = { provider: step.provider, model: step.model, ...(step.requestId !== undefined ? { requestId: step.requestId } : {}), kind }
    if (asset._tag === "Text") return { ...base, mimeType: "text/plain", text: asset.text }
    const costUsd = asset.origin?.costUsd
    const target = path.join(env.outputDir, `${request.id.replace(/[^A-Za-z0-9_.-]/g, "_")}.${MediaTypes.fileExtensionOf(asset.mimeType)}`)
    const source = asset.source
    let bytes: number
    switch (source._tag) {
      case "File":
        bytes = yield* placeFile(source.path, target, request.id, true)
        break
      case "Bytes":
        bytes = yield* Effect.tryPromise({
          try: async () => {
            await fs.mkdir(env.outputDir, { recursive: true })
            const temp = tempFor(target, request.id)
            await fs.writeFile(temp, source.bytes)
            await fs.rename(temp, target)
            return source.bytes.length
          },
          catch: (error) => new InvalidInput({ provider: "durable", detail: `cannot write ${target}: ${String(error)}`, issues: [target] })
        })
        break
      case "Url":
        return yield* Effect.fail(
          new InvalidInput({ provider: step.provider, detail: `a result at a URL (${source.url.slice(0, 60)}) cannot be kept by a durable generation`, issues: ["output"] })
        )
    }
    return { ...base, mimeType: asset.mimeType, path: target, bytes, ...(costUsd !== undefined ? { costUsd } : {}) }
  })

/** Remove what a killed download of `ticket` left in the download folder (`.<provider>-<request id>-N.<ext>.<random>.part`). */
const removeLeftovers = (dir: string, ticket: JobTicket): Effect.Effect<void> =>
  Effect.promise(async () => {
    const prefix = `.${ticket.provider}-${ticket.requestId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 80)}-`
    const names = await fs.readdir(dir).catch(() => [] as Array<string>)
    await Promise.all(names.filter((name) => name.startsWith(prefix) && name.endsWith(".part")).map((name) => fs.rm(path.join(dir, name), { force: true })))
  })

/** The steps over `env`. */
export const make = (env: StepsEnvironment): GenerationStepsService => {
  const { store } = env
  const watchEvery = Duration.decode(env.watchEvery ?? "1 second")
  const fallbackPoll = Duration.decode(env.webhookFallbackPoll ?? "5 minutes")

  const jobClientOf = (provider: string): Effect.Effect<JobClient, MediaError> =>
    Effect.flatMap(env.jobClient(provider), (client) =>
      Option.match(client, {
        onNone: () => Effect.fail(new CapabilityNotSupported({ provider, capability: "queued jobs", detail: "runs no queued jobs" })),
        onSome: Effect.succeed
      })
    )

  // Budget holds of the jobs this process submitted, by generation: released once the job's entry is written.
  const holds = new Map<string, BudgetHold>()
  const releaseHold = (id: string) =>
    Effect.suspend(() => {
      const held = holds.get(id)
      holds.delete(id)
      return held?.release ?? Effect.void
    })

  const whoOf = (request: GenerationRequest) => (request.who !== undefined ? Effect.succeed(request.who) : CurrentSpender)

  const isRemote = (provider: string) => Effect.map(env.registry.get(provider), Option.exists((p) => p.type === "remote"))

  // Admit a step's job under the budgets (its worst case held until its entry is written); nothing for local providers.
  const admit = (request: GenerationRequest, step: RouteStep): Effect.Effect<void, MediaError> =>
    Effect.gen(function* () {
      const budgets = env.budgets
      if (budgets === undefined) return
      const provider = yield* env.registry.get(step.provider)
      if (Option.isNone(provider) || provider.value.type !== "remote") return
      const models = yield* Effect.orElseSucceed(provider.value.getModelsForCapability(request.capability), () => [])
      const listed = models.find((m) => m.id === step.model)
      const worst = listed?.free === true ? 0 : worstCase(listed, request.capability, request.input as never, request.options as never)
      const held = yield* budgets.admit(
        { provider: step.provider, model: step.model, capability: request.capability, who: yield* whoOf(request), worstCaseUsd: worst },
        env.ledger
      )
      yield* releaseHold(request.id)
      holds.set(request.id, held)
    })

  // The ledger entry of a generation's attempt: one id per attempt, so a resumed step writes it once.
  const record = (
    request: GenerationRequest,
    attempt: number,
    entry: Pick<LedgerEntry, "provider" | "model" | "costUsd" | "costSource" | "status"> & { readonly jobId?: string | undefined }
  ): Effect.Effect<void> =>
    Effect.gen(function* () {
      if (env.ledger !== undefined && (yield* isRemote(entry.provider))) {
        yield* env.ledger.record({
          id: `${request.id}#${attempt}`,
          at: yield* Clock.currentTimeMillis,
          capability: request.capability,
          who: yield* whoOf(request),
          generationId: request.id,
          provider: entry.provider,
          model: entry.model,
          costUsd: entry.costUsd,
          costSource: entry.costSource,
          status: entry.status,
          ...(entry.jobId !== undefined ? { jobId: entry.jobId } : {})
        })
      }
      yield* releaseHold(request.id)
    })

  const recordResult = (request: GenerationRequest, attempt: number, step: { provider: string; model: string }, asset: Asset, jobId?: string) => {
    const origin = asset.origin
    return record(request, attempt, {
      provider: step.provider,
      model: origin?.model ?? step.model,
      costUsd: origin?.costUsd ?? null,
      costSource: origin?.costUsd === undefined ? "unknown" : (origin.costSource ?? "catalog"),
      status: "succeeded",
      jobId: jobId ?? origin?.jobId
    })
  }

  const row = (id: string) =>
    Effect.flatMap(orDie(store.get(id)), (found) =>
      Option.match(found, {
        onNone: () => Effect.dieMessage(`durable: generation ${id} has no row in the store`),
        onSome: Effect.succeed
      })
    )

  const route: GenerationStepsService["route"] = (request) =>
    Effect.gen(function* () {
      const wanted: ReadonlyArray<{ readonly provider: string; readonly model: string | undefined }> =
        request.provider !== undefined
          ? [{ provider: request.provider, model: request.model }]
          : (yield* env.registry.tryOrder(request.capability, request.route ?? {})).map((choice) => ({ provider: choice.provider.id, model: choice.model?.id }))
      const steps: Array<RouteStep> = []
      let firstError: MediaError | undefined
      for (const want of wanted) {
        const provider = yield* env.registry.get(want.provider)
        if (Option.isNone(provider)) {
          firstError ??= new InvalidInput({ provider: "durable", detail: `no provider "${want.provider}" is configured`, issues: [`provider: ${want.provider}`] })
          continue
        }
        const model = yield* Effect.either(provider.value.model(request.capability, want.model))
        if (model._tag === "Left") {
          firstError ??= model.left
          continue
        }
        const queued = Option.isSome(yield* env.jobClient(want.provider))
        steps.push({ provider: want.provider, model: model.right.id, queued })
      }
      if (steps.length === 0) {
        return yield* Effect.fail(
          firstError ?? new CapabilityNotSupported({ provider: "registry", capability: request.capability, detail: `no provider can do ${request.capability}` })
        )
      }
      yield* appendStatus(store, request.id, "routed", { route: steps })
      return steps
    })

  const submit: GenerationStepsService["submit"] = (request, attempt, step) =>
    Effect.gen(function* () {
      const jobs = yield* jobClientOf(step.provider)
      const now = yield* row(request.id)
      if (now.attempt === attempt && now.provider === step.provider && now.ticket !== undefined) {
        // The provider's answer was kept, the journal's was not: the same job.
        return yield* Effect.orDie(decodeTicket(now.ticket))
      }
      if (now.cancelRequestedAt !== undefined) return yield* Effect.fail(cancelledError(request, step.provider))
      if (yield* pastDeadline(request)) return yield* Effect.fail(deadlineError(request, step.provider))
      if (now.attempt === attempt && now.provider === step.provider && now.intentAt !== undefined) {
        // The window: a submit was sent and its answer never kept.
        const intentAt = now.intentAt
        if (jobs.find !== undefined) {
          const found = yield* jobs.find({
            capability: request.capability,
            model: step.model,
            input: request.input as never,
            options: request.options as never,
            since: new Date(intentAt)
          })
          if (Option.isSome(found)) {
            yield* orDie(store.recordTicket(request.id, attempt, encodeTicket(found.value), found.value.requestId))
            yield* appendStatus(store, request.id, "reconciled", { requestId: found.value.requestId })
            return found.value
          }
          // The provider lists no such job: it never took it, so sending it is not paying twice.
        } else if (env.policy === "fail") {
          return yield* Effect.fail(outcomeUnknown(request, step, intentAt))
        }
        yield* appendStatus(store, request.id, "resubmitting", { after: new Date(intentAt).toISOString() })
      }
      yield* admit(request, step)
      yield* orDie(store.setAttempt(request.id, attempt, step.provider, step.model))
      const webhook = env.webhookUrl?.(step.provider)
      // From the intent to the kept ticket, one uninterruptible region: a worker that stops its
      // generations (a shard handed to another worker, SIGTERM) waits for the provider's answer to
      // be kept, rather than leave an intent without a ticket that a resume cannot tell from a job
      // never sent (SubmitOutcomeUnknown, or a second submit). Only a crash can land in the window.
      const ticket = yield* Effect.uninterruptible(
        Effect.gen(function* () {
          const intentAt = yield* Clock.currentTimeMillis
          // The webhook is journaled with the intent: whoever collects the job knows to wait for it.
          yield* orDie(store.recordIntent(request.id, attempt, intentAt, webhook))
          const ticket = yield* Progress.listen(
            jobs.submit(request.capability, step.model, request.input as never, request.options as never, {
              deadline: request.deadlineAt !== undefined ? new Date(request.deadlineAt) : undefined,
              webhook
            }),
            reportingTo(env, request.id)
          )
          yield* orDie(store.recordTicket(request.id, attempt, encodeTicket(ticket), ticket.requestId))
          return ticket
        })
      ).pipe(Effect.tapError(() => releaseHold(request.id)))
      yield* hold(store, request.id, "submitted")
      return ticket
    })

  /** Send the provider's cancel call, if nobody did: claimed in the store, so exactly once whoever asks. */
  const cancelRemote = (request: GenerationRequest, ticket: JobTicket): Effect.Effect<void> =>
    Effect.flatMap(Effect.orDie(jobClientOf(ticket.provider)), (jobs) => Effect.asVoid(cancelOnce(store, jobs, request.id, ticket)))

  const collect: GenerationStepsService["collect"] = (request, attempt, ticket) =>
    Effect.gen(function* () {
      const jobs = yield* jobClientOf(ticket.provider)
      yield* orDie(store.setStatus(request.id, "running"))
      // What the store says, read every `watchEvery`: a cancel request (from any process), or a
      // notification newer than `seen` (a webhook said the job changed: poll now, not at the next tick).
      const said = Effect.map(orDie(store.get(request.id)), (found): "cancel" | number | undefined =>
        Option.match(found, {
          onNone: () => undefined,
          onSome: (r) => (r.cancelRequestedAt !== undefined ? "cancel" : r.notifiedAt !== undefined ? r.notifiedAt : undefined)
        })
      )
      const watch = (seen: number): Effect.Effect<"cancel" | number> =>
        Effect.flatMap(said, (now) =>
          now === "cancel" || (now !== undefined && now > seen) ? Effect.succeed(now) : Effect.zipRight(Effect.sleep(watchEvery), watch(seen))
        )
      const deadline =
        request.deadlineAt === undefined
          ? Effect.never
          : Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sleep(Duration.millis(Math.max(0, request.deadlineAt! - now))))
      type Outcome = { readonly _tag: "Done"; readonly asset: Asset } | { readonly _tag: "Stop"; readonly reason: "cancel" | "deadline" }
      const stopAtDeadline = Effect.as(deadline, { _tag: "Stop" as const, reason: "deadline" as const })
      const start = yield* row(request.id)

      // Polled: follow on the provider's schedule; a notification restarts the round with a fresh poll.
      const follow = Effect.map(Progress.listen(jobs.collect(ticket), reportingTo(env, request.id)), (asset) => ({ _tag: "Done" as const, asset }))
      const round = (seen: number): Effect.Effect<Outcome, MediaError> =>
        Effect.raceFirst(
          follow,
          Effect.raceFirst(
            stopAtDeadline,
            Effect.flatMap(watch(seen), (heard) =>
              // Notified: follow again from a fresh poll (the round in flight is dropped: polls are idempotent).
              heard === "cancel" ? Effect.succeed({ _tag: "Stop" as const, reason: "cancel" as const }) : round(heard)
            )
          )
        )

      // Submitted with a webhook: no poll on a schedule. Each status read waits for a notification
      // newer than the last one heard (one that came before this step began counts: the webhook may
      // be quicker than the journal), or for the fallback wait; a cancel request is still watched.
      const awaitingWebhook = Effect.gen(function* () {
        const heard = yield* Ref.make(0)
        const notifiedAfter = (seen: number): Effect.Effect<number> =>
          Effect.flatMap(said, (now) =>
            typeof now === "number" && now > seen ? Effect.succeed(now) : Effect.zipRight(Effect.sleep(watchEvery), notifiedAfter(seen))
          )
        const notified = Effect.flatMap(Ref.get(heard), (seen) => Effect.flatMap(notifiedAfter(seen), (at) => Ref.set(heard, at)))
        const pace = Effect.raceFirst(notified, Effect.sleep(fallbackPoll))
        const cancelAsked = Effect.map(said, (now) => now === "cancel").pipe(
          Effect.repeat({ until: (asked) => asked, schedule: Schedule.spaced(watchEvery) }),
          Effect.as({ _tag: "Stop" as const, reason: "cancel" as const })
        )
        const paced = Effect.map(Progress.listen(jobs.collect(ticket, { pace }), reportingTo(env, request.id)), (asset) => ({ _tag: "Done" as const, asset }))
        return yield* Effect.raceFirst(paced, Effect.raceFirst(stopAtDeadline, cancelAsked))
      })

      const outcome = yield* (start.webhookUrl !== undefined ? awaitingWebhook : round(start.notifiedAt ?? 0)).pipe(
        // The provider's answer for a job cancelled at our request (fal: a failure) is our cancel.
        Effect.catchAll((error) =>
          Effect.flatMap(row(request.id), (now) =>
            Effect.fail(now.cancelRequestedAt !== undefined && error._tag !== "Cancelled" ? cancelledError(request, ticket.provider, ticket.requestId) : error)
          )
        )
      )
      if (outcome._tag === "Stop") {
        yield* cancelRemote(request, ticket)
        yield* removeLeftovers(env.downloadDir, ticket)
        return yield* Effect.fail(outcome.reason === "cancel" ? cancelledError(request, ticket.provider, ticket.requestId) : deadlineError(request, ticket.provider))
      }
      yield* recordResult(request, attempt, ticket, outcome.asset, ticket.requestId)
      yield* orDie(store.setStatus(request.id, "delivering"))
      const kept = yield* keep(env, request, outcome.asset, { provider: ticket.provider, model: ticket.model, requestId: ticket.requestId })
      yield* removeLeftovers(env.downloadDir, ticket)
      return kept
    })

  const call: GenerationStepsService["call"] = (request, attempt, step) =>
    Effect.gen(function* () {
      const now = yield* row(request.id)
      if (now.cancelRequestedAt !== undefined) return yield* Effect.fail(cancelledError(request, step.provider))
      if (yield* pastDeadline(request)) return yield* Effect.fail(deadlineError(request, step.provider))
      yield* orDie(store.setAttempt(request.id, attempt, step.provider, step.model))
      yield* orDie(store.setStatus(request.id, "running"))
      const provider = yield* env.registry.get(step.provider)
      if (Option.isNone(provider)) {
        return yield* Effect.fail(new InvalidInput({ provider: "durable", detail: `no provider "${step.provider}" is configured`, issues: [step.provider] }))
      }
      const model = yield* provider.value.model(request.capability, step.model)
      yield* admit(request, step)
      const asset = yield* Progress.listen(
        model.transform(request.input as never, request.options as never) as Effect.Effect<Asset, MediaError>,
        reportingTo(env, request.id)
      ).pipe(Effect.tapError(() => releaseHold(request.id)))
      yield* recordResult(request, attempt, step, asset)
      yield* orDie(store.setStatus(request.id, "delivering"))
      return yield* keep(env, request, asset, step)
    })

  const deliver: GenerationStepsService["deliver"] = (request, output, attempts) =>
    Effect.gen(function* () {
      yield* hold(store, request.id, "delivering")
      let deliveredTo: string | undefined
      if (request.deliverTo !== undefined) {
        if (output.path !== undefined) {
          yield* placeFile(output.path, request.deliverTo, request.id, false)
        } else if (output.text !== undefined) {
          const text = output.text
          yield* Effect.tryPromise({
            try: () => fs.writeFile(request.deliverTo!, text.endsWith("\n") ? text : `${text}\n`),
            catch: (error) => new InvalidInput({ provider: "durable", detail: `cannot write ${request.deliverTo}: ${String(error)}`, issues: [request.deliverTo!] })
          })
        }
        deliveredTo = request.deliverTo
      }
      const result = new GenerationResult({
        id: request.id,
        capability: request.capability,
        output,
        ...(deliveredTo !== undefined ? { deliveredTo } : {}),
        attempts
      })
      // The final event first, then the final row: a reader that sees the row final finds the event (see eventsOf).
      yield* appendStatus(store, request.id, "succeeded")
      yield* orDie(store.recordResult(request.id, JSON.stringify(Schema.encodeSync(GenerationResult)(result))))
      return result
    })

  const fail: GenerationStepsService["fail"] = (request, failure) =>
    Effect.gen(function* () {
      // A job we asked to cancel ends as the provider reports a cancelled job (fal: a failure
      // "Request was cancelled"): the generation was cancelled, whatever the last answer said.
      const found = yield* store.get(request.id)
      const asked = Option.exists(found, (r) => r.cancelRequestedAt !== undefined)
      const error = asked && failure._tag !== "Cancelled" ? cancelledError(request, failure.provider) : failure
      const status = error._tag === "Cancelled" ? "cancelled" : "failed"
      // A job the provider took ends on the record at nothing billed; a generation that never got a job has no entry.
      const taken = Option.getOrUndefined(found)
      if (taken?.ticket !== undefined && taken.provider !== undefined && taken.model !== undefined) {
        yield* record(request, taken.attempt, { provider: taken.provider, model: taken.model, costUsd: 0, costSource: "catalog", status, jobId: taken.requestId })
      } else yield* releaseHold(request.id)
      yield* appendStatus(store, request.id, status, { error: error.message })
      yield* store.recordFailure(request.id, status, JSON.stringify(Schema.encodeSync(MediaErrorSchema)(error)))
    }).pipe(Effect.ignore)

  const crash: GenerationStepsService["crash"] = (request, defect) =>
    Effect.gen(function* () {
      const error = new GenerationFailed({ provider: "durable", detail: `generation ${request.id} stopped on a defect: ${defect}` })
      yield* appendStatus(store, request.id, "failed", { error: error.message })
      yield* store.recordFailure(request.id, "failed", JSON.stringify(Schema.encodeSync(MediaErrorSchema)(error)))
    }).pipe(Effect.retry(storeRetry), Effect.ignore)

  return {
    route: (request) => traced("route", request, undefined, route(request)),
    submit: (request, attempt, step) => traced("submit", request, attempt, submit(request, attempt, step)),
    collect: (request, attempt, ticket) => traced("collect", request, attempt, collect(request, attempt, ticket)),
    call: (request, attempt, step) => traced("call", request, attempt, call(request, attempt, step)),
    deliver: (request, output, attempts) => traced("deliver", request, undefined, deliver(request, output, attempts)),
    fail,
    crash
  }
}

// A step in its `automarket.durable.<step>` span: the generation, the capability, the try's position, the error's tag.
const traced = <A>(
  step: "route" | "submit" | "collect" | "call" | "deliver",
  request: GenerationRequest,
  attempt: number | undefined,
  self: Effect.Effect<A, MediaError>
): Effect.Effect<A, MediaError> =>
  self.pipe(
    Effect.tapError((error) => Spans.annotateCurrentSpan({ [Attribute.errorTag]: error._tag, [Attribute.provider]: error.provider })),
    Spans.withSpan(SpanName.durable(step), { captureStackTrace: false,
      attributes: {
        [Attribute.generationId]: request.id,
        [Attribute.capability]: request.capability,
        ...(attempt !== undefined ? { [Attribute.attemptIndex]: attempt } : {})
      }
    })
  )

/**
 * Send a generation's remote cancel once: claimed in the store, so exactly one caller sends it,
 * whichever process it is (the run at its deadline or on a cancel request, `Durable.cancel`).
 */
export const cancelOnce = (store: GenerationStoreService, jobs: JobClient, id: string, ticket: JobTicket): Effect.Effect<boolean> =>
  Effect.gen(function* () {
    const claimed = yield* orDie(store.claimCancel(id))
    if (!claimed) return false
    yield* jobs.cancel(ticket).pipe(
      Effect.timeout("15 seconds"),
      Effect.tapErrorCause((cause) => Effect.logWarning(`durable: cancelling ${ticket.provider} job ${ticket.requestId} failed`, cause)),
      Effect.ignore
    )
    yield* appendStatus(store, id, "cancel-sent", { requestId: ticket.requestId })
    return true
  })
