/**
 * The FFmpeg service given a live HLS playlist (no `#EXT-X-ENDLIST`) naming a real segment:
 * ffmpeg waits to reload it and ignores a first SIGTERM. The engine timeout, a client going
 * away and the shutdown must each still stop it (see `../runaway.ts`).
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/ffmpeg/Server.js"
import { runawaySuite } from "../runaway.js"
import { makeClip, startServer } from "./support.js"

let root: string
let clip: Uint8Array
let playlist: string

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-runaway-"))
  const segment = makeClip(root, "segment.ts", "red", { seconds: 2 })
  clip = new Uint8Array(readFileSync(makeClip(root, "clip.mp4", "blue", { seconds: 1 })))
  playlist = `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\n${segment}\n`
})

afterAll(() => rmSync(root, { recursive: true, force: true }))

const extractAudio = (url: string, name: string, bytes: Uint8Array | string, signal?: AbortSignal) => {
  const form = new FormData()
  form.append("spec", JSON.stringify({ format: "wav" }))
  form.append("video", new Blob([bytes]), name)
  return fetch(`${url}/video/extractAudio`, { method: "POST", body: form, ...(signal !== undefined ? { signal } : {}) })
}

runawaySuite(
  "FFmpeg service",
  {
    start: (engineTimeout, workDir) =>
      startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes: 1024 * 1024, concurrency: 1, engineTimeout })),
    arm: () => undefined,
    disarm: () => undefined,
    hanging: (url, signal) => extractAudio(url, "live.m3u8", playlist, signal),
    served: (url) => extractAudio(url, "clip.mp4", clip),
    // ffmpeg ignores SIGTERM once it has read the segment and waits to reload the playlist: the
    // segment's 2 s of sound (about 176 KB of wav) are in the result being written.
    settled: async (workDir) => {
      const written = () =>
        readdirSync(workDir)
          .filter((name) => name.startsWith("out-"))
          .some((name) => (statSync(join(workDir, name), { throwIfNoEntry: false })?.size ?? 0) >= 150_000)
      for (let i = 0; i < 400 && !written(); i++) await new Promise((resolve) => setTimeout(resolve, 25))
      await new Promise((resolve) => setTimeout(resolve, 300))
    },
    // ffmpeg (not ffprobe) reading the playlist uploaded into the work directory.
    marker: (workDir) => ["ffmpeg\0", workDir, ".m3u8"],
    timedOut: { status: 500, says: "ffmpeg took longer than 2s and was stopped" },
    shutDown: { status: 503 }
  },
  () => root
)
