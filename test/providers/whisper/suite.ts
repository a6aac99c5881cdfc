/**
 * The Whisper provider's behaviour against a running STT service at `baseUrl()` (our service in
 * this process, or a separately started one): discovery, transcription of file, bytes and data
 * URL sources into `Text` with timed segments, subtitles through `extra.format` and
 * `renderTranscript`, and the typed errors of bad requests. Only what holds for any instance of
 * our service with its default options is asserted here.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { Audio, fromBytes, fromFile, fromUrl, Text } from "../../../src/domain/Asset.js"
import type { MediaProviderService } from "../../../src/domain/MediaProvider.js"
import * as Whisper from "../../../src/providers/whisper/index.js"
import { ffmpegConvert, fliteSpeak, probeFile } from "../../support/media.js"
import { wordErrorRate } from "../../support/wer.js"

/** What the suite's recording says. */
export const spokenText = "The quick brown fox jumps over the lazy dog. The children are playing in the park."

/** Run the provider suite against the service at `baseUrl()`. */
export const whisperProviderSuite = (label: string, baseUrl: () => string) => {
  describe(`Whisper provider (${label})`, () => {
    let dir: string
    let wav: string
    let mp3: string
    let duration: number

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "automarket-whisper-suite-"))
      wav = join(dir, "speech.wav")
      mp3 = join(dir, "speech.mp3")
      fliteSpeak(spokenText, wav)
      ffmpegConvert(wav, mp3, ["-c:a", "libmp3lame"])
      duration = probeFile(wav).duration
    })

    afterAll(() => {
      rmSync(dir, { recursive: true, force: true })
    })

    const provider: Effect.Effect<MediaProviderService, never, HttpClient.HttpClient> = Effect.suspend(() =>
      Whisper.make({ url: Effect.sync(baseUrl), configured: true })
    )

    /** The provider's default speech-to-text model. */
    const defaultModel = Effect.flatMap(provider, (p) => p.speechToText())

    const expectTimed = (result: Text) => {
      const segments = result.segments ?? []
      expect(segments.length).toBeGreaterThanOrEqual(2)
      let previousEnd = 0
      for (const segment of segments) {
        expect(segment.start).toBeGreaterThanOrEqual(previousEnd)
        expect(segment.end).toBeGreaterThan(segment.start)
        expect(segment.text).toBe(segment.text.trim())
        expect(segment.text.length).toBeGreaterThan(0)
        previousEnd = segment.end
      }
      expect(previousEnd).toBeLessThanOrEqual(duration + 0.001)
    }

    // Live clock (real timeouts and retries), one HTTP client for the block.
    layer(NodeHttpClient.layerUndici, { excludeTestServices: true })((it) => {
      it.effect("is a local, free speech-to-text provider naming the service's engine as its model", () =>
        Effect.gen(function* () {
          const p = yield* provider
          expect(p.id).toBe("whisper")
          expect(p.type).toBe("local")
          expect(p.capabilities).toEqual(["speech-to-text"])
          expect(yield* p.isAvailable).toBe(true)
          expect(yield* p.models).toEqual([
            expect.objectContaining({ id: "pocketsphinx-en-us", provider: "whisper", free: true, capabilities: ["speech-to-text"] })
          ])
        })
      )

      it.effect("transcribes a file into Text with timed segments, language and origin", () =>
        Effect.gen(function* () {
          const model = yield* defaultModel
          const result = yield* model.transform(new Audio({ source: fromFile(wav), mimeType: "audio/wav" }))
          expect(result).toBeInstanceOf(Text)
          expect(wordErrorRate(spokenText, result.text)).toBeLessThanOrEqual(0.25)
          expect(result.language).toBe("en")
          expect(result.origin).toEqual({ provider: "whisper", model: "pocketsphinx-en-us", costUsd: 0 })
          expectTimed(result)
          expect(result.segments?.map((s) => s.text).join(" ")).toBe(result.text)
        })
      )

      it.effect("transcribes bytes (mp3) and a data: URL", () =>
        Effect.gen(function* () {
          const model = yield* defaultModel
          const bytes = new Uint8Array(readFileSync(mp3))
          const fromMp3 = yield* model.transform(new Audio({ source: fromBytes(bytes), mimeType: "audio/mpeg" }), { language: "en" })
          expect(wordErrorRate(spokenText, fromMp3.text)).toBeLessThanOrEqual(0.25)
          const dataUrl = `data:audio/wav;base64,${readFileSync(wav).toString("base64")}`
          const fromData = yield* model.transform(new Audio({ source: fromUrl(dataUrl), mimeType: "audio/wav" }))
          expect(wordErrorRate(spokenText, fromData.text)).toBeLessThanOrEqual(0.25)
        })
      )

      it.effect("extra.format srt gives SubRip text; renderTranscript writes the same segments as vtt and tsv", () =>
        Effect.gen(function* () {
          const model = yield* defaultModel
          const result = yield* model.transform(new Audio({ source: fromFile(wav), mimeType: "audio/wav" }), { extra: { format: "srt" } })
          expectTimed(result)
          const segments = result.segments ?? []
          expect(result.text).toMatch(/^1\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\n\S/)
          expect(result.text.trim().split("\n\n")).toHaveLength(segments.length)
          const vtt = Whisper.renderTranscript(result, "vtt")
          expect(vtt.startsWith("WEBVTT\n\n")).toBe(true)
          expect(vtt.match(/ --> /g)).toHaveLength(segments.length)
          const tsv = Whisper.renderTranscript(result, "tsv").trim().split("\n")
          expect(tsv[0]).toBe("start\tend\ttext")
          expect(tsv[1]).toBe(`${Math.round(segments[0]!.start * 1000)}\t${Math.round(segments[0]!.end * 1000)}\t${segments[0]!.text}`)
        })
      )

      it.effect("bad requests are InvalidInput: corrupt audio, another language, unknown format, missing file, odd URL", () =>
        Effect.gen(function* () {
          const model = yield* defaultModel
          const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 251)
          const cases = [
            [new Audio({ source: fromBytes(garbage), mimeType: "audio/wav" }), {}, /could not be decoded/],
            [new Audio({ source: fromFile(wav), mimeType: "audio/wav" }), { language: "de" }, /English \(en\) only/],
            [new Audio({ source: fromFile(wav), mimeType: "audio/wav" }), { extra: { format: "docx" } }, /extra.format/],
            [new Audio({ source: fromFile(join(dir, "missing.wav")), mimeType: "audio/wav" }), {}, /cannot read/],
            [new Audio({ source: fromUrl("ftp://example.invalid/a.wav"), mimeType: "audio/wav" }), {}, /unsupported URL/]
          ] as const
          for (const [audio, options, message] of cases) {
            const error = yield* Effect.flip(model.transform(audio, options))
            expect(error._tag).toBe("InvalidInput")
            expect(error.message).toMatch(message)
          }
        })
      )
    })
  })
}
