/**
 * ModelSchemas over a counting source, under TestClock: concurrent first calls share one fetch,
 * a failed fetch leaves the model unchecked and is tried again after a minute (not at once), an
 * interrupted fetch leaves no claim behind, the
 * TTL without a Catalog comes from `AUTOMARKET_CATALOG_TTL`, and `prepare` fills a required
 * field's default before checking.
 */
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { NetworkError } from "../../src/domain/Errors.js"
import * as ModelSchemas from "../../src/provider/ModelSchemas.js"

const schema = {
  type: "object",
  required: ["prompt", "size"],
  properties: { prompt: { type: "string" }, size: { enum: ["s", "m"], default: "m" }, steps: { type: "integer", maximum: 8, default: 4 } }
}

const counting = (answer: () => Effect.Effect<Option.Option<ModelSchemas.InputSchemaDocument>, NetworkError>) => {
  const calls: Array<string> = []
  const source: ModelSchemas.ModelSchemaSource = {
    provider: "emu",
    fetch: (model) => Effect.suspend(() => (calls.push(model), answer()))
  }
  return { calls, source }
}

describe("ModelSchemas", () => {
  it.effect("concurrent first calls share one fetch", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const { calls, source } = counting(() => Effect.as(Deferred.await(gate), Option.some({ schema, root: schema })))
      const schemas = yield* ModelSchemas.make(source)
      const fibers = yield* Effect.forEach([1, 2, 3], () => Effect.fork(schemas.validate("m", { prompt: "a", size: "s", steps: 9 })))
      yield* Deferred.succeed(gate, undefined)
      const exits = yield* Effect.forEach(fibers, Fiber.await)
      expect(calls).toEqual(["m"])
      expect(exits.every(Exit.isFailure)).toBe(true)
    }))

  it.effect("validate names each field and rule in InvalidInput; prepare fills a required default first", () =>
    Effect.gen(function* () {
      const { source } = counting(() => Effect.succeed(Option.some({ schema, root: schema })))
      const schemas = yield* ModelSchemas.make(source)
      const error = yield* Effect.flip(schemas.validate("m", { steps: 9 }))
      expect(error._tag).toBe("InvalidInput")
      expect(error.issues).toEqual(["prompt: is required", "size: is required", "steps: must be <= 8"])
      expect(error.message).toContain("m's schema")
      expect(yield* schemas.prepare("m", { prompt: "a" })).toEqual({ prompt: "a", size: "m" })
      expect(yield* schemas.defaultsOf("m")).toEqual({ size: "m", steps: 4 })
    }))

  it.effect("a failed fetch leaves the model unchecked, and is tried again after a minute", () =>
    Effect.gen(function* () {
      let fail = true
      const { calls, source } = counting(() =>
        fail ? Effect.fail(new NetworkError({ provider: "emu", detail: "down" })) : Effect.succeed(Option.some({ schema, root: schema }))
      )
      const schemas = yield* ModelSchemas.make(source)
      expect(Exit.isSuccess(yield* Effect.exit(schemas.validate("m", { steps: 99 })))).toBe(true)
      fail = false
      expect(Exit.isSuccess(yield* Effect.exit(schemas.validate("m", { steps: 99 })))).toBe(true)
      expect(calls).toHaveLength(1)
      yield* TestClock.adjust("61 seconds")
      expect(Exit.isFailure(yield* Effect.exit(schemas.validate("m", { steps: 99 })))).toBe(true)
      expect(calls).toHaveLength(2)
    }))

  it.effect("a caller interrupted while fetching leaves no claim: the next call fetches again", () =>
    Effect.gen(function* () {
      let hang = true
      const { calls, source } = counting(() => (hang ? Effect.never : Effect.succeed(Option.some({ schema, root: schema }))))
      const schemas = yield* ModelSchemas.make(source)
      const first = yield* Effect.fork(schemas.validate("m", { steps: 99 }))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      hang = false
      expect(Exit.isFailure(yield* Effect.exit(schemas.validate("m", { steps: 99 })))).toBe(true)
      expect(calls).toHaveLength(2)
    }))

  it.effect("without a Catalog, schemas are kept for AUTOMARKET_CATALOG_TTL", () =>
    Effect.gen(function* () {
      const { calls, source } = counting(() => Effect.succeed(Option.none()))
      const schemas = yield* ModelSchemas.make(source).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_CATALOG_TTL", "10 minutes"]]))))
      yield* schemas.validate("m", {})
      yield* TestClock.adjust("9 minutes")
      yield* schemas.validate("m", {})
      expect(calls).toHaveLength(1)
      yield* TestClock.adjust("2 minutes")
      yield* schemas.validate("m", {})
      expect(calls).toHaveLength(2)
    }))
})
