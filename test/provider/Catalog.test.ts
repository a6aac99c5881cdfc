/**
 * The model catalog: TTL, stale-while-revalidate and shared refreshes under `TestClock`; a
 * corrupt file on a real file-system store is ignored and rebuilt; an unreachable provider
 * serves its last catalog with degraded health; forced refresh; the background refresh ends
 * with the catalog's scope.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { text } from "../../src/domain/Asset.js"
import { NetworkError, type MediaError } from "../../src/domain/Errors.js"
import type { ProviderModel } from "../../src/domain/Model.js"
import * as Catalog from "../../src/provider/Catalog.js"
import * as Provider from "../../src/provider/Provider.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { model } from "../support/TestProviders.js"

const listed = (provider: string, ...ids: Array<string>): ReadonlyArray<ProviderModel> =>
  ids.map((id) => ({ ...model(id, ["text-to-text"], 0), provider }))

/**
 * A discovery whose answers are scripted: each call takes `latency` and answers the next list
 * (or the error, while `failing` is set). Counts its calls.
 */
const scripted = (provider: string, latency: Duration.DurationInput = Duration.zero) =>
  Effect.gen(function* () {
    const calls = yield* Ref.make(0)
    const failing = yield* Ref.make<MediaError | undefined>(undefined)
    const discover = Effect.gen(function* () {
      const n = yield* Ref.updateAndGet(calls, (c) => c + 1)
      yield* Effect.sleep(latency)
      const error = yield* Ref.get(failing)
      if (error !== undefined) return yield* Effect.fail(error)
      return listed(provider, `${provider}-v${n}`)
    })
    return { calls, failing, discover, source: { provider, source: "http://127.0.0.1:1/v1", discover } }
  })

const ids = (models: ReadonlyArray<ProviderModel>) => models.map((m) => m.id)

const memory = (ttl: Duration.DurationInput = "24 hours") => Catalog.layerMemory({ ttl })

