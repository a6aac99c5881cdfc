/**
 * Categorization beyond rules, end to end over real sockets on 127.0.0.1: fal's emulator lists
 * models the rules do not place, OpenRouter's emulator (the only text provider, free models
 * first) answers the questions, scripted by question (`state.answer`).
 *
 * A "session" is one process: its own catalog (over a store the sessions share, as the disk is),
 * categorizer, providers and registry. Closing it lets the questions it started finish
 * (`settleOnClose`), so what they stored is what the next session reads.
 */
import { describe, expect, it } from "@effect/vitest"
import * as KeyValueStore from "@effect/platform/KeyValueStore"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { text } from "../../src/domain/Asset.js"
import type { MediaProviderService } from "../../src/domain/MediaProvider.js"
import type { ProviderModel } from "../../src/domain/Model.js"
import * as UndiciHttpClient from "../../src/http/UndiciHttpClient.js"
import * as Catalog from "../../src/provider/Catalog.js"
import * as Categorizer from "../../src/provider/Categorizer.js"
import * as FalAi from "../../src/providers/falai/index.js"
import * as OpenRouter from "../../src/providers/openrouter/index.js"
import * as Ledger from "../../src/registry/Ledger.js"
import * as ProviderRegistry from "../../src/registry/ProviderRegistry.js"
import { defaultListing, type ListedEntry, makeFal, serve } from "../emulators/falai.js"
import { openrouter, type OpenRouterEmulator, openRouterModelsFixture } from "../emulators/openrouter.js"
import { falQueueDocument, falSchemas } from "../emulators/Schemas.js"
import { env } from "../providers/falai/drive.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-aicat-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const freeModel = "meta-llama/llama-3.3-70b-instruct:free"
const paidModel = "meta-llama/llama-3.3-70b-instruct"
const textModels = openRouterModelsFixture.data.filter((m) => m.id === freeModel || m.id === paidModel)
const orKey = "sk-or-v1-secret-0123456789"

const entry = (id: string, name: string, category: string, description: string): ListedEntry => ({
  endpoint_id: id,
  metadata: { display_name: name, category, status: "active", description }
})
const painter = entry("fal-ai/emu/mystery-painter", "Mystery Painter", "", "Generates images from a text prompt.")
const shy = entry("fal-ai/emu/shy", "Shy", "misc", "Does something.")
const odd = entry("fal-ai/emu/odd", "Odd", "misc", "Animates a still picture.")
const broken = entry("fal-ai/emu/broken", "Broken", "misc", "Answers badly.")
const listing = [...defaultListing, painter, shy, odd, broken]

// The answers, by the model the question names; any other model is claimed to make images; what
// is not a question is echoed.
const answers: Record<string, string> = {
  "fal-ai/emu/mystery-painter": '{"capabilities": ["text-to-image"], "confidence": 0.9}',
  "fal-ai/emu/shy": '{"capabilities": ["text-to-image"], "confidence": 0.4}',
  "fal-ai/emu/odd": '{"capabilities": ["text-to-3d", "text-to-text", "image-to-video"], "confidence": 0.95}',
  "fal-ai/emu/broken": "I think it makes pictures.",
  "emu/mystery-chat": '{"capabilities": ["text-to-text"], "confidence": 0.9}'
}
const answer = (prompt: string): string | undefined => {
  const id = /^Model id: (.*)$/m.exec(prompt)?.[1]
  if (id === undefined) return undefined
  return answers[id] ?? '{"capabilities": ["text-to-image", "text-to-text"], "confidence": 1}'
}

const chats = (or: OpenRouterEmulator) => or.requests.filter((request) => request.path === "/api/v1/chat/completions")
// The models the categorizer asked about, in order (other chats left out).
const asked = (or: OpenRouterEmulator) =>
  chats(or).flatMap((request) => {
    const id = /^Model id: (.*)$/m.exec(String((request.json as { messages: Array<{ content: string }> }).messages.at(-1)?.content))?.[1]
    return id === undefined ? [] : [id]
  })
const find = (models: ReadonlyArray<ProviderModel>, id: string) => models.find((m) => m.id === id)

interface Session {
  readonly fal: MediaProviderService
  readonly openrouter: MediaProviderService
  readonly registry: ProviderRegistry.ProviderRegistryService
  readonly catalog: Catalog.CatalogService
  /** Close the session normally: the questions it started finish first. */
  readonly close: Effect.Effect<void>
}

