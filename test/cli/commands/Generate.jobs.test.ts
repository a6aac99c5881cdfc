/**
 * `automarket generate image` as a user runs it, against the fal.ai emulator on 127.0.0.1: the
 * queued job's progress lines on stderr, the image written to --out; `generate upscale` of an
 * image file the same way; and Ctrl-C (SIGINT) mid-job
 * sends exactly one cancel to fal, writes no file, and exits 130.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { fileContent, makeFal, serve } from "../../emulators/falai.js"
import { tinyPng } from "../../emulators/Samples.js"
import { run } from "../../support/Run.js"
import { falCliEnv } from "../../support/FalCliEnv.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-generate-jobs-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const envFor = (baseUrl: string, key: string): NodeJS.ProcessEnv => falCliEnv({ baseUrl, settings: { key } }, dir)

describe("automarket generate (fal.ai emulator)", () => {
  it.scopedLive("generates an image through the queue, with progress lines, into --out", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 2, runSteps: 2, fileBytes: 50_000 }))
      const out = path.join(dir, "lighthouse.png")
      const ran = yield* Effect.promise(() =>
        run(process.execPath, [bin, "generate", "image", "a lighthouse at dusk", "--provider", "falai", "--model", "fal-ai/flux/schnell", "--out", out], {
          env: envFor(fal.baseUrl, fal.settings.key),
          timeout: 120_000
        })
      )
      expect(ran.stderr).not.toContain(fal.settings.key)
      expect(ran.status, ran.stderr).toBe(0)
      expect(Buffer.compare(fs.readFileSync(out), Buffer.from(fileContent(50_000)))).toBe(0)
      expect(ran.stdout).toContain(out)
      expect(ran.stdout).toContain("falai/fal-ai/flux/schnell")
      // Plain progress lines (stderr is not a terminal), in the job's order.
      const lines = ran.stderr.split("\n").filter((line) => line.trim() !== "")
      const expected = [
        "falai fal-ai/flux/schnell: submitted (job req-1)",
        "falai fal-ai/flux/schnell: queued (position 1)",
        "falai fal-ai/flux/schnell: queued (position 0)",
        "falai fal-ai/flux/schnell: step 1/2 50%|###",
        "falai fal-ai/flux/schnell: running 50%",
        "falai fal-ai/flux/schnell: running 100%",
        "falai fal-ai/flux/schnell: completed"
      ]
      const positions = expected.map((line) => lines.indexOf(line))
      expect(positions.every((at) => at >= 0), ran.stderr).toBe(true)
      expect([...positions].sort((a, b) => a - b)).toEqual(positions)
      const downloading = lines.findIndex((line) => /falai fal-ai\/flux\/schnell: downloading .*\(100%\)/.test(line))
      expect(downloading, ran.stderr).toBeGreaterThan(positions.at(-1)!)
      expect(fal.count("submit")).toBe(1)
      expect(fal.count("cancel")).toBe(0)
    }), 150_000)

  it.scopedLive("upscales an image file through fal's queue (ESRGAN, the file inline, --scale as scale) into --out", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 1, runSteps: 1, fileBytes: 20_000 }))
      const input = path.join(dir, "small.png")
      fs.writeFileSync(input, tinyPng)
      const out = path.join(dir, "big.png")
      const ran = yield* Effect.promise(() =>
        run(process.execPath, [bin, "generate", "upscale", input, "--scale", "2", "--provider", "falai", "--out", out], {
          env: envFor(fal.baseUrl, fal.settings.key),
          timeout: 120_000
        })
      )
      expect(ran.status, ran.stderr).toBe(0)
      expect(Buffer.compare(fs.readFileSync(out), Buffer.from(fileContent(20_000)))).toBe(0)
      expect(ran.stdout).toContain("falai/fal-ai/esrgan")
      const [job] = [...fal.jobs.values()]
      expect(job?.model).toBe("fal-ai/esrgan")
      expect(job?.input).toEqual({ image_url: `data:image/png;base64,${tinyPng.toString("base64")}`, scale: 2 })
    }), 150_000)

  it.scopedLive("Ctrl-C mid-job sends exactly one cancel to fal, writes no file, and exits 130", () =>
    Effect.gen(function* () {
      const fal = yield* serve(makeFal({ queueSteps: 10_000 }))
      const out = path.join(dir, "cancelled.png")
      const child = spawn(process.execPath, [bin, "generate", "image", "a long job", "--provider", "falai", "--out", out], {
        env: envFor(fal.baseUrl, fal.settings.key),
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stderr = ""
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
      yield* Effect.addFinalizer(() => Effect.sync(() => child.exitCode === null && child.kill("SIGKILL")))
      for (let i = 0; i < 600 && fal.count("status") < 3; i++) yield* Effect.sleep("100 millis")
      expect(fal.count("status"), stderr).toBeGreaterThanOrEqual(3)
      child.kill("SIGINT")
      const code = yield* Effect.promise(() => exited)
      expect(code, stderr).toBe(130)
      expect(fal.count("cancel")).toBe(1)
      expect(fal.count("submit")).toBe(1)
      const polls = fal.count("status")
      yield* Effect.sleep("300 millis")
      expect(fal.count("status")).toBe(polls)
      expect(fs.existsSync(out)).toBe(false)
      expect(fs.readdirSync(dir).filter((file) => file.startsWith("cancelled"))).toEqual([])
    }), 150_000)
})