describe("Catalog", () => {
  it.effect("answers from the cache within the TTL, and discovers again after it", () =>
    Effect.gen(function* () {
      const catalog = yield* Catalog.Catalog
      const p = yield* scripted("together")
      expect(ids(yield* catalog.models(p.source))).toEqual(["together-v1"])
      yield* TestClock.adjust("23 hours")
      expect(ids(yield* catalog.models(p.source))).toEqual(["together-v1"])
      expect(yield* Ref.get(p.calls)).toBe(1)
      // Past the TTL: the stale list answers, a refresh runs; the next read sees its result.
      yield* TestClock.adjust("2 hours")
      expect(ids(yield* catalog.models(p.source))).toEqual(["together-v1"])
      yield* Effect.yieldNow()
      expect(ids(yield* catalog.models(p.source))).toEqual(["together-v2"])
      expect(yield* Ref.get(p.calls)).toBe(2)
    }).pipe(Effect.provide(memory())))

  it.effect("stale-while-revalidate: the stale list answers at once, one background refresh lands, the next read sees it", () =>
    Effect.gen(function* () {
      const catalog = yield* Catalog.Catalog
      const p = yield* scripted("together", "5 seconds")
      const first = yield* Effect.fork(catalog.models(p.source))
      yield* TestClock.adjust("5 seconds")
      expect(ids(yield* Fiber.join(first))).toEqual(["together-v1"])
      yield* TestClock.adjust("25 hours")
      // No time passes: these answer from the stale entry, and share one refresh.
      const stale = yield* Effect.all([catalog.models(p.source), catalog.models(p.source), catalog.models(p.source)], {
        concurrency: "unbounded"
      })
      expect(stale.map(ids)).toEqual([["together-v1"], ["together-v1"], ["together-v1"]])
      expect(yield* Ref.get(p.calls)).toBe(2)
      // While the refresh runs, reads still answer the old list and start nothing new.
      yield* TestClock.adjust("2 seconds")
      expect(ids(yield* catalog.models(p.source))).toEqual(["together-v1"])
      expect(yield* Ref.get(p.calls)).toBe(2)
      yield* TestClock.adjust("3 seconds")
      expect(ids(yield* catalog.models(p.source))).toEqual(["together-v2"])
      expect(yield* Ref.get(p.calls)).toBe(2)
      const entry = yield* catalog.entry("together", p.source.source)
      expect(Option.map(entry, (e) => e.fetchedAt)).toEqual(Option.some(Duration.toMillis("25 hours") + 10_000))
    }).pipe(Effect.provide(memory())))

  it.effect("concurrent reads of an empty catalog share one discovery", () =>
    Effect.gen(function* () {
      const catalog = yield* Catalog.Catalog
      const p = yield* scripted("openrouter", "1 second")
      const readers = yield* Effect.fork(Effect.all(Array.from({ length: 5 }, () => catalog.models(p.source)), { concurrency: "unbounded" }))
      yield* TestClock.adjust("1 second")
      const lists = yield* Fiber.join(readers)
      expect(lists.map(ids)).toEqual(Array.from({ length: 5 }, () => ["openrouter-v1"]))
      expect(yield* Ref.get(p.calls)).toBe(1)
    }).pipe(Effect.provide(memory())))

  it.effect("with no entry, a failed discovery is the answer, and it is asked again after the back-off", () =>
    Effect.gen(function* () {
      const catalog = yield* Catalog.Catalog
      const p = yield* scripted("together")
      yield* Ref.set(p.failing, new NetworkError({ provider: "together", detail: "connection refused" }))
      const result = yield* Effect.either(catalog.models(p.source))
      expect(Either.isLeft(result) && result.left).toMatchObject({ _tag: "NetworkError", message: "together: connection refused" })
      // Nothing was stored. Within the back-off the failure answers again without a call ...
      yield* Ref.set(p.failing, undefined)
      const again = yield* Effect.either(catalog.models(p.source))
      expect(Either.isLeft(again) && again.left._tag).toBe("NetworkError")
      expect(yield* Ref.get(p.calls)).toBe(1)
      // ... and after it, once the provider answers, it is discovered.
      yield* TestClock.adjust("1 minute")
      expect(ids(yield* catalog.models(p.source))).toEqual(["together-v2"])
    }).pipe(Effect.provide(memory())))

  it.effect("refresh discovers now even when fresh; it fails with the discovery error and keeps the old entry", () =>
    Effect.gen(function* () {
      const catalog = yield* Catalog.Catalog
      const p = yield* scripted("together")
      const models = yield* catalog.cached(p.source)
      expect(ids(yield* models)).toEqual(["together-v1"])
      expect(yield* catalog.refresh("together")).toEqual(Option.some(listed("together", "together-v2")))
      expect(ids(yield* models)).toEqual(["together-v2"])
      expect(yield* Ref.get(p.calls)).toBe(2)
      yield* Ref.set(p.failing, new NetworkError({ provider: "together", detail: "down" }))
      const failed = yield* Effect.either(catalog.refresh("together"))
      expect(Either.isLeft(failed) && failed.left._tag).toBe("NetworkError")
      expect(ids(yield* models)).toEqual(["together-v2"])
      // A provider whose models are not cached: nothing to refresh.
      expect(yield* catalog.refresh("ffmpeg")).toEqual(Option.none())
    }).pipe(Effect.provide(memory())))

  it.effect("entries are kept apart by source: an emulator's models never mix with the real API's", () =>
    Effect.gen(function* () {
      const catalog = yield* Catalog.Catalog
      const real = { provider: "together", source: "https://api.together.xyz/v1", discover: Effect.succeed(listed("together", "real")) }
      const emulator = { provider: "together", source: "http://127.0.0.1:4010/v1", discover: Effect.succeed(listed("together", "emulated")) }
      expect(ids(yield* catalog.models(real))).toEqual(["real"])
      expect(ids(yield* catalog.models(emulator))).toEqual(["emulated"])
      expect(ids(yield* catalog.models(real))).toEqual(["real"])
      expect(Catalog.keyOf("together", real.source)).not.toEqual(Catalog.keyOf("together", emulator.source))
    }).pipe(Effect.provide(memory())))

  const untilSleeping = (n: number): Effect.Effect<void> =>
    Effect.flatMap(TestClock.sleeps(), (sleeps) => (sleeps.length >= n ? Effect.void : Effect.zipRight(Effect.yieldNow(), untilSleeping(n))))

  /** A catalog in its own scope, and a source whose refreshes (after the first) take `latency` or never end. */
  const closing = (latency: Duration.DurationInput | "never") =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const catalog = Context.get(yield* Layer.buildWithScope(Catalog.layerMemory({ ttl: "1 hour", settleOnClose: "3 seconds" }), scope), Catalog.Catalog)
      const interrupted = yield* Deferred.make<void>()
      const calls = yield* Ref.make(0)
      const source = {
        provider: "replicate",
        source: "",
        discover: Effect.flatMap(Ref.updateAndGet(calls, (n) => n + 1), (n) =>
          n === 1
            ? Effect.succeed(listed("replicate", "r1"))
            : Effect.onInterrupt(latency === "never" ? Effect.never : Effect.as(Effect.sleep(latency), listed("replicate", "r2")), () =>
                Deferred.succeed(interrupted, undefined)
              )
        )
      }
      expect(ids(yield* catalog.models(source))).toEqual(["r1"])
      yield* TestClock.adjust("2 hours")
      expect(ids(yield* catalog.models(source))).toEqual(["r1"])
      yield* Effect.yieldNow()
      expect(yield* Ref.get(calls)).toBe(2)
      return { scope, catalog, interrupted }
    })

  it.effect("the background refresh does not outlive the catalog's scope: closing by interruption stops it at once", () =>
    Effect.gen(function* () {
      const { interrupted, scope } = yield* closing("never")
      expect(yield* Deferred.isDone(interrupted)).toBe(false)
      yield* Scope.close(scope, Exit.interrupt(FiberId.none))
      expect(yield* Deferred.isDone(interrupted)).toBe(true)
    }))

  it.effect("closing normally gives a running refresh `settleOnClose` to land, then interrupts it", () =>
    Effect.gen(function* () {
      const quick = yield* closing("2 seconds")
      const closed = yield* Effect.fork(Scope.close(quick.scope, Exit.void))
      // Let the closing fiber start its timed wait (a second sleep) before the clock moves.
      yield* untilSleeping(2)
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(closed)
      expect(yield* Deferred.isDone(quick.interrupted)).toBe(false)
      expect(Option.map(yield* quick.catalog.entry("replicate", ""), (e) => ids(e.models))).toEqual(Option.some(["r2"]))
      const stuck = yield* closing("never")
      const closing2 = yield* Effect.fork(Scope.close(stuck.scope, Exit.void))
      yield* untilSleeping(1)
      yield* TestClock.adjust("2 seconds")
      expect(yield* Deferred.isDone(stuck.interrupted)).toBe(false)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing2)
      expect(yield* Deferred.isDone(stuck.interrupted)).toBe(true)
    }))

  it.effect("the TTL comes from AUTOMARKET_CATALOG_TTL (a duration or milliseconds), the directory from the environment", () =>
    Effect.gen(function* () {
      const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
      const ttl = (env: Record<string, string>) => Effect.map(Catalog.Catalog, (c) => Duration.toMillis(c.ttl)).pipe(Effect.provide(Catalog.layerMemory()), withEnv(env))
      expect(yield* ttl({})).toBe(Duration.toMillis("24 hours"))
      expect(yield* ttl({ AUTOMARKET_CATALOG_TTL: "6 hours" })).toBe(Duration.toMillis("6 hours"))
      expect(yield* ttl({ AUTOMARKET_CATALOG_TTL: "60000" })).toBe(60_000)
      const dir = (env: Record<string, string>) => Catalog.cacheDirectoryConfig.pipe(withEnv(env))
      expect(yield* dir({ AUTOMARKET_CACHE_DIR: "/tmp/am" })).toBe("/tmp/am")
      expect(yield* dir({ XDG_CACHE_HOME: "/var/cache/me" })).toBe("/var/cache/me/automarket")
      expect(yield* dir({})).toBe(path.join(os.homedir(), ".cache", "automarket"))
    }))
})