interface SessionOptions {
  readonly settings?: Partial<Categorizer.CategorizerSettings>
  /** Which providers the registry has (default both). */
  readonly providers?: ReadonlyArray<"fal" | "openrouter">
  /** A categorizer from the environment (`Categorizer.layer`) instead of one with `settings`. */
  readonly fromEnv?: Record<string, string>
}

const session = (
  store: Context.Context<KeyValueStore.KeyValueStore>,
  falUrl: string,
  orUrl: string,
  options: SessionOptions = {}
): Effect.Effect<Session> =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const http = yield* Layer.buildWithScope(UndiciHttpClient.layer, scope)
    const catalog = yield* Catalog.make({ ttl: "1 hour", settleOnClose: "30 seconds" }).pipe(Effect.provide(store), Scope.extend(scope))
    const categorizer = yield* (options.fromEnv !== undefined
      ? Effect.orDie(Effect.withConfigProvider(Effect.flatMap(Categorizer.resolve(), Categorizer.make), env(options.fromEnv)))
      : Categorizer.make({ ...Categorizer.defaultSettings, ...options.settings }))
    const wire = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.provideService(Catalog.Catalog, catalog), Effect.provideService(Categorizer.Categorizer, categorizer))
    const fal = yield* wire(FalAi.make({ downloadDir: dir })).pipe(
      Effect.provide(http),
      Effect.withConfigProvider(
        env({ FALAI_API_KEY: "test-fal-key", FALAI_BASE_URL: falUrl, FALAI_PLATFORM_URL: falUrl, FALAI_RETRIES: "0", AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1", AUTOMARKET_POLL_INTERVAL: "5 millis" })
      ),
      Effect.orDie
    )
    const or = yield* wire(OpenRouter.make({ apiKeys: [Redacted.make(orKey)], baseUrl: orUrl, timeout: Duration.seconds(5), retries: 0 })).pipe(Effect.provide(http))
    const chosen = options.providers ?? ["fal", "openrouter"]
    const registry = yield* wire(ProviderRegistry.make(chosen.map((id) => (id === "fal" ? fal : or))))
    return { fal, openrouter: or, registry, catalog, close: Scope.close(scope, Exit.void) }
  })

/** Both emulators served, and a store shared by the sessions. */
const emulators = (falListing: ReadonlyArray<ListedEntry> = listing, orModels = textModels) =>
  Effect.gen(function* () {
    // The painter publishes an input schema (FLUX.1 [schnell]'s fields): the question names them.
    const schemas = falSchemas()
    schemas[painter.endpoint_id] = falQueueDocument(painter.endpoint_id, "PainterInput", {
      type: "object",
      properties: { prompt: { type: "string" }, image_size: { type: "string" }, num_images: { type: "integer" } },
      required: ["prompt"]
    })
    const fal = yield* serve(makeFal({ listing: falListing, schemas }))
    const or = yield* openrouter({ models: orModels, answer })
    const store = yield* Layer.build(KeyValueStore.layerMemory)
    return { fal, or, store, open: (options?: SessionOptions) => session(store, fal.baseUrl, or.baseUrl, options) }
  })

