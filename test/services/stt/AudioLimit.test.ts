/**
 * The STT service caps the duration of the audio it decodes: a small FLAC that decompresses to
 * far more sound than the service transcribes (656 KB of FLAC became 115 MB of WAV) is refused
 * with a 400 naming the limit, and decoding stops at the limit instead of writing the whole of it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/stt/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { fliteSpeak } from "../../support/media.js"

const maxAudioSeconds = 60
let root: string
let server: RunningServer
let flac: Uint8Array
let speech: Uint8Array
const workDir = () => join(root, "work")

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-stt-audio-limit-"))
  // Ten minutes of silence: about 100 KB of FLAC, 19 MB once decoded to 16 kHz mono WAV.
  const long = join(root, "long.flac")
  execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "600", "-c:a", "flac", long])
  flac = new Uint8Array(readFileSync(long))
  const wav = join(root, "speech.wav")
  fliteSpeak("Good morning.", wav)
  speech = new Uint8Array(readFileSync(wav))
  server = await startServer(
    layer({ host: "127.0.0.1", port: 0, workDir: workDir(), maxBodyBytes: 4 * 1024 * 1024, concurrency: 1 }, { maxAudioSeconds })
  )
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

// The bytes under the work directory now (files vanish as requests end: a missing one is 0).
const stored = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((total, entry) => {
    const path = join(dir, entry.name)
    try {
      return total + (entry.isDirectory() ? stored(path) : statSync(path).size)
    } catch {
      return total
    }
  }, 0)

const asr = (body: Uint8Array, name: string) => {
  const form = new FormData()
  form.append("audio_file", new Blob([body]), name)
  return fetch(`${server.url}/asr?output=json`, { method: "POST", body: form })
}

describe("STT service: the duration of decoded audio", () => {
  it("ten minutes of FLAC with a one-minute cap: a 400 naming the limit, and never more than the cap written", async () => {
    let most = 0
    const watch = setInterval(() => {
      most = Math.max(most, stored(workDir()))
    }, 20)
    try {
      const response = await asr(flac, "long.flac")
      expect(response.status).toBe(400)
      expect(await response.text()).toContain(`at most ${maxAudioSeconds} seconds`)
    } finally {
      clearInterval(watch)
    }
    // The upload plus at most a minute (and a second) of 16 kHz 16-bit mono: not 19 MB.
    expect(most).toBeLessThan(flac.length + (maxAudioSeconds + 1) * 32_000 + 64 * 1024)
  })

  it("audio within the cap is transcribed", async () => {
    const response = await asr(speech, "speech.wav")
    expect(response.status).toBe(200)
    expect((await response.text()).toLowerCase()).toContain("morning")
  })
})
