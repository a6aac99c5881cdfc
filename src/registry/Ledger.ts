/**
 * The cost ledger: one entry per paid call and job (when, provider, model, capability, what it
 * cost and how that is known, who spent it, which generation), kept by a `CostLedger` service.
 * The registry writes an entry after every remote call it routes and the durable generations
 * after every job they collect (or see fail or cancelled), so reports and budgets read one
 * table. `layerMemory` keeps the entries in the process (tests, short scripts); the SQL ledger
 * (`automarket/durable`'s `LedgerSql`) keeps them in the state database beside the generations.
 *
 * A cost is known from the provider (OpenRouter's `usage.cost`), from the catalog's price, or is
 * unknown: unknown is recorded as `null`, never as 0, so that a total says how many calls it
 * could not price.
 *
 * @module
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"

/** How an entry's cost is known. */
export const CostSource = Schema.Literal("provider", "catalog", "unknown")
/** How an entry's cost is known. */
export type CostSource = typeof CostSource.Type

/** How the call or job ended. Failed and cancelled jobs are recorded too (at what the provider billed, usually 0). */
export const EntryStatus = Schema.Literal("succeeded", "failed", "cancelled")
/** How the call or job ended. */
export type EntryStatus = typeof EntryStatus.Type

/** One paid call or job. */
export const LedgerEntry = Schema.Struct({
  /** Unique: recording the same id twice keeps the first (a resumed job is never counted twice). */
  id: Schema.String,
  /** When the call ended, epoch milliseconds. */
  at: Schema.Number,
  provider: Schema.String,
  model: Schema.String,
  capability: Schema.String,
  /** Units billed (tokens, images, seconds ...), when known. */
  units: Schema.optional(Schema.Number),
  /** The unit of `units` and `unitPriceUsd`. */
  unit: Schema.optional(Schema.String),
  /** The catalog's price of one unit, when known. */
  unitPriceUsd: Schema.optional(Schema.Number),
  /** US dollars; null when unknown. */
  costUsd: Schema.NullOr(Schema.Number),
  costSource: CostSource,
  status: EntryStatus,
  /** Who spent it: `key:<gateway key id>`, or `local:<user>` for calls made in-process. */
  who: Schema.String,
  /** The durable generation it belongs to, if any. */
  generationId: Schema.optional(Schema.String),
  /** The provider's job or request id, if any. */
  jobId: Schema.optional(Schema.String)
})
/** One paid call or job. */
export type LedgerEntry = typeof LedgerEntry.Type

/** Which entries a query reads: `since` inclusive, `until` exclusive (epoch ms). */
export interface LedgerQuery {
  readonly since?: number | undefined
  readonly until?: number | undefined
  readonly provider?: string | undefined
  readonly who?: string | undefined
}

/** What totals are grouped by. `day` is the UTC day (`YYYY-MM-DD`). */
export type LedgerGrouping = "provider" | "model" | "key" | "day" | "capability"

/** The groupings `totals` accepts. */
export const ledgerGroupings: ReadonlyArray<LedgerGrouping> = ["provider", "model", "key", "day", "capability"]

/** One group of a report. */
export interface LedgerTotal {
  /** The group's value: a provider id, `provider/model`, a spender, a day or a capability. */
  readonly key: string
  /** The sum of the known costs. */
  readonly costUsd: number
  /** Entries in the group. */
  readonly calls: number
  /** Entries whose cost is unknown (not in `costUsd`). */
  readonly unknownCalls: number
}

/** The ledger. */
export interface CostLedgerService {
  /** Add an entry; an entry whose id is already there is ignored. Never fails: a ledger that cannot write logs it. */
  readonly record: (entry: LedgerEntry) => Effect.Effect<void>
  /** Entries matching the query, oldest first. */
  readonly entries: (query?: LedgerQuery) => Effect.Effect<ReadonlyArray<LedgerEntry>>
  /** Totals of the matching entries grouped by `by`, largest cost first. */
  readonly totals: (by: LedgerGrouping, query?: LedgerQuery) => Effect.Effect<ReadonlyArray<LedgerTotal>>
  /** The sum of the known costs of the matching entries. */
  readonly spent: (query?: LedgerQuery) => Effect.Effect<number>
}

/** The ledger's tag. */
export class CostLedger extends Context.Tag("automarket/CostLedger")<CostLedger, CostLedgerService>() {}

/**
 * Who the calls of a fiber are spent by, as written into the ledger: `local:<user>` unless set
 * (the gateway sets `key:<key id>` around each request).
 */
export class CurrentSpender extends Context.Reference<CurrentSpender>()("automarket/CurrentSpender", {
  defaultValue: (): string => `local:${process.env.USER ?? process.env.USERNAME ?? "user"}`
}) {}

/** The UTC day of an epoch-ms time, `YYYY-MM-DD`. */
export const dayOf = (at: number): string => new Date(at).toISOString().slice(0, 10)

/** The value an entry has in a grouping. */
export const groupKey = (entry: LedgerEntry, by: LedgerGrouping): string => {
  switch (by) {
    case "provider":
      return entry.provider
    case "model":
      return `${entry.provider}/${entry.model}`
    case "key":
      return entry.who
    case "day":
      return dayOf(entry.at)
    case "capability":
      return entry.capability
  }
}

/** Whether an entry matches a query. */
export const matches = (entry: LedgerEntry, query: LedgerQuery = {}): boolean =>
  (query.since === undefined || entry.at >= query.since) &&
  (query.until === undefined || entry.at < query.until) &&
  (query.provider === undefined || entry.provider === query.provider) &&
  (query.who === undefined || entry.who === query.who)

/** Group entries into totals, largest cost first (ties by key). */
export const totalsOf = (entries: ReadonlyArray<LedgerEntry>, by: LedgerGrouping): ReadonlyArray<LedgerTotal> => {
  const groups = new Map<string, { costUsd: number; calls: number; unknownCalls: number }>()
  for (const entry of entries) {
    const key = groupKey(entry, by)
    const group = groups.get(key) ?? { costUsd: 0, calls: 0, unknownCalls: 0 }
    group.calls += 1
    if (entry.costUsd === null) group.unknownCalls += 1
    else group.costUsd += entry.costUsd
    groups.set(key, group)
  }
  return [...groups.entries()]
    .map(([key, group]) => ({ key, ...group }))
    .sort((a, b) => b.costUsd - a.costUsd || a.key.localeCompare(b.key))
}

/** A ledger in memory (lost when the process ends). */
export const makeMemory: Effect.Effect<CostLedgerService> = Effect.map(
  Ref.make<ReadonlyArray<LedgerEntry>>([]),
  (store): CostLedgerService => {
    const entries = (query?: LedgerQuery) => Effect.map(Ref.get(store), (all) => all.filter((entry) => matches(entry, query)))
    return {
      record: (entry) => Ref.update(store, (all) => (all.some((known) => known.id === entry.id) ? all : [...all, entry])),
      entries,
      totals: (by, query) => Effect.map(entries(query), (found) => totalsOf(found, by)),
      spent: (query) => Effect.map(entries(query), (found) => found.reduce((sum, entry) => sum + (entry.costUsd ?? 0), 0))
    }
  }
)

/** A ledger in memory. */
export const layerMemory: Layer.Layer<CostLedger> = Layer.effect(CostLedger, makeMemory)
