/**
 * Replicate's catalog, walked: the emulator serves a model or more in every collection the
 * provider reads (`fullCatalog`, each with its latest version's Cog schema), the provider
 * discovers them, and every model is called under every capability it is listed for. Each call
 * must succeed, and each must have reached the model: the walk's text and picture or recording
 * sit in fields the model's schema declares (a field it does not declare is one the model never
 * reads).
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import * as Replicate from "../../../src/providers/replicate/index.js"
import { fullCatalog, makeReplicate, serve } from "../../emulators/replicate.js"
import { replicateCatalogSchemas } from "../../emulators/Schemas.js"
import { walkCatalog } from "../../support/CatalogWalk.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-replicate-walk-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

// The texts the walk sends (see test/support/CatalogWalk.ts) and its inlined assets.
const walkTexts = new Set(["a lighthouse at dusk", "make it night", "waves at dusk", "the waves roll in", "birdsong at dawn", "Hello there"])
const isWalkValue = (value: unknown): boolean =>
  typeof value === "string" ? walkTexts.has(value) || value.startsWith("data:") : Array.isArray(value) && value.some(isWalkValue)

// The top-level fields a Cog document's `Input` declares.
const declared = (document: Record<string, unknown>): ReadonlyArray<string> => {
  const components = document.components as { schemas: { Input: { properties: Record<string, unknown> } } }
  return Object.keys(components.schemas.Input.properties)
}

describe("Replicate's catalog, walked", () => {
  it.scopedLive("every model listed under a capability runs there, its input where the model reads it", () =>
    Effect.gen(function* () {
      const schemas = replicateCatalogSchemas()
      const emulator = yield* serve(makeReplicate({ collections: fullCatalog, schemas, processingSteps: 1 }))
      // Polled every 10 ms, no client-side pacing; of the environment only the leave to download from the emulator on 127.0.0.1.
      const provider = yield* Replicate.make({
        downloadDir: dir,
        pollSchedule: Schedule.spaced("10 millis"),
        config: { apiKey: emulator.settings.token, baseUrl: emulator.baseUrl, retries: 0, rateLimits: {} }
      })
      const models = yield* provider.models
      const steps = yield* walkCatalog(provider)
      // Every capability Replicate's collections map to is listed, so each is exercised.
      expect([...new Set(steps.map((step) => step.capability))].sort()).toEqual([
        "image-to-image",
        "image-to-video",
        "image-upscaling",
        "speech-to-text",
        "text-to-audio",
        "text-to-image",
        "text-to-speech",
        "text-to-video"
      ])
      expect(steps.filter((step) => step.failure !== undefined)).toEqual([])
      // 22 calls (5 text-to-image, 3 image-to-image, 1 image-upscaling, 2 text-to-video, 3 image-to-video,
      // 2 text-to-audio, 3 text-to-speech, 3 speech-to-text), one prediction each: nothing refused and retried, nothing sent twice.
      expect(steps.length).toBe(22)
      expect(emulator.predictions.size).toBe(steps.length)
      // The models of two collections are called under both.
      const listedUnder = (id: string) => models.find((model) => model.id === id)?.capabilities
      expect(listedUnder("google/nano-banana")).toEqual(["text-to-image", "image-to-image"])
      expect(listedUnder("minimax/video-01")).toEqual(["text-to-video", "image-to-video"])
      // Community models are listed at their latest version (they run by version only), or at the
      // version the curated table pins (Real-ESRGAN).
      const ids = models.map((model) => model.id)
      expect(ids.filter((id) => id.includes(":")).map((id) => id.split(":")[0]).sort()).toEqual([
        "bytedance/sdxl-lightning-4step",
        "emu/tunes",
        "jaaari/kokoro-82m",
        "nightmareai/real-esrgan",
        "tencent/hunyuan-video",
        "vaibhavs10/incredibly-fast-whisper",
        "victor-upmeet/whisperx"
      ])
      // A community model with no version cannot run, a language model is in no collection read.
      expect(ids.some((id) => id.startsWith("emu/unreleased"))).toBe(false)
      expect(ids).not.toContain("meta/meta-llama-3-8b-instruct")
      // Each prediction's text and asset went where its model reads them.
      const misplaced = [...emulator.predictions.values()].flatMap((prediction) => {
        const document = schemas[prediction.model]
        expect(document, prediction.model).toBeDefined()
        const fields = declared(document!)
        return Object.entries(prediction.input)
          .filter(([field, value]) => isWalkValue(value) && !fields.includes(field))
          .map(([field]) => `${prediction.model}: ${field}`)
      })
      expect(misplaced).toEqual([])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["AUTOMARKET_ALLOW_LOOPBACK_HTTP", "1"]])))), 60_000)
})
