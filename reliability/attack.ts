/**
 * Part 3 of `npm run soak`: the local services (the real `automarket serve ffmpeg|tts|stt`
 * processes on loopback, no Docker) under a mix of hostile requests (the probe's cases of issue
 * 13) and valid ones. Every hostile request must be refused with a 4xx, every valid one served,
 * the service alive afterwards, its work directory (given with `--work-dir`, a fresh private
 * directory, so it is known without guessing where the service would put it) empty, and the
 * service must exit on SIGTERM.
 *
 *   node --import tsx reliability/attack.ts <out.json>
 *
 * Settings (environment): SOAK_ATTACK_REQUESTS (200), SOAK_ATTACK_CONCURRENCY (16),
 * SOAK_ATTACK_DEADLINE_MS (20000: a request unanswered by then is a failure, so the suite never
 * hangs on a service that does).
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { reliabilityDir } from "./Hosted.js"
import type { AttackCase, AttackOutcome, AttackResult, AttackService } from "./Results.js"

const out = process.argv[2] ?? "attack.json"
const numberFromEnv = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? "")
  return process.env[name] !== undefined && process.env[name] !== "" && Number.isFinite(value) ? value : fallback
}
const requests = numberFromEnv("SOAK_ATTACK_REQUESTS", 200)
const concurrency = numberFromEnv("SOAK_ATTACK_CONCURRENCY", 16)
const deadlineMs = numberFromEnv("SOAK_ATTACK_DEADLINE_MS", 20_000)
const maxBodyMb = 2
const root = path.resolve(reliabilityDir, "..")
const started = performance.now()
const log = (line: string) => process.stderr.write(`[attack ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)

type ServiceName = AttackCase["service"]
const serviceNames: ReadonlyArray<ServiceName> = ["ffmpeg", "tts", "stt"]

// ---------------------------------------------------------------------------------------------
// samples: made here with the engines, outside every service's work dir
// ---------------------------------------------------------------------------------------------

const samples = mkdtempSync(path.join(os.tmpdir(), "automarket-soak-samples-"))
const sample = (name: string) => path.join(samples, name)
const make = (command: string, args: ReadonlyArray<string>) => execFileSync(command, args, { stdio: "ignore", timeout: 120_000 })
const makeSamples = () => {
  make("ffmpeg", ["-y", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "1", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", sample("clip.mp4")])
  make("ffmpeg", ["-y", "-i", sample("clip.mp4"), "-c", "copy", "-f", "mpegts", sample("segment.ts")])
  make("flite", ["-voice", "slt", "-t", "hello world", "-o", sample("hello.wav")])
  // Two hours of silence: a small FLAC, about 230 MB of 16 kHz WAV once decoded (four times the
  // STT service's 30-minute cap on decoded audio).
  make("ffmpeg", ["-y", "-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "7200", "-c:a", "flac", sample("bomb.flac")])
}

// ---------------------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------------------

/** A request to send: method, path, headers, and a body (chunked when `chunked`). */
interface Request {
  readonly method: string
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body?: Buffer
  readonly chunked?: boolean
}

/** A file part of a multipart body. */
interface Part {
  readonly field: string
  readonly filename?: string
  readonly contentType?: string
  readonly data: Buffer | string
}

