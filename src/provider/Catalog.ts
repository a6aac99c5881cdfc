/**
 * The model catalog: what each provider's discovery found, cached on disk (`KeyValueStore`) so
 * that listing models does not cost an API call every time.
 *
 * - An entry is fresh for a TTL (24 hours by default, `AUTOMARKET_CATALOG_TTL`).
 * - A stale entry answers at once while one refresh runs in the background (stale-while-
 *   revalidate); concurrent reads share that refresh, and the refresh fiber lives in the
 *   catalog's scope: closing the layer gives it a few seconds to land (`settleOnClose`), then
 *   interrupts it; closing by interruption interrupts it at once.
 * - With no entry, the read waits for discovery; concurrent reads share it.
 * - When discovery fails and an entry exists (expired or not), the entry is served and the
 *   provider is told (`onFallback`, which `Provider.make` turns into degraded health); with no
 *   entry the discovery error is the answer (a provider with a built-in table serves that,
 *   see `Provider.make`). Either way nothing is stored as fresh, and discovery is tried again
 *   on the first read after `retryAfterFailure` (default 1 minute): a dead endpoint is not
 *   asked on every read.
 * - Entries are written Schema-encoded, sealed with a checksum: a header line (version,
 *   provider, source, time, SHA-1 of the rest) and the models as JSON. Reading checks the header
 *   with Schema and the checksum, then parses the models without validating each one again
 *   (they were valid when written and are unchanged), which keeps a warm read of thousands of
 *   models to a few milliseconds. One that cannot be read (a corrupt, truncated or foreign
 *   file) is ignored and rebuilt, never fatal. A store that cannot be written is not fatal
 *   either.
 *
 * Categorization beyond rules (see `Categorizer`): a source with `categorize` discovers the
 * rule-placed models and the unplaced ones. The list is stored and answered at once, with every
 * placement the catalog already holds for an unplaced model's current listing applied; the
 * unplaced models without one (at most the categorizer's `limit`) are kept as pending, beside the
 * entry (`placements.<provider>.<hash>`: the answers, the unplaced models, the pending ids), and
 * asked about afterwards in a fiber of the catalog's scope (so a text provider categorizing its
 * own models reads its stored list instead of waiting on itself). The answers are merged into
 * the stored entry and kept for later discoveries and processes; a model whose question failed
 * leaves the pending list unanswered and is asked again at the next discovery. Pending models
 * left by a process that closed before asking are asked about on its successor's first read. The
 * models entry's format is unchanged (a placed model only carries `categorizedBy`).
 *
 * Entries are keyed by provider id and source (the API's base URL), so an emulator's catalog
 * never mixes with the real API's. `Provider.make` wires a provider through the catalog when a
 * `Catalog` is in the context; `AutoMarket.layer` provides one under the user's cache directory
 * (`AUTOMARKET_CACHE_DIR`, else `$XDG_CACHE_HOME/automarket`, else `~/.cache/automarket`).
 *
 * @module
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import * as Path from "@effect/platform/Path"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import type * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as SynchronizedRef from "effect/SynchronizedRef"
import { createHash, randomUUID } from "node:crypto"
import * as os from "node:os"
import * as nodePath from "node:path"
import type { MediaError } from "../domain/Errors.js"
import { ProviderModel } from "../domain/Model.js"
import * as Categorizer from "./Categorizer.js"

/** What the catalog stores for one provider and source. */
export const CatalogEntry = Schema.Struct({
  /** Format version of the stored entry; another version is ignored and rebuilt. */
  version: Schema.Literal(2),
  provider: Schema.String,
  /** Where the models were discovered (the API's base URL). */
  source: Schema.String,
  /** When discovery answered, in epoch milliseconds (the Effect `Clock`). */
  fetchedAt: Schema.Number,
  models: Schema.Array(ProviderModel)
})
/** What the catalog stores for one provider and source. */
export type CatalogEntry = typeof CatalogEntry.Type

