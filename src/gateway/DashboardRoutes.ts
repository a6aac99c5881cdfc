/**
 * The dashboard's routes: `GET /v1/providers` (the registry's providers with their health and
 * circuit breaker), `GET /v1/costs` and `GET /v1/costs/entries` (the cost ledger's totals and
 * recent entries), and the page itself at `/` and `/dashboard` (`Dashboard.ts`).
 *
 * Spend is private to a key: a caller sees only the entries spent by `key:<its key id>`. A
 * gateway without keys (`Access.enforced` false, `--no-auth` on loopback) has one anonymous
 * caller who is its only user, so it sees every entry, the in-process (`local:`) spending
 * included.
 *
 * @module
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type { HealthStatus } from "../domain/Health.js"
import type { MediaProviderService } from "../domain/MediaProvider.js"
import { CostLedger, type LedgerEntry, type LedgerQuery } from "../registry/Ledger.js"
import { ProviderRegistry } from "../registry/ProviderRegistry.js"
import { Access } from "./Access.js"
import { type Caller, type CostEntryView, CurrentCaller, GatewayApi, type ProviderView } from "./Api.js"
import { page } from "./Dashboard.js"

/** The ledger's spender for a gateway key (what the gateway writes around each request). */
export const spenderOf = (caller: Caller): string => `key:${caller.keyId}`

/**
 * Which entries a caller may read: its own (`who` = its spender) when keys are enforced, all of
 * them when the gateway runs without keys.
 */
export const scopeOf = (caller: Caller, enforced: boolean, range: { readonly since?: number | undefined; readonly until?: number | undefined }): LedgerQuery => ({
  since: range.since,
  until: range.until,
  ...(enforced ? { who: spenderOf(caller) } : {})
})

// A provider whose health does not answer within this is shown as degraded rather than holding the page.
const healthTimeout = "2 seconds"

const healthOf = (provider: MediaProviderService): Effect.Effect<HealthStatus> =>
  provider.getHealth.pipe(
    Effect.timeoutTo({
      duration: healthTimeout,
      onSuccess: (health): HealthStatus => health,
      onTimeout: (): HealthStatus => ({ status: "degraded", uptime: 0, activeJobs: 0, queuedJobs: 0, lastError: "its health did not answer within 2 s" })
    })
  )

/** A provider and its health as `/v1/providers` shows them. */
export const providerView = (provider: MediaProviderService, health: HealthStatus): ProviderView => ({
  id: provider.id,
  name: provider.name,
  type: provider.type,
  configured: provider.configured,
  capabilities: provider.capabilities,
  health: {
    status: health.status,
    circuit: health.circuit ?? null,
    active_jobs: health.activeJobs,
    queued_jobs: health.queuedJobs,
    last_error: health.lastError ?? null
  }
})

/** A ledger entry as `/v1/costs/entries` shows it. */
export const entryView = (entry: LedgerEntry): CostEntryView => ({
  id: entry.id,
  at: new Date(entry.at).toISOString(),
  provider: entry.provider,
  model: entry.model,
  capability: entry.capability,
  cost_usd: entry.costUsd,
  cost_source: entry.costSource,
  status: entry.status,
  who: entry.who,
  generation_id: entry.generationId ?? null,
  job_id: entry.jobId ?? null
})

const iso = (at: number | undefined): string | null => (at === undefined ? null : new Date(at).toISOString())

// The page holds no data: it may be cached briefly, and it loads nothing from elsewhere.
const pageResponse = () =>
  HttpServerResponse.text(page, {
    contentType: "text/html; charset=utf-8",
    headers: {
      "cache-control": "no-cache",
      "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; frame-ancestors 'none'",
      "x-content-type-options": "nosniff"
    }
  })

/** The dashboard's handlers. */
export const layer = HttpApiBuilder.group(GatewayApi, "dashboard", (handlers) =>
  handlers
    .handle("providers", () =>
      Effect.gen(function* () {
        const registry = yield* ProviderRegistry
        const providers = yield* registry.all
        const data = yield* Effect.forEach(providers, (provider) => Effect.map(healthOf(provider), (health) => providerView(provider, health)), {
          concurrency: "unbounded"
        })
        return { object: "list" as const, data }
      })
    )
    .handle("costs", ({ urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const access = yield* Access
        const ledger = yield* CostLedger
        const by = urlParams.by ?? "provider"
        const totals = yield* ledger.totals(by, scopeOf(caller, access.enforced, urlParams))
        return {
          object: "costs" as const,
          by,
          scope: access.enforced ? ("key" as const) : ("all" as const),
          since: iso(urlParams.since),
          until: iso(urlParams.until),
          total_usd: totals.reduce((sum, total) => sum + total.costUsd, 0),
          calls: totals.reduce((sum, total) => sum + total.calls, 0),
          unknown_calls: totals.reduce((sum, total) => sum + total.unknownCalls, 0),
          data: totals.map((total) => ({ key: total.key, cost_usd: total.costUsd, calls: total.calls, unknown_calls: total.unknownCalls }))
        }
      })
    )
    .handle("costEntries", ({ urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const access = yield* Access
        const ledger = yield* CostLedger
        // The ledger's query has no status or limit (yet): both are applied here, on the range read.
        const entries = yield* ledger.entries(scopeOf(caller, access.enforced, urlParams))
        const data = entries
          .filter((entry) => urlParams.status === undefined || entry.status === urlParams.status)
          .sort((a, b) => b.at - a.at)
          .slice(0, urlParams.limit ?? 50)
          .map(entryView)
        return { object: "list" as const, data }
      })
    )
    .handleRaw("page", pageResponse)
    .handleRaw("pageAlias", pageResponse)
)
