/**
 * `automarket demo` as a user runs it: plain progress lines when not on a terminal, the summary
 * on stdout; and Ctrl-C (SIGINT) mid-run stops every service it started and leaves no output.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { run as runCommand } from "../../support/Run.js"

const bin = path.resolve(import.meta.dirname, "../../../bin/automarket.mjs")
let dir: string
// The demo keeps its runs in the state folder: this test's own.
let env: NodeJS.ProcessEnv
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "automarket-demo-cli-"))
  env = { ...process.env, AUTOMARKET_STATE_DIR: path.join(dir, "state") }
})
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const childrenOf = (pid: number): Array<number> =>
  execFileSync("ps", ["-eo", "pid=,ppid="], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter(([, ppid]) => ppid === pid)
    .map(([child]) => child!)

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe("automarket demo (the executable)", () => {
  it("runs a short script: progress lines on stderr, the summary on stdout, the files written", async () => {
    fs.writeFileSync(path.join(dir, "short.md"), "# Short\n\n## Hello\nThe weather is nice today.\n")
    const run = await runCommand(process.execPath, [bin, "demo", "short.md", "--out", "short.mp4"], { cwd: dir, env, timeout: 180_000 })
    expect(run.status).toBe(0)
    expect(run.stderr).toMatch(/✓ \[1\/6\] narrate scene 1 "Hello"  \(chatterbox\)/)
    expect(run.stderr).toMatch(/✓ \[6\/6\] burn in the subtitles  \(ffmpeg\)/)
    expect(run.stdout).toMatch(/^STEP\s+PROVIDER\s+MODEL\s+COST/)
    expect(run.stdout).toMatch(/total cost: free/)
    expect(fs.existsSync(path.join(dir, "short.mp4"))).toBe(true)
    expect(fs.existsSync(path.join(dir, "short.srt"))).toBe(true)
  }, 200_000)

  it("Ctrl-C mid-run stops every service it started and leaves no partial output", async () => {
    const child = spawn(process.execPath, [bin, "demo", "--out", "cancelled.mp4"], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] })
    let stderr = ""
    const services = new Set<number>()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no narration step started: ${stderr}`)), 120_000)
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString()
        if (/✓ \[1\/\d+\] narrate/.test(stderr)) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    for (const pid of childrenOf(child.pid!)) services.add(pid)
    expect(services.size).toBeGreaterThan(0)
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
    child.kill("SIGINT")
    const code = await exited
    expect(code).toBe(130)
    for (const pid of services) expect(alive(pid)).toBe(false)
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("cancelled"))).toEqual([])
  }, 200_000)
})
