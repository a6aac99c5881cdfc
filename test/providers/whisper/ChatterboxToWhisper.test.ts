/**
 * End to end through the providers: the Chatterbox provider speaks three sentences with our TTS
 * service, the Whisper provider transcribes the resulting `Audio` asset (a file) with our STT
 * service, and the transcript's word error rate is at most 25 %. Both services run in this process.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer as withLayer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll } from "vitest"
import { text } from "../../../src/domain/Asset.js"
import * as Chatterbox from "../../../src/providers/chatterbox/index.js"
import * as Whisper from "../../../src/providers/whisper/index.js"
import { layer as sttLayer } from "../../../src/services/stt/Server.js"
import { layer as ttsLayer } from "../../../src/services/tts/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { wordErrorRate } from "../../support/wer.js"

const sentences = "The quick brown fox jumps over the lazy dog. I would like a cup of coffee. The children are playing in the park."

let outputDir: string
let tts: RunningServer
let stt: RunningServer

beforeAll(async () => {
  outputDir = mkdtempSync(join(tmpdir(), "automarket-e2e-"))
  const options = { host: "127.0.0.1", port: 0, maxBodyBytes: 16 * 1024 * 1024, concurrency: 2 }
  ;[tts, stt] = await Promise.all([startServer(ttsLayer(options)), startServer(sttLayer(options))])
})

afterAll(async () => {
  await Promise.all([tts?.stop(), stt?.stop()])
  rmSync(outputDir, { recursive: true, force: true })
})

withLayer(NodeHttpClient.layerUndici, { excludeTestServices: true })("Chatterbox -> Whisper through the providers", (it) => {
  for (const format of ["wav", "opus"] as const) {
    it.effect(`speaks and transcribes three sentences (${format}), WER <= 25 %`, () =>
      Effect.gen(function* () {
        const speaker = yield* Effect.flatMap(Chatterbox.make({ url: Effect.succeed(tts.url), configured: true }, { outputDir }), (p) =>
          p.textToSpeech()
        )
        const listener = yield* Effect.flatMap(Whisper.make({ url: Effect.succeed(stt.url), configured: true }), (p) => p.speechToText())
        const audio = yield* speaker.transform(text(sentences), { format })
        const heard = yield* listener.transform(audio)
        const wer = wordErrorRate(sentences, heard.text)
        console.log(`providers end to end (${format}): WER ${(wer * 100).toFixed(1)} %: "${heard.text}"`)
        expect(wer).toBeLessThanOrEqual(0.25)
        expect(heard.segments?.length).toBeGreaterThanOrEqual(2)
        expect(heard.segments?.at(-1)?.end ?? Infinity).toBeLessThanOrEqual((audio.duration ?? 0) + 0.001)
        expect(heard.origin?.provider).toBe("whisper")
        expect(audio.origin?.provider).toBe("chatterbox")
      })
    )
  }
})
