import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Together from "../../../src/providers/together/index.js"
import { together } from "../../emulators/together.js"
import { walkCatalog } from "../../support/CatalogWalk.js"

describe("Together's catalog, walked", () => {
  it.scopedLive("every model listed under a capability runs there", () =>
    Effect.gen(function* () {
      const emulator = yield* together()
      const provider = yield* Together.make({ apiKeys: [Redacted.make("tg-walk-key")], baseUrl: emulator.baseUrl, timeout: Duration.seconds(5), retries: 0 })
      const steps = yield* walkCatalog(provider)
      // Every capability the provider implements has models listed, so each is exercised.
      expect(new Set(steps.map((step) => step.capability))).toEqual(new Set(provider.capabilities))
      expect(steps.filter((step) => step.failure !== undefined)).toEqual([])
      // Listed models of every kind were called, not only the defaults.
      expect(steps.length).toBeGreaterThan(30)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici)), 60_000)
})