// The stored form: a header line, then the models' JSON (see the module comment).
const EntryHeader = Schema.parseJson(
  Schema.Struct({ ...CatalogEntry.fields, models: Schema.optional(Schema.Never), checksum: Schema.String })
)
const decodeHeader = Schema.decodeUnknownOption(EntryHeader)
const encodeModels = Schema.encodeOption(Schema.parseJson(CatalogEntry.fields.models))

const checksumOf = (text: string): string => createHash("sha1").update(text).digest("hex")

/** An entry as stored: sealed JSON (none when the models cannot be encoded). */
export const encodeEntry = (entry: CatalogEntry): Option.Option<string> =>
  Option.map(encodeModels(entry.models), (models) => {
    const { models: _, ...header } = entry
    return `${JSON.stringify({ ...header, checksum: checksumOf(models) })}\n${models}`
  })

/** A stored entry, if it is one: header valid, checksum matching, models parseable. */
export const decodeEntry = (raw: string): Option.Option<CatalogEntry> => {
  const newline = raw.indexOf("\n")
  if (newline < 0) return Option.none()
  return Option.flatMap(decodeHeader(raw.slice(0, newline)), ({ checksum, models: _, ...header }) => {
    const body = raw.slice(newline + 1)
    if (checksumOf(body) !== checksum) return Option.none()
    try {
      // Sealed by the checksum: these are the bytes `encodeEntry` wrote from valid models.
      const models = JSON.parse(body) as ReadonlyArray<ProviderModel>
      return Array.isArray(models) ? Option.some({ ...header, models }) : Option.none()
    } catch {
      return Option.none()
    }
  })
}

/** A provider's discovery, as the catalog caches it. */
export interface CatalogSource {
  /** The provider id. */
  readonly provider: string
  /** Where the provider discovers its models (its base URL); part of the cache key. */
  readonly source: string
  /** The discovery call itself. */
  readonly discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
  /** Called when discovery failed and cached models are served instead (once per failed refresh). */
  readonly onFallback?: (error: MediaError) => Effect.Effect<void>
  /** Categorization beyond rules: when given, its `discover` is used instead of `discover` (see the module comment). */
  readonly categorize?: CatalogCategorize
}

/** How a source's unplaced models are categorized (see `Categorizer`). */
export interface CatalogCategorize {
  /** Discovery that also says which listed models no rule placed. */
  readonly discover: Effect.Effect<Categorizer.Discovery, MediaError>
  /** Ask about these models: the valid answers, or `None` when nothing was asked (they stay pending). Never fails. */
  readonly place: (unplaced: ReadonlyArray<Categorizer.UnplacedModel>) => Effect.Effect<Option.Option<ReadonlyArray<Categorizer.Placement>>>
  /** The most models asked about per discovery. */
  readonly limit: number
}

/** What the catalog keeps of a source's categorization beside its entry. */
export const PlacementEntry = Schema.Struct({
  /** Format version; another is ignored (the models are asked about again). */
  version: Schema.Literal(1),
  provider: Schema.String,
  source: Schema.String,
  /** The answers that match the last discovery's unplaced models. */
  placements: Schema.Array(Categorizer.Placement),
  /** The models the last discovery listed and no rule placed. */
  unplaced: Schema.Array(Categorizer.UnplacedModel),
  /** The ids among them still to be asked about. */
  pending: Schema.Array(Schema.String)
})
/** What the catalog keeps of a source's categorization beside its entry. */
export type PlacementEntry = typeof PlacementEntry.Type

const decodePlacementEntry = Schema.decodeUnknownOption(Schema.parseJson(PlacementEntry))
const encodePlacementEntry = Schema.encodeOption(Schema.parseJson(PlacementEntry))

