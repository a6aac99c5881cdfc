/**
 * The STT service (whisper-asr-webservice's API over pocketsphinx), started in this process on
 * a free port: every output format well-formed with increasing timestamps inside the audio,
 * several input encodings, detect-language, the typed client from the same `HttpApi`
 * definition, bad input (each a clear 4xx/5xx, the service still up), untrusted file names, and
 * no work files left behind. Speech comes from flite directly.
 */
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, vi } from "vitest"
import { SttApi } from "../../../src/services/stt/Api.js"
import { layer } from "../../../src/services/stt/Server.js"
import { failingPocketsphinx } from "../../support/fakeEngines.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { ffmpegConvert, fliteSpeak, probeFile } from "../../support/media.js"
import { wordErrorRate } from "../../support/wer.js"

const maxBodyBytes = 1024 * 1024
const spoken = "The weather is nice today. I would like a cup of coffee."
let root: string
let workDir: string
let server: RunningServer
let failing: RunningServer
let wav: string
let duration: number

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-stt-test-"))
  workDir = join(root, "work")
  wav = join(root, "speech.wav")
  fliteSpeak(spoken, wav)
  duration = probeFile(wav).duration
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes, concurrency: 2 }))
  failing = await startServer(
    layer({ host: "127.0.0.1", port: 0, workDir: join(root, "failing-work"), maxBodyBytes, concurrency: 1 }, { pocketsphinx: failingPocketsphinx(root) })
  )
})

afterAll(async () => {
  await server?.stop()
  await failing?.stop()
  rmSync(root, { recursive: true, force: true })
})

const upload = (bytes: Uint8Array, filename = "speech.wav", field = "audio_file") => {
  const form = new FormData()
  form.append(field, new Blob([bytes]), filename)
  return form
}

const asr = (query: string, body: FormData | string, base = server.url) =>
  fetch(`${base}/asr${query}`, { method: "POST", body })

const speech = () => new Uint8Array(readFileSync(wav))

/** A job's directory goes right after its answer is sent: wait (bounded) for it to be gone. */
const noLeftovers = (dir: string) => vi.waitFor(() => expect(readdirSync(dir)).toEqual([]), { timeout: 5000, interval: 20 })

const expectIncreasingWithin = (spans: ReadonlyArray<readonly [number, number]>) => {
  expect(spans.length).toBeGreaterThan(0)
  let previousEnd = 0
  for (const [start, end] of spans) {
    expect(start).toBeGreaterThanOrEqual(previousEnd)
    expect(end).toBeGreaterThan(start)
    previousEnd = end
  }
  expect(previousEnd).toBeLessThanOrEqual(duration + 0.001)
}

const seconds = (stamp: string) => {
  const match = /^(?:(\d\d):)?(\d\d):(\d\d)[.,](\d\d\d)$/.exec(stamp)
  if (match === null) throw new Error(`not a timestamp: ${stamp}`)
  return Number(match[1] ?? 0) * 3600 + Number(match[2]) * 60 + Number(match[3]) + Number(match[4]) / 1000
}

