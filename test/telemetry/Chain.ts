/**
 * The fallback chain the telemetry tests run: Together (its chat answering 402, QuotaExceeded)
 * then OpenRouter (answering), both real providers against their emulators on 127.0.0.1, each
 * with its own key, so that a test can look for the keys in whatever was exported.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { text } from "../../src/domain/Asset.js"
import type { ProviderConfig } from "../../src/provider/ProviderConfig.js"
import * as OpenRouter from "../../src/providers/openrouter/index.js"
import * as Together from "../../src/providers/together/index.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import * as Faults from "../emulators/Faults.js"
import { openrouter } from "../emulators/openrouter.js"
import { together } from "../emulators/together.js"

/** The emulators' keys: neither may appear in anything exported. */
export const togetherKey = "tg-telemetry-secret-0123456789"
export const openRouterKey = "sk-or-v1-telemetry-secret-9876543210"

export const togetherModel = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
export const openRouterModel = "meta-llama/llama-3.3-70b-instruct"

const config = (baseUrl: string, key: string): ProviderConfig => ({
  apiKeys: [Redacted.make(key)],
  baseUrl,
  timeout: Duration.seconds(5),
  retries: 0
})

const registryOf = (tg: { readonly baseUrl: string }, or: { readonly baseUrl: string }) =>
  Effect.gen(function* () {
    return yield* ProviderRegistry.make([
      yield* Together.make(config(tg.baseUrl, togetherKey)),
      yield* OpenRouter.make(config(or.baseUrl, openRouterKey))
    ])
  })

const models = { together: togetherModel, openrouter: openRouterModel }

/** The two emulators and a registry of the two providers, tried Together first; Together's chat answers 402. */
export const chain = Effect.gen(function* () {
  const tg = yield* together({ keys: [togetherKey] })
  const or = yield* openrouter({ keys: [openRouterKey] })
  tg.faults.inject(Faults.quota(402, "Credit limit exceeded"), { times: Infinity, route: "/v1/chat/completions" })
  const registry = yield* registryOf(tg, or)
  const generate = registry.generateDetailed("text-to-text", text("hello"), { providers: ["together", "openrouter"], models })
  return { tg, or, registry, generate }
})

/**
 * Both emulators holding every answer (model lists included) `delayMs` before its headers;
 * `fallback`: OpenRouter (its model down: 503 after the wait) first, then Together; `direct`:
 * Together alone.
 */
export const slowChain = (delayMs: number) =>
  Effect.gen(function* () {
    const tg = yield* together({ keys: [togetherKey] })
    const or = yield* openrouter({ keys: [openRouterKey], down: [openRouterModel] })
    tg.faults.inject(Faults.slowHeaders(delayMs), { times: Infinity })
    or.faults.inject(Faults.slowHeaders(delayMs), { times: Infinity })
    const registry = yield* registryOf(tg, or)
    return {
      tg,
      or,
      fallback: registry.generateDetailed("text-to-text", text("hello"), { providers: ["openrouter", "together"], models }),
      direct: registry.generateDetailed("text-to-text", text("hello"), { providers: ["together"], models })
    }
  })