/** The catalog service. */
export interface CatalogService {
  /** How long an entry stays fresh. */
  readonly ttl: Duration.Duration
  /**
   * Register a provider's discovery and get its cached `models`: the effect to use wherever the
   * provider's model list is asked for. A later registration of the same provider and source
   * replaces the earlier one (for `refresh`).
   */
  readonly cached: (source: CatalogSource) => Effect.Effect<Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>>
  /** The models of a source through the cache (fresh, stale-while-revalidate, or discovered now). */
  readonly models: (source: CatalogSource) => Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>
  /**
   * Discover a registered provider's models now, whatever the cache holds, and store them.
   * `None` when no source of that provider is registered (a provider whose models are not
   * cached). Fails with the discovery error; the old entry is kept and still served.
   */
  readonly refresh: (provider: string) => Effect.Effect<Option.Option<ReadonlyArray<ProviderModel>>, MediaError>
  /** The stored entry of a provider and source, if any (decoded; a corrupt one is `None`). */
  readonly entry: (provider: string, source: string) => Effect.Effect<Option.Option<CatalogEntry>>
}

/** The catalog service tag. Optional: without it providers discover on every call. */
export class Catalog extends Context.Tag("automarket/Catalog")<Catalog, CatalogService>() {}

/** Settings of the catalog; each overrides the environment. */
export interface CatalogOptions {
  /** How long an entry stays fresh (default `AUTOMARKET_CATALOG_TTL`, else 24 hours). */
  readonly ttl?: Duration.DurationInput
  /** The cache directory (default `AUTOMARKET_CACHE_DIR`, else the user's cache dir + `/automarket`); entries go in its `catalog/`. */
  readonly directory?: string
  /** After a failed discovery, how long before another is tried: the stale entry (or the failure, with none) answers meanwhile (default 1 minute). */
  readonly retryAfterFailure?: Duration.DurationInput
  /**
   * When the catalog's scope closes normally, how long a background refresh still running may
   * take to finish (and be stored) before it is interrupted (default 3 seconds). A short-lived
   * process (one CLI command) would otherwise never complete a refresh it started. Not waited
   * for when the scope closes by interruption (Ctrl-C).
   */
  readonly settleOnClose?: Duration.DurationInput
}

/** The default TTL: 24 hours. */
export const defaultTtl: Duration.Duration = Duration.hours(24)

const durationConfig = (name: string): Config.Config<Duration.Duration> =>
  Config.orElse(Config.duration(name), () => Config.map(Config.number(name), (ms) => Duration.millis(ms)))

/** The TTL from `AUTOMARKET_CATALOG_TTL` (a duration such as `"6 hours"`, or milliseconds), default 24 hours. */
export const ttlConfig: Config.Config<Duration.Duration> = Config.withDefault(durationConfig("AUTOMARKET_CATALOG_TTL"), defaultTtl)

/**
 * The cache directory: `AUTOMARKET_CACHE_DIR`, else `$XDG_CACHE_HOME/automarket`, else
 * `~/.cache/automarket`.
 */
export const cacheDirectoryConfig: Config.Config<string> = Config.orElse(Config.nonEmptyString("AUTOMARKET_CACHE_DIR"), () =>
  Config.map(Config.option(Config.nonEmptyString("XDG_CACHE_HOME")), (xdg) =>
    nodePath.join(Option.getOrElse(xdg, () => nodePath.join(os.homedir(), ".cache")), "automarket")
  )
)

/** The store key of a provider and source: readable, bounded, a valid file name once URI-encoded. */
export const keyOf = (provider: string, source: string): string => `models.${provider}.${fnv1a(source)}`

/** The store key of a source's categorization (beside `keyOf`'s entry). */
export const placementsKeyOf = (provider: string, source: string): string => `placements.${provider}.${fnv1a(source)}`

// FNV-1a, 32 bits: enough to tell a provider's few sources apart (the entry also records its
// source, which is checked on read, so a collision costs a refresh, never wrong models).
const fnv1a = (text: string): string => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, "0")
}

interface Failure {
  readonly at: number
  readonly error: MediaError
}

/**
 * Make a catalog over the `KeyValueStore` in the context. Background refreshes run in the
 * scope: when it closes they get `settleOnClose` (default 3 seconds) to land, unless it closes
 * by interruption, and are then interrupted.
 */
