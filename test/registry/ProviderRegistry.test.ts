import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { text } from "../../src/domain/Asset.js"
import { InvalidInput, MissingConfig, NetworkError, ProviderUnavailable, QuotaExceeded } from "../../src/domain/Errors.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { fake, model } from "../support/TestProviders.js"

const quota = (provider: string) => new QuotaExceeded({ provider, detail: "out of credits" })

describe("ProviderRegistry", () => {
  it.effect("falls back to the next provider on QuotaExceeded and says who served", () =>
    Effect.gen(function* () {
      const a = yield* fake({ id: "a", models: [model("a-img", ["text-to-image"], 0.01)], fail: () => quota("a") })
      const b = yield* fake({ id: "b", models: [model("b-img", ["text-to-image"], 0.02)] })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      const result = yield* registry.generateDetailed("text-to-image", text("a cat"))
      expect(result.provider).toBe("b")
      expect(result.output.origin).toMatchObject({ provider: "b", model: "b-img" })
      expect(result.attempts).toEqual([
        { provider: "a", model: "a-img", error: { tag: "QuotaExceeded", message: "a: out of credits" } },
        { provider: "b", model: "b-img" }
      ])
      expect(a.calls).toEqual(["a-img"])
      expect(b.calls).toEqual(["b-img"])
    }))

  it.effect("stops on InvalidInput: the next provider is never called", () =>
    Effect.gen(function* () {
      const a = yield* fake({
        id: "a",
        models: [model("a-img", ["text-to-image"], 0.01)],
        fail: () => new InvalidInput({ provider: "a", detail: "prompt too long", issues: ["prompt"] })
      })
      const b = yield* fake({ id: "b", models: [model("b-img", ["text-to-image"], 0.02)] })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      const result = yield* Effect.either(registry.generate("text-to-image", text("a cat")))
      expect(Either.isLeft(result) && result.left._tag).toBe("InvalidInput")
      expect(b.calls).toEqual([])
    }))

  it.effect("moves past an unconfigured provider and a failing one, and fails with the last error when all fail", () =>
    Effect.gen(function* () {
      const a = yield* fake({
        id: "a",
        configured: false,
        notConfigured: new MissingConfig({ provider: "a", setting: "A_KEY", detail: "set A_KEY" }),
        models: [model("a-txt", ["text-to-text"], 0)]
      })
      const b = yield* fake({
        id: "b",
        models: [model("b-txt", ["text-to-text"], 0.1)],
        fail: () => new NetworkError({ provider: "b", detail: "reset" })
      })
      const c = yield* fake({
        id: "c",
        models: [model("c-txt", ["text-to-text"], 0.2)],
        fail: () => new ProviderUnavailable({ provider: "c", detail: "503", status: 503 })
      })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider, c.provider])
      const result = yield* Effect.either(registry.generate("text-to-text", text("hi")))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "ProviderUnavailable", provider: "c" })
      expect(b.calls).toHaveLength(1)
      expect(c.calls).toHaveLength(1)
      expect(a.calls).toHaveLength(0)
    }))

  it.effect("with no provider configured, the error says which setting is missing", () =>
    Effect.gen(function* () {
      const a = yield* fake({
        id: "a",
        configured: false,
        notConfigured: new MissingConfig({ provider: "a", setting: "A_KEY", detail: "set A_KEY" })
      })
      const registry = yield* ProviderRegistry.make([a.provider])
      const result = yield* Effect.either(registry.generate("text-to-text", text("hi")))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "MissingConfig", setting: "A_KEY" })
    }))

  it.effect("orders candidates: available first, free first, then cheap; honours exclude, maxCost, preferLocal", () =>
    Effect.gen(function* () {
      const paidCheap = yield* fake({ id: "cheap", models: [model("x", ["text-to-image"], 0.003)] })
      const paidDear = yield* fake({ id: "dear", models: [model("y", ["text-to-image"], 0.05)] })
      const free = yield* fake({ id: "free", models: [model("z", ["text-to-image"], 0)] })
      const local = yield* fake({ id: "local", type: "local", models: [model("l", ["text-to-image"], 0.01)] })
      const off = yield* fake({ id: "off", configured: false, models: [model("o", ["text-to-image"], 0)] })
      const registry = yield* ProviderRegistry.make([paidDear.provider, off.provider, paidCheap.provider, local.provider, free.provider])
      const ids = (list: ReadonlyArray<ProviderRegistry.Choice>) => list.map((c) => c.provider.id)

      expect(ids(yield* registry.candidates("text-to-image"))).toEqual(["free", "cheap", "local", "dear", "off"])
      expect(ids(yield* registry.candidates("text-to-image", { preferLocal: true }))).toEqual(["local", "free", "cheap", "dear", "off"])
      expect(ids(yield* registry.candidates("text-to-image", { maxCost: 0.01, exclude: ["free"] }))).toEqual(["cheap", "local"])
      expect(ids(yield* registry.candidates("text-to-image", { preferFree: false }))).toEqual(["free", "cheap", "local", "dear", "off"])
      const best = yield* registry.findBest("text-to-image", { exclude: ["free"] })
      expect(Option.map(best, (c) => [c.provider.id, c.model?.id])).toEqual(Option.some(["cheap", "x"]))
      expect((yield* registry.available("text-to-image")).map((p) => p.id)).not.toContain("off")
    }))

  it.effect("lists models across providers, leaving out a provider whose discovery fails", () =>
    Effect.gen(function* () {
      const a = yield* fake({ id: "a", models: [model("a1", ["text-to-image"], 0), model("a2", ["text-to-text"], 0)] })
      const b = yield* fake({ id: "b", discoveryFails: new NetworkError({ provider: "b", detail: "down" }) })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      expect((yield* registry.modelsFor("text-to-image")).map((m) => m.id)).toEqual(["a1"])
      expect((yield* registry.forCapability("text-to-text")).map((p) => p.id)).toEqual(["a", "b"])
    }))

  it.effect("no provider for a capability is CapabilityNotSupported from the registry", () =>
    Effect.gen(function* () {
      const registry = yield* ProviderRegistry.make([])
      const result = yield* Effect.either(registry.generate("speech-to-text", { _tag: "Audio" } as never))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "CapabilityNotSupported", provider: "registry" })
    }))

  it.effect("a provider whose circuit opened is skipped until its cooldown ends", () =>
    Effect.gen(function* () {
      const flaky = yield* fake({
        id: "flaky",
        models: [model("f", ["text-to-text"], 0)],
        fail: (n) => (n < 5 ? new ProviderUnavailable({ provider: "flaky", detail: "503", status: 503 }) : undefined)
      })
      const steady = yield* fake({ id: "steady", models: [model("s", ["text-to-text"], 0.1)] })
      const registry = yield* ProviderRegistry.make([flaky.provider, steady.provider])
      for (let i = 0; i < 5; i++) expect((yield* registry.generateDetailed("text-to-text", text("x"))).provider).toBe("steady")
      expect(flaky.calls).toHaveLength(5)
      // Circuit open: flaky is now ordered after steady and not called at all.
      expect((yield* registry.generateDetailed("text-to-text", text("x"))).provider).toBe("steady")
      expect(flaky.calls).toHaveLength(5)
      expect((yield* flaky.provider.getHealth).status).toBe("unhealthy")
      yield* TestClock.adjust("30 seconds")
      expect((yield* registry.generateDetailed("text-to-text", text("x"))).provider).toBe("flaky")
      expect((yield* flaky.provider.getHealth).status).toBe("healthy")
    }))

  it.effect("register replaces a provider with the same id", () =>
    Effect.gen(function* () {
      const a1 = yield* fake({ id: "a", models: [model("one", ["text-to-text"], 0)] })
      const a2 = yield* fake({ id: "a", models: [model("two", ["text-to-text"], 0)] })
      const registry = yield* ProviderRegistry.make([a1.provider])
      yield* registry.register(a2.provider)
      expect((yield* registry.all).length).toBe(1)
      expect((yield* registry.modelsFor("text-to-text")).map((m) => m.id)).toEqual(["two"])
    }))
})