const multipart = (parts: ReadonlyArray<Part>): { readonly body: Buffer; readonly contentType: string } => {
  const boundary = `soak${Math.random().toString(16).slice(2)}`
  const chunks: Array<Buffer> = []
  for (const part of parts) {
    const disposition = `form-data; name="${part.field}"${part.filename !== undefined ? `; filename="${part.filename}"` : ""}`
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${part.contentType !== undefined ? `Content-Type: ${part.contentType}\r\n` : ""}\r\n`
    chunks.push(Buffer.from(head, "utf8"), typeof part.data === "string" ? Buffer.from(part.data, "utf8") : part.data, Buffer.from("\r\n"))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

const job = (route: string, spec: unknown, files: ReadonlyArray<Part>, headers: Record<string, string> = {}): Request => {
  const form = multipart([...(spec !== undefined ? [{ field: "spec", data: JSON.stringify(spec) }] : []), ...files])
  return { method: "POST", path: route, headers: { "content-type": form.contentType, ...headers }, body: form.body }
}
const jsonRequest = (route: string, body: unknown, headers: Record<string, string> = {}): Request => ({
  method: "POST",
  path: route,
  headers: { "content-type": "application/json", ...headers },
  body: Buffer.from(JSON.stringify(body))
})
const file = (field: string, name: string, filename = path.basename(name), contentType = "application/octet-stream"): Part => ({
  field,
  filename,
  contentType,
  data: readFileSync(sample(name))
})

/** A case of the mix: what it is, and the request it sends (made when sent: samples exist by then). */
interface Case extends AttackCase {
  readonly request: () => Request
}

const hostile = (service: ServiceName, name: string, finding: number, what: string, request: () => Request): Case => ({ service, name, finding, what, hostile: true, request })
const valid = (service: ServiceName, name: string, what: string, request: () => Request): Case => ({ service, name, finding: 0, what, hostile: false, request })

/** The playlists of findings 1 and 2. */
const livePlaylist = () => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nsegment.ts\n`
const localFilePlaylist = () => `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n${sample("segment.ts")}\n#EXT-X-ENDLIST\n`

const cases = (loopbackUrl: string): ReadonlyArray<Case> => [
  // ffmpeg: valid
  valid("ffmpeg", "metadata", "video metadata of an uploaded mp4", () => job("/video/metadata", {}, [file("in", "clip.mp4", "clip.mp4", "video/mp4")])),
  valid("ffmpeg", "slide", "a text slide (JSON)", () => jsonRequest("/image/slide", { title: "Soak", width: 320, height: 240 })),
  valid("ffmpeg", "ambient", "1 s ambient pad (JSON)", () => jsonRequest("/audio/ambient", { duration: 1 })),
  valid("ffmpeg", "extract-audio", "audio of an uploaded mp4", () => job("/video/extractAudio", { format: "wav" }, [file("in", "clip.mp4", "clip.mp4", "video/mp4")])),
  valid("ffmpeg", "non-ascii-name", "an upload named `clïp-ü.mp4` (non-ASCII)", () => job("/video/metadata", {}, [file("in", "clip.mp4", "clïp-ü.mp4", "video/mp4")])),
  // ffmpeg: hostile
  hostile("ffmpeg", "local-playlist", 2, "uploaded .m3u8 naming a local .ts file", () =>
    job("/video/extractAudio", { format: "wav" }, [{ field: "in", filename: "list.m3u8", contentType: "application/vnd.apple.mpegurl", data: localFilePlaylist() }])
  ),
  hostile("ffmpeg", "local-playlist-probe", 2, "uploaded .m3u8 naming a local file, to /video/metadata", () =>
    job("/video/metadata", {}, [{ field: "in", filename: "list.m3u8", contentType: "application/vnd.apple.mpegurl", data: localFilePlaylist() }])
  ),
  hostile("ffmpeg", "loopback-url", 3, "a composition whose clip is a URL on loopback", () =>
    job("/video/compose", { clips: [{ src: `${loopbackUrl}/clip.mp4` }], output: { width: 160, height: 120 } }, [])
  ),
  hostile("ffmpeg", "private-url", 3, "a clip URL on a private address (10.0.0.1)", () =>
    job("/video/compose", { clips: [{ src: "http://10.0.0.1/clip.mp4" }], output: { width: 160, height: 120 } }, [])
  ),
  hostile("ffmpeg", "huge-composition", 4, "a composition of 1,000 clips", () =>
    job("/video/compose", { clips: Array.from({ length: 1000 }, () => ({ src: "in" })), output: { width: 320, height: 240 } }, [file("in", "clip.mp4", "clip.mp4", "video/mp4")])
  ),
  hostile("ffmpeg", "huge-pixels", 4, "a 100000x100000 output", () =>
    job("/video/compose", { clips: [{ src: "in" }], output: { width: 100000, height: 100000 } }, [file("in", "clip.mp4", "clip.mp4", "video/mp4")])
  ),
  hostile("ffmpeg", "chunked-over-limit", 7, `chunked JSON over the ${maxBodyMb} MB body limit to /image/slide`, () => ({
    ...jsonRequest("/image/slide", { title: "x", body: "y".repeat((maxBodyMb + 1) * 2 ** 20) }),
    chunked: true
  })),
  hostile("ffmpeg", "nul-name", 8, "an upload whose file name holds a NUL", () => job("/video/metadata", {}, [file("in", "clip.mp4", "cl\u0000ip.mp4", "video/mp4")])),
  hostile("ffmpeg", "1e308", 8, "1e308 as a slide's width and height", () => jsonRequest("/image/slide", { title: "x", width: 1e308, height: 1e308 })),
  hostile("ffmpeg", "1e308-compose", 8, "1e308 as a clip's start", () =>
    job("/video/compose", { clips: [{ src: "in", start: 1e308 }], output: { width: 160, height: 120 } }, [file("in", "clip.mp4", "clip.mp4", "video/mp4")])
  ),
  hostile("ffmpeg", "cross-site", 1, "a valid slide request with Origin: https://evil.example", () =>
    jsonRequest("/image/slide", { title: "Soak", width: 320, height: 240 }, { origin: "https://evil.example" })
  ),
  hostile("ffmpeg", "cross-site-multipart", 1, "a multipart job with Origin: https://evil.example (no preflight)", () =>
    job("/video/metadata", {}, [file("in", "clip.mp4", "clip.mp4", "video/mp4")], { origin: "https://evil.example" })
  ),
  hostile("ffmpeg", "bad-host", 1, "a valid slide request with Host: evil.example (DNS rebinding)", () =>
    jsonRequest("/image/slide", { title: "Soak", width: 320, height: 240 }, { host: "evil.example" })
  ),
  // tts
  valid("tts", "speak", "speech for a sentence", () => jsonRequest("/tts", { text: "Hello from the soak suite.", voice_mode: "predefined", predefined_voice_id: "slt.wav" })),
  valid("tts", "openai-speech", "OpenAI-style /v1/audio/speech", () => jsonRequest("/v1/audio/speech", { model: "tts-1", input: "Hello.", voice: "slt" })),
  hostile("tts", "chunked-over-limit", 7, `chunked JSON over the ${maxBodyMb} MB body limit`, () => ({
    ...jsonRequest("/tts", { text: "y".repeat((maxBodyMb + 1) * 2 ** 20) }),
    chunked: true
  })),
  hostile("tts", "cross-site", 1, "a valid request with Origin: https://evil.example", () =>
    jsonRequest("/tts", { text: "Hello.", voice_mode: "predefined", predefined_voice_id: "slt.wav" }, { origin: "https://evil.example" })
  ),
  hostile("tts", "bad-host", 1, "a valid request with Host: evil.example", () =>
    jsonRequest("/tts", { text: "Hello.", voice_mode: "predefined", predefined_voice_id: "slt.wav" }, { host: "evil.example" })
  ),
  // stt
  valid("stt", "transcribe", "transcript of a spoken wav", () => job("/asr?output=json", undefined, [file("audio_file", "hello.wav", "hello.wav", "audio/wav")])),
  valid("stt", "non-ascii-name", "a wav named `héllo.wav` (non-ASCII)", () => job("/asr?output=txt", undefined, [file("audio_file", "hello.wav", "héllo.wav", "audio/wav")])),
  hostile("stt", "flac-bomb", 4, "2 h of silence as FLAC (small upload, huge decode)", () => job("/asr?output=txt", undefined, [file("audio_file", "bomb.flac", "bomb.flac", "audio/flac")])),
  hostile("stt", "local-playlist", 2, "uploaded .m3u8 naming a local .ts file", () =>
    job("/asr?output=txt", undefined, [{ field: "audio_file", filename: "list.m3u8", contentType: "application/vnd.apple.mpegurl", data: localFilePlaylist() }])
  ),
  hostile("stt", "cross-site", 1, "a valid request with Origin: https://evil.example", () =>
    job("/asr?output=txt", undefined, [file("audio_file", "hello.wav", "hello.wav", "audio/wav")], { origin: "https://evil.example" })
  ),
  hostile("stt", "bad-host", 1, "a valid request with Host: evil.example", () =>
    job("/asr?output=txt", undefined, [file("audio_file", "hello.wav", "hello.wav", "audio/wav")], { host: "evil.example" })
  )
]

/**
 * The cases that, on a service that does not refuse them, hold an engine slot for ever (finding
 * 1): sent last, so that on such a service they fail themselves without taking the valid
 * requests' slots first.
 */
const slotKillers = (): ReadonlyArray<Case> => [
  hostile("ffmpeg", "live-hls", 1, "uploaded live HLS playlist (no #EXT-X-ENDLIST)", () =>
    job("/video/extractAudio", { format: "wav" }, [
      { field: "in", filename: "live.m3u8", contentType: "application/vnd.apple.mpegurl", data: livePlaylist() },
      file("seg", "segment.ts", "segment.ts", "video/mp2t")
    ])
  ),
  hostile("stt", "live-hls", 1, "uploaded live HLS playlist (no #EXT-X-ENDLIST)", () =>
    job("/asr?output=txt", undefined, [{ field: "audio_file", filename: "live.m3u8", contentType: "application/vnd.apple.mpegurl", data: livePlaylist() }])
  )
]

/** Send one request with a deadline; the status (or what happened instead) and the answer's size. */
interface Answer {
  readonly status?: number | undefined
  readonly failure?: string | undefined
  readonly bytes: number
  /** The first 64 KB of the body (enough for a job's JSON answer). */
  readonly head?: string
}

const send = (port: number, request: Request): Promise<Answer> =>
  new Promise((resolve) => {
    let settled = false
    const finish = (value: Answer) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(value)
    }
    const headers: Record<string, string> = { ...request.headers }
    if (headers.host === undefined) headers.host = `127.0.0.1:${port}`
    if (request.body !== undefined && request.chunked !== true) headers["content-length"] = String(request.body.length)
    const req = http.request({ host: "127.0.0.1", port, method: request.method, path: request.path, headers, agent: false })
    const timer = setTimeout(() => {
      req.destroy()
      finish({ failure: `no answer within ${deadlineMs} ms`, bytes: 0 })
    }, deadlineMs)
    req.on("response", (res) => {
      let bytes = 0
      const kept: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => {
        if (bytes < 65536) kept.push(chunk)
        bytes += chunk.length
      })
      res.on("end", () => finish({ status: res.statusCode, bytes, head: Buffer.concat(kept).toString("utf8").slice(0, 65536) }))
      res.on("error", (error) => finish({ status: res.statusCode, failure: error.message, bytes }))
    })
    req.on("error", (error) => finish({ failure: `connection: ${error.message}`, bytes: 0 }))
    if (request.body !== undefined && request.chunked === true) {
      // Chunked: written in 64 KB pieces, so that no Content-Length announces the size up front.
      const piece = 64 * 1024
      for (let at = 0; at < request.body.length; at += piece) req.write(request.body.subarray(at, at + piece))
      req.end()
    } else req.end(request.body)
  })

