/**
 * The STT service with a pocketsphinx that, when armed, ignores SIGTERM and never ends: the
 * engine timeout, a client going away and the shutdown each stop it (see `../runaway.ts`).
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/stt/Server.js"
import { startServer } from "../../support/inProcessServer.js"
import { fliteSpeak } from "../../support/media.js"
import { runawaySuite, stubbornEngine } from "../runaway.js"

let root: string
let pocketsphinx: string
let speech: Uint8Array

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "automarket-stt-runaway-"))
  pocketsphinx = stubbornEngine(root, "stubborn-pocketsphinx", "pocketsphinx_continuous")
  const wav = join(root, "speech.wav")
  fliteSpeak("Good morning.", wav)
  speech = new Uint8Array(readFileSync(wav))
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

const asr = (url: string, signal?: AbortSignal) => {
  const form = new FormData()
  form.append("audio_file", new Blob([speech]), "speech.wav")
  return fetch(`${url}/asr?output=json`, { method: "POST", body: form, ...(signal !== undefined ? { signal } : {}) })
}

runawaySuite(
  "STT service",
  {
    start: (engineTimeout, workDir, maxQueued) =>
      startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes: 1024 * 1024, concurrency: 1, engineTimeout, maxQueued }, { pocketsphinx })),
    arm: () => writeFileSync(join(root, "hang"), ""),
    disarm: () => rmSync(join(root, "hang"), { force: true }),
    hanging: (url, signal) => asr(url, signal),
    served: (url) => asr(url),
    marker: () => [pocketsphinx],
    timedOut: { status: 500, says: "pocketsphinx took longer than 8s and was stopped" },
    shutDown: { status: 503 }
  },
  () => root
)