describe("STT service", () => {
  it("answers /health with the service's counters", async () => {
    const response = await fetch(`${server.url}/health`)
    expect(await response.json()).toMatchObject({ status: "healthy", service: "stt", activeJobs: 0, queuedJobs: 0, engine: "pocketsphinx-en-us" })
  })

  it("txt (the default): the words, one segment a line, as text/plain with whisper's headers", async () => {
    const response = await asr("", upload(speech()))
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/)
    expect(response.headers.get("asr-engine")).toBe("pocketsphinx-en-us")
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="speech.txt"')
    const text = await response.text()
    expect(text.endsWith("\n")).toBe(true)
    expect(wordErrorRate(spoken, text)).toBeLessThanOrEqual(0.25)
  })

  it("json: whisper's shape, segments timed and increasing inside the audio, words with word_timestamps", async () => {
    const response = await asr("?output=json&word_timestamps=true", upload(speech()))
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/)
    const json = JSON.parse(await response.text()) as {
      text: string
      language: string
      segments: Array<{ id: number; start: number; end: number; text: string; words: Array<{ word: string; start: number; end: number }> }>
    }
    expect(json.language).toBe("en")
    expect(json.segments.map((s) => s.id)).toEqual(json.segments.map((_, i) => i))
    expectIncreasingWithin(json.segments.map((s) => [s.start, s.end] as const))
    expect(json.text).toBe(json.segments.map((s) => s.text).join(""))
    expect(json.segments.length).toBeGreaterThanOrEqual(2)
    for (const segment of json.segments) {
      expect(segment.text.startsWith(" ")).toBe(true)
      expectIncreasingWithin(segment.words.map((w) => [w.start, w.end] as const))
      expect(segment.words.map((w) => w.word.trim()).join(" ")).toBe(segment.text.trim())
    }
    expect(wordErrorRate(spoken, json.text)).toBeLessThanOrEqual(0.25)
  })

  it("srt: numbered cues with HH:MM:SS,mmm times, increasing, inside the audio", async () => {
    const text = await (await asr("?output=srt", upload(speech()))).text()
    const cues = text.trim().split(/\n\n/)
    const spans = cues.map((cue, i) => {
      const [index, times, words] = cue.split("\n")
      expect(index).toBe(String(i + 1))
      const match = /^(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)$/.exec(times ?? "")
      expect(match).not.toBeNull()
      expect(words?.trim().length).toBeGreaterThan(0)
      return [seconds(match![1]!), seconds(match![2]!)] as const
    })
    expectIncreasingWithin(spans)
  })

  it("vtt: WEBVTT header, MM:SS.mmm cues, increasing, inside the audio", async () => {
    const text = await (await asr("?output=vtt", upload(speech()))).text()
    expect(text.startsWith("WEBVTT\n\n")).toBe(true)
    const cues = text.slice("WEBVTT\n\n".length).trim().split(/\n\n/)
    const spans = cues.map((cue) => {
      const [times, words] = cue.split("\n")
      const match = /^(\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d\.\d\d\d)$/.exec(times ?? "")
      expect(match).not.toBeNull()
      expect(words?.trim().length).toBeGreaterThan(0)
      return [seconds(match![1]!), seconds(match![2]!)] as const
    })
    expectIncreasingWithin(spans)
  })

  it("tsv: start/end/text header, integer milliseconds, increasing, inside the audio", async () => {
    const lines = (await (await asr("?output=tsv", upload(speech()))).text()).trim().split("\n")
    expect(lines[0]).toBe("start\tend\ttext")
    const spans = lines.slice(1).map((line) => {
      const [start, end, words] = line.split("\t")
      expect(start).toMatch(/^\d+$/)
      expect(end).toMatch(/^\d+$/)
      expect(words?.trim().length).toBeGreaterThan(0)
      return [Number(start) / 1000, Number(end) / 1000] as const
    })
    expectIncreasingWithin(spans)
  })

  it("accepts mp3, Ogg Opus and raw PCM (encode=false)", async () => {
    const mp3 = join(root, "speech.mp3")
    const ogg = join(root, "speech.ogg")
    const pcm = join(root, "speech.pcm")
    ffmpegConvert(wav, mp3, ["-c:a", "libmp3lame"])
    ffmpegConvert(wav, ogg, ["-c:a", "libopus"])
    ffmpegConvert(wav, pcm, ["-f", "s16le", "-ar", "16000", "-ac", "1"])
    for (const [path, query] of [[mp3, ""], [ogg, ""], [pcm, "?encode=false"]] as const) {
      const response = await asr(query, upload(new Uint8Array(readFileSync(path)), "clip"))
      expect(response.status).toBe(200)
      expect(wordErrorRate(spoken, await response.text())).toBeLessThanOrEqual(0.25)
    }
  })

  it("detect-language: English, the only language of this engine", async () => {
    const response = await fetch(`${server.url}/detect-language`, { method: "POST", body: upload(speech()) })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ detected_language: "english", language_code: "en", confidence: 1 })
  })

  it.effect("serves the typed client made from the same HttpApi definition", () =>
    Effect.gen(function* () {
      const client = yield* HttpApiClient.make(SttApi, { baseUrl: server.url })
      const tsv = yield* client.asr({ urlParams: { output: "tsv", language: "en" }, payload: upload(speech()) })
      expect(tsv.startsWith("start\tend\ttext\n")).toBe(true)
      const language = yield* client.detectLanguage({ urlParams: {}, payload: upload(speech()) })
      expect(language.language_code).toBe("en")
      const refused = yield* Effect.flip(client.asr({ urlParams: { language: "de" }, payload: upload(speech()) }))
      expect(refused._tag).toBe("BadRequest")
    }).pipe(Effect.provide(NodeHttpClient.layer))
  )

  it("never uses the uploaded file name as a path: ../ cannot escape, the header gets a safe name", async () => {
    const response = await asr("", upload(speech(), "../../escape.wav"))
    expect(response.status).toBe(200)
    expect(response.headers.get("content-disposition")).toBe('attachment; filename="escape.txt"')
    expect(existsSync(join(root, "escape.wav"))).toBe(false)
    expect(existsSync(join(tmpdir(), "escape.wav"))).toBe(false)
    await noLeftovers(workDir)
  })

  describe("bad input gets a clear 4xx/5xx and the service stays up", () => {
    const expectDetail = async (response: Response, status: number, pattern: RegExp) => {
      expect(response.status).toBe(status)
      const body = (await response.json()) as { detail: unknown }
      expect(JSON.stringify(body.detail)).toMatch(pattern)
    }

    it("missing audio_file: 422 Field required", async () => {
      await expectDetail(await asr("", upload(speech(), "a.wav", "other")), 422, /audio_file.*Field required/)
    })

    it("not a multipart body at all: 400", async () => {
      const response = await fetch(`${server.url}/asr`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
      await expectDetail(response, 400, /multipart/)
    })

    it("unsupported output format, bad boolean: 422 naming the parameter", async () => {
      await expectDetail(await asr("?output=docx", upload(speech())), 422, /output.*txt.*json/)
      await expectDetail(await asr("?encode=perhaps", upload(speech())), 422, /encode.*valid boolean/)
    })

    it("a language the engine does not have: 400", async () => {
      await expectDetail(await asr("?language=fr", upload(speech())), 400, /English \(en\) only/)
    })

    it("corrupt audio: 400 saying it cannot be decoded, without server paths", async () => {
      const garbage = new Uint8Array(4096).map((_, i) => (i * 7919) % 251)
      const response = await asr("", upload(garbage, "broken.wav"))
      expect(response.status).toBe(400)
      const { detail } = (await response.json()) as { detail: string }
      expect(detail).toMatch(/could not be decoded/)
      expect(detail).not.toContain(workDir)
    })

    it("oversized upload: 413 naming the limit, with or without a declared length", async () => {
      const big = new Uint8Array(maxBodyBytes + 1000)
      await expectDetail(await asr("", upload(big)), 413, new RegExp(`${maxBodyBytes} bytes`))
      const chunked = await Effect.runPromise(
        Effect.gen(function* () {
          const client = yield* HttpApiClient.make(SttApi, { baseUrl: server.url })
          return yield* Effect.flip(client.asr({ urlParams: {}, payload: upload(big) }))
        }).pipe(Effect.provide(NodeHttpClient.layer))
      )
      expect(chunked._tag).toBe("PayloadTooLarge")
    })

    it("engine failure: 500 with the engine's message; that service stays up too", async () => {
      await expectDetail(await asr("", upload(speech()), failing.url), 500, /speech recognition failed.*simulated recogniser crash/)
      expect((await fetch(`${failing.url}/health`)).status).toBe(200)
      await noLeftovers(join(root, "failing-work"))
    })

    it("still answers /health, and no job files are left in the work directory", async () => {
      expect(await (await fetch(`${server.url}/health`)).json()).toMatchObject({ status: "healthy", activeJobs: 0, queuedJobs: 0 })
      await noLeftovers(workDir)
    })
  })
})
