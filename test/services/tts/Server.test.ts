/**
 * The TTS service (Chatterbox TTS Server's API over flite), started in this process on a free
 * port: the routes and their answers, the audio formats (checked with ffprobe), speed, the typed
 * client from the same `HttpApi` definition, bad input (each a clear 4xx/5xx, the service still
 * up), and that no work files are left behind.
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, vi } from "vitest"
import { TtsApi } from "../../../src/services/tts/Api.js"
import { layer } from "../../../src/services/tts/Server.js"
import { failingFlite } from "../../support/fakeEngines.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { probeBytes } from "../../support/media.js"

const maxBodyBytes = 64 * 1024
let root: string
let workDir: string
let server: RunningServer
let failing: RunningServer

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-tts-test-"))
  workDir = join(root, "work")
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes, concurrency: 2 }))
  failing = await startServer(
    layer({ host: "127.0.0.1", port: 0, workDir: join(root, "failing-work"), maxBodyBytes, concurrency: 1 }, { flite: failingFlite(root) })
  )
})

afterAll(async () => {
  await server?.stop()
  await failing?.stop()
  rmSync(root, { recursive: true, force: true })
})

const post = (path: string, body: unknown, base = server.url) =>
  fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })

/** A job's directory goes right after its answer is sent: wait (bounded) for it to be gone. */
const noLeftovers = (dir: string) => vi.waitFor(() => expect(readdirSync(dir)).toEqual([]), { timeout: 5000, interval: 20 })

const audioOf = async (response: Response) => new Uint8Array(await response.arrayBuffer())

const sentence = "The quick brown fox jumps over the lazy dog."