export const make = (options: {
  readonly ttl: Duration.DurationInput
  readonly retryAfterFailure?: Duration.DurationInput
  readonly settleOnClose?: Duration.DurationInput
}): Effect.Effect<CatalogService, never, KeyValueStore.KeyValueStore | Scope.Scope> =>
  Effect.gen(function* () {
    const store = yield* KeyValueStore.KeyValueStore
    // Refreshes run in a scope of their own, closed (fibers interrupted) after the settle
    // finalizer below has given them their last chance: finalizers run in reverse order.
    const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
    const ttl = Duration.decode(options.ttl)
    const ttlMillis = Duration.toMillis(ttl)
    const backoffMillis = Duration.toMillis(Duration.decode(options.retryAfterFailure ?? Duration.minutes(1)))
    // What this process has read or written, so the disk is read once per entry.
    const memory = yield* Ref.make(HashMap.empty<string, CatalogEntry>())
    const failures = yield* Ref.make(HashMap.empty<string, Failure>())
    const sources = yield* Ref.make(HashMap.empty<string, CatalogSource>())
    // One discovery at a time per key: whoever comes while it runs waits for the same answer.
    const inFlight = yield* SynchronizedRef.make(HashMap.empty<string, Deferred.Deferred<ReadonlyArray<ProviderModel>, MediaError>>())
    // Categorizations running, by key; `again` asks a running one for one more round (a discovery
    // stored new pending models meanwhile). Read and written without yielding in between.
    const placing = new Map<string, { again: boolean; readonly done: Deferred.Deferred<void> }>()
    // Keys whose pending models this catalog has looked at (once a process: see `models`).
    const resumed = new Set<string>()
    const settle = Duration.decode(options.settleOnClose ?? Duration.seconds(3))
    yield* Effect.addFinalizer((exit) =>
      Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
        ? Effect.void
        : SynchronizedRef.get(inFlight).pipe(
            Effect.flatMap((running) =>
              Effect.all(
                [
                  ...[...HashMap.values(running)].map((deferred) => Effect.exit(Deferred.await(deferred))),
                  ...[...placing.values()].map((run) => Deferred.await(run.done))
                ],
                { concurrency: "unbounded", discard: true }
              )
            ),
            // Finalizers are uninterruptible: without this the timeout could not stop the wait.
            Effect.interruptible,
            Effect.timeoutOption(settle),
            Effect.asVoid
          )
    )

    const load = (key: string, provider: string, source: string): Effect.Effect<Option.Option<CatalogEntry>> =>
      Effect.flatMap(Ref.get(memory), (held) => {
        const hit = HashMap.get(held, key)
        if (Option.isSome(hit)) return Effect.succeed(hit)
        return store.get(key).pipe(
          // An unreadable store is an empty one: discovery rebuilds it.
          Effect.orElseSucceed(() => Option.none<string>()),
          Effect.map((raw) =>
            Option.filter(Option.flatMap(raw, decodeEntry), (entry) => entry.provider === provider && entry.source === source)
          ),
          Effect.tap((found) => (Option.isSome(found) ? Ref.update(memory, HashMap.set(key, found.value)) : Effect.void))
        )
      })

    const save = (key: string, entry: CatalogEntry): Effect.Effect<void> =>
      Effect.zipRight(
        Ref.update(memory, HashMap.set(key, entry)),
        Option.match(encodeEntry(entry), {
          onNone: () => Effect.void,
          onSome: (json) =>
            store.set(key, json).pipe(
              Effect.catchAll((error) => Effect.logDebug(`catalog: could not store ${key}: ${error.message}`))
            )
        })
      )

    const loadPlacements = (src: CatalogSource): Effect.Effect<Option.Option<PlacementEntry>> =>
      store.get(placementsKeyOf(src.provider, src.source)).pipe(
        Effect.orElseSucceed(() => Option.none<string>()),
        Effect.map((raw) =>
          Option.filter(Option.flatMap(raw, decodePlacementEntry), (entry) => entry.provider === src.provider && entry.source === src.source)
        )
      )

    const savePlacements = (entry: PlacementEntry): Effect.Effect<void> =>
      Option.match(encodePlacementEntry(entry), {
        onNone: () => Effect.void,
        onSome: (json) =>
          store.set(placementsKeyOf(entry.provider, entry.source), json).pipe(
            Effect.catchAll((error) => Effect.logDebug(`catalog: could not store the placements of ${entry.provider}: ${error.message}`))
          )
      })

    // Discovery of a categorized source: the rule-placed models with the answers already held
    // applied; the unplaced ones without an answer are left pending, asked about after the list
    // is stored (`startPlacing`), never here: a reader waits on this, and the question may route
    // to the very provider being discovered.
    const discoverPlaced = (src: CatalogSource, categorize: CatalogCategorize) =>
      Effect.gen(function* () {
        const found = yield* categorize.discover
        const held = Option.match(yield* loadPlacements(src), { onNone: () => [], onSome: (entry) => entry.placements })
        const placements = Categorizer.currentPlacements(held, found.unplaced)
        const pending = Categorizer.unanswered(found.unplaced, placements, categorize.limit).map((model) => model.model.id)
        yield* savePlacements({ version: 1, provider: src.provider, source: src.source, placements, unplaced: found.unplaced, pending })
        return Categorizer.applyPlacements(found.models, found.unplaced, placements)
      })

    // One round: ask about the pending models, keep the answers, merge them into the stored entry.
    const placeOnce = (key: string, src: CatalogSource, categorize: CatalogCategorize) =>
      Effect.gen(function* () {
        const before = yield* loadPlacements(src)
        if (Option.isNone(before) || before.value.pending.length === 0) return
        const asked = before.value.unplaced.filter((model) => before.value.pending.includes(model.model.id))
        const answered = yield* categorize.place(asked)
        // Nothing asked (no text provider, no registry bound): they stay pending.
        if (Option.isNone(answered)) return
        // Read again: a discovery may have stored a newer listing meanwhile.
        const now = Option.getOrElse(yield* loadPlacements(src), () => before.value)
        const placements = Categorizer.currentPlacements(
          [...now.placements.filter((old) => !answered.value.some((fresh) => fresh.id === old.id)), ...answered.value],
          now.unplaced
        )
        const askedNow = new Set(
          asked.filter((model) => now.unplaced.some((listed) => listed.model.id === model.model.id && Categorizer.fingerprintOf(listed) === Categorizer.fingerprintOf(model))).map((model) => model.model.id)
        )
        // Asked about: no longer pending, answered or not (a failed one waits for the next discovery).
        const pending = now.pending.filter((id) => !askedNow.has(id))
        yield* savePlacements({ ...now, placements, pending })
        const stored = yield* load(key, src.provider, src.source)
        if (Option.isSome(stored)) {
          const models = Categorizer.applyPlacements(stored.value.models, now.unplaced, placements)
          if (models !== stored.value.models) yield* save(key, { ...stored.value, models })
        }
      })

    /** Ask about the pending models of `key` in the catalog's scope, unless that already runs (then it runs once more). */
    const startPlacing = (key: string, src: CatalogSource): Effect.Effect<void> => {
      const categorize = src.categorize
      if (categorize === undefined) return Effect.void
      return Effect.suspend(() => {
        const running = placing.get(key)
        if (running !== undefined) {
          running.again = true
          return Effect.void
        }
        return Effect.flatMap(Deferred.make<void>(), (done) => {
          const run = { again: false, done }
          placing.set(key, run)
          const rounds: Effect.Effect<void> = Effect.suspend(() => {
            run.again = false
            return Effect.zipRight(placeOnce(key, src, categorize), Effect.suspend(() => (run.again ? rounds : Effect.void)))
          })
          return Effect.asVoid(
            Effect.forkIn(
              rounds.pipe(
                Effect.ensuring(
                  Effect.suspend(() => {
                    placing.delete(key)
                    return Deferred.succeed(done, undefined)
                  })
                )
              ),
              scope
            )
          )
        })
      })
    }

    /** The running discovery of `key`, started if none runs. */
    const discovery = (key: string, src: CatalogSource) =>
      SynchronizedRef.modifyEffect(inFlight, (running) => {
        const current = HashMap.get(running, key)
        if (Option.isSome(current)) return Effect.succeed([current.value, running] as const)
        return Effect.gen(function* () {
          const deferred = yield* Deferred.make<ReadonlyArray<ProviderModel>, MediaError>()
          const listing = src.categorize === undefined ? src.discover : discoverPlaced(src, src.categorize)
          const work = listing.pipe(
            Effect.tap((models) =>
              Effect.flatMap(Clock.currentTimeMillis, (now) =>
                Effect.zipRight(
                  save(key, { version: 2, provider: src.provider, source: src.source, fetchedAt: now, models }),
                  Ref.update(failures, HashMap.remove(key))
                )
              )
            ),
            Effect.tapError((error) =>
              Effect.gen(function* () {
                const now = yield* Clock.currentTimeMillis
                yield* Ref.update(failures, HashMap.set(key, { at: now, error }))
                const held = HashMap.has(yield* Ref.get(memory), key)
                if (held && src.onFallback !== undefined) yield* src.onFallback(error)
              })
            ),
            Effect.onExit((exit) =>
              Effect.zipRight(SynchronizedRef.update(inFlight, HashMap.remove(key)), Deferred.done(deferred, exit))
            )
          )
          // In the catalog's scope, not the caller's: a reader that stops waiting does not stop
          // the refresh, and closing the catalog does. Pending models are asked about once the
          // list is stored and its readers answered.
          yield* Effect.forkIn(Effect.zipRight(work, startPlacing(key, src)), scope)
          return [deferred, HashMap.set(running, key, deferred)] as const
        })
      })

    const models = (src: CatalogSource): Effect.Effect<ReadonlyArray<ProviderModel>, MediaError> =>
      Effect.gen(function* () {
        const key = keyOf(src.provider, src.source)
        // Models a process before this one left pending (it closed before asking): asked about
        // on this process's first read, not on every one.
        if (src.categorize !== undefined && !resumed.has(key)) {
          resumed.add(key)
          yield* startPlacing(key, src)
        }
        const cached = yield* load(key, src.provider, src.source)
        if (Option.isNone(cached)) {
          // Failed a moment ago with nothing to serve: the same answer, without asking again.
          const failed = HashMap.get(yield* Ref.get(failures), key)
          if (Option.isSome(failed) && (yield* Clock.currentTimeMillis) - failed.value.at < backoffMillis) {
            return yield* Effect.fail(failed.value.error)
          }
          return yield* Deferred.await(yield* discovery(key, src))
        }
        const entry = cached.value
        const now = yield* Clock.currentTimeMillis
        const failed = HashMap.get(yield* Ref.get(failures), key)
        // A fresh entry whose last refresh failed (a forced one) is due again after the back-off:
        // the provider reads degraded until discovery answers, which must not wait for the TTL.
        if (now - entry.fetchedAt < ttlMillis && Option.isNone(failed)) return entry.models
        if (Option.isSome(failed) && now - failed.value.at < backoffMillis) {
          // Refreshed a moment ago and failed: serve the old list, keep the provider degraded.
          if (src.onFallback !== undefined) yield* src.onFallback(failed.value.error)
          return entry.models
        }
        // Stale: answer now, refresh in the background (joining one that already runs).
        yield* discovery(key, src)
        return entry.models
      })

    const cached = (src: CatalogSource) =>
      Effect.as(Ref.update(sources, HashMap.set(keyOf(src.provider, src.source), src)), models(src))

    const refresh = (provider: string) =>
      Effect.gen(function* () {
        const registered = [...HashMap.values(yield* Ref.get(sources))].filter((src) => src.provider === provider)
        if (registered.length === 0) return Option.none()
        const lists = yield* Effect.forEach(
          registered,
          (src) => Effect.flatMap(discovery(keyOf(src.provider, src.source), src), Deferred.await),
          { concurrency: "unbounded" }
        )
        return Option.some(lists.flat())
      })

    const entry = (provider: string, source: string) => load(keyOf(provider, source), provider, source)

    return Catalog.of({ ttl, cached, models, refresh, entry })
  })

