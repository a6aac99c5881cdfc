/**
 * The TTS service with a flite that, when armed, ignores SIGTERM and never ends: the engine
 * timeout, a client going away and the shutdown each stop it (see `../runaway.ts`).
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/tts/Server.js"
import { startServer } from "../../support/inProcessServer.js"
import { runawaySuite, stubbornEngine } from "../runaway.js"

let root: string
let flite: string

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "automarket-tts-runaway-"))
  flite = stubbornEngine(root, "stubborn-flite", "flite")
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

const speak = (url: string, text: string, signal?: AbortSignal) =>
  fetch(`${url}/tts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text, predefined_voice_id: "slt.wav" }),
    ...(signal !== undefined ? { signal } : {})
  })

runawaySuite(
  "TTS service",
  {
    start: (engineTimeout, workDir, maxQueued) =>
      startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes: 1024 * 1024, concurrency: 1, engineTimeout, maxQueued }, { flite })),
    arm: () => writeFileSync(join(root, "hang"), ""),
    disarm: () => rmSync(join(root, "hang"), { force: true }),
    hanging: (url, signal) => speak(url, "This is never said.", signal),
    served: (url) => speak(url, "Hello."),
    marker: () => [flite],
    timedOut: { status: 500, says: "flite took longer than 8s and was stopped" },
    shutDown: { status: 503 }
  },
  () => root
)