describe("TTS service", () => {
  it("answers /health with the service's counters", async () => {
    const response = await fetch(`${server.url}/health`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ status: "healthy", service: "tts", activeJobs: 0, queuedJobs: 0, engine: "flite" })
  })

  it("lists flite's voices as predefined voices, slt first, limited-domain voices left out", async () => {
    const listed = execFileSync("flite", ["-lv"], { encoding: "utf8" })
    const voices = (await (await fetch(`${server.url}/get_predefined_voices`)).json()) as Array<{ display_name: string; filename: string }>
    expect(voices[0]?.filename).toBe("slt.wav")
    for (const voice of voices) {
      expect(listed).toContain(voice.filename.replace(/\.wav$/, ""))
      expect(voice.display_name.length).toBeGreaterThan(0)
    }
    expect(voices.map((v) => v.filename)).not.toContain("awb_time.wav")
    const llama = (await (await fetch(`${server.url}/v1/audio/voices`)).json()) as { status: string; voices: Array<string> }
    expect(llama).toEqual({ status: "ok", voices: voices.map((v) => v.filename) })
    expect(await (await fetch(`${server.url}/get_reference_files`)).json()).toEqual([])
    expect(await (await fetch(`${server.url}/api/model-info`)).json()).toMatchObject({ loaded: true, class_name: "flite" })
  })

  for (const [format, codec, container] of [
    ["wav", "pcm_s16le", "wav"],
    ["mp3", "mp3", "mp3"],
    ["opus", "opus", "ogg"]
  ] as const) {
    it(`/tts answers ${format} audio`, async () => {
      const response = await post("/tts", { text: sentence, predefined_voice_id: "slt.wav", output_format: format })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe(`audio/${format}`)
      expect(response.headers.get("content-disposition")).toMatch(new RegExp(`^attachment; filename="tts_output_\\d+\\.${format}"$`))
      const probe = probeBytes(await audioOf(response))
      expect(probe.codec).toBe(codec)
      expect(probe.formatName).toContain(container)
      expect(probe.duration).toBeGreaterThan(1.5)
      expect(probe.duration).toBeLessThan(6)
    })

    it(`/v1/audio/speech answers ${format} audio`, async () => {
      const response = await post("/v1/audio/speech", { model: "ignored", input: sentence, voice: "rms.wav", response_format: format })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe(`audio/${format}`)
      expect(probeBytes(await audioOf(response)).codec).toBe(codec)
    })
  }

  it("/v1/audio/speech answers wav by default and accepts OpenAI voice names as aliases", async () => {
    const response = await post("/v1/audio/speech", { model: "tts-1", input: "Hello there.", voice: "alloy" })
    expect(response.status).toBe(200)
    expect(probeBytes(await audioOf(response)).codec).toBe("pcm_s16le")
  })

  it("honours speed: twice as fast is clearly shorter, half as fast clearly longer", async () => {
    const durationAt = async (speed: number) =>
      probeBytes(await audioOf(await post("/tts", { text: sentence, predefined_voice_id: "slt", speed_factor: speed }))).duration
    const normal = await durationAt(1)
    expect(await durationAt(2)).toBeLessThan(normal * 0.75)
    expect(await durationAt(0.5)).toBeGreaterThan(normal * 1.5)
  })

  it.effect("serves the typed client made from the same HttpApi definition", () =>
    Effect.gen(function* () {
      const client = yield* HttpApiClient.make(TtsApi, { baseUrl: server.url })
      const voices = yield* client.predefinedVoices()
      expect(voices.map((v) => v.filename)).toContain("slt.wav")
      const bytes = yield* client.tts({ payload: { text: "Typed client.", predefined_voice_id: "kal16.wav" } })
      expect(probeBytes(bytes).codec).toBe("pcm_s16le")
      const health = yield* client.health()
      expect(health.service).toBe("tts")
      const refused = yield* Effect.flip(client.tts({ payload: { text: "x", voice_mode: "clone", reference_audio_filename: "me.wav" } }))
      expect(refused._tag).toBe("BadRequest")
    }).pipe(Effect.provide(FetchHttpClient.layer))
  )

  describe("bad input gets a clear 4xx/5xx and the service stays up", () => {
    const expectDetail = async (response: Response, status: number, pattern: RegExp) => {
      expect(response.status).toBe(status)
      const body = (await response.json()) as { detail: unknown }
      expect(JSON.stringify(body.detail)).toMatch(pattern)
    }

    it("voice cloning: 400 saying the engine cannot clone", async () => {
      await expectDetail(
        await post("/tts", { text: "Hi.", voice_mode: "clone", reference_audio_filename: "me.wav" }),
        400,
        /cannot clone/
      )
      const form = new FormData()
      form.append("files", new Blob([new Uint8Array(64)]), "me.wav")
      const upload = await fetch(`${server.url}/upload_reference`, { method: "POST", body: form })
      expect(upload.status).toBe(400)
      expect(await upload.json()).toMatchObject({
        uploaded_files: [],
        errors: [{ filename: "me.wav", error: expect.stringMatching(/not supported/) }]
      })
    })

    it("malformed JSON: 422 json_invalid", async () => {
      await expectDetail(await post("/tts", '{"text": "unterminated'), 422, /json_invalid/)
    })

    it("a multipart body where JSON is expected: 422, and the upload is not stored anywhere", async () => {
      const form = new FormData()
      form.append("text", "Hi.")
      form.append("file", new Blob([new Uint8Array(1024)]), "upload.wav")
      await expectDetail(await fetch(`${server.url}/tts`, { method: "POST", body: form }), 422, /expected a JSON body/)
    })

    it("missing or empty text: 422 / 400", async () => {
      await expectDetail(await post("/tts", { predefined_voice_id: "slt.wav" }), 422, /text/)
      await expectDetail(await post("/tts", { text: "   ", predefined_voice_id: "slt.wav" }), 400, /empty/)
      await expectDetail(await post("/tts", { text: "Hi." }), 400, /predefined_voice_id is required/)
    })

    it("unsupported output format or speed: 422 naming the field", async () => {
      await expectDetail(await post("/tts", { text: "Hi.", predefined_voice_id: "slt", output_format: "flac" }), 422, /output_format.*wav/)
      await expectDetail(await post("/v1/audio/speech", { model: "m", input: "Hi.", voice: "slt", speed: 9 }), 422, /speed/)
    })

    it("a path as the voice id is just an unknown voice: 404, nothing read from disk", async () => {
      await expectDetail(await post("/tts", { text: "Hi.", predefined_voice_id: "../../../etc/passwd" }), 404, /not found.*slt\.wav/)
      await expectDetail(await post("/v1/audio/speech", { model: "m", input: "Hi.", voice: "../slt.wav" }), 404, /not found/)
    })

    it("a language flite cannot speak: 400", async () => {
      await expectDetail(await post("/tts", { text: "Hallo.", predefined_voice_id: "slt", language: "de" }), 400, /English only/)
    })

    it("oversized body: 413 naming the limit", async () => {
      await expectDetail(await post("/tts", { text: "a".repeat(maxBodyBytes + 10), predefined_voice_id: "slt" }), 413, new RegExp(`${maxBodyBytes} bytes`))
    })

    it("unknown route: 404", async () => {
      await expectDetail(await fetch(`${server.url}/no/such/route`), 404, /Not Found/)
    })

    it("engine failure: 500 with the engine's message; that service stays up too", async () => {
      await expectDetail(await post("/tts", { text: "Hi.", predefined_voice_id: "slt" }, failing.url), 500, /flite exited with code 3: simulated flite crash/)
      expect((await fetch(`${failing.url}/health`)).status).toBe(200)
      await noLeftovers(join(root, "failing-work"))
    })

    it("still answers /health, and no job files are left in the work directory", async () => {
      const health = await fetch(`${server.url}/health`)
      expect(health.status).toBe(200)
      expect(await health.json()).toMatchObject({ activeJobs: 0, queuedJobs: 0 })
      await noLeftovers(workDir)
    })
  })
})