const resolveTtl = (options: CatalogOptions): Effect.Effect<Duration.Duration, ConfigError.ConfigError> =>
  options.ttl !== undefined ? Effect.succeed(Duration.decode(options.ttl)) : ttlConfig

const makeWith = (options: CatalogOptions) =>
  Effect.flatMap(resolveTtl(options), (ttl) =>
    make({
      ttl,
      ...(options.retryAfterFailure !== undefined ? { retryAfterFailure: options.retryAfterFailure } : {}),
      ...(options.settleOnClose !== undefined ? { settleOnClose: options.settleOnClose } : {})
    })
  )

/** A catalog over the `KeyValueStore` in the context (any store: tests use a temporary directory). */
export const layerStore = (options: CatalogOptions = {}): Layer.Layer<Catalog, ConfigError.ConfigError, KeyValueStore.KeyValueStore> =>
  Layer.scoped(Catalog, makeWith(options))

/** A catalog in memory only (tests, or when nothing should touch the disk). */
export const layerMemory = (options: CatalogOptions = {}): Layer.Layer<Catalog, ConfigError.ConfigError> =>
  layerStore(options).pipe(Layer.provide(KeyValueStore.layerMemory))

const isNotFound = (error: PlatformError.PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

/**
 * A `KeyValueStore` of one file a key in `directory` (the key URI-encoded as the file name),
 * like `KeyValueStore.layerFileSystem` but lazy and atomic: the directory is created on the
 * first write (reading an absent one is reading an empty store, so a program that never caches
 * leaves nothing on disk), and each value is written to a temporary file renamed into place, so
 * a reader (another process) never sees half an entry.
 */
export const fileSystemStore = (
  directory: string
): Effect.Effect<KeyValueStore.KeyValueStore, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const fileOf = (key: string) => path.join(directory, encodeURIComponent(key))
    const absentAsNone = <A>(read: Effect.Effect<A, PlatformError.PlatformError>) =>
      read.pipe(
        Effect.map(Option.some),
        Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<A>()))
      )
    const write = (key: string, value: string | Uint8Array) =>
      Effect.gen(function* () {
        yield* fs.makeDirectory(directory, { recursive: true })
        const file = fileOf(key)
        const temp = `${file}.${randomUUID().slice(0, 8)}.tmp`
        yield* (typeof value === "string" ? fs.writeFileString(temp, value) : fs.writeFile(temp, value)).pipe(
          Effect.zipRight(fs.rename(temp, file)),
          Effect.onError(() => Effect.ignore(fs.remove(temp)))
        )
      })
    return KeyValueStore.make({
      get: (key) => absentAsNone(fs.readFileString(fileOf(key))),
      getUint8Array: (key) => absentAsNone(fs.readFile(fileOf(key))),
      set: write,
      remove: (key) => fs.remove(fileOf(key)).pipe(Effect.catchIf(isNotFound, () => Effect.void)),
      clear: fs.remove(directory, { recursive: true }).pipe(Effect.catchIf(isNotFound, () => Effect.void)),
      size: fs.readDirectory(directory).pipe(
        Effect.map((files) => files.filter((file) => !file.endsWith(".tmp")).length),
        Effect.catchIf(isNotFound, () => Effect.succeed(0))
      )
    })
  })

/**
 * The catalog on disk, in `<cache directory>/catalog` (see `cacheDirectoryConfig`). Nothing is
 * created until a model list is stored; when the directory cannot be written, the catalog still
 * answers from memory: caching is an optimisation, never a reason to fail.
 */
export const layer = (
  options: CatalogOptions = {}
): Layer.Layer<Catalog, ConfigError.ConfigError, FileSystem.FileSystem | Path.Path> =>
  Layer.unwrapEffect(
    Effect.map(options.directory !== undefined ? Effect.succeed(options.directory) : cacheDirectoryConfig, (directory) =>
      layerStore(options).pipe(Layer.provide(Layer.effect(KeyValueStore.KeyValueStore, fileSystemStore(nodePath.join(directory, "catalog")))))
    )
  )
