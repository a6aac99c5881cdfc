import { describe, expect, it } from "vitest"
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

  it("speak-and-transcribe.ts: local text-to-speech, then speech-to-text of it", async () => {
    const { err, out, status } = await run("speak-and-transcribe.ts")
    expect(err).toBe("")
    expect(status).toBe(0)
    expect(out).toMatch(/^speech: audio\/wav, \d+\.\d\d s, by chatterbox$/m)
    expect(out).toMatch(/^transcript: .*coffee is ready$/m)
    expect(out).toMatch(/^segments: [1-9]\d*$/m)
  })

  it("compose-slides.ts: slides, an ambient bed, loudness, a composition", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-scratchpad-"))
    try {
      const target = path.join(dir, "slides.mp4")
      const { out, status } = await run("compose-slides.ts", target)
      expect(status).toBe(0)
      expect(out).toMatch(/slides\.mp4: 640x360, 4\.\d\d s/)
      expect(fs.statSync(target).size).toBeGreaterThan(10_000)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
