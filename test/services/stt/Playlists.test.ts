/**
 * An uploaded playlist must not read the files it names: an HLS playlist naming a recording of
 * the machine, sent to the STT service as `audio_file`, was transcribed as that recording. Now
 * the upload is decoded as a self-contained media file only: 400, nothing of the recording, the
 * same answer whether the named path exists or not.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/stt/Server.js"
import { type RunningServer, startServer } from "../../support/inProcessServer.js"
import { ffmpegConvert, fliteSpeak } from "../../support/media.js"

let root: string
let secret: string
let server: RunningServer

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-stt-playlists-"))
  const wav = join(root, "secret.wav")
  fliteSpeak("Good morning. The password is orange.", wav)
  secret = join(root, "secret.ts")
  ffmpegConvert(wav, secret, ["-c:a", "aac"])
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir: join(root, "work"), maxBodyBytes: 1024 * 1024, concurrency: 1 }))
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

const playlist = (segment: string) =>
  `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:4.0,\n${segment}\n#EXT-X-ENDLIST\n`

const asr = async (name: string, body: string) => {
  const form = new FormData()
  form.append("audio_file", new Blob([body]), name)
  const response = await fetch(`${server.url}/asr?output=json`, { method: "POST", body: form })
  return { status: response.status, text: await response.text() }
}

describe("STT service: uploaded playlists", () => {
  it("the transcript of a playlist is not the transcript of the file it names: refused with 400", async () => {
    const answer = await asr("list.m3u8", playlist(secret))
    expect(answer.text.toLowerCase()).not.toContain("morning")
    expect(answer.status).toBe(400)
    expect(answer.text).toContain("playlists and other files that name other files or URLs are refused")
  })

  it("the answer is the same whether the named path exists or not", async () => {
    const existing = await asr("list.m3u8", playlist(secret))
    const missing = await asr("list.m3u8", playlist(join(root, "no-such-file.ts")))
    expect(missing).toEqual(existing)
  })
})
