/**
 * The registry under a ledger and budgets: every remote call writes one entry in the spender's
 * name (local ones none); a budget refuses a model before it is called, a cheaper model of the
 * same provider serves instead unless the caller pinned one, then the next provider; when nothing
 * fits the call fails with BudgetExceeded and no provider was called.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import { text } from "../../src/domain/Asset.js"
import * as Budget from "../../src/registry/Budget.js"
import * as Ledger from "../../src/registry/Ledger.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { fake, model } from "../support/TestProviders.js"

const spentBefore = (usd: number): Ledger.LedgerEntry => ({
  id: "earlier",
  at: Date.now() - 1000,
  provider: "a",
  model: "a-big",
  capability: "text-to-image",
  costUsd: usd,
  costSource: "catalog",
  status: "succeeded",
  who: "local:test"
})

const configWith = (value: string | undefined) => ConfigProvider.fromMap(new Map(value === undefined ? [] : [["AUTOMARKET_BUDGETS", value]]))

const withBudget = (limits: Budget.BudgetLimits) => Layer.merge(Ledger.layerMemory, Budget.layer(limits))

describe("Spending", () => {
  it.effect("writes one entry per remote call, in the spender's name; a local provider's call none", () =>
    Effect.gen(function* () {
      const a = yield* fake({ id: "a", models: [model("a-img", ["text-to-image"], 0.04)] })
      const local = yield* fake({ id: "engine", type: "local", models: [model("engine-img", ["text-to-image"], 0)] })
      const registry = yield* ProviderRegistry.make([a.provider, local.provider])
      const ledger = yield* Ledger.CostLedger
      // Free first: the local engine serves, and bills nothing, so nothing is recorded.
      yield* registry.generate("text-to-image", text("one"))
      expect(local.calls).toHaveLength(1)
      expect(yield* ledger.entries()).toEqual([])
      yield* Effect.provideService(registry.generate("text-to-image", text("two"), { exclude: ["engine"] }), Ledger.CurrentSpender, "key:k1")
      const entries = yield* ledger.entries()
      expect(entries).toHaveLength(1)
      expect(entries[0]).toMatchObject({ provider: "a", model: "a-img", capability: "text-to-image", who: "key:k1", status: "succeeded", costUsd: 0, unit: "image", unitPriceUsd: 0.04 })
      expect((yield* ledger.totals("key"))[0]).toMatchObject({ key: "key:k1", calls: 1 })
    }).pipe(Effect.provide(Ledger.layerMemory)))

  it.effect("a model that would pass the budget gives way to a cheaper one of the same provider", () =>
    Effect.gen(function* () {
      const a = yield* fake({ id: "a", models: [model("a-big", ["text-to-image"], 0.05), model("a-small", ["text-to-image"], 0.01)] })
      const registry = yield* ProviderRegistry.make([a.provider])
      yield* (yield* Ledger.CostLedger).record(spentBefore(0.1))
      const result = yield* registry.generateDetailed("text-to-image", text("a cat"), { models: {} })
      // The router's choice: the best-ranked model, a-big at $0.05, would make $0.15 of $0.12.
      expect(a.calls).toEqual(["a-small"])
      expect(result.model).toBe("a-small")
    }).pipe(Effect.provide(withBudget({ global: { day: 0.12 } }))))

  it.effect("a pinned model is not swapped: the next provider serves; with none left, BudgetExceeded and nothing called", () =>
    Effect.gen(function* () {
      const a = yield* fake({ id: "a", models: [model("a-big", ["text-to-image"], 0.05), model("a-small", ["text-to-image"], 0.01)] })
      const b = yield* fake({ id: "b", models: [model("b-img", ["text-to-image"], 0.01)] })
      const registry = yield* ProviderRegistry.make([a.provider, b.provider])
      yield* (yield* Ledger.CostLedger).record(spentBefore(0.1))
      const served = yield* registry.generateDetailed("text-to-image", text("a cat"), { models: { a: "a-big" } })
      expect(served.provider).toBe("b")
      expect(served.attempts[0]).toMatchObject({ provider: "a", model: "a-big", error: { tag: "BudgetExceeded" } })
      expect(a.calls).toEqual([])

      const none = yield* Effect.either(registry.generate("text-to-image", text("a bird"), { models: { a: "a-big" }, exclude: ["b"] }))
      expect(Either.isLeft(none) && none.left._tag).toBe("BudgetExceeded")
      if (Either.isLeft(none) && none.left._tag === "BudgetExceeded") {
        expect(none.left).toMatchObject({ budget: "global", period: "day", limitUsd: 0.12, requestedUsd: 0.05 })
        expect(none.left.spentUsd).toBeCloseTo(0.1, 9)
      }
      expect(a.calls).toEqual([])
    }).pipe(Effect.provide(withBudget({ global: { day: 0.12 } }))))

  it.effect("a provider's budget and a spender's budget apply only to their own calls", () =>
    Effect.gen(function* () {
      const a = yield* fake({ id: "a", models: [model("a-img", ["text-to-image"], 0.05)] })
      const registry = yield* ProviderRegistry.make([a.provider])
      yield* (yield* Ledger.CostLedger).record({ ...spentBefore(0.1), who: "key:spender" })
      // The spender key:spender has $0.10 of $0.12 spent; another spender is not limited.
      const other = yield* Effect.either(Effect.provideService(registry.generate("text-to-image", text("x")), Ledger.CurrentSpender, "key:other"))
      expect(Either.isRight(other)).toBe(true)
      const limited = yield* Effect.either(Effect.provideService(registry.generate("text-to-image", text("y")), Ledger.CurrentSpender, "key:spender"))
      expect(Either.isLeft(limited) && limited.left._tag === "BudgetExceeded" && limited.left.budget).toBe("spender:key:spender")
      expect(a.calls).toHaveLength(1)
    }).pipe(Effect.provide(withBudget({ spenders: { "key:spender": { month: 0.12 } } }))))

  it.effect("calls in flight hold their worst case: two at once cannot both take the last of a budget", () =>
    Effect.gen(function* () {
      const budgets = yield* Budget.Budgets
      const ledger = yield* Ledger.CostLedger
      const request = { provider: "a", model: "a-img", capability: "text-to-image", who: "local:test", worstCaseUsd: 0.05 }
      const first = yield* budgets.admit(request, ledger)
      yield* budgets.admit(request, ledger)
      // $0.12 holds two calls of at most $0.05 at once, not three ...
      const third = yield* Effect.either(budgets.admit(request, ledger))
      expect(Either.isLeft(third) && third.left).toMatchObject({ _tag: "BudgetExceeded", budget: "provider:a", spentUsd: 0.1 })
      // ... until one ends; an unknown price is refused wherever a limit applies, a free call never.
      yield* first.release
      yield* budgets.admit(request, ledger)
      expect(Either.isLeft(yield* Effect.either(budgets.admit({ ...request, worstCaseUsd: undefined }, ledger)))).toBe(true)
      expect(Either.isRight(yield* Effect.either(budgets.admit({ ...request, worstCaseUsd: 0 }, ledger)))).toBe(true)
      // Another provider's call is not under a's budget.
      expect(Either.isRight(yield* Effect.either(budgets.admit({ ...request, provider: "b", worstCaseUsd: 5 }, ledger)))).toBe(true)
    }).pipe(Effect.provide(withBudget({ providers: { a: { day: 0.12 } } }))))

  it("reads budgets from AUTOMARKET_BUDGETS and refuses malformed JSON naming the variable", () => {
    const read = (value: string | undefined) =>
      Effect.runSync(Effect.either(Effect.withConfigProvider(Budget.limitsFromEnv, configWith(value))))
    expect(read(undefined)).toEqual(Either.right(undefined))
    expect(read('{"global":{"day":5},"providers":{"falai":{"month":20}}}')).toEqual(Either.right({ global: { day: 5 }, providers: { falai: { month: 20 } } }))
    const bad = read('{"global":{"day":-1}}')
    expect(Either.isLeft(bad) && String(bad.left)).toContain("AUTOMARKET_BUDGETS")
  })
})

