/** `automarket serve`'s engine timeout flag (the real executable): documented, and nonsense refused before anything starts. */
import { describe, expect, it } from "@effect/vitest"
import * as path from "node:path"
import { run as runCommand } from "../../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
const exec = (...args: Array<string>) => runCommand(process.execPath, [bin, ...args], { timeout: 90_000 })

describe("automarket serve --engine-timeout", () => {
  it("is listed in the help", async () => {
    const run = await exec("serve", "--help")
    expect(run.status).toBe(0)
    expect(run.stdout).toContain("--engine-timeout")
  })

  it("zero or less is refused (exit 1), no service started", async () => {
    for (const value of ["0", "-5"]) {
      const run = await exec("serve", "ffmpeg", "--port", "0", "--engine-timeout", value)
      expect(run.status).toBe(1)
      expect(run.stdout).not.toContain("automarket-listening")
      expect(run.stderr).toContain("--engine-timeout must be a positive number of seconds")
    }
  })
})

describe("automarket serve --max-queued", () => {
  it("is listed in the help; a negative value is refused in one line before the service binds", async () => {
    expect((await exec("serve", "--help")).stdout).toContain("--max-queued")
    const run = await exec("serve", "tts", "--port", "0", "--max-queued", "-1")
    expect(run.status).toBe(1)
    expect(run.stdout).not.toContain("automarket-listening")
    expect(run.stderr.trim().split("\n")).toHaveLength(1)
    expect(run.stderr).toContain("the queue beyond the running jobs must be an integer of 0 or more, not -1")
  })
})
