/**
 * The FFmpeg service started in this process on a free port, spoken to over raw HTTP: the
 * routes and their envelopes, results fetched and released, every kind of bad request (each a
 * clear 4xx/5xx, the service still up after it), uploads that try to leave the work directory,
 * the job queue, inputs by URL, a shutdown in the middle of a job, and the generating routes
 * (slides and ambient pads, JSON bodies). After each request the work directory holds nothing
 * but the results not yet released.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/ffmpeg/Server.js"
import { frameAt, makeClip, makePng, makeSpeech, pixel, probe, type RunningServer, startServer } from "./support.js"

const maxBodyBytes = 2 * 1024 * 1024
let root: string
let media: string
let workDir: string
let server: RunningServer
let blue: string
let logo: string
let speech: string

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-server-"))
  media = join(root, "media")
  workDir = join(root, "work")
  mkdirSync(media)
  blue = makeClip(media, "blue.mp4", "blue")
  logo = makePng(media, "logo.png", "red", "80x45")
  speech = makeSpeech(media, "speech.wav", "Testing the audio conversion of the service.")
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes, concurrency: 1 }))
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

interface Part {
  readonly name: string
  readonly filename?: string
  readonly contentType?: string
  readonly data: Buffer | string
}

/** A multipart body built by hand, so names are sent exactly as written. */
const multipart = (parts: ReadonlyArray<Part>): { readonly body: Buffer; readonly contentType: string } => {
  const boundary = `----automarket${Math.random().toString(16).slice(2)}`
  const chunks: Array<Buffer> = []
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ""}`
    const type = part.contentType ?? (part.filename !== undefined ? "application/octet-stream" : undefined)
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type !== undefined ? `Content-Type: ${type}\r\n` : ""}\r\n`))
    chunks.push(typeof part.data === "string" ? Buffer.from(part.data) : part.data)
    chunks.push(Buffer.from("\r\n"))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

interface Answer {
  readonly status: number
  readonly headers: Http.IncomingHttpHeaders
  readonly body: Buffer
  readonly json: () => any
}

/** One HTTP request; `chunked` sends the body in pieces without a Content-Length. */
const request = (
  url: string,
  options: { readonly method?: string; readonly headers?: Record<string, string>; readonly body?: Buffer; readonly chunked?: boolean } = {}
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = Http.request(url, { method: options.method ?? "GET", headers: options.headers ?? {} }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => {
        const body = Buffer.concat(chunks)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body.toString("utf8")) })
      })
      res.on("error", reject)
    })
    req.on("error", reject)
    const body = options.body
    if (body === undefined) return void req.end()
    if (options.chunked !== true) return void req.end(body)
    let offset = 0
    const pump = () => {
      while (offset < body.length) {
        const piece = body.subarray(offset, offset + 64 * 1024)
        offset += piece.length
        if (!req.write(piece)) return void req.once("drain", pump)
      }
      req.end()
    }
    pump()
  })