// ---------------------------------------------------------------------------------------------
// services
// ---------------------------------------------------------------------------------------------

interface Running {
  readonly service: ServiceName
  readonly child: ChildProcess
  readonly port: number
  readonly workDir: string
}

const startService = (service: ServiceName, workDir: string): Promise<Running> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(root, "bin", "automarket.mjs"), "serve", service, "--port", "0", "--work-dir", workDir, "--max-body-mb", String(maxBodyMb), "--concurrency", "2"],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"], detached: true }
    )
    let output = ""
    const timer = setTimeout(() => reject(new Error(`no announcement within 120 s: ${output.slice(-300)}`)), 120_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      const line = output.split("\n").find((l) => l.startsWith("automarket-listening "))
      if (line === undefined) return
      clearTimeout(timer)
      const announced: { port?: number } = JSON.parse(line.slice("automarket-listening ".length))
      resolve({ service, child, port: announced.port ?? 0, workDir })
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString("utf8")
    })
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code ?? signal}) before listening: ${output.slice(-300)}`))
    })
  })

/** SIGTERM, then SIGKILL of its whole process group after `graceMs`. */
const stopService = (running: Running, graceMs: number): Promise<{ readonly stopped: "exited" | "killed"; readonly ms: number }> =>
  new Promise((resolve) => {
    const stopStarted = performance.now()
    if (running.child.exitCode !== null || running.child.signalCode !== null) return resolve({ stopped: "exited", ms: 0 })
    let killed = false
    const timer = setTimeout(() => {
      killed = true
      try {
        if (running.child.pid !== undefined) process.kill(-running.child.pid, "SIGKILL")
      } catch {
        running.child.kill("SIGKILL")
      }
    }, graceMs)
    running.child.once("exit", () => {
      clearTimeout(timer)
      resolve({ stopped: killed ? "killed" : "exited", ms: performance.now() - stopStarted })
    })
    running.child.kill("SIGTERM")
  })

const alive = async (running: Running): Promise<boolean> => {
  if (running.child.exitCode !== null || running.child.signalCode !== null) return false
  const health = await send(running.port, { method: "GET", path: "/health", headers: {} })
  return health.status === 200
}

const filesIn = (directory: string): ReadonlyArray<string> =>
  existsSync(directory)
    ? readdirSync(directory, { recursive: true, withFileTypes: true })
        .filter((entry) => !entry.isDirectory())
        .map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)))
    : []

/** Processes of the services' process groups still alive (an engine left behind). */
const groupMembers = (pgids: ReadonlyArray<number>): ReadonlyArray<string> =>
  readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
        const pgrp = Number(fields[2])
        if (!pgids.includes(pgrp) || fields[0] === "Z") return []
        return [`${pid} ${readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim().slice(0, 120)}`]
      } catch {
        return []
      }
    })

/** The `/outputs/<name>` an ffmpeg job's answer names, when it names one. */
const outputUrlOf = (head: string | undefined): string | undefined => {
  try {
    const body: unknown = JSON.parse(head ?? "")
    if (typeof body !== "object" || body === null || !("data" in body)) return undefined
    const data = body.data
    if (typeof data !== "object" || data === null || !("output" in data)) return undefined
    const output = data.output
    return typeof output === "object" && output !== null && "url" in output && typeof output.url === "string" ? output.url : undefined
  } catch {
    return undefined
  }
}

/**
 * A valid job is served when its result can be fetched: fetched, then deleted as a client done
 * with it does (the service keeps a result until then), so that the work dir can be empty after.
 */
const collect = async (port: number, answer: Answer): Promise<Answer> => {
  const url = outputUrlOf(answer.head)
  if (answer.status === undefined || answer.status >= 300 || url === undefined) return answer
  const fetched = await send(port, { method: "GET", path: url, headers: {} })
  if (fetched.status !== 200) return { ...answer, status: fetched.status, failure: `result ${url}: ${fetched.status ?? fetched.failure}` }
  const removed = await send(port, { method: "DELETE", path: url, headers: {} })
  return removed.status !== undefined && removed.status < 300 ? answer : { ...answer, status: removed.status, failure: `deleting ${url}: ${removed.status ?? removed.failure}` }
}

/** Judge one answer. */
const judge = (c: Case, answer: Answer): { readonly held: boolean; readonly why?: string } => {
  if (answer.status === undefined) return { held: false, why: answer.failure ?? "no answer" }
  if (c.hostile) return answer.status >= 400 && answer.status < 500 ? { held: true } : { held: false, why: `status ${answer.status}, expected a 4xx` }
  return answer.status >= 200 && answer.status < 300 ? { held: true } : { held: false, why: `status ${answer.status}, expected 2xx` }
}

const main = async () => {
  log("making the samples (ffmpeg, flite)")
  makeSamples()
  // A loopback server standing for a local service an attacker would reach through the ffmpeg service.
  // A 4xx is not enough for a URL case: a service that fetched the URL first and refused what it
  // got (a 415) has still reached loopback for its caller. The target counts what it was asked.
  let loopbackHits = 0
  const target = http.createServer((_req, res) => {
    loopbackHits++
    res.end("secret")
  })
  await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve))
  const address = target.address()
  const loopbackUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 1}`
  const workRoot = mkdtempSync(path.join(os.tmpdir(), "automarket-soak-services-"))
  const services = new Map<ServiceName, Running>()
  const startErrors = new Map<ServiceName, string>()
  for (const service of serviceNames) {
    const workDir = path.join(workRoot, service)
    mkdirSync(workDir)
    try {
      log(`starting ${service}`)
      services.set(service, await startService(service, workDir))
    } catch (error) {
      startErrors.set(service, error instanceof Error ? error.message : String(error))
    }
  }
  const all = cases(loopbackUrl)
  const killers = slotKillers()
  const mixCount = Math.max(0, requests - killers.length)
  // Round-robin over the cases, so that the 200 requests hold every case several times, mixed.
  const plan: ReadonlyArray<Case> = [...Array.from({ length: mixCount }, (_, i) => all[i % all.length]).filter((c): c is Case => c !== undefined), ...killers]
  log(`${plan.length} requests (${plan.filter((c) => c.hostile).length} hostile) at concurrency ${concurrency}, deadline ${deadlineMs} ms each`)
  const outcomes: Array<AttackOutcome> = []
  let next = 0
  const worker = async () => {
    while (next < plan.length) {
      const c = plan[next++]
      if (c === undefined) break
      const running = services.get(c.service)
      const sentAt = performance.now()
      const first: Answer = running === undefined ? { failure: "service not started", bytes: 0 } : await send(running.port, c.request())
      // A result is fetched and deleted even for a hostile request the service wrongly served
      // (that request already fails): the work dir check then counts what the service left, not
      // what it was wrongly asked to keep.
      const collected = running === undefined ? first : await collect(running.port, first)
      const answer = c.hostile ? first : collected
      const verdict = judge(c, answer)
      const { request: _request, ...described } = c
      outcomes.push({
        ...described,
        status: answer.status,
        ...(answer.failure !== undefined ? { failure: answer.failure } : {}),
        held: verdict.held,
        ...(verdict.why !== undefined ? { why: verdict.why } : {}),
        ms: performance.now() - sentAt,
        answerBytes: answer.bytes
      })
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  if (loopbackHits > 0) {
    for (const [i, outcome] of outcomes.entries()) {
      if (outcome.name === "loopback-url" && outcome.held)
        outcomes[i] = { ...outcome, held: false, why: `the service fetched the loopback URL (${loopbackHits} requests reached the loopback target), then answered ${outcome.status}` }
    }
  }
  const serviceResults: Array<AttackService> = []
  const pgids = [...services.values()].flatMap((s) => (s.child.pid !== undefined ? [s.child.pid] : []))
  for (const service of serviceNames) {
    const running = services.get(service)
    if (running === undefined) {
      serviceResults.push({ service, started: false, startError: startErrors.get(service) ?? "", aliveAfter: false, leftInWorkDir: [], stopped: "not started", stopMs: 0 })
      continue
    }
    const aliveAfter = await alive(running)
    // Jobs still running (a request that timed out here) are given a moment to end and clean up.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    const left = filesIn(running.workDir)
    const stop = await stopService(running, 10_000)
    serviceResults.push({ service, started: true, aliveAfter, leftInWorkDir: left, stopped: stop.stopped, stopMs: stop.ms })
    log(`${service}: ${aliveAfter ? "alive" : "dead"}, ${left.length} files left, ${stop.stopped} in ${stop.ms.toFixed(0)} ms`)
  }
  await new Promise((resolve) => setTimeout(resolve, 500))
  const strays = groupMembers(pgids)
  for (const pgid of pgids) {
    try {
      process.kill(-pgid, "SIGKILL")
    } catch {
      // Already gone: what we want.
    }
  }
  target.close()
  rmSync(workRoot, { recursive: true, force: true })
  rmSync(samples, { recursive: true, force: true })
  const result: AttackResult = {
    requests: plan.length,
    concurrency,
    requestTimeoutMs: deadlineMs,
    seconds: (performance.now() - started) / 1000,
    services: serviceResults,
    outcomes,
    strayProcesses: strays
  }
  writeFileSync(out, JSON.stringify(result, null, 2))
  log(`wrote ${out}`)
}

await main()
process.exit(0)
