/**
 * What the registry does around a paid call: ask the budgets before it (a refused model gives
 * way to a cheaper one of the same provider, unless the caller pinned it), and write the call's
 * ledger entry after it. Both are read from the context when a call starts (`Budgets`,
 * `CostLedger`, `CurrentSpender`); without them a call runs as it is, at no cost. Local
 * providers are neither budgeted nor recorded: they bill nothing.
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Origin } from "../domain/Asset.js"
import type { MediaCapability } from "../domain/Capability.js"
import type { BudgetExceeded, MediaError } from "../domain/Errors.js"
import type { CapabilityModel, InputOf, MediaProviderService, OptionsOf, OutputOf } from "../domain/MediaProvider.js"
import type { ProviderModel } from "../domain/Model.js"
import { type BudgetHold, Budgets, type BudgetsService } from "./Budget.js"
import { worstCase } from "./CostEstimate.js"
import { CostLedger, type CostLedgerService, CurrentSpender, type LedgerEntry } from "./Ledger.js"

/** One call to run under the budgets and into the ledger. */
export interface SpendingCall<C extends MediaCapability> {
  readonly provider: MediaProviderService
  readonly capability: C
  /** The model the router (or the caller) chose. */
  readonly model: CapabilityModel<C>
  /** What discovery says of it, when known (its price). */
  readonly listed: ProviderModel | undefined
  /** Whether the caller named the model: then no cheaper one is taken instead. */
  readonly pinned: boolean
  readonly input: InputOf<C>
  readonly options: OptionsOf<C> | undefined
}

/** The spending rules of one registry call. */
export interface Spending {
  /** Whether anything is checked or recorded (false: calls run as they are). */
  readonly active: boolean
  /** Run the call: admitted by the budgets, recorded in the ledger. Answers the output and the model that made it. */
  readonly run: <C extends MediaCapability>(
    call: SpendingCall<C>
  ) => Effect.Effect<{ readonly output: OutputOf<C>; readonly model: string }, MediaError>
  /** A text stream from a provider, admitted before its first delta and recorded when it ends (its cost unknown: a stream reports none). */
  readonly stream: (
    provider: MediaProviderService,
    model: string,
    listed: ProviderModel | undefined,
    input: InputOf<"text-to-text">,
    self: Stream.Stream<string, MediaError>
  ) => Stream.Stream<string, MediaError>
}

const inactive: Spending = {
  active: false,
  run: (call) => Effect.map(call.model.transform(call.input, call.options), (output) => ({ output, model: call.model.id })),
  stream: (_provider, _model, _listed, _input, self) => self
}

/** The spending rules in the current context. */
export const current: Effect.Effect<Spending> = Effect.gen(function* () {
  const budgets = yield* Effect.serviceOption(Budgets)
  const ledger = yield* Effect.serviceOption(CostLedger)
  if (Option.isNone(budgets) && Option.isNone(ledger)) return inactive
  const who = yield* CurrentSpender
  return make(Option.getOrUndefined(budgets), Option.getOrUndefined(ledger), who)
})

