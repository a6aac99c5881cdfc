/**
 * The front door every service's guard keeps, attacked as a web page and a stranger would: a
 * request whose `Host` names another site (DNS rebinding), a multipart form posted by a page of
 * another origin, a request without the service's bearer token. Each is refused with a 4xx
 * before its body is read: the answer comes while the body is still being sent, the work
 * directory gets no job directory, the engine never runs. The same requests as the library's own
 * clients send them are served. Plus the decision itself as a table, and a service that would
 * listen beyond loopback without a token, which does not start.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fromFile } from "../../../src/domain/Asset.js"
import * as LocalService from "../../../src/local/LocalService.js"
import { ServiceRuntime } from "../../../src/local/ServiceRuntime.js"
import * as ChatterboxClient from "../../../src/providers/chatterbox/ChatterboxClient.js"
import * as FFmpegClient from "../../../src/providers/ffmpeg/FFmpegClient.js"
import * as WhisperClient from "../../../src/providers/whisper/WhisperClient.js"
import * as FfmpegServer from "../../../src/services/ffmpeg/Server.js"
import { ServiceStartFailed } from "../../../src/services/kit/Errors.js"
import * as Guard from "../../../src/services/kit/Guard.js"
import { tokenEnvVar } from "../../../src/services/kit/ServerOptions.js"
import * as SttServer from "../../../src/services/stt/Server.js"
import * as TtsServer from "../../../src/services/tts/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"

const token = Redacted.make("correct-horse-battery-staple")
let root: string
let clip: string
let speech: string
let fliteRuns: string
const work = { ffmpeg: "", tts: "", stt: "", guarded: "", guardedTts: "", guardedStt: "" }
let ffmpeg: RunningServer
let tts: RunningServer
let stt: RunningServer
let guarded: RunningServer
let guardedTts: RunningServer
let guardedStt: RunningServer

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-frontdoor-"))
  for (const name of ["ffmpeg", "tts", "stt", "guarded", "guardedTts", "guardedStt"] as const) {
    work[name] = join(root, `work-${name}`)
    mkdirSync(work[name])
  }
  clip = join(root, "clip.wav")
  execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", clip])
  speech = join(root, "speech.wav")
  execFileSync("flite", ["-voice", "slt", "-t", "hello world", "-o", speech])
  // A flite that notes every synthesis it is asked for, then is the real one.
  fliteRuns = join(root, "flite-runs")
  const flite = join(root, "recording-flite")
  writeFileSync(flite, `#!/bin/sh\nif [ "$1" != "-lv" ]; then echo run >> "${fliteRuns}"; fi\nexec flite "$@"\n`)
  chmodSync(flite, 0o755)
  const options = (name: keyof typeof work) => ({ host: "127.0.0.1", port: 0, workDir: work[name], maxBodyBytes: 8 * 1024 * 1024, concurrency: 1 })
  ;[ffmpeg, tts, stt, guarded, guardedTts, guardedStt] = await Promise.all([
    startServer(FfmpegServer.layer(options("ffmpeg"))),
    startServer(TtsServer.layer(options("tts"), { flite })),
    startServer(SttServer.layer(options("stt"))),
    startServer(FfmpegServer.layer({ ...options("guarded"), token })),
    startServer(TtsServer.layer({ ...options("guardedTts"), token })),
    startServer(SttServer.layer({ ...options("guardedStt"), token }))
  ])
})

afterAll(async () => {
  await Promise.all([ffmpeg?.stop(), tts?.stop(), stt?.stop(), guarded?.stop(), guardedTts?.stop(), guardedStt?.stop()])
  rmSync(root, { recursive: true, force: true })
})

const portOf = (url: string) => Number(new URL(url).port)

/** A multipart body: a `spec` field (when given) and one file. */
const form = (field: string, file: string, spec?: string) => {
  const boundary = `----frontdoor${Math.random().toString(16).slice(2)}`
  const head = spec === undefined ? "" : `--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n${spec}\r\n`
  const body = Buffer.concat([
    Buffer.from(`${head}--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="clip.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
    readFileSync(file),
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  return { body, contentType: `multipart/form-data; boundary=${boundary}` }
}

interface Answer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
  /** Whether the answer came while the second half of the body was still unsent. */
  readonly beforeBody: boolean
  /** The work directory's entries when the answer came. */
  readonly workAtAnswer: ReadonlyArray<string>
}

/**
 * POST a body in two halves: the headers and the first half, then (when the service answers, or
 * after a 10 s deadline) the rest. A service that refuses before reading the body answers in
 * between.
 */
const postInHalves = (
  url: string,
  headers: Record<string, string>,
  body: Buffer,
  workDir: string
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const half = Math.floor(body.length / 2)
    const req = Http.request(url, { method: "POST", headers: { "content-length": String(body.length), ...headers } })
    let sent = false
    const sendRest = () => {
      if (sent) return
      sent = true
      req.end(body.subarray(half))
    }
    const deadline = setTimeout(sendRest, 10_000)
    req.on("response", (res) => {
      const beforeBody = !sent
      const workAtAnswer = readdirSync(workDir)
      clearTimeout(deadline)
      sendRest()
      let text = ""
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, beforeBody, workAtAnswer }))
    })
    req.on("error", reject)
    req.write(body.subarray(0, half))
  })

/** A plain request; `headers` may replace the Host Node would send. */
const send = (url: string, init: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: Buffer | string } = {}) =>
  new Promise<{ readonly status: number; readonly headers: Http.IncomingHttpHeaders; readonly body: string }>((resolve, reject) => {
    const req = Http.request(url, { method: init.method ?? "GET", headers: init.headers ?? {} }, (res) => {
      let text = ""
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }))
    })
    req.on("error", reject)
    req.end(init.body)
  })

const flitesRun = () => (existsSync(fliteRuns) ? readFileSync(fliteRuns, "utf8").split("\n").filter((line) => line !== "").length : 0)

const ttsRequest = (headers: Record<string, string> = {}) =>
  send(`${tts.url}/tts`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ text: "hello", voice_mode: "predefined", predefined_voice_id: "slt.wav" })
  })

describe("the front door: DNS rebinding (a Host that names another site)", () => {
  it("ffmpeg: a multipart job is refused 403 before its body is read; nothing stored", async () => {
    const { body, contentType } = form("clip", clip, "{}")
    const answer = await postInHalves(
      `${ffmpeg.url}/video/metadata`,
      { "content-type": contentType, host: `rebound.attacker.example:${portOf(ffmpeg.url)}` },
      body,
      work.ffmpeg
    )
    expect(answer.status).toBe(403)
    expect(answer.beforeBody).toBe(true)
    expect(answer.workAtAnswer).toEqual([])
    expect(JSON.parse(answer.body)).toMatchObject({ success: false, code: "forbidden" })
    expect(readdirSync(work.ffmpeg)).toEqual([])
  })

  it("stt: an upload is refused 403 before its body is read; nothing stored", async () => {
    const { body, contentType } = form("audio_file", speech)
    const answer = await postInHalves(
      `${stt.url}/asr`,
      { "content-type": contentType, host: `rebound.attacker.example:${portOf(stt.url)}` },
      body,
      work.stt
    )
    expect(answer.status).toBe(403)
    expect(answer.beforeBody).toBe(true)
    expect(answer.workAtAnswer).toEqual([])
    expect(JSON.parse(answer.body).detail).toContain("Host")
  })

  it("tts: a synthesis is refused 403 and flite never runs", async () => {
    const before = flitesRun()
    const answer = await ttsRequest({ host: `rebound.attacker.example:${portOf(tts.url)}` })
    expect(answer.status).toBe(403)
    expect(flitesRun()).toBe(before)
    expect(readdirSync(work.tts)).toEqual([])
  })

  it("the service's own port is part of its name: another port, or none, is refused", async () => {
    const port = portOf(ffmpeg.url)
    for (const host of [`127.0.0.1:${port + 1}`, "127.0.0.1", `localhost.attacker.example:${port}`, `127.0.0.1.nip.io:${port}`]) {
      expect((await send(`${ffmpeg.url}/health`, { headers: { host } })).status, host).toBe(403)
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect((await send(`${ffmpeg.url}/health`, { headers: { host } })).status, host).toBe(200)
    }
  })
})

describe("the front door: pages of another origin", () => {
  it("ffmpeg: a cross-site multipart form post is refused 403 before its body is read", async () => {
    const { body, contentType } = form("clip", clip, "{}")
    const answer = await postInHalves(
      `${ffmpeg.url}/video/metadata`,
      { "content-type": contentType, origin: "https://attacker.example", "sec-fetch-site": "cross-site" },
      body,
      work.ffmpeg
    )
    expect(answer.status).toBe(403)
    expect(answer.beforeBody).toBe(true)
    expect(answer.workAtAnswer).toEqual([])
    expect(readdirSync(work.ffmpeg)).toEqual([])
  })

  it("stt: a form post from a page on another port of localhost is refused 403 before its body is read", async () => {
    const { body, contentType } = form("audio_file", speech)
    const answer = await postInHalves(`${stt.url}/asr`, { "content-type": contentType, origin: "http://localhost:3000" }, body, work.stt)
    expect(answer.status).toBe(403)
    expect(answer.beforeBody).toBe(true)
    expect(answer.workAtAnswer).toEqual([])
  })

  it("tts: Origin null, or Sec-Fetch-Site cross-site/same-site without an Origin, is refused; flite never runs", async () => {
    const before = flitesRun()
    expect((await ttsRequest({ origin: "null" })).status).toBe(403)
    expect((await ttsRequest({ "sec-fetch-site": "cross-site" })).status).toBe(403)
    expect((await ttsRequest({ "sec-fetch-site": "same-site" })).status).toBe(403)
    expect(flitesRun()).toBe(before)
  })

  it("the service's own origin, and a request a person typed (Sec-Fetch-Site none), come in", async () => {
    const port = portOf(tts.url)
    expect((await send(`${tts.url}/get_predefined_voices`, { headers: { origin: `http://127.0.0.1:${port}`, "sec-fetch-site": "same-origin" } })).status).toBe(200)
    expect((await send(`${tts.url}/get_predefined_voices`, { headers: { "sec-fetch-site": "none" } })).status).toBe(200)
  })
})

