/**
 * The round trip through both local services, in this process: the TTS service speaks three
 * ordinary English sentences, the STT service transcribes the audio, and the transcript's word
 * error rate against the text is at most 25 % (measured 8.7 % for both wav and mp3).
 */
import { describe, expect, it } from "@effect/vitest"
import { afterAll, beforeAll } from "vitest"
import { layer as sttLayer } from "../../../src/services/stt/Server.js"
import { layer as ttsLayer } from "../../../src/services/tts/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { probeBytes } from "../../support/media.js"
import { wordErrorRate } from "../../support/wer.js"

const sentences = "The quick brown fox jumps over the lazy dog. I would like a cup of coffee. The children are playing in the park."

let tts: RunningServer
let stt: RunningServer

beforeAll(async () => {
  const options = { host: "127.0.0.1", port: 0, maxBodyBytes: 16 * 1024 * 1024, concurrency: 2 }
  ;[tts, stt] = await Promise.all([startServer(ttsLayer(options)), startServer(sttLayer(options))])
})

afterAll(async () => {
  await Promise.all([tts?.stop(), stt?.stop()])
})

describe("TTS -> STT round trip", () => {
  for (const format of ["wav", "mp3"] as const) {
    it(`speaks three sentences as ${format} and hears them back (WER <= 25 %)`, async () => {
      const spoken = await fetch(`${tts.url}/tts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: sentences, predefined_voice_id: "slt.wav", output_format: format })
      })
      expect(spoken.status).toBe(200)
      const audio = new Uint8Array(await spoken.arrayBuffer())
      const duration = probeBytes(audio).duration
      const form = new FormData()
      form.append("audio_file", new Blob([audio], { type: `audio/${format}` }), `speech.${format}`)
      const heard = await fetch(`${stt.url}/asr?output=json`, { method: "POST", body: form })
      expect(heard.status).toBe(200)
      const json = JSON.parse(await heard.text()) as { text: string; segments: Array<{ start: number; end: number }> }
      const wer = wordErrorRate(sentences, json.text)
      console.log(`round trip (${format}): WER ${(wer * 100).toFixed(1)} %: "${json.text.trim()}"`)
      expect(wer).toBeLessThanOrEqual(0.25)
      expect(json.segments.length).toBeGreaterThanOrEqual(2)
      expect(json.segments[json.segments.length - 1]!.end).toBeLessThanOrEqual(duration + 0.001)
    })
  }
})
