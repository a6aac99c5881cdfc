/**
 * JSON bodies over a route's limit sent chunked (no `Content-Length` to refuse up front), as a
 * careless client or an attacker would: the FFmpeg service's generating routes (`/image/slide`,
 * `/audio/ambient`, 256 KiB) and the TTS service's `/tts` (its `maxBodyBytes`). Each is answered
 * 413 in the service's own encoding, on a connection the client can still read (not reset while
 * it is sending), and the service goes on serving. A chunked body under the limit is served.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import * as Http from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as FfmpegServer from "../../../src/services/ffmpeg/Server.js"
import * as TtsServer from "../../../src/services/tts/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"

let root: string
let ffmpeg: RunningServer
let tts: RunningServer
const ttsMaxBody = 64 * 1024

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-chunked-"))
  const options = (name: string, maxBodyBytes: number) => ({ host: "127.0.0.1", port: 0, workDir: join(root, name), maxBodyBytes, concurrency: 1 })
  ;[ffmpeg, tts] = await Promise.all([startServer(FfmpegServer.layer(options("ffmpeg", 8 * 1024 * 1024))), startServer(TtsServer.layer(options("tts", ttsMaxBody)))])
})

afterAll(async () => {
  await Promise.all([ffmpeg?.stop(), tts?.stop()])
  rmSync(root, { recursive: true, force: true })
})

/**
 * POST a JSON document chunked: `{"<field>":"` then `size` spaces in 16 KiB chunks, then `"}`,
 * each chunk written once the previous one drained. The answer, or the transport error the
 * client saw.
 */
const postChunked = (url: string, field: string, size: number, extra = "") =>
  new Promise<{ readonly status: number; readonly body: string } | { readonly error: string }>((resolve) => {
    const req = Http.request(url, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } })
    let done = false
    req.on("response", (res) => {
      let text = ""
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
      res.on("end", () => {
        done = true
        resolve({ status: res.statusCode ?? 0, body: text })
      })
      res.on("error", (error) => {
        done = true
        resolve({ error: error.message })
      })
    })
    req.on("error", (error) => {
      if (!done) resolve({ error: error.message })
    })
    const chunk = Buffer.alloc(16 * 1024, 0x20)
    let left = size
    const write = (): void => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left))
        left -= piece.length
        if (!req.write(piece)) return void req.once("drain", write)
      }
      req.end(`"${extra}}`)
    }
    req.write(`{"${field}":"hello`)
    write()
  })

describe("chunked JSON bodies over the limit", () => {
  it("ffmpeg /image/slide and /audio/ambient: 413 in the envelope, not a reset connection", async () => {
    for (const route of ["/image/slide", "/audio/ambient"]) {
      const answer = await postChunked(`${ffmpeg.url}${route}`, "title", 1024 * 1024)
      expect(answer, route).toMatchObject({ status: 413 })
      expect("body" in answer ? JSON.parse(answer.body) : undefined, route).toMatchObject({ success: false, code: "payload-too-large" })
    }
    expect(readdirSync(join(root, "ffmpeg"))).toEqual([])
  })

  it("tts /tts: 413 with FastAPI's detail, not a reset connection", async () => {
    const answer = await postChunked(`${tts.url}/tts`, "text", 4 * ttsMaxBody)
    expect(answer).toMatchObject({ status: 413 })
    expect("body" in answer ? JSON.parse(answer.body).detail : undefined).toContain("larger than")
  })

  it("under the limit, a chunked body is read as before; the services still serve", async () => {
    const slide = await postChunked(`${ffmpeg.url}/image/slide`, "title", 200)
    expect(slide).toMatchObject({ status: 200 })
    const speech = await postChunked(`${tts.url}/tts`, "text", 200, ',"voice_mode":"predefined","predefined_voice_id":"slt.wav"')
    expect(speech).toMatchObject({ status: 200 })
  })
})