describe("models no rule places are categorized by a text model (127.0.0.1)", () => {
  it.scopedLive("placed by a valid answer, marked ai, listed and run under that capability; asked of the free model", () =>
    Effect.gen(function* () {
      const { fal, or, open } = yield* emulators()
      const first = yield* open()
      // Discovery answers at once with what the rules placed: nothing was asked before it.
      const listed = yield* first.fal.models
      expect(find(listed, painter.endpoint_id)).toBeUndefined()
      yield* first.close
      expect(new Set(asked(or))).toEqual(new Set([painter.endpoint_id, shy.endpoint_id, odd.endpoint_id, broken.endpoint_id]))
      // Free first: every question went to the free model, none to the paid one.
      expect(new Set(chats(or).map((request) => (request.json as { model: string }).model))).toEqual(new Set([freeModel]))
      const question = chats(or).find((request) => JSON.stringify(request.json).includes(painter.endpoint_id))?.json as { messages: Array<{ role: string; content: string }> }
      expect(question.messages.at(-1)?.content).toContain("Description: Generates images from a text prompt.")
      expect(question.messages.at(-1)?.content).toContain("Input fields: prompt, image_size, num_images")
      expect(question.messages[0]).toMatchObject({ role: "system", content: Categorizer.systemPrompt })
      // The key never travels in a question.
      expect(chats(or).some((request) => JSON.stringify(request.json).includes(orKey))).toBe(false)

      const second = yield* open()
      const models = yield* second.fal.models
      expect(find(models, painter.endpoint_id)).toMatchObject({ capabilities: ["text-to-image"], categorizedBy: "ai", description: "Generates images from a text prompt." })
      const forImages = yield* second.registry.modelsFor("text-to-image")
      expect(forImages.map((m) => m.id)).toContain(painter.endpoint_id)
      const image = yield* second.registry
        .generate("text-to-image", text("a fox"), { providers: ["falai"], models: { falai: painter.endpoint_id } })
        .pipe(Effect.withConfigProvider(env({ AUTOMARKET_ALLOW_LOOPBACK_HTTP: "1" })))
      expect(image.source._tag).toBe("File")
      expect(fal.requests.some((request) => request.method === "POST" && request.url.startsWith(`/${painter.endpoint_id}`))).toBe(true)
      yield* second.close
    }))

  it.scopedLive("each question is a call like any other: in the cost ledger, spent by the categorizer, not by the reader that started discovery", () =>
    Effect.gen(function* () {
      const { open } = yield* emulators()
      const ledger = yield* Ledger.makeMemory
      const first = yield* open()
      yield* first.fal.models.pipe(Effect.provideService(Ledger.CostLedger, ledger), Effect.provideService(Ledger.CurrentSpender, "key:reader"))
      yield* first.close
      const entries = yield* ledger.entries()
      expect(entries.map((e) => [e.provider, e.model, e.capability, e.who])).toEqual(
        Array.from({ length: 4 }, () => ["openrouter", freeModel, "text-to-text", ProviderRegistry.categorizerSpender])
      )
    }))

  it.scopedLive("low confidence places nothing; unknown capabilities and ones fal cannot run are dropped; a malformed answer leaves the model unplaced", () =>
    Effect.gen(function* () {
      const { open } = yield* emulators()
      const first = yield* open()
      yield* first.fal.models
      yield* first.close
      const second = yield* open()
      const models = yield* second.fal.models
      expect(find(models, shy.endpoint_id)).toBeUndefined()
      expect(find(models, odd.endpoint_id)).toMatchObject({ capabilities: ["image-to-video"], categorizedBy: "ai" })
      expect(find(models, broken.endpoint_id)).toBeUndefined()
      yield* second.close
    }))

  it.scopedLive("a rule's placement stands: rule-placed models are never asked about nor changed", () =>
    Effect.gen(function* () {
      const { or, open } = yield* emulators()
      const first = yield* open()
      const before = yield* first.fal.models
      yield* first.close
      const second = yield* open()
      const after = yield* second.fal.models
      // Anything else asked would have been answered "text-to-image and text-to-text, confidence 1".
      for (const ruled of before) {
        expect(find(after, ruled.id)).toEqual(ruled)
        expect(ruled.categorizedBy).toBeUndefined()
      }
      expect(find(after, "fal-ai/emu/listed-video")?.capabilities).toEqual(["text-to-video"])
      expect(asked(or)).not.toContain("fal-ai/emu/listed-video")
      expect(asked(or)).not.toContain("fal-ai/emu/trainer")
      yield* second.close
    }))

  it.scopedLive("answers are cached: the next process asks nothing; a failed one is asked again at the next discovery, not on reads; a changed description again", () =>
    Effect.gen(function* () {
      const { fal, or, open } = yield* emulators()
      const first = yield* open()
      yield* first.fal.models
      yield* first.close
      const firstRound = chats(or).length
      expect(firstRound).toBe(4)

      const second = yield* open()
      yield* second.fal.models
      yield* second.fal.models
      yield* second.close
      expect(chats(or).length).toBe(firstRound)

      // A new discovery: only the model whose answer was malformed, and the one whose listing changed.
      fal.settings.listing = listing.map((model) =>
        model === shy ? entry(shy.endpoint_id, "Shy", "misc", "Now clearly paints pictures.") : model
      )
      const third = yield* open()
      expect(Option.isSome(yield* third.catalog.refresh("falai"))).toBe(true)
      yield* third.close
      expect(asked(or).slice(firstRound).sort()).toEqual([broken.endpoint_id, shy.endpoint_id])
    }))

  it.scopedLive("at most `limit` models are asked about per discovery", () =>
    Effect.gen(function* () {
      const { or, open } = yield* emulators()
      const first = yield* open({ settings: { limit: 1 } })
      yield* first.fal.models
      yield* first.close
      expect(asked(or)).toEqual([painter.endpoint_id])
    }))

  it.scopedLive("off without a text provider: nothing asked, unplaced models left out as before", () =>
    Effect.gen(function* () {
      const { or, open } = yield* emulators()
      const first = yield* open({ providers: ["fal"] })
      const listed = yield* first.fal.models
      yield* first.close
      const second = yield* open({ providers: ["fal"] })
      const again = yield* second.fal.models
      yield* second.close
      expect(chats(or)).toEqual([])
      for (const models of [listed, again]) expect(find(models, painter.endpoint_id)).toBeUndefined()
    }))

  it.scopedLive("models left pending (no text provider then) are asked about on the next process's first read, without a new discovery", () =>
    Effect.gen(function* () {
      const { fal, or, open } = yield* emulators()
      const first = yield* open({ providers: ["fal"] })
      yield* first.fal.models
      yield* first.close
      expect(asked(or)).toEqual([])
      const listings = fal.requests.filter((request) => request.url.split("?")[0] === "/models").length
      const second = yield* open()
      yield* second.fal.models
      yield* second.close
      expect(new Set(asked(or))).toEqual(new Set([painter.endpoint_id, shy.endpoint_id, odd.endpoint_id, broken.endpoint_id]))
      expect(fal.requests.filter((request) => request.url.split("?")[0] === "/models").length).toBe(listings)
      const third = yield* open()
      expect(find(yield* third.fal.models, painter.endpoint_id)).toMatchObject({ categorizedBy: "ai" })
      yield* third.close
    }))

  it.scopedLive("off with AUTOMARKET_AI_CATEGORIZE=0: nothing asked, though a text provider is there", () =>
    Effect.gen(function* () {
      const { or, open } = yield* emulators()
      const first = yield* open({ fromEnv: { AUTOMARKET_AI_CATEGORIZE: "0" } })
      const listed = yield* first.fal.models
      // The text provider works: it was not asked because categorization is off.
      expect(yield* first.registry.generate("text-to-text", text("hi"))).toMatchObject({ text: "Echo: hi" })
      yield* first.close
      expect(chats(or)).toHaveLength(1)
      expect(asked(or)).toEqual([])
      expect(find(listed, painter.endpoint_id)).toBeUndefined()
    }))

  it.scopedLive("no deadlock: OpenRouter, the only text provider, categorizes its own models", () =>
    Effect.gen(function* () {
      // A model that says nothing of its modalities: no rule places it.
      const mystery = { id: "emu/mystery-chat", name: "Mystery chat", description: "A chat model.", pricing: { prompt: "0.000001", completion: "0.000002" } }
      const { or, open } = yield* emulators(listing, [...textModels, mystery])
      const first = yield* open({ providers: ["openrouter"] })
      // The first call of all: routing reads OpenRouter's models (discovery), whose categorization
      // routes back to OpenRouter. It must answer, not wait on itself.
      const hello = yield* first.registry.generate("text-to-text", text("hello")).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "hung" as const }))
      expect(hello.text).toBe("Echo: hello")
      yield* first.close.pipe(Effect.timeoutFail({ duration: "20 seconds", onTimeout: () => "hung on close" as const }))
      expect(asked(or)).toEqual([mystery.id])

      const second = yield* open({ providers: ["openrouter"] })
      const models = yield* second.openrouter.models
      expect(find(models, mystery.id)).toMatchObject({ capabilities: ["text-to-text"], categorizedBy: "ai" })
      const answered = yield* second.registry.generate("text-to-text", text("who are you"), { models: { openrouter: mystery.id }, providers: ["openrouter"] })
      expect(answered.text).toBe("Echo: who are you")
      expect(chats(or).at(-1)?.json).toMatchObject({ model: mystery.id })
      yield* second.close
    }))
})
