/**
 * Validation errors asked to echo a huge input, as an attacker would (3 MB in, 6 MB out made
 * the services an amplifier): a 3 MB string where a short literal belongs, and thousands of
 * invalid items. The answer still says which field and what was expected, but quotes at most
 * a short head of what was sent, and stays small.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { capQuotes } from "../../../src/services/kit/Errors.js"
import * as FfmpegServer from "../../../src/services/ffmpeg/Server.js"
import * as TtsServer from "../../../src/services/tts/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"

let root: string
let clip: Buffer
let ffmpeg: RunningServer
let tts: RunningServer
const huge = "x".repeat(3 * 1024 * 1024)

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-echo-"))
  execFileSync("ffmpeg", ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1", join(root, "clip.wav")])
  clip = readFileSync(join(root, "clip.wav"))
  const options = (name: string) => ({ host: "127.0.0.1", port: 0, workDir: join(root, name), maxBodyBytes: 16 * 1024 * 1024, concurrency: 1 })
  ;[ffmpeg, tts] = await Promise.all([startServer(FfmpegServer.layer(options("ffmpeg"))), startServer(TtsServer.layer(options("tts")))])
})

afterAll(async () => {
  await Promise.all([ffmpeg?.stop(), tts?.stop()])
  rmSync(root, { recursive: true, force: true })
})

const post = (url: string, contentType: string, body: Buffer) =>
  new Promise<{ readonly status: number; readonly body: string }>((resolve, reject) => {
    const req = Http.request(url, { method: "POST", headers: { "content-type": contentType, "content-length": String(body.length) } }, (res) => {
      let text = ""
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on("error", reject)
    req.end(body)
  })

const job = (path: string, spec: unknown) => {
  const boundary = "----echo"
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="spec"\r\n\r\n${JSON.stringify(spec)}\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="clip"; filename="clip.wav"\r\n\r\n`),
    clip,
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  return post(`${ffmpeg.url}${path}`, `multipart/form-data; boundary=${boundary}`, body)
}

describe("validation errors do not echo the whole input", () => {
  it("ffmpeg: a 3 MB string for a format is a small 400 that names the field", async () => {
    const answer = await job("/video/extractAudio", { format: huge })
    expect(answer.status).toBe(400)
    expect(answer.body.length).toBeLessThan(4096)
    const { error } = JSON.parse(answer.body)
    expect(error).toContain("format")
    expect(error).toContain("xxxxxxxx")
  })

  it("ffmpeg: thousands of invalid clips are a small 400", async () => {
    const answer = await job("/video/compose", { clips: Array.from({ length: 5000 }, () => ({ src: "clip", start: -1, volume: huge.slice(0, 500) })) })
    expect(answer.status).toBe(400)
    expect(answer.body.length).toBeLessThan(4096)
  })

  it("tts: a 3 MB string for output_format is a small 422 in FastAPI's shape", async () => {
    const answer = await post(`${tts.url}/tts`, "application/json", Buffer.from(JSON.stringify({ text: "hi", output_format: huge })))
    expect(answer.status).toBe(422)
    expect(answer.body.length).toBeLessThan(4096)
    const { detail } = JSON.parse(answer.body)
    expect(detail[0]).toMatchObject({ loc: expect.arrayContaining(["output_format"]) })
    expect(detail[0].msg).toMatch(/^Expected .*wav.*, actual "x+/)
  })

  it("capQuotes: long quoted strings keep a head and their length; the whole is capped", () => {
    expect(capQuotes(`actual "${"y".repeat(500)}"`)).toBe(`actual "${"y".repeat(100)}…" (500 characters)`)
    expect(capQuotes('short "quoted \\" text" stays')).toBe('short "quoted \\" text" stays')
    expect(capQuotes("z".repeat(5000)).length).toBeLessThanOrEqual(2000)
  })
})
