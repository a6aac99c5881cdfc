import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { run as runCommand } from "../support/Run.js"

const root = path.resolve(import.meta.dirname, "../..")
const run = async (file: string, ...args: Array<string>) => {
  const result = await runCommand(process.execPath, ["--import", "tsx", path.join(root, "scratchpad", file), ...args], { cwd: root, timeout: 120_000 })
  return { status: result.status, out: result.stdout, err: result.stderr }
}

describe("scratchpad examples run", () => {
  it("custom-provider.ts: falls back from the out-of-credit provider to the local one", async () => {
    const { err, out, status } = await run("custom-provider.ts")
    expect(err).toBe("")
    expect(status).toBe(0)
    expect(out.trim().split("\n")).toEqual([
      "tried broke-cloud/big-model: QuotaExceeded",
      "tried shouter/caps: ok",
      "answer: HELLO FROM AUTOMARKET"
    ])
  })

  it("fallback-plan.ts: moves on after RateLimited, stops on InvalidInput", async () => {
    const { out, status } = await run("fallback-plan.ts")
    expect(status).toBe(0)
    expect(out.trim().split("\n")).toEqual(["steady says: what is an ExecutionPlan?", "stopped on InvalidInput"])
  })

  describe("one capability each, on the local engines", () => {
    let dir: string
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-scratchpad-"))
      for (const [name, color] of [["left", "red"], ["right", "blue"]] as const) {
        execFileSync("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", `color=c=${color}:s=320x180:d=2:r=25`, "-c:v", "libx264", "-pix_fmt", "yuv420p", path.join(dir, `${name}.mp4`)])
      }
    })
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))
    const at = (name: string) => path.join(dir, name)

    it("text-to-speech.ts, then speech-to-text.ts on its output", async () => {
      const spoken = await run("text-to-speech.ts", at("speech.wav"))
      expect(spoken.err).toBe("")
      expect(spoken.status).toBe(0)
      expect(spoken.out).toMatch(/speech\.wav: audio\/wav, \d+\.\d\d s, by chatterbox\/slt\.wav/)
      const heard = await run("speech-to-text.ts", at("speech.wav"))
      expect(heard.status).toBe(0)
      expect(heard.out).toMatch(/^transcript: .*coffee is ready$/m)
      expect(heard.out).toMatch(/^\d+\.\d\d-\d+\.\d\d \S/m)
    })

    it("text-to-image.ts: a local slide of the asked size", async () => {
      const { out, status } = await run("text-to-image.ts", at("slide.png"))
      expect(status).toBe(0)
      expect(out).toMatch(/slide\.png: image\/png 640x360 by ffmpeg\/ffmpeg-slide/)
      expect(fs.readFileSync(at("slide.png")).subarray(1, 4).toString()).toBe("PNG")
    })

    it("text-to-audio.ts: a 4 s bed", async () => {
      const { out, status } = await run("text-to-audio.ts", at("bed.wav"))
      expect(status).toBe(0)
      expect(out).toMatch(/bed\.wav: audio\/wav, 4\.0\d s by ffmpeg\/ffmpeg-ambient/)
    })

    it("audio-enhancement.ts: denoised, normalised mp3", async () => {
      execFileSync("flite", ["-voice", "slt", "-t", "A short test sentence.", "-o", at("in.wav")])
      const { out, status } = await run("audio-enhancement.ts", at("in.wav"), at("enhanced.mp3"))
      expect(status).toBe(0)
      expect(out).toMatch(/enhanced\.mp3: audio\/mpeg, \d+\.\d\d s/)
    })

    it("video-composition.ts: two clips side by side", async () => {
      const { out, status } = await run("video-composition.ts", at("left.mp4"), at("right.mp4"), at("both.mp4"))
      expect(status).toBe(0)
      expect(out).toMatch(/both\.mp4: 640x180, 2\.\d\d s/)
    })
  })
})