describe("Catalog on the file system", () => {
  const tempDir = Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "automarket-catalog-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const onDisk = (directory: string) => Catalog.layer({ directory, ttl: "24 hours" }).pipe(Layer.provide(NodeContext.layer))
  const fileOf = (directory: string, provider: string, source: string) =>
    path.join(directory, "catalog", encodeURIComponent(Catalog.keyOf(provider, source)))

  it.scoped("persists across processes (layers): a second catalog reads the file, no discovery", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const p = yield* scripted("together")
      expect(ids(yield* Effect.flatMap(Catalog.Catalog, (c) => c.models(p.source)).pipe(Effect.provide(onDisk(dir))))).toEqual(["together-v1"])
      const stored = Option.getOrThrow(Catalog.decodeEntry(fs.readFileSync(fileOf(dir, "together", p.source.source), "utf8")))
      expect(stored).toMatchObject({ version: 2, provider: "together", source: p.source.source, models: [{ id: "together-v1" }] })
      expect(ids(yield* Effect.flatMap(Catalog.Catalog, (c) => c.models(p.source)).pipe(Effect.provide(onDisk(dir))))).toEqual(["together-v1"])
      expect(yield* Ref.get(p.calls)).toBe(1)
    }))

  it.scoped("a corrupt or foreign cache file is ignored and rebuilt, never fatal", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const p = yield* scripted("together")
      const file = fileOf(dir, "together", p.source.source)
      fs.mkdirSync(path.dirname(file), { recursive: true })
      // A valid entry whose models were altered after it was sealed (the checksum no longer holds).
      const sealed = Option.getOrThrow(
        Catalog.encodeEntry({ version: 2, provider: "together", source: p.source.source, fetchedAt: 0, models: [] })
      )
      const tampered = sealed.replace(/\n\[\]$/, '\n[{"id":"x"}]')
      expect(tampered).not.toBe(sealed)
      const garbage = [
        "{not json",
        JSON.stringify({ version: 1, provider: "together", models: "nope" }),
        JSON.stringify({ version: 99 }),
        tampered,
        sealed.slice(0, sealed.length - 1)
      ]
      for (const bad of garbage) {
        fs.writeFileSync(file, bad)
        const models = yield* Effect.flatMap(Catalog.Catalog, (c) => c.models(p.source)).pipe(Effect.provide(onDisk(dir)))
        expect(models).toHaveLength(1)
        const rebuilt = Option.getOrThrow(Catalog.decodeEntry(fs.readFileSync(file, "utf8")))
        expect(rebuilt.version).toBe(2)
        expect(rebuilt.models.map((m) => m.id)).toEqual(ids(models))
      }
      expect(yield* Ref.get(p.calls)).toBe(garbage.length)
    }))

  it.scoped("nothing is created on disk until a list is stored; values are written whole (no temporary file left)", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const root = path.join(dir, "cache")
      const p = yield* scripted("together")
      const fresh = { provider: "ffmpeg", source: "", discover: Effect.succeed(listed("ffmpeg", "local")) }
      yield* Effect.flatMap(Catalog.Catalog, (c) => c.entry("together", p.source.source)).pipe(Effect.provide(onDisk(root)))
      expect(fs.existsSync(root)).toBe(false)
      yield* Effect.flatMap(Catalog.Catalog, (c) => c.models(fresh)).pipe(Effect.provide(onDisk(root)))
      expect(fs.readdirSync(path.join(root, "catalog"))).toEqual([encodeURIComponent(Catalog.keyOf("ffmpeg", ""))])
    }))

  it.scoped("a cache directory that cannot be written: the catalog answers from memory", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir
      const blocker = path.join(dir, "file")
      fs.writeFileSync(blocker, "x")
      const p = yield* scripted("together")
      // <file>/catalog cannot be created: the catalog still works, in memory.
      const models = yield* Effect.flatMap(Catalog.Catalog, (c) => Effect.zipRight(c.models(p.source), c.models(p.source))).pipe(
        Effect.provide(onDisk(blocker))
      )
      expect(ids(models)).toEqual(["together-v1"])
      expect(yield* Ref.get(p.calls)).toBe(1)
    }))
})

