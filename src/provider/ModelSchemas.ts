/**
 * Each model's input schema, fetched from its provider, compiled once (`InputSchema`) and kept
 * as long as the model catalog keeps a model list, so that an input the model would refuse is
 * refused before the submit, with nothing sent and nothing paid.
 *
 * - A schema is fetched on the first call for a model and kept for the `Catalog`'s TTL (when a
 *   `Catalog` is in the context where the provider is made; else `AUTOMARKET_CATALOG_TTL`, else
 *   24 hours), by the Effect `Clock`; concurrent first calls share one fetch. Kept in memory, per
 *   provider instance.
 * - A model whose schema cannot be had (none published, an error fetching it) is not validated,
 *   never refused for that; a failed fetch is tried again after a minute, not at once.
 * - `validate` fails with `InvalidInput` whose `issues` name each field and rule
 *   (`image_size.width: must be <= 14142`).
 * - `defaultsOf` tells the schema's top-level defaults; `complete` adds the default of each
 *   required field the input leaves out (see `InputSchema.withRequiredDefaults`).
 *
 * @module
 */
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import { InvalidInput, type MediaError } from "../domain/Errors.js"
import { Catalog, ttlConfig } from "./Catalog.js"
import { compile, type InputChecker, withRequiredDefaults } from "./InputSchema.js"

/** A model's input schema as a provider publishes it: the schema, and the document its `$ref`s point into. */
export interface InputSchemaDocument {
  readonly schema: unknown
  readonly root: unknown
}

/** Where a provider's model schemas come from. */
export interface ModelSchemaSource {
  /** The provider id (named in `InvalidInput`). */
  readonly provider: string
  /** A model's input schema; `None` when the model publishes none. */
  readonly fetch: (model: string) => Effect.Effect<Option.Option<InputSchemaDocument>, MediaError>
}

/** The model schemas of one provider. */
export interface ModelSchemas {
  /** The compiled schema of a model, when it has one that could be fetched. */
  readonly checker: (model: string) => Effect.Effect<Option.Option<InputChecker>>
  /** Succeeds when `input` is valid for `model` (or the model has no schema); else `InvalidInput` naming each field and rule. */
  readonly validate: (model: string, input: Readonly<Record<string, unknown>>) => Effect.Effect<void, InvalidInput>
  /** The defaults the model's schema declares for its top-level fields (none without a schema). */
  readonly defaultsOf: (model: string) => Effect.Effect<Readonly<Record<string, unknown>>>
  /** `input` with the schema's default for each required field it leaves out. */
  readonly complete: (model: string, input: Readonly<Record<string, unknown>>) => Effect.Effect<Readonly<Record<string, unknown>>>
  /** `complete`, then `validate`: the body to submit, or `InvalidInput`. */
  readonly prepare: (model: string, input: Readonly<Record<string, unknown>>) => Effect.Effect<Readonly<Record<string, unknown>>, InvalidInput>
}

/** How long a failed fetch is remembered before the schema is asked for again. */
export const retryAfterFailure: Duration.Duration = Duration.minutes(1)

interface Held {
  readonly until: number
  readonly value: Deferred.Deferred<Option.Option<InputChecker>>
}

/** The TTL schemas are kept for: the `Catalog`'s in the context, else `AUTOMARKET_CATALOG_TTL`, else 24 hours. */
export const ttl: Effect.Effect<Duration.Duration> = Effect.flatMap(Effect.serviceOption(Catalog), (catalog) =>
  Option.isSome(catalog) ? Effect.succeed(catalog.value.ttl) : Effect.orElseSucceed(ttlConfig, () => Duration.hours(24))
)

/** The model schemas of `source`, kept for the catalog's TTL (read once, here, from the context). */
export const make = (source: ModelSchemaSource): Effect.Effect<ModelSchemas> =>
  Effect.gen(function* () {
    const ttlMillis = Duration.toMillis(yield* ttl)
    const failureMillis = Duration.toMillis(retryAfterFailure)
    const held = yield* Ref.make(new Map<string, Held>())

    const checker = (model: string): Effect.Effect<Option.Option<InputChecker>> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const deferred = yield* Deferred.make<Option.Option<InputChecker>>()
        // Claim the model when nothing fresh is held, so concurrent first calls share one fetch.
        const current = yield* Ref.modify(held, (map) => {
          const found = map.get(model)
          if (found !== undefined && now < found.until) return [found.value, map] as const
          const next = new Map(map)
          next.set(model, { until: Number.POSITIVE_INFINITY, value: deferred })
          return [deferred, next] as const
        })
        if (current !== deferred) return yield* Deferred.await(current)
        // Whatever ends this fetch early (an interruption, a defect) leaves no claim behind and
        // releases the callers waiting on it: the next call fetches again.
        const release = Effect.zipRight(
          Ref.update(held, (map) => {
            const next = new Map(map)
            if (next.get(model)?.value === deferred) next.delete(model)
            return next
          }),
          Deferred.succeed(deferred, Option.none())
        )
        return yield* Effect.gen(function* () {
          const outcome = yield* source.fetch(model).pipe(
            Effect.map((document) => ({ checker: Option.map(document, (d) => compile(d.schema, d.root)), failed: false })),
            Effect.catchAll((error) =>
              Effect.as(Effect.logDebug(`${source.provider}: no input schema for ${model} (${error._tag}); not validated`), {
                checker: Option.none<InputChecker>(),
                failed: true
              })
            )
          )
          const fetchedAt = yield* Clock.currentTimeMillis
          yield* Ref.update(held, (map) => {
            const next = new Map(map)
            next.set(model, { until: fetchedAt + (outcome.failed ? failureMillis : ttlMillis), value: deferred })
            return next
          })
          yield* Deferred.succeed(deferred, outcome.checker)
          return outcome.checker
        }).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : release)))
      })

    const validate = (model: string, input: Readonly<Record<string, unknown>>): Effect.Effect<void, InvalidInput> =>
      Effect.flatMap(checker(model), (found) => {
        if (Option.isNone(found)) return Effect.void
        const issues = found.value.check(input)
        return issues.length === 0
          ? Effect.void
          : Effect.fail(new InvalidInput({ provider: source.provider, detail: `the input does not fit ${model}'s schema`, issues }))
      })

    const complete = (model: string, input: Readonly<Record<string, unknown>>) =>
      Effect.map(checker(model), (found) => (Option.isSome(found) ? withRequiredDefaults(found.value, input) : input))

    return {
      checker,
      validate,
      defaultsOf: (model) => Effect.map(checker(model), (found) => (Option.isSome(found) ? found.value.defaults : {})),
      complete,
      prepare: (model, input) => Effect.flatMap(complete(model, input), (body) => Effect.as(validate(model, body), body))
    }
  })
