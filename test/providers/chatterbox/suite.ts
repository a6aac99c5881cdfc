/**
 * The Chatterbox provider's behaviour against a running TTS service at `baseUrl()` (our service
 * in this process, or a separately started one): discovery, synthesis in each format with the
 * file, mime type, duration and origin it promises, voice selection, and the typed errors of
 * bad requests. Only what holds for any instance of our service with its default options is
 * asserted here (no small body limits, no failing engines: those are in the test file).
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { Audio, fromBytes, text } from "../../../src/domain/Asset.js"
import type { MediaProviderService } from "../../../src/domain/MediaProvider.js"
import * as Chatterbox from "../../../src/providers/chatterbox/index.js"
import { silentWav } from "../../emulators/Samples.js"
import { probeFile } from "../../support/media.js"

/** Run the provider suite against the service at `baseUrl()`. */
export const chatterboxProviderSuite = (label: string, baseUrl: () => string) => {
  describe(`Chatterbox provider (${label})`, () => {
    let outputDir: string

    beforeAll(() => {
      outputDir = mkdtempSync(join(tmpdir(), "automarket-chatterbox-out-"))
    })

    afterAll(() => {
      rmSync(outputDir, { recursive: true, force: true })
    })

    const provider: Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> = Effect.suspend(() =>
      Chatterbox.make({ url: Effect.sync(baseUrl), configured: true }, { outputDir })
    )

    /** The provider's default text-to-speech model (its first voice). */
    const defaultModel = Effect.flatMap(provider, (p) => p.textToSpeech())

    // Live clock (real timeouts and retries), one HTTP client for the block.
    layer(NodeHttpClient.layerUndici, { excludeTestServices: true })((it) => {
      it.effect("is a local, free text-to-speech provider whose models are the service's voices", () =>
        Effect.gen(function* () {
          const p = yield* provider
          expect(p.id).toBe("chatterbox")
          expect(p.type).toBe("local")
          expect(p.capabilities).toEqual(["text-to-speech"])
          expect(yield* p.isAvailable).toBe(true)
          const models = yield* p.models
          expect(models.map((m) => m.id)).toContain("slt.wav")
          for (const model of models) {
            expect(model).toMatchObject({ provider: "chatterbox", free: true, capabilities: ["text-to-speech"], pricing: [] })
          }
          expect((yield* p.getHealth).status).toBe("healthy")
        })
      )

      for (const [format, mimeType, codec] of [
        ["wav", "audio/wav", "pcm_s16le"],
        ["mp3", "audio/mpeg", "mp3"],
        ["opus", "audio/ogg", "opus"]
      ] as const) {
        it.effect(`speaks ${format} into a file with its mime type, duration and origin`, () =>
          Effect.gen(function* () {
            const model = yield* defaultModel
            const audio = yield* model.transform(text("The quick brown fox jumps over the lazy dog."), { format })
            expect(audio).toBeInstanceOf(Audio)
            expect(audio.mimeType).toBe(mimeType)
            expect(audio.source._tag).toBe("File")
            if (audio.source._tag !== "File") return
            expect(audio.source.path.startsWith(outputDir)).toBe(true)
            expect(existsSync(`${audio.source.path}.part`)).toBe(false)
            expect(statSync(audio.source.path).size).toBeGreaterThan(1000)
            const probe = probeFile(audio.source.path)
            expect(probe.codec).toBe(codec)
            expect(audio.duration).toBeDefined()
            expect(Math.abs((audio.duration ?? 0) - probe.duration)).toBeLessThan(0.1)
            expect(audio.origin).toEqual({ provider: "chatterbox", model: model.id, costUsd: 0 })
          })
        )
      }

      it.effect("uses the model's voice, or options.voice by file name or bare name", () =>
        Effect.gen(function* () {
          const p = yield* provider
          const byModel = yield* p.textToSpeech("rms.wav")
          const a = yield* byModel.transform(text("Hello."))
          expect(a.origin?.model).toBe("rms.wav")
          const b = yield* byModel.transform(text("Hello."), { voice: "kal16" })
          const c = yield* byModel.transform(text("Hello."), { voice: "RMS.wav", speed: 2 })
          for (const audio of [a, b, c]) expect(audio.duration).toBeGreaterThan(0.2)
          expect(c.duration).toBeLessThan(a.duration ?? 0)
        })
      )

      it.effect("an unknown voice is ModelNotFound", () =>
        Effect.gen(function* () {
          const model = yield* defaultModel
          const error = yield* Effect.flip(model.transform(text("Hello."), { voice: "nobody.wav" }))
          expect(error._tag).toBe("ModelNotFound")
          expect(error.message).toMatch(/not found/)
        })
      )

      it.effect("reference audio (voice cloning) is InvalidInput: flite cannot clone", () =>
        Effect.gen(function* () {
          const model = yield* defaultModel
          // A real recording, so that the refusal is the service's (the client refuses non-audio itself).
          const reference = new Audio({ source: fromBytes(silentWav(0.5)), mimeType: "audio/wav" })
          const error = yield* Effect.flip(model.transform(text("Hello."), { referenceAudio: reference }))
          expect(error._tag).toBe("InvalidInput")
          expect(error.message).toMatch(/HTTP 400: .*cannot clone/)
        })
      )

      it.effect("empty text, speed out of range and unknown extra parameters are InvalidInput", () =>
        Effect.gen(function* () {
          const model = yield* defaultModel
          for (const [input, options] of [
            [text("   "), {}],
            [text("Hello."), { speed: 9 }],
            [text("Hello."), { extra: { seed: "not a number" } }],
            [text("Hallo."), { extra: { language: "de" } }]
          ] as const) {
            const error = yield* Effect.flip(model.transform(input, options))
            expect(error._tag).toBe("InvalidInput")
          }
        })
      )
    })
  })
}
