import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Ref from "effect/Ref"
import { NetworkError } from "../../../src/domain/Errors.js"
import type { ProviderModel } from "../../../src/domain/Model.js"
import * as Provider from "../../../src/provider/Provider.js"
import * as Discovery from "../../../src/providers/openai-compatible/Discovery.js"

const model = (id: string, free: boolean): ProviderModel => ({ id, provider: "p", name: id, capabilities: ["text-to-text"], pricing: [], free })

describe("openai-compatible Discovery", () => {
  it.effect("remembers the last successful listing by id, and keeps it when a listing fails", () =>
    Effect.gen(function* () {
      const listings = yield* Ref.make<ReadonlyArray<ReadonlyArray<ProviderModel> | undefined>>([[model("a", false)], [model("b", true)], undefined])
      const list = Effect.flatMap(Ref.modify(listings, ([next, ...rest]) => [next, rest]), (next) =>
        next === undefined ? Effect.fail(new NetworkError({ provider: "p", detail: "down" })) : Effect.succeed(next)
      )
      const discovery = yield* Discovery.make(list)
      expect(yield* discovery.known("a")).toBeUndefined()
      expect((yield* discovery.discover).map((m) => m.id)).toEqual(["a"])
      expect((yield* discovery.known("a"))?.id).toBe("a")
      yield* discovery.discover
      expect(yield* discovery.known("a")).toBeUndefined()
      expect((yield* discovery.known("b"))?.free).toBe(true)
      expect((yield* Effect.flip(discovery.discover))._tag).toBe("NetworkError")
      expect((yield* discovery.known("b"))?.id).toBe("b")
    }))

  it.effect("withFreeModels lists the provider's zero-priced models and keeps the rest of the service", () =>
    Effect.gen(function* () {
      const service = yield* Provider.make({
        id: "p",
        name: "P",
        type: "remote",
        configured: true,
        discover: Effect.succeed([model("paid", false), model("gratis", true)]),
        transforms: {}
      })
      const extended = Discovery.withFreeModels(service)
      expect((yield* extended.getFreeModels).map((m) => m.id)).toEqual(["gratis"])
      expect(extended.id).toBe("p")
      expect((yield* extended.models).length).toBe(2)
    }))
})