describe("the front door: the bearer token", () => {
  it("a service with a token refuses a job without it, or with another, 401 before its body is read", async () => {
    const { body, contentType } = form("clip", clip, "{}")
    const missing = await postInHalves(`${guarded.url}/video/metadata`, { "content-type": contentType }, body, work.guarded)
    expect(missing.status).toBe(401)
    expect(missing.beforeBody).toBe(true)
    expect(missing.workAtAnswer).toEqual([])
    expect(missing.headers["www-authenticate"]).toContain("Bearer")
    expect(JSON.parse(missing.body)).toMatchObject({ success: false, code: "unauthorized" })
    for (const authorization of ["Bearer wrong-token", "Bearer correct-horse-battery-stapl", "Basic Y29ycmVjdA==", "Bearer "]) {
      const wrong = await postInHalves(`${guarded.url}/video/metadata`, { "content-type": contentType, authorization }, body, work.guarded)
      expect(wrong.status, authorization).toBe(401)
      expect(wrong.beforeBody).toBe(true)
    }
    expect(readdirSync(work.guarded)).toEqual([])
  })

  it("with the token the job is served; /health needs none", async () => {
    const { body, contentType } = form("clip", clip, "{}")
    const served = await send(`${guarded.url}/video/metadata`, {
      method: "POST",
      headers: { "content-type": contentType, "content-length": String(body.length), authorization: `Bearer ${Redacted.value(token)}` },
      body
    })
    expect(served.status).toBe(200)
    expect(JSON.parse(served.body)).toMatchObject({ success: true, data: { hasAudio: true } })
    expect((await send(`${guarded.url}/health`)).status).toBe(200)
    expect((await send(`${guarded.url}/outputs/out-x.wav`)).status).toBe(401)
  })
})

