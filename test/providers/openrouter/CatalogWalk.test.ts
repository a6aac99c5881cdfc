import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as OpenRouter from "../../../src/providers/openrouter/index.js"
import { openrouter } from "../../emulators/openrouter.js"
import { walkCatalog } from "../../support/CatalogWalk.js"

describe("OpenRouter's catalog, walked", () => {
  it.scopedLive("every model listed under a capability runs there", () =>
    Effect.gen(function* () {
      const emulator = yield* openrouter()
      // Many free calls in a row: no client-side pacing (the emulator enforces no limit here).
      const provider = yield* OpenRouter.make({
        apiKeys: [Redacted.make("sk-or-walk-key")],
        baseUrl: emulator.baseUrl,
        timeout: Duration.seconds(5),
        retries: 0,
        rateLimits: {}
      })
      // Video jobs are polled every 10 ms rather than on the default back-off.
      const steps = yield* walkCatalog(provider).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_POLL_INTERVAL", "10 millis"]])))
      )
      expect(new Set(steps.map((step) => step.capability))).toEqual(new Set(provider.capabilities))
      expect(steps.filter((step) => step.failure !== undefined)).toEqual([])
      expect(steps.filter((step) => step.capability === "text-to-image").length).toBeGreaterThanOrEqual(3)
      expect(steps.filter((step) => step.capability.endsWith("-to-video")).map((step) => `${step.capability} ${step.model}`)).toEqual([
        "text-to-video google/veo-3.1",
        "image-to-video google/veo-3.1"
      ])
      // The speech, transcription, embedding and rerank models are in the catalog but listed under nothing.
      const listed = new Set(steps.map((step) => step.model))
      for (const id of ["openai/gpt-4o-mini-tts", "openai/whisper-1", "openai/text-embedding-3-small", "cohere/rerank-v3.5"]) {
        expect(listed.has(id), id).toBe(false)
      }
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 60_000)
})