const post = (path: string, parts: ReadonlyArray<Part>, options: { readonly chunked?: boolean; readonly base?: string } = {}) => {
  const { body, contentType } = multipart(parts)
  return request(`${options.base ?? server.url}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, ...(options.chunked === true ? {} : { "content-length": String(body.length) }) },
    body,
    ...(options.chunked === true ? { chunked: true } : {})
  })
}

const postJson = (path: string, body: unknown, contentType = "application/json") => {
  const bytes = Buffer.from(typeof body === "string" ? body : JSON.stringify(body))
  return request(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": contentType, "content-length": String(bytes.length) },
    body: bytes
  })
}

const file = (name: string, path: string, filename = path.split("/").pop()!): Part => ({ name, filename, data: readFileSync(path) })
const spec = (value: unknown): Part => ({ name: "spec", data: typeof value === "string" ? value : JSON.stringify(value) })

const health = async (base = server.url) => {
  const answer = await request(`${base}/health`)
  expect(answer.status).toBe(200)
  return answer.json()
}

/** The service still answers, and nothing of the request is left in the work directory. */
const stillServing = async () => {
  expect(await health()).toMatchObject({ status: "healthy", service: "ffmpeg", activeJobs: 0, queuedJobs: 0 })
  expect(readdirSync(workDir)).toEqual([])
}

const release = async (name: string) => {
  const answer = await request(`${server.url}/outputs/${name}`, { method: "DELETE" })
  expect(answer.status).toBe(200)
  expect(answer.json()).toEqual({ success: true, data: { deleted: name } })
}

describe("FFmpeg service: routes", () => {
  it("answers /health with its counters and limits", async () => {
    const body = await health()
    expect(body).toMatchObject({ status: "healthy", service: "ffmpeg", activeJobs: 0, queuedJobs: 0, limits: { maxBodyBytes, concurrency: 1 } })
    expect(typeof body.uptime).toBe("number")
  })

  it("composes uploads referenced by key, serves the result, then releases it", async () => {
    const answer = await post("/video/compose", [
      spec({
        clips: [{ src: "clip" }, { src: "clip", start: 1 }],
        overlays: [{ _tag: "image", src: "logo", position: { anchor: "bottom-left", margin: 4 } }, { _tag: "text", text: "caption" }],
        audio: { mode: "mix", tracks: [{ src: "voice", volume: 0.5 }] },
        output: { width: 320, height: 180 }
      }),
      file("clip", blue),
      file("logo", logo),
      file("voice", speech)
    ])
    expect(answer.status).toBe(200)
    const { success, data } = answer.json()
    expect(success).toBe(true)
    expect(data.output).toMatchObject({ mimeType: "video/mp4", width: 320, height: 180, videoCodec: "h264", audioCodec: "aac" })
    expect(data.output.duration).toBeCloseTo(3, 1)
    expect(data.output.url).toBe(`/outputs/${data.output.name}`)
    // Only the result is kept: the job's uploads are gone.
    expect(readdirSync(workDir)).toEqual([data.output.name])

    const download = await request(`${server.url}${data.output.url}`)
    expect(download.status).toBe(200)
    expect(download.headers["content-type"]).toBe("video/mp4")
    expect(download.body.length).toBe(data.output.size)
    const local = join(root, "downloaded.mp4")
    writeFileSync(local, download.body)
    expect(probe(local).duration).toBeCloseTo(3, 1)

    await release(data.output.name)
    const again = await request(`${server.url}${data.output.url}`)
    expect(again.status).toBe(404)
    expect(again.json()).toMatchObject({ success: false, code: "not-found" })
    await stillServing()
  })

  it("reports metadata", async () => {
    const answer = await post("/video/metadata", [file("video", blue)])
    expect(answer.status).toBe(200)
    expect(answer.json().data).toMatchObject({ hasVideo: true, hasAudio: true, width: 320, height: 180, fps: 30, videoCodec: "h264", audioCodec: "aac" })
    await stillServing()
  })

  it("extracts a frame and audio, and filters a video", async () => {
    const frame = await post("/video/extractFrame", [spec({ time: 1, width: 160 }), file("video", blue)])
    expect(frame.status).toBe(200)
    expect(frame.json().data.output).toMatchObject({ mimeType: "image/png", width: 160, height: 90 })
    await release(frame.json().data.output.name)

    const sound = await post("/video/extractAudio", [spec({ format: "flac", sampleRate: 22050 }), file("video", blue)])
    expect(sound.status).toBe(200)
    expect(sound.json().data.output).toMatchObject({ mimeType: "audio/flac", audioCodec: "flac", sampleRate: 22050 })
    await release(sound.json().data.output.name)

    const filtered = await post("/video/filter", [
      spec({ operations: [{ _tag: "speed", factor: 2 }, { _tag: "scale", height: 90 }, { _tag: "mute" }] }),
      file("video", blue)
    ])
    expect(filtered.status).toBe(200)
    const output = filtered.json().data.output
    expect(output).toMatchObject({ width: 160, height: 90, videoCodec: "h264" })
    expect(output.audioCodec).toBeUndefined()
    expect(Math.abs(output.duration - 1)).toBeLessThan(0.1)
    await release(output.name)
    await stillServing()
  })

  it("does not serve or delete anything but its own results", async () => {
    for (const name of ["..%2F..%2Fetc%2Fpasswd", "out-123.mp4", "job-x", "%2Fetc%2Fpasswd"]) {
      const get = await request(`${server.url}/outputs/${name}`)
      expect(get.status).toBe(404)
      expect(get.json()).toMatchObject({ success: false, code: "not-found" })
      const del = await request(`${server.url}/outputs/${name}`, { method: "DELETE" })
      expect(del.status).toBe(404)
    }
    await stillServing()
  })
})

describe("FFmpeg service: bad requests", () => {
  it("malformed JSON in the spec: 400 naming the problem", async () => {
    const answer = await post("/video/compose", [spec('{"clips": [ {"src": "clip" }'), file("clip", blue)])
    expect(answer.status).toBe(400)
    const body = answer.json()
    expect(body).toMatchObject({ success: false, code: "bad-request" })
    expect(body.error).toContain('"spec" field is not valid JSON')
    await stillServing()
  })

  it("a spec that does not match the schema: 400 with the path of the problem", async () => {
    const answer = await post("/video/compose", [spec({ clips: [], output: { fps: 500 } })])
    expect(answer.status).toBe(400)
    expect(answer.json().error).toMatch(/clips|fps/)
    const missing = await post("/video/compose", [file("clip", blue)])
    expect(missing.status).toBe(400)
    expect(missing.json().error).toContain('missing the "spec" field')
    await stillServing()
  })

  it("a spec naming a file that was not uploaded: 400 naming it", async () => {
    const answer = await post("/video/compose", [spec({ clips: [{ src: "intro" }, { src: "clip" }] }), file("clip", blue)])
    expect(answer.status).toBe(400)
    expect(answer.json().error).toBe('the spec names "intro" but no file was uploaded under that key (uploaded: "clip")')
    await stillServing()
  })

  it("a file that is not media: 415; a body that is not a form: 415", async () => {
    const answer = await post("/video/compose", [spec({ clips: [{ src: "clip" }] }), { name: "clip", filename: "notes.mp4", data: "just some text" }])
    expect(answer.status).toBe(415)
    expect(answer.json()).toMatchObject({ success: false, code: "unsupported-media" })
    expect(answer.json().error).toContain('"clip" is not media ffprobe can read')
    expect(answer.json().error).not.toContain(workDir)

    const json = await request(`${server.url}/video/compose`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ clips: [{ src: "x" }] }))
    })
    expect(json.status).toBe(415)
    expect(json.json().error).toContain("multipart/form-data")

    const noVideo = await post("/video/extractFrame", [file("audio", speech)])
    expect(noVideo.status).toBe(415)
    expect(noVideo.json().error).toContain("has no video stream")
    await stillServing()
  })

  it("a body over the limit: 413, whether its size is declared or streamed", async () => {
    const big = Buffer.alloc(maxBodyBytes + 256 * 1024, 7)
    const declared = await post("/video/metadata", [{ name: "video", filename: "big.mp4", data: big }])
    expect(declared.status).toBe(413)
    expect(declared.json()).toMatchObject({ success: false, code: "payload-too-large" })
    expect(declared.json().error).toContain(`${maxBodyBytes} bytes`)

    const streamed = await post("/video/metadata", [{ name: "video", filename: "big.mp4", data: big }], { chunked: true })
    expect(streamed.status).toBe(413)
    expect(streamed.json().error).toContain(`${maxBodyBytes} bytes`)
    await stillServing()
  })

  it("file names that climb directories are refused and nothing is written outside the work directory", async () => {
    const marker = `evil-${Date.now()}.wav`
    for (const name of [`../${marker}`, `../../${marker}`, `/tmp/${marker}`, `..\\..\\${marker}`, ".."]) {
      const answer = await post("/audio/convert", [spec({}), file("audio", speech, name)])
      expect(answer.status).toBe(400)
      expect(answer.json().error).toContain("unsafe file name")
    }
    // Dots inside a plain name are fine: names are never used as paths.
    const plain = await post("/video/metadata", [file("video", blue, "take..2.final.mp4")])
    expect(plain.status).toBe(200)
    expect(existsSync(join(root, marker))).toBe(false)
    expect(existsSync(join(tmpdir(), marker))).toBe(false)
    expect(existsSync(join("/tmp", marker))).toBe(false)
    expect(readdirSync(root).filter((entry) => entry.includes(marker))).toEqual([])
    expect(readdirSync(tmpdir()).filter((entry) => entry.includes(marker))).toEqual([])
    await stillServing()
  })

  it("unknown fields and repeated keys: 400", async () => {
    const unknown = await post("/video/metadata", [{ name: "comment", data: "hi" }, file("video", blue)])
    expect(unknown.status).toBe(400)
    expect(unknown.json().error).toContain('unexpected form field "comment"')
    const twice = await post("/video/metadata", [file("video", blue), file("video", blue)])
    expect(twice.status).toBe(400)
    expect(twice.json().error).toContain('more than one file under the key "video"')
    await stillServing()
  })

  it("an ffmpeg failure: 500 with ffmpeg's own last lines", async () => {
    const answer = await post("/audio/convert", [spec({ format: "opus", sampleRate: 44100 }), file("audio", speech)])
    expect(answer.status).toBe(500)
    const body = answer.json()
    expect(body).toMatchObject({ success: false, code: "ffmpeg-failed" })
    expect(body.error).toContain("ffmpeg failed (exit 1)")
    expect(body.error).toContain("Specified sample rate 44100 is not supported")
    await stillServing()
  })

  it("a composition that cannot be rendered: 400 listing why", async () => {
    const answer = await post("/video/compose", [
      spec({ clips: [{ src: "clip" }, { src: "clip" }], layout: { _tag: "concat", transition: { kind: "fade", duration: 3 } } }),
      file("clip", blue)
    ])
    expect(answer.status).toBe(400)
    expect(answer.json().error).toContain("too short for a 3 s transition")
    await stillServing()
  })
})

describe("FFmpeg service: queue, URLs, shutdown", () => {
  it("runs one job at a time and counts the others as queued", async () => {
    const job = () => post("/video/extractAudio", [spec({ format: "mp3" }), file("video", blue)])
    let maxQueued = 0
    let done = false
    const watch = (async () => {
      while (!done) {
        const body = await health()
        maxQueued = Math.max(maxQueued, body.queuedJobs)
        expect(body.activeJobs).toBeLessThanOrEqual(1)
      }
    })()
    const answers = await Promise.all([job(), job(), job()])
    done = true
    await watch
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200])
    expect(maxQueued).toBeGreaterThanOrEqual(1)
    for (const answer of answers) await release(answer.json().data.output.name)
    await stillServing()
  })

  it("fetches inputs given by http URL, and refuses URLs that fail", async () => {
    const bytes = readFileSync(blue)
    const files = Http.createServer((req, res) => {
      if (req.url === "/clip.mp4") {
        res.writeHead(200, { "content-type": "video/mp4", "content-length": bytes.length })
        res.end(bytes)
      } else {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve))
    const address = files.address()
    const base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
    // URL inputs are off by default, and loopback is never reached unless trusted: this service
    // opts in to both, for the one file server of the test.
    const fetching = await startServer(
      layer({ host: "127.0.0.1", port: 0, maxBodyBytes, concurrency: 1, allowUrlHosts: ["127.0.0.1"] }, { trustedUrlAddresses: ["127.0.0.1"] })
    )
    try {
      const answer = await post("/video/metadata", [spec({ src: `${base}/clip.mp4` })], { base: fetching.url })
      expect(answer.status).toBe(200)
      expect(answer.json().data).toMatchObject({ width: 320, height: 180, hasAudio: true })
      const missing = await post("/video/metadata", [spec({ src: `${base}/nothing.mp4` })], { base: fetching.url })
      expect(missing.status).toBe(400)
      expect(missing.json().error).toContain("HTTP 404")
      const refused = await post("/video/metadata", [spec({ src: `${base}/clip.mp4` })])
      expect(refused.status).toBe(400)
      expect(refused.json().error).toContain("URL inputs are disabled")
    } finally {
      await fetching.stop()
      files.closeAllConnections()
      await new Promise<void>((resolve) => files.close(() => resolve()))
    }
    await stillServing()
  })

  it("shutting down interrupts a running job: the request is answered 503, ffmpeg is stopped, the files are gone", async () => {
    const dir = join(root, "shutdown-work")
    const long = makeClip(media, "long.mp4", "green", { seconds: 30, size: "640x360" })
    const own = await startServer(layer({ host: "127.0.0.1", port: 0, workDir: dir, maxBodyBytes: 64 * 1024 * 1024, concurrency: 1 }))
    let stopped = false
    try {
      const pending = post(
        "/video/compose",
        [spec({ clips: [{ src: "clip" }], output: { width: 1920, height: 1080, videoCodec: "vp9", audioCodec: "opus", format: "webm" } }), file("clip", long)],
        { base: own.url }
      )
      for (let i = 0; i < 500; i++) {
        if ((await health(own.url)).activeJobs === 1 && ffmpegChildren().length > 0) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(ffmpegChildren().length).toBeGreaterThan(0)
      await own.stop()
      stopped = true
      const answer = await pending
      expect(answer.status).toBe(503)
      expect(answer.json()).toEqual({ success: false, error: "the service is shutting down", code: "unavailable" })
      expect(ffmpegChildren()).toEqual([])
      expect(readdirSync(dir)).toEqual([])
    } finally {
      if (!stopped) await own.stop()
    }
  })
})

/** The ffmpeg processes this test process is the parent of. */
const ffmpegChildren = (): Array<string> => {
  try {
    return execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .filter((line) => /\bffmpeg\b/.test(line))
  } catch {
    return []
  }
}

describe("FFmpeg service: slides and ambient pads", () => {
  /** Fetch a result into the test directory, release it on the service, and return the local path. */
  const fetchResult = async (output: { readonly name: string; readonly url: string }, local: string) => {
    const download = await request(`${server.url}${output.url}`)
    expect(download.status).toBe(200)
    writeFileSync(join(root, local), download.body)
    await release(output.name)
    return join(root, local)
  }

  it("draws a slide: a PNG of the asked size, the background in the margins, the text inside them", async () => {
    const words = Array.from({ length: 60 }, (_, i) => ["market", "media", "provider", "service", "typed"][i % 5]).join(" ")
    const answer = await postJson("/image/slide", { title: "Automarket", body: words, width: 640, height: 360, background: "#204060", color: "#ffffff" })
    expect(answer.status).toBe(200)
    const { success, data } = answer.json()
    expect(success).toBe(true)
    expect(data.output).toMatchObject({ mimeType: "image/png", width: 640, height: 360 })
    expect(readdirSync(workDir)).toEqual([data.output.name])
    const png = await fetchResult(data.output, "slide.png")
    expect(probe(png).streams[0]).toMatchObject({ codec_name: "png", width: 640, height: 360 })
    const frame = frameAt(png, 0)
    // Wrapped to fit: the outer columns are untouched background, the text is in between.
    let drawn = 0
    for (let y = 0; y < 360; y++) {
      for (const x of [0, 5, 10, 15, 624, 629, 634, 639]) expect(pixel(frame, 640, x, y)).toEqual([0x20, 0x40, 0x60])
      for (let x = 40; x < 600; x++) if (pixel(frame, 640, x, y)[0] > 200) drawn++
    }
    expect(drawn).toBeGreaterThan(2000)
    await stillServing()
  })

  it("refuses a slide with nothing to draw, bad JSON, a spec off the schema, a body that is not JSON, or too much of it", async () => {
    const empty = await postJson("/image/slide", { text: "   " })
    expect(empty.status).toBe(400)
    expect(empty.json()).toEqual({ success: false, code: "bad-request", error: 'the slide has no text: give "text", "title" or "body"' })
    const broken = await postJson("/image/slide", '{"text": "unfinished')
    expect(broken.status).toBe(400)
    expect(broken.json().error).toContain("the request body is not valid JSON")
    const small = await postJson("/image/slide", { text: "x", width: 10, colour: "red" })
    expect(small.status).toBe(400)
    expect(small.json().error).toContain("the request body is not a valid spec")
    expect(small.json().error).toMatch(/width[\s\S]*colour|colour[\s\S]*width/)
    const form = await postJson("/image/slide", "text=x", "application/x-www-form-urlencoded")
    expect(form.status).toBe(415)
    expect(form.json()).toMatchObject({ success: false, code: "unsupported-media" })
    const huge = await postJson("/image/slide", { text: "x".repeat(300 * 1024) })
    expect(huge.status).toBe(413)
    expect(huge.json()).toMatchObject({ success: false, code: "payload-too-large" })
    await stillServing()
  })

  it("synthesizes an ambient pad: 48 kHz stereo wav of the asked duration", async () => {
    const answer = await postJson("/audio/ambient", { duration: 3.5, seed: 9, mood: "dark" })
    expect(answer.status).toBe(200)
    const output = answer.json().data.output
    expect(output).toMatchObject({ mimeType: "audio/wav", sampleRate: 48000, channels: 2, audioCodec: "pcm_s16le" })
    expect(Math.abs(output.duration - 3.5)).toBeLessThan(0.02)
    const wav = await fetchResult(output, "pad.wav")
    expect(readFileSync(wav).subarray(0, 4).toString("latin1")).toBe("RIFF")
    for (const spec of [{ duration: 601 }, { duration: 0 }, { duration: 5, mood: "angry" }, {}]) {
      const refused = await postJson("/audio/ambient", spec)
      expect(refused.status).toBe(400)
      expect(refused.json().code).toBe("bad-request")
    }
    await stillServing()
  })
})