describe("the library's own clients come in", () => {
  const location = (url: string) => ({ url: Effect.succeed(url), configured: true })

  it.effect("FFmpeg, Chatterbox and Whisper clients are served as before", () =>
    Effect.gen(function* () {
      const ffmpegClient = yield* FFmpegClient.make(location(ffmpeg.url))
      const info = yield* ffmpegClient.metadata({}, [{ key: "clip", content: { _tag: "Path", path: clip }, name: "clip.wav" }])
      expect(info.hasAudio).toBe(true)
      const chatterbox = yield* ChatterboxClient.make(location(tts.url))
      const voices = yield* chatterbox.voices
      expect(voices.length).toBeGreaterThan(0)
      const whisper = yield* WhisperClient.make(location(stt.url))
      const text = yield* whisper.asr({ source: fromFile(speech), filename: "speech.wav", contentType: "audio/wav" }, { output: "txt" })
      expect(text.toLowerCase()).toContain("hello")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})

describe("the library's own clients send the token when one is configured", () => {
  // A runtime whose "embedded" services are the guarded ones of this file.
  const runtime = (urls: Record<string, string>) =>
    ServiceRuntime.of({
      mode: "process",
      ensure: (service) => Effect.succeed(urls[service] ?? ""),
      status: (service) => Effect.succeed({ service, running: true, healthy: true }),
      stop: () => Effect.void
    })
  const withToken = (entries: ReadonlyArray<readonly [string, string]>) =>
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map([[tokenEnvVar, Redacted.value(token)], ...entries])))

  it.effect("embedded (the service inherits AUTOMARKET_SERVICE_TOKEN) and configured by URL: FFmpeg, Chatterbox and Whisper are served", () =>
    Effect.gen(function* () {
      const embedded = yield* LocalService.locate("ffmpeg", "FFMPEG_SERVICE_URL").pipe(withToken([]))
      expect(embedded.configured).toBe(false)
      const ffmpegClient = yield* FFmpegClient.make(embedded)
      const info = yield* ffmpegClient.metadata({}, [{ key: "clip", content: { _tag: "Path", path: clip }, name: "clip.wav" }])
      expect(info.hasAudio).toBe(true)
      const chatterboxAt = yield* LocalService.locate("tts", "CHATTERBOX_URL").pipe(withToken([["CHATTERBOX_URL", guardedTts.url]]))
      expect(chatterboxAt.configured).toBe(true)
      const voices = yield* (yield* ChatterboxClient.make(chatterboxAt)).voices
      expect(voices.length).toBeGreaterThan(0)
      const whisperAt = yield* LocalService.locate("stt", "WHISPER_URL").pipe(withToken([["WHISPER_URL", guardedStt.url]]))
      const text = yield* (yield* WhisperClient.make(whisperAt)).asr({ source: fromFile(speech), filename: "speech.wav", contentType: "audio/wav" }, { output: "txt" })
      expect(text.toLowerCase()).toContain("hello")
    }).pipe(
      Effect.provideService(ServiceRuntime, runtime({ ffmpeg: guarded.url, tts: guardedTts.url, stt: guardedStt.url })),
      Effect.provide(NodeHttpClient.layerUndici)
    )
  )

  it.effect("without the token the same clients are refused (what the token is for)", () =>
    Effect.gen(function* () {
      const location = { url: Effect.succeed(guardedTts.url), configured: true }
      const refused = yield* Effect.flip((yield* ChatterboxClient.make(location)).voices)
      expect(refused._tag).toBe("InvalidApiKey")
      expect(refused.message).not.toContain(Redacted.value(token))
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})

describe("the front door's decision", () => {
  const door: Guard.FrontDoor = { hosts: ["media.internal", "proxy.example:443"] }
  const loopback: Guard.Arrival = { address: "127.0.0.1", port: 8006 }
  const lan: Guard.Arrival = { address: "192.168.1.20", port: 8006 }
  const decide = (headers: Record<string, string>, arrival: Guard.Arrival, url = "/video/compose", d = door) =>
    Guard.frontDoorRefusal(d, { url, headers }, arrival)?._tag

  it("Host: the address the request arrived on, the loopback names on loopback, and the names given", () => {
    expect(decide({ host: "127.0.0.1:8006" }, loopback)).toBeUndefined()
    expect(decide({ host: "localhost:8006" }, loopback)).toBeUndefined()
    expect(decide({ host: "[::1]:8006" }, loopback)).toBeUndefined()
    expect(decide({ host: "media.internal:8006" }, loopback)).toBeUndefined()
    expect(decide({ host: "proxy.example:443" }, loopback)).toBeUndefined()
    expect(decide({ host: "proxy.example:8006" }, loopback)).toBe("Forbidden")
    expect(decide({ host: "192.168.1.20:8006" }, lan)).toBeUndefined()
    expect(decide({ host: "localhost:8006" }, lan)).toBe("Forbidden")
    expect(decide({ host: "evil.example:8006" }, lan)).toBe("Forbidden")
    expect(decide({ host: "[::ffff:127.0.0.1]:8006" }, loopback)).toBe("Forbidden")
    expect(decide({ host: "127.0.0.1:8006" }, { address: "::ffff:127.0.0.1", port: 8006 })).toBeUndefined()
    expect(decide({ host: "[fe80::1]:8006" }, { address: "fe80::1", port: 8006 })).toBeUndefined()
    expect(decide({}, loopback)).toBe("Forbidden")
    expect(decide({ host: "a:b:c" }, loopback)).toBe("Forbidden")
    expect(decide({ host: "localhost:99999" }, loopback)).toBe("Forbidden")
  })

  it("Origin must be the service's own; Sec-Fetch-Site same-origin or none", () => {
    expect(decide({ host: "localhost:8006", origin: "http://localhost:8006" }, loopback)).toBeUndefined()
    expect(decide({ host: "localhost:8006", origin: "http://127.0.0.1:8006" }, loopback)).toBe("Forbidden")
    expect(decide({ host: "localhost:8006", origin: "http://localhost:8007" }, loopback)).toBe("Forbidden")
    expect(decide({ host: "localhost:8006", origin: "file://" }, loopback)).toBe("Forbidden")
    expect(decide({ host: "localhost:8006", "sec-fetch-site": "same-origin" }, loopback)).toBeUndefined()
    expect(decide({ host: "localhost:8006", "sec-fetch-site": "cross-site" }, loopback)).toBe("Forbidden")
  })

  it("the token: every route but /health; compared whole", () => {
    const withToken: Guard.FrontDoor = { ...door, token }
    const host = { host: "localhost:8006" }
    expect(decide(host, loopback, "/video/compose", withToken)).toBe("Unauthorized")
    expect(decide(host, loopback, "/health", withToken)).toBeUndefined()
    expect(decide(host, loopback, "/health?verbose=1", withToken)).toBeUndefined()
    expect(decide(host, loopback, "/healthz", withToken)).toBe("Unauthorized")
    expect(decide({ ...host, authorization: `Bearer ${Redacted.value(token)}` }, loopback, "/video/compose", withToken)).toBeUndefined()
    expect(decide({ ...host, authorization: `bearer ${Redacted.value(token)}` }, loopback, "/video/compose", withToken)).toBeUndefined()
    expect(decide({ ...host, authorization: `Bearer ${Redacted.value(token)}x` }, loopback, "/video/compose", withToken)).toBe("Unauthorized")
    // A foreign Host is refused before the token is looked at.
    expect(decide({ host: "evil.example:8006", authorization: `Bearer ${Redacted.value(token)}` }, loopback, "/", withToken)).toBe("Forbidden")
  })
})

describe("listening beyond loopback", () => {
  // 192.0.2.1 (TEST-NET-1) is on no interface here: were the check missing, binding it would fail
  // on its own, so this test never exposes anything.
  const beyond = { host: "192.0.2.1", port: 0, maxBodyBytes: 1024, concurrency: 1 }
  const start = <A, E>(layer: Layer.Layer<A, E>) => Effect.runPromiseExit(Effect.scoped(Layer.build(layer)))

  it("without a token a service does not start, and says why", async () => {
    for (const layer of [TtsServer.layer(beyond), SttServer.layer(beyond), FfmpegServer.layer(beyond)]) {
      const exit = await start(layer)
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(error).toBeInstanceOf(ServiceStartFailed)
      expect(error instanceof ServiceStartFailed ? error.message : "").toMatch(/refusing to listen on 192\.0\.2\.1 without a token/)
    }
  })

  it("with a token, or told to serve open, it goes on to bind (which fails here: the address is on no interface)", async () => {
    for (const options of [{ ...beyond, token }, { ...beyond, allowNoToken: true }]) {
      const exit = await start(TtsServer.layer(options))
      const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      expect(error).not.toBeInstanceOf(ServiceStartFailed)
      expect(error).toMatchObject({ _tag: "ServeError" })
    }
  })
})
