/**
 * The FFmpeg service with an ffmpeg that, when armed, ignores SIGTERM and never ends (as the real
 * one did reading an uploaded live HLS playlist: it waits to reload it and ignores a first
 * SIGTERM; such uploads are now refused, see `Playlists.test.ts`). The engine timeout, a client
 * going away and the shutdown must each still stop it (see `../runaway.ts`). The stand-in is put
 * first on this worker's PATH; ffprobe stays the real one.
 */
import { afterAll, beforeAll } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { delimiter, join } from "node:path"
import { layer } from "../../../src/services/ffmpeg/Server.js"
import { runawaySuite, stubbornEngine } from "../runaway.js"
import { makeClip, startServer } from "./support.js"

let root: string
let bin: string
let clip: Uint8Array
const path = process.env["PATH"]

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-runaway-"))
  bin = join(root, "bin")
  mkdirSync(bin)
  stubbornEngine(bin, "ffmpeg", execFileSync("sh", ["-c", "command -v ffmpeg"], { encoding: "utf8" }).trim())
  clip = new Uint8Array(readFileSync(makeClip(root, "clip.mp4", "blue", { seconds: 1 })))
  process.env["PATH"] = `${bin}${delimiter}${path ?? ""}`
})

afterAll(() => {
  process.env["PATH"] = path
  rmSync(root, { recursive: true, force: true })
})

const extractAudio = (url: string, signal?: AbortSignal) => {
  const form = new FormData()
  form.append("spec", JSON.stringify({ format: "wav" }))
  form.append("video", new Blob([clip]), "clip.mp4")
  return fetch(`${url}/video/extractAudio`, { method: "POST", body: form, ...(signal !== undefined ? { signal } : {}) })
}

runawaySuite(
  "FFmpeg service",
  {
    start: (engineTimeout, workDir, maxQueued) =>
      startServer(layer({ host: "127.0.0.1", port: 0, workDir, maxBodyBytes: 1024 * 1024, concurrency: 1, engineTimeout, maxQueued })),
    arm: () => writeFileSync(join(bin, "hang"), ""),
    disarm: () => rmSync(join(bin, "hang"), { force: true }),
    hanging: (url, signal) => extractAudio(url, signal),
    served: (url) => extractAudio(url),
    // The stand-in's shell, reading the clip uploaded into the work directory.
    marker: (workDir) => [join(bin, "ffmpeg"), workDir],
    timedOut: { status: 500, says: "ffmpeg took longer than 8s and was stopped" },
    shutDown: { status: 503 }
  },
  () => root
)
