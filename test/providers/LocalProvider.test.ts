import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { NetworkError } from "../../src/domain/Errors.js"
import type { ProviderModel } from "../../src/domain/Model.js"
import type { ServiceLocation } from "../../src/local/LocalService.js"
import * as LocalProvider from "../../src/providers/LocalProvider.js"

const voice: ProviderModel = { id: "slt.wav", provider: "chatterbox", name: "slt", capabilities: ["text-to-speech"], pricing: [], free: true }

describe("LocalProvider", () => {
  it.effect("a provider on a located service is local and configured; its models are cached under the catalog key", () =>
    Effect.gen(function* () {
      const embedded: ServiceLocation = {
        url: Effect.succeed("http://127.0.0.1:1"),
        configured: false,
        running: Effect.succeed(false),
        catalogKey: "embedded:tts"
      }
      const spec = LocalProvider.spec(embedded, Effect.succeed(false))
      expect(spec).toMatchObject({ type: "local", configured: true, cacheModels: true, baseUrl: "embedded:tts" })
      // Not running: available without being asked (it starts on first use).
      expect(yield* spec.probe!).toBe(true)
      const uncached = LocalProvider.spec({ url: Effect.succeed("http://127.0.0.1:1"), configured: true }, Effect.succeed(false))
      expect(uncached).not.toHaveProperty("cacheModels")
      expect(uncached).not.toHaveProperty("baseUrl")
      expect(yield* uncached.probe!).toBe(false)
    }))

  it.effect("discoverOnce asks until a listing succeeds, then keeps it", () =>
    Effect.gen(function* () {
      let asked = 0
      const discover = yield* LocalProvider.discoverOnce(
        Effect.suspend(() => {
          asked++
          return asked === 1 ? Effect.fail(new NetworkError({ provider: "chatterbox", detail: "refused" })) : Effect.succeed([voice])
        })
      )
      expect((yield* Effect.flip(discover))._tag).toBe("NetworkError")
      expect(yield* discover).toEqual([voice])
      expect(yield* discover).toEqual([voice])
      expect(asked).toBe(2)
    }))
})
