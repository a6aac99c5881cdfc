/**
 * File names as browsers and careless clients send them: raw UTF-8 beyond Latin-1 (`人.wav`,
 * `видео.mp4`), Latin-1 (`é.wav`), quotes and parentheses, RFC 5987's `filename*`, and a NUL or a
 * line break in the name. Names beyond ASCII arrive as sent (the FFmpeg service takes the file,
 * STT transcribes it) instead of a misleading "unexpected form field" 400 or "field required"
 * 422; a control character is a 400 naming it, never a part dropped silently. Plus the
 * re-encoding of part headers itself, whatever the chunking of the body.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FfmpegServer from "../../../src/services/ffmpeg/Server.js"
import * as Upload from "../../../src/services/kit/Upload.js"
import * as SttServer from "../../../src/services/stt/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"

let root: string
let speech: Buffer
let ffmpeg: RunningServer
let stt: RunningServer

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-filenames-"))
  execFileSync("flite", ["-voice", "slt", "-t", "hello world", "-o", join(root, "speech.wav")])
  speech = readFileSync(join(root, "speech.wav"))
  const options = (name: string) => ({ host: "127.0.0.1", port: 0, workDir: join(root, name), maxBodyBytes: 8 * 1024 * 1024, concurrency: 1 })
  ;[ffmpeg, stt] = await Promise.all([startServer(FfmpegServer.layer(options("ffmpeg"))), startServer(SttServer.layer(options("stt")))])
})

afterAll(async () => {
  await Promise.all([ffmpeg?.stop(), stt?.stop()])
  rmSync(root, { recursive: true, force: true })
})

/** A multipart body whose file part's Content-Disposition parameters are `disposition`, written as raw UTF-8 bytes (as browsers do). */
const form = (fields: ReadonlyArray<readonly [string, string]>, field: string, disposition: string, content: Buffer) => {
  const boundary = "----names7MA4YWxkTrZu0gW"
  const head = fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join("")
  const body = Buffer.concat([
    Buffer.from(`${head}--${boundary}\r\nContent-Disposition: form-data; name="${field}"; ${disposition}\r\nContent-Type: audio/wav\r\n\r\n`, "utf8"),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  return { body, contentType: `multipart/form-data; boundary=${boundary}` }
}

const post = (url: string, payload: { readonly body: Buffer; readonly contentType: string }) =>
  new Promise<{ readonly status: number; readonly body: string }>((resolve, reject) => {
    const req = Http.request(url, { method: "POST", headers: { "content-type": payload.contentType, "content-length": String(payload.body.length) } }, (res) => {
      let text = ""
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
    })
    req.on("error", reject)
    req.end(payload.body)
  })

const names = ['filename="人.wav"', 'filename="видео запись.wav"', 'filename="é-clip.wav"', 'filename="名前 (1)\'s.wav"', "filename*=UTF-8''%E4%BA%BA.wav"]

describe("file names beyond ASCII are taken as sent", () => {
  it("ffmpeg /video/metadata reads the file whatever its name", async () => {
    for (const disposition of names) {
      const answer = await post(`${ffmpeg.url}/video/metadata`, form([["spec", "{}"]], "clip", disposition, speech))
      expect(answer.status, `${disposition}: ${answer.body}`).toBe(200)
      expect(JSON.parse(answer.body)).toMatchObject({ success: true, data: { hasAudio: true } })
    }
  })

  it("stt /asr transcribes the file whatever its name", async () => {
    for (const disposition of [names[0]!, names[3]!, names[4]!]) {
      const answer = await post(`${stt.url}/asr?output=txt`, form([], "audio_file", disposition, speech))
      expect(answer.status, `${disposition}: ${answer.body}`).toBe(200)
      expect(answer.body.toLowerCase()).toContain("hello")
    }
  })
})

describe("a control character in a file name is a 400 naming it", () => {
  for (const [what, disposition] of [
    ["a NUL", 'filename="a\u0000b.wav"'],
    ["a line feed escaped in the quotes", 'filename="a\\\nb.wav"'],
    ["a NUL in filename*", "filename*=UTF-8''a%00b.wav"]
  ] as const) {
    it(`${what}: ffmpeg and stt refuse with 400, nothing stored`, async () => {
      const viaFfmpeg = await post(`${ffmpeg.url}/video/metadata`, form([["spec", "{}"]], "clip", disposition, speech))
      expect(viaFfmpeg.status, viaFfmpeg.body).toBe(400)
      expect(JSON.parse(viaFfmpeg.body).error).toMatch(/file name .* has (a NUL|the control character U\+000A)/)
      const viaStt = await post(`${stt.url}/asr`, form([], "audio_file", disposition, speech))
      expect(viaStt.status, viaStt.body).toBe(400)
      expect(JSON.parse(viaStt.body).detail).toMatch(/file name .* has (a NUL|the control character U\+000A)/)
      expect(readdirSync(join(root, "ffmpeg"))).toEqual([])
    })
  }
})

describe("re-encoding part headers", () => {
  it("a quoted name beyond printable ASCII becomes filename*; plain ones and other headers stay", () => {
    const block = (line: string) => Buffer.from(`Content-Disposition: ${line}\r\nContent-Type: audio/wav\r\n\r\n`, "utf8")
    const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1")
    expect(text(Upload.reencodeFileName(block('form-data; name="a"; filename="人 (1).wav"')))).toBe(
      "Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%E4%BA%BA%20%281%29.wav\r\nContent-Type: audio/wav\r\n\r\n"
    )
    expect(text(Upload.reencodeFileName(block('form-data; name="a"; filename="plain.wav"')))).toBe(text(block('form-data; name="a"; filename="plain.wav"')))
    expect(text(Upload.reencodeFileName(block('form-data; name="a"; filename="x\\"y.wav"')))).toContain('filename="x\\"y.wav"')
    expect(text(Upload.reencodeFileName(block("form-data; name=\"a\"; filename=\"人.wav\"; filename*=UTF-8''b.wav")))).toContain(
      "form-data; name=\"a\"; filename*=UTF-8''b.wav"
    )
    // Not UTF-8: read as Latin-1.
    const latin1 = Buffer.concat([Buffer.from('Content-Disposition: form-data; name="a"; filename="'), Buffer.from([0xe9]), Buffer.from('.wav"\r\n\r\n')])
    expect(text(Upload.reencodeFileName(latin1))).toContain("filename*=UTF-8''%C3%A9.wav")
  })

  it.effect("the body is the same but for the headers, whatever the chunking", () =>
    Effect.gen(function* () {
      const { body, contentType } = form([["spec", '{"a":"--x"}']], "clip", 'filename="人.wav"', Buffer.from("payload with --names and \r\n\r\n inside"))
      const boundary = Upload.boundaryOf(contentType)!
      const expected = Buffer.from(body.toString("utf8").replace('filename="人.wav"', "filename*=UTF-8''%E4%BA%BA.wav"), "utf8")
      for (const size of [1, 2, 3, 7, 16, 64, body.length]) {
        const chunks: Array<Uint8Array> = []
        for (let at = 0; at < body.length; at += size) chunks.push(body.subarray(at, at + size))
        const out = yield* Stream.runCollect(Upload.reencodeFileNames(Stream.fromIterable(chunks), boundary))
        expect(Buffer.concat(Chunk.toArray(out)).equals(expected), `chunks of ${size}`).toBe(true)
      }
      expect(Upload.boundaryOf('multipart/form-data; boundary="quoted b"')).toBe("quoted b")
    })
  )
})