const make = (budgets: BudgetsService | undefined, ledger: CostLedgerService | undefined, who: string): Spending => {
  const admit = (provider: MediaProviderService, capability: MediaCapability, model: ProviderModel | undefined, id: string, worst: number | undefined) =>
    budgets === undefined
      ? Effect.succeed<BudgetHold>({ release: Effect.void })
      : budgets.admit({ provider: provider.id, model: id, capability, who, worstCaseUsd: model?.free === true ? 0 : worst }, ledger)

  const listedOf = (provider: MediaProviderService, capability: MediaCapability, id: string, listed: ProviderModel | undefined) =>
    listed?.id === id
      ? Effect.succeed(listed)
      : Effect.map(Effect.orElseSucceed(provider.getModelsForCapability(capability), () => []), (models) => models.find((m) => m.id === id))

  const record = (entry: Omit<LedgerEntry, "id" | "at" | "who">) =>
    ledger === undefined
      ? Effect.void
      : Effect.flatMap(Clock.currentTimeMillis, (at) => ledger.record({ ...entry, id: crypto.randomUUID(), at, who }))

  const priced = (listed: ProviderModel | undefined): Pick<LedgerEntry, "unit" | "unitPriceUsd"> => {
    const price = listed?.pricing.find((p) => p.applies !== "input") ?? listed?.pricing[0]
    return price === undefined ? {} : { unit: price.unit, unitPriceUsd: price.usd }
  }

  // The entry of a finished call: what the result says it cost, or a job that ended unpaid.
  const entryOf = <C extends MediaCapability>(
    call: SpendingCall<C>,
    model: string,
    listed: ProviderModel | undefined,
    exit: Exit.Exit<OutputOf<C>, MediaError>
  ): Omit<LedgerEntry, "id" | "at" | "who"> | undefined => {
    const base = { provider: call.provider.id, capability: call.capability, ...priced(listed) }
    if (Exit.isSuccess(exit)) {
      const origin: Origin | undefined = (exit.value as { readonly origin?: Origin }).origin
      const costUsd = origin?.costUsd
      return {
        ...base,
        model: origin?.model ?? model,
        costUsd: costUsd ?? (listed?.free === true ? 0 : null),
        costSource: costUsd === undefined ? (listed?.free === true ? "catalog" : "unknown") : (origin?.costSource ?? "catalog"),
        status: "succeeded",
        ...(origin?.jobId !== undefined ? { jobId: origin.jobId } : {})
      }
    }
    // A job the provider took and that then failed or was cancelled: on the record, at nothing billed.
    const failure = exit.cause._tag === "Fail" ? exit.cause.error : undefined
    if (failure !== undefined && (failure._tag === "GenerationFailed" || failure._tag === "Cancelled") && failure.jobId !== undefined) {
      return { ...base, model, costUsd: 0, costSource: "catalog", status: failure._tag === "Cancelled" ? "cancelled" : "failed", jobId: failure.jobId }
    }
    return undefined
  }

  // A model of this provider within the budgets, cheapest first, when the chosen one is refused.
  const cheaper = <C extends MediaCapability>(call: SpendingCall<C>, refused: BudgetExceeded) =>
    Effect.gen(function* () {
      const models = yield* Effect.orElseSucceed(call.provider.getModelsForCapability(call.capability), () => [])
      const options = models
        .filter((m) => m.id !== call.model.id)
        .map((m) => ({ listed: m, worst: m.free ? 0 : worstCase(m, call.capability, call.input, call.options) }))
        .filter((o): o is { listed: ProviderModel; worst: number } => o.worst !== undefined && (refused.requestedUsd === undefined || o.worst < refused.requestedUsd))
        .sort((a, b) => a.worst - b.worst)
      for (const option of options) {
        const hold = yield* Effect.option(admit(call.provider, call.capability, option.listed, option.listed.id, option.worst))
        if (Option.isSome(hold)) {
          const model = yield* Effect.onError(call.provider.model(call.capability, option.listed.id), () => hold.value.release)
          return Option.some({ hold: hold.value, model, listed: option.listed as ProviderModel | undefined })
        }
      }
      return Option.none()
    })

  const run = <C extends MediaCapability>(call: SpendingCall<C>) =>
    Effect.gen(function* () {
      if (call.provider.type !== "remote") return yield* inactive.run(call)
      // Here a ledger or budgets exist (else `inactive`): the model's listing gives its price and unit.
      let listed = yield* listedOf(call.provider, call.capability, call.model.id, call.listed)
      let model = call.model
      let hold: BudgetHold
      const first = yield* Effect.either(admit(call.provider, call.capability, listed, model.id, worstCase(listed, call.capability, call.input, call.options)))
      if (first._tag === "Right") hold = first.right
      else {
        const other = call.pinned ? Option.none() : yield* cheaper(call, first.left)
        if (Option.isNone(other)) return yield* Effect.fail(first.left)
        ;({ hold, model, listed } = other.value)
      }
      const chosen = model
      const chosenListing = listed
      const output = yield* Effect.onExit(chosen.transform(call.input, call.options), (exit) => {
        const entry = entryOf(call, chosen.id, chosenListing, exit)
        return Effect.ensuring(entry !== undefined ? record(entry) : Effect.void, hold.release)
      })
      return { output, model: chosen.id }
    })

  const stream = (
    provider: MediaProviderService,
    model: string,
    listed: ProviderModel | undefined,
    input: InputOf<"text-to-text">,
    self: Stream.Stream<string, MediaError>
  ): Stream.Stream<string, MediaError> =>
    provider.type !== "remote"
      ? self
      : Stream.unwrapScoped(
          Effect.gen(function* () {
            const info = yield* listedOf(provider, "text-to-text", model, listed)
            yield* Effect.acquireRelease(admit(provider, "text-to-text", info, model, worstCase(info, "text-to-text", input, undefined)), (hold) => hold.release)
            return Stream.onEnd(
              self,
              record({
                provider: provider.id,
                model,
                capability: "text-to-text",
                ...priced(info),
                costUsd: info?.free === true ? 0 : null,
                costSource: info?.free === true ? "catalog" : "unknown",
                status: "succeeded"
              })
            )
          })
        )

  return { active: true, run, stream }
}
