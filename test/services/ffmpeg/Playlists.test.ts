/**
 * An uploaded playlist must not read the files it names. An HLS playlist naming a media file of
 * the machine, uploaded to the FFmpeg service, gave back that file's sound (`/video/extractAudio`)
 * and its facts (`/video/metadata`), and the answers differed between a path that exists and one
 * that does not (an oracle of the file system). Now the upload is read as a self-contained media
 * file only: refused, the same answer whatever the playlist names, and a live playlist does not
 * keep an ffmpeg waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/ffmpeg/Server.js"
import { gone, processesMentioning } from "../runaway.js"
import { makeClip, type RunningServer, startServer } from "./support.js"

let root: string
let secret: string
let server: RunningServer
const workDir = () => join(root, "work")

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-playlists-"))
  // A file of the machine, outside the service's work directory.
  secret = makeClip(root, "secret.ts", "red", { seconds: 2 })
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir: workDir(), maxBodyBytes: 1024 * 1024, concurrency: 2 }))
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

const playlist = (segment: string, live = false) =>
  `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\n${segment}\n${live ? "" : "#EXT-X-ENDLIST\n"}`

const post = async (route: string, name: string, body: string) => {
  const form = new FormData()
  form.append("video", new Blob([body]), name)
  const response = await fetch(`${server.url}${route}`, { method: "POST", body: form })
  return { status: response.status, text: await response.text() }
}

describe("FFmpeg service: uploaded playlists", () => {
  it("/video/extractAudio gives nothing of the file a playlist names: refused with 4xx", async () => {
    const answer = await post("/video/extractAudio", "list.m3u8", playlist(secret))
    expect(answer.status).toBeGreaterThanOrEqual(400)
    expect(answer.status).toBeLessThan(500)
    expect(answer.text).not.toContain("/outputs/")
    expect(answer.text).toContain("playlists and other files that name other files or URLs are refused")
  })

  it("/video/metadata tells nothing of the file a playlist names", async () => {
    const answer = await post("/video/metadata", "list.m3u8", playlist(secret))
    expect(answer.status).toBeGreaterThanOrEqual(400)
    expect(answer.status).toBeLessThan(500)
    expect(answer.text).not.toContain("duration")
  })

  it("the answer is the same whether the named path exists or not (even under another file name)", async () => {
    for (const route of ["/video/extractAudio", "/video/metadata"]) {
      const existing = await post(route, "list.m3u8", playlist(secret))
      const missing = await post(route, "list.m3u8", playlist(join(root, "no-such-file.ts")))
      expect(missing).toEqual(existing)
      // Named like media, the playlist is still read only as what it is.
      const disguised = await post(route, "list.mp3", playlist(secret))
      expect(disguised.status).toBe(existing.status)
      expect(disguised.text).not.toContain("duration")
    }
  })

  it("a live playlist (no #EXT-X-ENDLIST) is refused at once: no ffmpeg left waiting to reload it", async () => {
    const answer = await post("/video/extractAudio", "live.m3u8", playlist(secret, true))
    expect(answer.status).toBeGreaterThanOrEqual(400)
    expect(answer.status).toBeLessThan(500)
    expect(await gone(await processesMentioning(workDir(), ".m3u8"), 5000)).toEqual([])
  })
})
