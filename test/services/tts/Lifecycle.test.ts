/**
 * The TTS service's job queue and shutdown, made deterministic with a stand-in flite that waits
 * for a `go` file: with one slot, a second job waits (counted in /health as queued) until the
 * first is done; a client that disconnects takes its job (and engine process) with it; closing
 * the service's scope kills a running engine process, answers its request 503 and removes its
 * job directory.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, vi } from "vitest"
import { layer } from "../../../src/services/tts/Server.js"
import { gatedFlite, processesMentioning } from "../../support/fakeEngines.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { probeBytes } from "../../support/media.js"

let root: string
let workDir: string
let server: RunningServer | undefined

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-tts-life-"))
  workDir = join(root, "work")
  server = await startServer(
    layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes: 1024 * 1024, concurrency: 1 }, { flite: gatedFlite(root) })
  )
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

const speak = (url: string, text: string) =>
  fetch(`${url}/tts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text, predefined_voice_id: "slt.wav" })
  })

const health = async (url: string) =>
  (await (await fetch(`${url}/health`)).json()) as { activeJobs: number; queuedJobs: number }

/** Wait (bounded) until a job is counted as running and its engine process has started. */
const engineRunning = (url: string) =>
  vi.waitFor(
    async () => {
      expect(await health(url)).toMatchObject({ activeJobs: 1 })
      expect((await processesMentioning(workDir)).length).toBeGreaterThan(0)
    },
    { timeout: 10_000, interval: 25 }
  )

describe("TTS service lifecycle", () => {
  it("runs one job at a time with one slot; the waiting one is counted as queued", async () => {
    const url = server!.url
    const first = speak(url, "First job.")
    const second = speak(url, "Second job.")
    await vi.waitFor(async () => expect(await health(url)).toMatchObject({ activeJobs: 1, queuedJobs: 1 }), { timeout: 10_000, interval: 25 })
    writeFileSync(join(root, "go"), "")
    for (const response of await Promise.all([first, second])) {
      expect(response.status).toBe(200)
      expect(probeBytes(new Uint8Array(await response.arrayBuffer())).codec).toBe("pcm_s16le")
    }
    expect(await health(url)).toMatchObject({ activeJobs: 0, queuedJobs: 0 })
    rmSync(join(root, "go"))
  })

  it("a client that goes away takes its job with it: the engine process is killed, the files removed", async () => {
    const url = server!.url
    const abort = new AbortController()
    const pending = fetch(`${url}/tts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "Nobody waits for this.", predefined_voice_id: "slt.wav" }),
      signal: abort.signal
    }).catch((error: unknown) => error)
    await engineRunning(url)
    abort.abort()
    expect(await pending).toBeInstanceOf(Error)
    await vi.waitFor(
      async () => {
        expect(await processesMentioning(workDir)).toEqual([])
        expect(await health(url)).toMatchObject({ activeJobs: 0, queuedJobs: 0 })
        expect(readdirSync(workDir)).toEqual([])
      },
      { timeout: 10_000, interval: 25 }
    )
  })

  it("closing the service kills the running engine, answers 503 and removes the job files", async () => {
    const url = server!.url
    const pending = speak(url, "This job never finishes.")
    await engineRunning(url)
    const stopping = server!.stop()
    server = undefined
    const response = await pending
    expect(response.status).toBe(503)
    expect(await response.json()).toEqual({ detail: "tts: the service is shutting down" })
    await stopping
    expect(await processesMentioning(workDir)).toEqual([])
    expect(readdirSync(workDir)).toEqual([])
  })
})