describe("Provider.make with a Catalog", () => {
  const remote = (discover: Effect.Effect<ReadonlyArray<ProviderModel>, MediaError>, options: Partial<Provider.ProviderSpec> = {}) =>
    Provider.make({
      id: "together",
      name: "Together",
      type: "remote",
      configured: true,
      baseUrl: "http://127.0.0.1:9/v1",
      discover,
      transforms: { "text-to-text": (modelId, input) => Effect.succeed(text(`${modelId}:${input.text}`)) },
      ...options
    })

  it.effect("an unreachable provider serves its last catalog and reports degraded health", () =>
    Effect.gen(function* () {
      const p = yield* scripted("together")
      const provider = yield* remote(p.discover)
      expect(ids(yield* provider.models)).toEqual(["together-v1"])
      expect((yield* provider.getHealth).status).toBe("healthy")
      yield* TestClock.adjust("25 hours")
      yield* Ref.set(p.failing, new NetworkError({ provider: "together", detail: "connection refused" }))
      // Stale: served at once; the background refresh fails.
      expect(ids(yield* provider.models)).toEqual(["together-v1"])
      yield* Effect.yieldNow()
      expect(yield* Ref.get(p.calls)).toBe(2)
      const health = yield* provider.getHealth
      expect(health.status).toBe("degraded")
      expect(health.lastError).toMatch(/connection refused \(serving the cached model list\)/)
      // Reads keep answering from the cache, without hammering the provider, and keep it degraded.
      yield* TestClock.adjust("50 seconds")
      expect(ids(yield* provider.getModelsForCapability("text-to-text"))).toEqual(["together-v1"])
      expect(yield* Ref.get(p.calls)).toBe(2)
      yield* TestClock.adjust("50 seconds")
      expect((yield* provider.getHealth).status).toBe("degraded")
      // The routing still works from the cached catalog.
      const registry = yield* ProviderRegistry.make([provider])
      expect(Option.map(yield* registry.findBest("text-to-text"), (c) => c.model?.id)).toEqual(Option.some("together-v1"))
    }).pipe(Effect.provide(memory())))

  it.effect("a remote provider that does not give its baseUrl is not cached (its entries could not be told apart)", () =>
    Effect.gen(function* () {
      const p = yield* scripted("together")
      const provider = yield* Provider.make({ id: "together", name: "Together", type: "remote", configured: true, discover: p.discover, transforms: {} })
      yield* provider.models
      yield* provider.models
      expect(yield* Ref.get(p.calls)).toBe(2)
    }).pipe(Effect.provide(memory())))

  it.effect("local providers are not cached unless they opt in", () =>
    Effect.gen(function* () {
      const local = yield* scripted("ffmpeg")
      const provider = yield* remote(local.discover, { id: "ffmpeg", type: "local" })
      yield* provider.models
      yield* provider.models
      expect(yield* Ref.get(local.calls)).toBe(2)
      const optedIn = yield* scripted("whisper")
      const cachedLocal = yield* remote(optedIn.discover, { id: "whisper", type: "local", cacheModels: true })
      yield* cachedLocal.models
      yield* cachedLocal.models
      expect(yield* Ref.get(optedIn.calls)).toBe(1)
    }).pipe(Effect.provide(memory())))

  it.effect("without a Catalog in the context, every models call discovers", () =>
    Effect.gen(function* () {
      const p = yield* scripted("together")
      const provider = yield* remote(p.discover)
      yield* provider.models
      yield* provider.models
      expect(yield* Ref.get(p.calls)).toBe(2)
    }))
})
