/**
 * Work a request may ask of the FFmpeg service is bounded, and what is beyond the bounds is the
 * caller's 400, naming the field and the limit, before any engine runs: impossible sizes
 * (0x0, 100000x100000), too many clips (1,000 clips made `spawn E2BIG` a 500), numbers that
 * become `Infinity` in a filter (1e308), durations beyond reason.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layer } from "../../../src/services/ffmpeg/Server.js"
import { processesMentioning } from "../runaway.js"
import { makeClip, type RunningServer, startServer } from "./support.js"

let root: string
let clip: Uint8Array
let server: RunningServer
const workDir = () => join(root, "work")

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "automarket-ffmpeg-limits-"))
  clip = new Uint8Array(readFileSync(makeClip(root, "clip.mp4", "blue", { seconds: 1, size: "64x64" })))
  server = await startServer(layer({ host: "127.0.0.1", port: 0, workDir: workDir(), maxBodyBytes: 4 * 1024 * 1024, concurrency: 2 }))
})

afterAll(async () => {
  await server?.stop()
  rmSync(root, { recursive: true, force: true })
})

const job = async (route: string, spec: unknown) => {
  const form = new FormData()
  form.append("spec", JSON.stringify(spec))
  form.append("a", new Blob([clip]), "clip.mp4")
  const response = await fetch(`${server.url}${route}`, { method: "POST", body: form })
  return { status: response.status, text: await response.text() }
}

const refused = (answer: { readonly status: number; readonly text: string }, ...says: ReadonlyArray<string>) => {
  expect(answer.status).toBe(400)
  expect(JSON.parse(answer.text)).toMatchObject({ success: false, code: "bad-request" })
  for (const part of says) expect(answer.text).toContain(part)
}

describe("FFmpeg service: limits of a job", () => {
  it("an output of 100000x100000 is a 400 naming the size and the limit", async () => {
    refused(await job("/video/compose", { clips: [{ src: "a" }], output: { width: 100000, height: 100000 } }), "width", "4096")
  })

  it("an output of 4096x4096 (each side allowed, too many pixels) is a 400 naming the pixel limit", async () => {
    refused(await job("/video/compose", { clips: [{ src: "a" }], output: { width: 4096, height: 4096 } }), "pixels", "8294400")
  })

  it("an output of 0x0 is a 400", async () => {
    refused(await job("/video/compose", { clips: [{ src: "a" }], output: { width: 0, height: 0 } }), "width")
  })

  it("1,000 clips are a 400 naming the clip limit (not spawn E2BIG)", async () => {
    refused(await job("/video/compose", { clips: Array.from({ length: 1000 }, () => ({ src: "a" })) }), "clips", "at most 32")
  })

  it("1e308 seconds (Infinity in a filter) is a 400, in a composition and in a single-input job", async () => {
    refused(await job("/video/compose", { clips: [{ src: "a", start: 1e308 }] }), "start", "86400")
    refused(await job("/video/compose", { clips: [{ src: "a", duration: 1e308 }] }), "duration")
    refused(await job("/video/compose", { clips: [{ src: "a" }], overlays: [{ _tag: "text", text: "x", end: 1e308 }] }), "end")
    refused(await job("/video/extractAudio", { start: 1e308 }), "start", "86400")
    refused(await job("/video/extractFrame", { time: 1e308 }), "time", "86400")
  })

  it("a composition longer than an hour of clips is a 400 naming the duration limit", async () => {
    refused(await job("/video/compose", { clips: Array.from({ length: 2 }, () => ({ src: "a", duration: 3000 })) }), "3600")
  })

  it("too many overlays or audio tracks are a 400 naming their limits", async () => {
    refused(await job("/video/compose", { clips: [{ src: "a" }], overlays: Array.from({ length: 100 }, () => ({ _tag: "text", text: "x" })) }), "overlays", "at most 32")
    refused(
      await job("/video/compose", { clips: [{ src: "a" }], audio: { mode: "mix", tracks: Array.from({ length: 100 }, () => ({ src: "a" })) } }),
      "tracks",
      "at most 16"
    )
  })

  it("no engine ran for a refused job; a job within the limits is still served", async () => {
    expect(await processesMentioning(workDir())).toEqual([])
    const served = await job("/video/compose", { clips: [{ src: "a" }], output: { width: 64, height: 64, fps: 10 } })
    expect(served.status).toBe(200)
  })
})
